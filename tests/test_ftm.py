"""FTM ranging simulator (paper B), the real RTT loaders and the error-model fit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.data import rtt
from ipsbook.radio import ftm_fit
from ipsbook.radio.ftm import (
    MIN_RANGE,
    FloorPlan,
    FTMModel,
    pairwise_walls,
    random_aps,
    random_floor_plan,
    simulate_ranges,
    walls_crossed,
)

_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)
needs_rtt = pytest.mark.skipif(
    not ((DATA_ROOT / "rtt-feng").is_dir() and (DATA_ROOT / "rtt-yu").is_dir()),
    reason=f"rtt-feng / rtt-yu data not found under {DATA_ROOT}",
)


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Real data folder unless set; an empty cache and no downloads (nothing may be fetched)."""
    if not os.environ.get("IPSBOOK_DATA_DIR"):
        monkeypatch.setenv("IPSBOOK_DATA_DIR", str(DATA_ROOT))
    monkeypatch.setenv("IPSBOOK_DOWNLOAD_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPSBOOK_OFFLINE", "1")


def plan_with(*walls: tuple[tuple[float, float], tuple[float, float]]) -> FloorPlan:
    return FloorPlan(20.0, 20.0, np.array(walls, dtype=float).reshape(-1, 2, 2))


VWALL = ((5.0, 0.0), (5.0, 10.0))  # vertical wall x = 5, 0 <= y <= 10


# --- walls_crossed ------------------------------------------------------------------------------


def test_walls_crossed_known_cases():
    plan = plan_with(VWALL)
    P = np.array([[1, 5], [1, 5], [1, 5], [1, 12], [5, 5], [1, 10], [5, 2], [1, 9]], float)
    Q = np.array([[9, 5], [4, 5], [1, 9], [9, 12], [9, 5], [9, 10], [5, 8], [9, 11]], float)
    got = walls_crossed(plan, P, Q)
    # across; stops short; parallel; passes beyond the wall's end; starts ON the wall (an AP
    # mounted on it: not behind it); through the wall's end point (grazes: counts); runs along
    # the wall (collinear: does not count); crosses the line at y = 10 exactly (end point)
    assert got.tolist() == [1, 0, 0, 0, 0, 1, 0, 1]
    assert got.dtype == np.int64


def test_walls_crossed_counts_every_wall_and_broadcasts():
    plan = plan_with(VWALL, ((7.0, 0.0), (7.0, 10.0)), ((0.0, 15.0), (20.0, 15.0)))
    assert walls_crossed(plan, [1.0, 5.0], [9.0, 5.0]) == 2  # single pair -> 0-d result
    got = walls_crossed(plan, np.array([1.0, 5.0]), np.array([[9.0, 5.0], [6.0, 5.0], [1, 19]]))
    assert got.tolist() == [2, 1, 1]
    # an L corner crossed through its shared vertex hits both of its walls
    corner = plan_with(((0.0, 0.0), (5.0, 0.0)), ((5.0, 0.0), (5.0, 5.0)))
    assert walls_crossed(corner, [4.0, 1.0], [6.0, -1.0]) == 2
    # no walls at all
    assert walls_crossed(FloorPlan(5.0, 5.0, np.empty((0, 2, 2))), [0, 0], [1, 1]) == 0


coord = st.floats(-30, 30, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord)


@settings(max_examples=150, deadline=None)
@given(
    walls=st.lists(st.tuples(point, point), min_size=1, max_size=6),
    p=point,
    q=point,
)
def test_walls_crossed_is_symmetric(walls, p, q):
    plan = FloorPlan(60.0, 60.0, np.array(walls))
    assert walls_crossed(plan, p, q) == walls_crossed(plan, q, p)
    # a segment never crosses a wall it shares a full line with, nor more walls than exist
    assert 0 <= walls_crossed(plan, p, q) <= len(walls)


@settings(max_examples=100, deadline=None)
@given(
    x=st.floats(1, 19, allow_nan=False),
    y0=st.floats(1, 9, allow_nan=False),
    y1=st.floats(11, 19, allow_nan=False),
    a=st.floats(0.1, 20, allow_nan=False),
    b=st.floats(0.1, 20, allow_nan=False),
)
def test_horizontal_wall_spanning_the_floor_blocks_all_paths_across(x, y0, y1, a, b):
    # a wall across the whole floor at y = 10: every path from below to above crosses it once
    plan = plan_with(((-1.0, 10.0), (21.0, 10.0)))
    assert walls_crossed(plan, [x, y0], [a, y1]) == 1
    assert walls_crossed(plan, [x, y0], [b, 9.5]) == 0


def test_pairwise_walls_symmetric_zero_diagonal():
    rng = np.random.default_rng(3)
    plan = random_floor_plan(rng, n_walls=12)
    X = random_aps(rng, plan, 25)
    W = pairwise_walls(plan, X)
    assert W.shape == (25, 25) and np.array_equal(W, W.T) and not np.diag(W).any()
    i, j = 3, 17
    assert W[i, j] == walls_crossed(plan, X[i], X[j])


def test_random_plan_and_aps():
    rng = np.random.default_rng(0)
    plan = random_floor_plan(rng, width=30, height=20, n_walls=40, min_len=2, max_len=8)
    w = plan.walls
    assert w.shape == (40, 2, 2)
    assert np.all((w[..., 0] >= 0) & (w[..., 0] <= 30) & (w[..., 1] >= 0) & (w[..., 1] <= 20))
    d = w[:, 1] - w[:, 0]
    assert np.all((d[:, 0] == 0) | (d[:, 1] == 0))  # axis-aligned
    length = np.abs(d).sum(axis=1)
    assert np.all((length >= 2 - 1e-9) & (length <= 8 + 1e-9))
    X = random_aps(rng, plan, 30, min_separation=2.0)
    D = np.hypot(*(X[:, None] - X[None]).transpose(2, 0, 1))
    assert X.shape == (30, 2) and D[np.triu_indices(30, 1)].min() >= 2.0
    with pytest.raises(ValueError, match="min_separation"):
        random_aps(rng, FloorPlan(2.0, 2.0, np.empty((0, 2, 2))), 10, min_separation=1.5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_walls": -1}, "n_walls"),
        ({"min_len": 0}, "min_len"),
        ({"min_len": 5, "max_len": 3}, "max_len"),
        ({"width": -1}, "width"),
    ],
)
def test_random_plan_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        random_floor_plan(np.random.default_rng(0), **kwargs)


def test_floor_plan_rejects_bad_walls():
    with pytest.raises(ValueError, match=r"walls has shape"):
        FloorPlan(10.0, 10.0, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="height"):
        FloorPlan(10.0, 0.0, np.empty((0, 2, 2)))


# --- simulate_ranges ----------------------------------------------------------------------------


def _nodes() -> np.ndarray:
    return np.array([[1.0, 5.0], [9.0, 5.0], [1.0, 1.0], [3.0, 8.0]])


def test_noise_free_without_walls_is_exact():
    plan = plan_with()
    model = FTMModel(sigma_los=0.0)
    r = simulate_ranges(plan, _nodes(), model, np.random.default_rng(0))
    assert np.allclose(r.D, r.D_true) and np.array_equal(r.D, r.D.T)
    assert r.los.all() and np.all(r.k == 1.0) and not r.walls.any()


def test_wall_dilates_only_the_pairs_behind_it():
    plan = plan_with(VWALL)
    m = FTMModel(sigma_los=0.0, k_per_wall=0.2, wall_bias=0.5)
    r = simulate_ranges(plan, _nodes(), m, np.random.default_rng(0))
    behind = r.walls > 0
    # node 1 (x = 9) is the only node right of the wall
    assert behind[1].sum() == 3 and behind.sum() == 6
    assert np.all(r.k[behind] == pytest.approx(1.2)) and np.all(r.k[~behind] == 1.0)
    assert np.allclose(r.D[behind], 1.2 * r.D_true[behind] + 0.5)
    assert np.allclose(r.D[~behind], r.D_true[~behind])
    assert np.array_equal(r.los, ~behind)


def test_missing_beyond_max_range_max_walls_and_at_random():
    X = np.array([[0.0, 0.0], [10.0, 0.0], [50.0, 0.0]])
    r = simulate_ranges(plan_with(), X, FTMModel(max_range=20.0), np.random.default_rng(0))
    assert np.isnan(r.D[0, 2]) and np.isnan(r.D[1, 2]) and not np.isnan(r.D[0, 1])
    assert np.all(np.diag(r.D) == 0)
    two = plan_with(VWALL, ((7.0, 0.0), (7.0, 10.0)))
    X = np.array([[1.0, 5.0], [9.0, 5.0], [6.0, 5.0]])
    r = simulate_ranges(two, X, FTMModel(max_walls=1), np.random.default_rng(0))
    assert np.isnan(r.D[0, 1]) and not np.isnan(r.D[0, 2])  # 2 walls vs 1 wall
    rng = np.random.default_rng(1)
    X = rng.random((80, 2)) * 20
    r = simulate_ranges(plan_with(), X, FTMModel(p_missing=0.3), rng)
    share = r.missing[np.triu_indices(80, 1)].mean()
    assert abs(share - 0.3) < 0.03 and np.array_equal(r.missing, r.missing.T)


def test_ranges_never_negative():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.2, 0.1]])
    m = FTMModel(sigma_los=5.0, bias_los=-3.0)
    r = simulate_ranges(plan_with(), X, m, np.random.default_rng(0))
    off = ~np.eye(3, dtype=bool)
    assert np.all(r.D[off] >= MIN_RANGE)


def test_asymmetric_option():
    plan = plan_with(VWALL)
    X = np.array([[4.0, 5.0], [14.0, 5.0], [4.0, 2.0], [14.0, 2.0], [1.0, 12.0]])
    sym = simulate_ranges(plan, X, FTMModel(), np.random.default_rng(0))
    assert np.array_equal(sym.D, sym.D.T, equal_nan=True)
    # noiseless, so only the near-end rule makes D asymmetric: the wall is 1 m from nodes 0
    # and 2, far from 1 and 3, so it stretches d_0,1 (measured by 0) but not d_1,0
    m = FTMModel(sigma_los=0.0, asymmetric=True, near_end=2.0, k_per_wall=0.2, wall_bias=1.0)
    r = simulate_ranges(plan, X, m, np.random.default_rng(0))
    assert r.walls[0, 1] == r.walls[1, 0] == 1
    assert r.walls_eff[0, 1] == 1 and r.walls_eff[1, 0] == 0
    assert r.D[0, 1] == pytest.approx(1.2 * 10 + 1.0) and r.D[1, 0] == pytest.approx(10.0)
    assert r.D[0, 4] == r.D[4, 0]  # no wall: symmetric
    # node 4 -> node 1 crosses the wall ~4.5 m from node 4 and ~10 m from node 1: near neither
    # end, so it stretches both directions
    assert r.walls_eff[4, 1] == r.walls_eff[1, 4] == 1 and r.D[4, 1] == pytest.approx(r.D[1, 4])
    assert np.array_equal(r.walls, r.walls.T)
    # with noise, every measured pair differs between directions
    noisy = simulate_ranges(plan, X, FTMModel(asymmetric=True), np.random.default_rng(0))
    off = ~np.eye(5, dtype=bool) & ~np.isnan(noisy.D)
    assert np.all(noisy.D[off] != noisy.D.T[off])
    # asym_sigma alone (no noise, no walls) makes D asymmetric too
    a = simulate_ranges(
        plan_with(),
        X,
        FTMModel(sigma_los=0.0, asymmetric=True, asym_sigma=0.3),
        np.random.default_rng(0),
    )
    assert not np.allclose(a.D, a.D.T) and np.nanstd(a.D - a.D.T) == pytest.approx(
        0.3 * np.sqrt(2), rel=0.6
    )


def test_best_of_lowers_the_mean_error():
    rng = np.random.default_rng(5)
    X = rng.random((60, 2)) * 30
    plan = plan_with()
    err = {}
    for b in (1, 10):
        r = simulate_ranges(plan, X, FTMModel(best_of=b, bias_los=3.0), np.random.default_rng(0))
        iu = np.triu_indices(60, 1)
        err[b] = np.nanmean(r.D[iu] - r.D_true[iu])
    assert err[1] == pytest.approx(3.0, abs=0.15)
    assert err[10] < err[1] - 1.0  # E[min of 10 N(0,1)] ≈ -1.54
    # with the noise mostly static per link, the burst helps much less
    r = simulate_ranges(
        plan, X, FTMModel(best_of=10, bias_los=3.0, burst_share=0.1), np.random.default_rng(0)
    )
    iu = np.triu_indices(60, 1)
    assert np.nanmean(r.D[iu] - r.D_true[iu]) > err[10] + 0.5


def test_reproducible_with_a_seed():
    rng = np.random.default_rng(11)
    plan = random_floor_plan(rng)
    X = random_aps(rng, plan, 20)
    m = FTMModel(asymmetric=True, best_of=5, p_missing=0.1)
    a = simulate_ranges(plan, X, m, np.random.default_rng(42))
    b = simulate_ranges(plan, X, m, np.random.default_rng(42))
    c = simulate_ranges(plan, X, m, np.random.default_rng(43))
    assert np.array_equal(a.D, b.D, equal_nan=True)
    assert not np.array_equal(a.D, c.D, equal_nan=True)
    p1 = random_floor_plan(np.random.default_rng(7))
    p2 = random_floor_plan(np.random.default_rng(7))
    assert np.array_equal(p1.walls, p2.walls)


@pytest.mark.parametrize(
    "field, value",
    [
        ("sigma_los", -1.0),
        ("sigma_los", float("nan")),
        ("sigma_nlos", -0.1),
        ("k_los", 0.0),
        ("k_per_wall", -0.1),
        ("bias_los", float("inf")),
        ("max_range", 0.0),
        ("max_walls", -1),
        ("max_walls", 1.5),
        ("p_missing", 1.0),
        ("p_missing", -0.1),
        ("best_of", 0),
        ("asym_sigma", -1.0),
        ("burst_share", 1.5),
        ("near_end", -1.0),
    ],
)
def test_model_rejects_bad_parameters(field, value):
    with pytest.raises(ValueError, match=field):
        FTMModel(**{field: value})


def test_simulate_rejects_bad_inputs():
    plan = plan_with()
    with pytest.raises(ValueError, match="X has shape"):
        simulate_ranges(plan, np.zeros((3, 3)), FTMModel(), np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        simulate_ranges(plan, np.zeros((3, 2)), FTMModel(), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown FTMModel field"):
        FTMModel().replace(sigma=1.0)
    with pytest.raises(TypeError, match="asymmetric"):
        FTMModel(asymmetric="yes")  # type: ignore[arg-type]


# --- loaders ------------------------------------------------------------------------------------


@needs_rtt
def test_load_rtt_feng_shapes_units_and_labels():
    df = rtt.load_rtt_feng("lecture_theatre", "train")
    assert list(df.columns[:4]) == ["scene", "split", "rp", "scan"]
    assert set(rtt.COMMON_COLUMNS) <= set(df.columns)
    assert len(df) == 5280 * 5 and df["rp"].nunique() == 88 and set(df["ap"]) == {1, 2, 3, 4, 5}
    assert df["los"].dtype == bool and df["los"].all()  # every lecture-theatre RP: all LOS
    err = (df["measured_m"] - df["true_m"]).dropna()
    assert abs(err.median()) < 1.5 and err.abs().median() < 1.5
    assert (df["measured_m"] < 0).any()  # negative raw ranges are kept
    assert df["measured_m"].isna().any() and df["rss_dbm"].isna().any()
    first = df[df["ap"] == 1].iloc[0]
    assert first["ap_x_m"] == pytest.approx(3 * 0.6) and first["ap_y_m"] == pytest.approx(9 * 0.6)
    office = rtt.load_rtt_feng("office", "all")
    assert set(office["split"]) == {"train", "test"} and office["los"].any()
    assert not office["los"].all()


@needs_rtt
def test_corridor_ap_mapping():
    df = rtt.load_rtt_feng("corridor", "test")
    assert set(df["ap"]) == {2, 3, 4, 5}  # AP1 is empty everywhere and left out
    assert len(df) == 1740 * 4 and not df["los"].any()
    pos = df.groupby("ap")[["ap_x_m", "ap_y_m"]].first()
    assert np.allclose(pos.loc[2], [2 * 0.6, 7.5 * 0.6]) and np.allclose(
        pos.loc[5], [48 * 0.6, 3.0]
    )
    # the mapping is right: measured and true ranges correlate strongly for every AP
    for _, g in df.dropna(subset=["measured_m"]).groupby("ap"):
        assert np.corrcoef(g["measured_m"], g["true_m"])[0, 1] > 0.95


@needs_rtt
def test_load_rtt_yu():
    df = rtt.load_rtt_yu("CarPark")
    assert len(df) == 20439 and df.attrs["n_failed"] == 0
    assert df["los"].isna().all() and str(df["los"].dtype) == "boolean"
    assert np.allclose(df["true_m"], np.hypot(df["x_m"] - df["ap_x_m"], df["y_m"] - df["ap_y_m"]))
    raw = rtt.read_csv("rtt-yu", "dataset_CarPark.csv")
    ap3 = raw["AP_idx"] == 3
    # real_dis is wrong for AP3 (computed at x + 2.35 m): ours must differ from it there
    assert np.abs(df.loc[df["ap"] == 3, "true_m"].to_numpy() - raw.loc[ap3, "real_dis"]).max() > 1
    lib = rtt.load_rtt_yu("Library")
    assert len(lib) == 42406 - 90 and lib.attrs["n_failed"] == 90
    assert (lib["measured_m"] > 0).all()
    full = rtt.load_rtt_yu("Library", fill_missing=True)
    assert len(full) == lib["step"].nunique() * 6
    assert full["measured_m"].notna().sum() == len(lib)


@needs_rtt
def test_rtt_network():
    df = rtt.load_rtt_feng("office", "test")
    net = rtt.rtt_network(df, reduce="min")
    n_rp = df["rp"].nunique()
    assert net.D.shape == (5 + n_rp, 5 + n_rp) and net.is_ap.sum() == 5
    assert net.labels[:2] == ["AP1", "AP2"]
    assert np.allclose(net.D[:5, :5], net.D_true[:5, :5])  # AP-AP: known positions
    assert np.isnan(net.D[5:, 5:][~np.eye(n_rp, dtype=bool)]).all()
    assert np.array_equal(net.D, net.D.T, equal_nan=True) and np.all(np.diag(net.D) == 0)
    rp0 = df[(df["rp"] == 0) & (df["ap"] == 2)]["measured_m"]
    assert net.D[5, 1] == pytest.approx(rp0.min())
    med = rtt.rtt_network(df, reduce="median")
    assert net.D[5, 1] <= med.D[5, 1]
    yu = rtt.rtt_network(rtt.load_rtt_yu("Library"), max_points=40)
    assert yu.D.shape == (46, 46) and yu.is_ap[:6].all() and not yu.is_ap[6:].any()


@needs_rtt
def test_loaders_reject_bad_names():
    with pytest.raises(ValueError, match=r"scene='kitchen'.*'lecture_theatre', 'office'"):
        rtt.load_rtt_feng("kitchen")
    with pytest.raises(ValueError, match=r"split='val'.*'train', 'test'"):
        rtt.load_rtt_feng("office", "val")
    with pytest.raises(ValueError, match=r"scene='carpark'.*'CarPark', 'Library'"):
        rtt.load_rtt_yu("carpark")
    df = rtt.load_rtt_feng("office", "test")
    with pytest.raises(ValueError, match=r"reduce='mean'.*'min', 'median'"):
        rtt.rtt_network(df, reduce="mean")
    with pytest.raises(ValueError, match="exactly one scene"):
        rtt.rtt_network(pd.concat([df, rtt.load_rtt_feng("corridor", "test")]))
    with pytest.raises(ValueError, match="max_points"):
        rtt.rtt_network(df, max_points=0)


def test_parse_ap_positions_is_robust():
    text = "Lecture Theatre\r\nAP X: 3, 10,18.8\r\nAP Y:9,9 ,9\r\n\r\ncorridor\nAP X:2,17\nAP Y:7.5,6.8"
    got = rtt._parse_ap_positions(text)
    assert set(got) == {"lecture_theatre", "corridor"}
    assert np.allclose(got["lecture_theatre"], [[3, 9], [10, 9], [18.8, 9]])


# --- fit -------------------------------------------------------------------------------------


def _synthetic_fit(model: FTMModel) -> ftm_fit.FitResult:
    rng = np.random.default_rng(0)
    plan = random_floor_plan(rng, width=40, height=40, n_walls=8, min_len=5, max_len=20)
    X = random_aps(rng, plan, 90)
    r = simulate_ranges(plan, X, model, rng)
    return ftm_fit.fit_error_model(ftm_fit.ranges_frame(r, X))


def test_fit_recovers_a_known_model():
    truth = FTMModel(
        sigma_los=0.6, bias_los=-0.4, k_per_wall=0.1, wall_bias=0.8, sigma_nlos=1.2,
        max_walls=1, p_missing=0.1,
    )  # fmt: skip
    fit = _synthetic_fit(truth)
    assert set(fit.classes) == {"LoS", "NLoS"}
    los, nlos = fit["LoS"], fit["NLoS"]
    assert los.bias_median == pytest.approx(-0.4, abs=0.1)
    assert los.sigma_mad == pytest.approx(0.6, rel=0.15) and los.sigma_std == pytest.approx(
        0.6, rel=0.15
    )
    assert los.k == pytest.approx(1.0, abs=0.02) and nlos.k == pytest.approx(1.1, abs=0.03)
    # the error spread includes the dilation (0.1 · d); the residual about the line does not
    assert nlos.sigma_resid == pytest.approx(1.2, rel=0.15) and nlos.sigma_mad > 1.3
    m = ftm_fit.to_model(fit)
    assert m.sigma_los == pytest.approx(0.6, rel=0.15) and m.bias_los == pytest.approx(
        -0.4, abs=0.1
    )
    assert m.k_per_wall == pytest.approx(0.1, abs=0.03)
    # slope and intercept trade off (over seeds: wall_bias 0.34-1.03); the excess they predict
    # at a typical NLoS distance is tighter (within 0.26 m over 10 seeds)
    assert m.wall_bias == pytest.approx(0.8, abs=0.5)
    assert m.k_per_wall * 20 + m.wall_bias == pytest.approx(0.1 * 20 + 0.8, abs=0.3)
    assert m.sigma_nlos == pytest.approx(1.2, rel=0.15)
    # p_missing: random 10 % plus pairs beyond max_range / max_walls
    assert 0.1 <= m.p_missing < 0.5
    table = ftm_fit.fit_table({"sim": fit})
    assert list(table["class"]) == ["LoS", "NLoS"] and (table["scene"] == "sim").all()
    assert {"n", "bias_median", "sigma_mad", "k", "b", "missing_share"} <= set(table.columns)


def test_fit_checks_its_input():
    df = pd.DataFrame({"measured_m": [1.0, 2.0], "true_m": [1.0, 2.0]})
    with pytest.raises(ValueError, match="lacks columns"):
        ftm_fit.fit_error_model(df)
    with pytest.raises(ValueError, match=r"reduce='max'"):
        ftm_fit.fit_error_model(df.assign(los=True), reduce="max")
    with pytest.raises(TypeError, match="fit="):
        ftm_fit.to_model("fit")  # type: ignore[arg-type]


@needs_rtt
def test_fit_on_real_data():
    lt = ftm_fit.fit_error_model(rtt.load_rtt_feng("lecture_theatre", "all"))
    assert set(lt.classes) == {"LoS"}
    assert abs(lt["LoS"].bias_median) < 1.0 and 0.3 < lt["LoS"].sigma_mad < 1.5
    assert 0 < lt["LoS"].burst_share < 0.5  # most of the error is static per point
    assert lt["LoS"].bins is not None and lt["LoS"].bins["n"].sum() == lt["LoS"].n
    office = ftm_fit.fit_error_model(rtt.load_rtt_feng("office", "all"), reduce="min")
    assert office["NLoS"].bias_median > office["LoS"].bias_median  # NLoS reads long
    yu = ftm_fit.fit_error_model(rtt.load_rtt_yu("CarPark", fill_missing=True))
    assert set(yu.classes) == {"unlabelled"} and yu["unlabelled"].missing_share > 0
    assert np.isnan(yu["unlabelled"].burst_share)  # walked positions: no repeats
    errs = ftm_fit.ranging_errors(rtt.load_rtt_feng("corridor", "test"))
    assert (errs["cls"] == "NLoS").all() and errs["error_m"].notna().all()


def test_to_model_mapping_and_negative_wall_slope():
    nan = float("nan")

    def cf(cls: str, k: float, b: float) -> ftm_fit.ClassFit:
        return ftm_fit.ClassFit(cls, 100, 10, 0.2, 0.3, 1.0, 0.8, 0.7, k, b, k, b, nan)

    fit = ftm_fit.FitResult("x", None, {"LoS": cf("LoS", 1.05, -0.3), "NLoS": cf("NLoS", 1.0, 1.0)})
    with pytest.warns(UserWarning, match="k_per_wall set to 0"):
        m = ftm_fit.to_model(fit, base=FTMModel(best_of=5))
    assert m.k_per_wall == 0.0 and m.wall_bias == pytest.approx(1.3)
    assert m.sigma_los == 0.8 and m.bias_los == 0.2 and m.sigma_nlos == 0.7
    assert m.p_missing == pytest.approx(20 / 220) and m.best_of == 5 and m.burst_share == 1.0


@needs_rtt
def test_fit_pooled_scenes_with_repeated_index():
    a, b = rtt.load_rtt_feng("office", "test"), rtt.load_rtt_feng("corridor", "test")
    fit = ftm_fit.fit_error_model(pd.concat([a, b]))  # index labels repeat
    assert fit.scene == "office+corridor" and set(fit.classes) == {"LoS", "NLoS"}
    assert fit["NLoS"].n == (
        b["measured_m"].notna().sum() + a[~a["los"]]["measured_m"].notna().sum()
    )


def test_rtt_network_raises_negative_ranges_to_the_floor():
    """The raw Android API reports a few negative ranges next to an AP; a distance matrix
    cannot hold them, so the network raises them to MIN_RANGE and counts them."""
    from ipsbook.data.rtt import MIN_RANGE, rtt_network

    df = pd.DataFrame({
        "scene": "s", "x_m": [0.0, 0.0, 3.0], "y_m": [0.0, 0.0, 4.0], "ap": [1, 2, 1],
        "ap_x_m": [0.0, 6.0, 0.0], "ap_y_m": [0.1, 0.0, 0.1], "measured_m": [-0.4, 6.2, 4.9],
    })
    net = rtt_network(df, reduce="min")
    assert net.n_clipped == 1
    assert np.nanmin(net.D[~np.eye(len(net.D), dtype=bool)]) == MIN_RANGE
    assert net.D[2, 0] == MIN_RANGE and net.D[0, 2] == MIN_RANGE

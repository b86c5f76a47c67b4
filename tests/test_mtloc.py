"""MTLoc (paper E): the network's Table I, training modes, modality wiping and the baselines."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from ipsbook.methods.mtloc import (
    KNN_CONFIGS,
    FitConfig,
    errors_m,
    fit,
    fit_pdr,
    make_mtloc,
    pdr_positions,
    pretrain_imu,
    step_times,
    valid_mask,
    wifi_knn,
    wipe,
)
from ipsbook.methods.mtloc.experiment import Settings, training_subset
from ipsbook.methods.mtloc.train import stop_split
from ipsbook.models.mtloc import PAPER_TABLE_I, MTLoc, keras_parameter_count, layer_table
from ipsbook.training import StopRule

FLOOR = -110.0


@dataclasses.dataclass
class Samples:
    """Stand-in for ipsbook.data.ilc.MultimodalSamples with the fields training reads."""

    wifi: np.ndarray
    imu: np.ndarray
    mag: np.ndarray
    pos: np.ndarray
    wifi_valid: np.ndarray
    trace: np.ndarray

    def subset(self, mask: np.ndarray) -> Samples:
        return Samples(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))


def synthetic(n: int = 240, n_aps: int = 12, seed: int = 0) -> Samples:
    """Positions on a 20 m square; RSS falls off with distance to APs; IMU/mag are noise."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 20, (n, 2))
    aps = rng.uniform(0, 20, (n_aps, 2))
    d = np.linalg.norm(pos[:, None] - aps[None], axis=2)
    wifi = -40 - 20 * np.log10(1 + d)
    wifi[d > 15] = FLOOR
    imu = rng.normal(0, 1, (n, 10, 2)) + [9.8, 0.3]
    mag = rng.normal(40, 5, (n, 10, 1))
    return Samples(wifi.astype(np.float32), imu.astype(np.float32), mag.astype(np.float32),
                   pos.astype(np.float32), np.any(wifi > FLOOR, axis=1),
                   np.repeat(np.array([f"t{i}" for i in range(8)]), -(-n // 8))[:n])


# --- Table I -------------------------------------------------------------------------------

def test_keras_parameter_counts_match_table_i_with_750_aps() -> None:
    table = layer_table(MTLoc(750))
    body = table[table.layer != "total"]
    assert list(body["parameters (Keras)"]) == [n for _, _, n in PAPER_TABLE_I]
    total = table[table.layer == "total"].iloc[0]
    assert total["parameters (Keras)"] == 295_810 == total["paper (750 APs)"]
    # PyTorch keeps a second bias vector (4 × 128) in each of the two LSTMs
    assert total["parameters (PyTorch)"] == 295_810 + 2 * 4 * 128
    assert sum(p.numel() for p in MTLoc(750).parameters()) == total["parameters (PyTorch)"]


def test_keras_count_tracks_the_vocabulary_and_channels() -> None:
    assert keras_parameter_count(MTLoc(100)) == 295_810 - 650 * 128
    # 6-axis IMU: the LSTM's input weights grow by 4 × 128 × 4
    assert keras_parameter_count(MTLoc(750, imu_channels=6)) == 295_810 + 4 * 128 * 4


def test_forward_shapes_and_bad_input() -> None:
    m = MTLoc(12)
    s = synthetic(5)
    out = m(wifi=torch.tensor(s.wifi), imu=torch.tensor(s.imu), mag=torch.tensor(s.mag))
    assert out.shape == (5, 2)
    with pytest.raises(ValueError, match="n_aps=12"):
        m(wifi=torch.zeros(5, 13), imu=torch.tensor(s.imu), mag=torch.tensor(s.mag))
    with pytest.raises(ValueError, match=r"\[batch, steps, 2\]"):
        m(wifi=torch.tensor(s.wifi), imu=torch.zeros(5, 10, 6), mag=torch.tensor(s.mag))
    with pytest.raises(ValueError, match="n_aps"):
        MTLoc(0)
    with pytest.raises(ValueError, match="rss_floor_dbm"):
        MTLoc(10, rss_floor_dbm=5.0)


# --- training ------------------------------------------------------------------------------

FAST = FitConfig(epochs=3, lr=0.003, batch_size=32, num_threads=1)


def test_fit_learns_and_is_deterministic() -> None:
    s = synthetic(300)
    m1 = make_mtloc(s, mode="scratch", seed=1)
    before = float(np.mean(errors_m(m1, s)))
    h = fit(m1, s, s, config=FitConfig(epochs=15, lr=0.003, batch_size=32, num_threads=1), seed=1)
    assert h.val_mean_error_m[h.best_epoch] == min(h.val_mean_error_m)
    assert float(np.mean(errors_m(m1, s))) == pytest.approx(min(h.val_mean_error_m), rel=1e-5)
    assert min(h.val_mean_error_m) < 0.6 * before
    m2 = make_mtloc(s, mode="scratch", seed=1)
    fit(m2, s, s, config=FitConfig(epochs=15, lr=0.003, batch_size=32, num_threads=1), seed=1)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_transfer_freezes_the_lstm_and_finetune_trains_it() -> None:
    src, tgt = synthetic(200, seed=1), synthetic(200, seed=2)
    imu_model, _ = pretrain_imu(src, None, config=FAST, seed=0)
    ref = {k: v.clone() for k, v in imu_model.imu.state_dict().items()}

    frozen = make_mtloc(tgt, mode="transfer", imu_model=imu_model)
    wifi_before = frozen.wifi[0].weight.detach().clone()
    fit(frozen, tgt, config=FAST)
    for k, v in frozen.imu.state_dict().items():
        assert torch.equal(v, ref[k]), k  # weights and the carried input scaling
    assert not torch.equal(frozen.wifi[0].weight, wifi_before)
    assert keras_parameter_count(frozen, trainable_only=True) == keras_parameter_count(frozen) - (
        4 * 128 * (2 + 128 + 1))

    tuned = make_mtloc(tgt, mode="finetune", imu_model=imu_model)
    assert torch.equal(tuned.imu.lstm.weight_hh_l0, ref["lstm.weight_hh_l0"])
    fit(tuned, tgt, config=FAST)
    assert not torch.equal(tuned.imu.lstm.weight_hh_l0, ref["lstm.weight_hh_l0"])
    # pre-training's own weights are not touched by either
    assert torch.equal(imu_model.imu.lstm.weight_hh_l0, ref["lstm.weight_hh_l0"])


def test_make_mtloc_and_fit_reject_bad_input() -> None:
    s = synthetic(40)
    with pytest.raises(ValueError, match="mode='frozen'"):
        make_mtloc(s, mode="frozen")
    with pytest.raises(ValueError, match="needs imu_model"):
        make_mtloc(s, mode="transfer")
    with pytest.raises(ValueError, match="epochs=0"):
        FitConfig(epochs=0)
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        FitConfig(optimizer="sgd")
    m = make_mtloc(s, mode="scratch")
    with pytest.raises(ValueError, match="n_aps=12"):
        fit(m, synthetic(40, n_aps=13), config=FAST)


# --- converged training (FitConfig.stop, the full profile) ----------------------------------

STOP = StopRule(patience=3, lr_patience=1, min_delta=0.01)


def _train_val(n: int = 320, n_val: int = 80) -> tuple[Samples, Samples]:
    """One site (same access points), split by trace: traces t6 and t7 for validation."""
    s = synthetic(n, seed=3)
    return s.subset(np.arange(n) < n - n_val), s.subset(np.arange(n) >= n - n_val)


def test_fit_stops_on_a_plateau_lowers_the_rate_and_restores_the_best_epoch(monkeypatch) -> None:
    made = []

    class Recording(torch.optim.RMSprop):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            made.append(self)

    monkeypatch.setattr(torch.optim, "RMSprop", Recording)
    tr, val = _train_val()
    cfg = FitConfig(epochs=100, lr=0.01, batch_size=32, num_threads=1, stop=STOP)
    m = make_mtloc(tr, mode="scratch", seed=1)
    h = fit(m, tr, val, config=cfg, seed=1)
    s = h.stopping
    assert s["stopped"] == "plateau" and s["cap"] == 100 and len(h.epoch_s) == s["epochs_run"] < 100
    assert h.best_epoch == s["best_epoch"] == len(h.epoch_s) - 1 - STOP.patience > 2
    assert s["lr_drops"] and made[0].param_groups[0]["lr"] < cfg.lr  # the rate fell
    # the given validation samples were watched, and the best epoch's weights are back
    assert (h.n_train, h.n_val) == (len(tr.pos), len(val.pos))
    assert float(np.mean(errors_m(m, val))) == pytest.approx(h.val_mean_error_m[h.best_epoch],
                                                             rel=1e-5)
    assert h.val_mean_error_m[h.best_epoch] < h.val_mean_error_m[0]
    rec = h.summary()
    assert (rec["epochs_cap"], rec["stopped"], rec["lr_drops"], rec["n_val"]) == (
        100, "plateau", len(s["lr_drops"]), len(val.pos))


def test_stop_split_keeps_traces_whole_or_blocks_contiguous() -> None:
    s = synthetic(240)  # eight traces of 30 samples
    fit_rows, held = stop_split(s, STOP, seed=2)
    assert len(fit_rows.pos) + len(held.pos) == 240 and 0 < len(held.pos) < 240
    assert not set(fit_rows.trace) & set(held.trace)  # whole traces on one side
    assert len(held.pos) % 30 == 0
    again = stop_split(s, STOP.as_dict(), seed=2)[1]
    assert np.array_equal(again.pos, held.pos)  # seeded
    # without trace ids: contiguous blocks of samples (about 10 of ceil(10 / 0.1) = 100 held out)
    bare = Samples(s.wifi, s.imu, s.mag, s.pos, s.wifi_valid, np.zeros(240, int))  # one trace
    no_ids = dataclasses.make_dataclass("Bare", ["wifi", "imu", "mag", "pos"])(
        s.wifi, s.imu, s.mag, s.pos)
    for samples in (bare, no_ids):
        _, h = stop_split(samples, STOP, seed=2)
        rows = np.flatnonzero((s.pos[:, None] == h.pos[None]).all(axis=2).any(axis=1))
        runs = 1 + np.count_nonzero(np.diff(rows) > 1)
        assert 20 <= len(rows) <= 30 and runs <= 10
    with pytest.raises(ValueError, match="at least 2"):
        stop_split(s.subset(np.arange(240) < 1), STOP, seed=0)


def test_fit_without_val_carves_its_split_from_the_training_traces() -> None:
    tr, _ = _train_val()
    cfg = FitConfig(epochs=6, lr=0.01, batch_size=32, num_threads=1, stop=STOP)
    m = make_mtloc(tr, mode="scratch", seed=1)
    h = fit(m, tr, None, config=cfg, seed=4)
    fit_rows, held = stop_split(tr, STOP, seed=4)
    assert (h.n_train, h.n_val) == (len(fit_rows.pos), len(held.pos))
    assert h.n_train + h.n_val == len(tr.pos) and h.stopping["cap"] == 6
    assert len(h.val_mean_error_m) == len(h.epoch_s) <= 6
    assert float(np.mean(errors_m(m, held))) == pytest.approx(h.val_mean_error_m[h.best_epoch],
                                                              rel=1e-5)
    # the IMU-LSTM pre-training takes the rule too
    _, hp = pretrain_imu(tr, None, config=dataclasses.replace(cfg, epochs=3), seed=0)
    assert hp.stopping is not None and hp.n_val > 0


def test_fit_without_a_stop_rule_is_as_before() -> None:
    """stop=None is the fixed-epoch training of before: the numbers below were produced by the
    code before the stop rule existed (same seed, data and settings)."""
    s, v = synthetic(200, seed=3), synthetic(80, seed=4)
    cfg = FitConfig(epochs=4, lr=0.003, batch_size=32, num_threads=1)
    assert cfg.stop is None and cfg == dataclasses.replace(cfg, stop=None)
    m = make_mtloc(s, mode="scratch", seed=1)
    h = fit(m, s, v, config=cfg, seed=1)
    assert h.val_mean_error_m == pytest.approx(
        [7.592299502360939, 8.570776500230485, 8.152165794344311, 9.759084833231958], rel=1e-5)
    assert h.train_loss == pytest.approx(
        [0.9778278350830079, 0.6287601089477539, 0.461497802734375, 0.2333198928833008], rel=1e-5)
    assert h.best_epoch == 0 and len(h.epoch_s) == 4  # all epochs run, epoch 0's weights kept
    assert float(np.mean(errors_m(m, v))) == pytest.approx(h.val_mean_error_m[0], rel=1e-5)
    assert h.stopping is None and h.n_val == 0 and h.n_train == 200
    assert not {"epochs_cap", "stopped", "lr_drops", "n_val"} & set(h.summary())
    with pytest.raises(ValueError, match="unknown field"):
        FitConfig(stop={"patiense": 3})


def test_settings_pass_the_profile_stop_rule_to_every_fit() -> None:
    from ipsbook import profiles

    full = Settings.fit_configs(profiles.resolve("mtloc", "full"), num_threads=1)
    rule = StopRule.of(profiles.resolve("mtloc", "full").stop)
    assert full["pretrain"].stop == full["target"].stop == rule is not None
    assert (full["pretrain"].epochs, full["pretrain"].lr, full["target"].lr) == (100, 0.005, 0.001)
    quick = Settings.fit_configs(profiles.resolve("mtloc", "quick"), epochs=2)
    assert quick["pretrain"].stop is None and quick["target"].stop is None
    assert quick["pretrain"].epochs == quick["target"].epochs == 2
    assert quick["target"] == FitConfig(epochs=2, lr=0.001, batch_size=128)
    s = Settings(pretrain=full["pretrain"], target=full["target"])
    assert s.as_dict()["target"]["stop"] == rule.as_dict()


# --- wiping --------------------------------------------------------------------------------

@pytest.mark.parametrize("modality", ["wifi", "imu", "mag"])
@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.4, 1.0])
def test_wipe_removes_exactly_the_requested_fraction(modality: str, fraction: float) -> None:
    s = synthetic(101)
    valid = valid_mask(s, modality, FLOOR)
    w = wipe(s, modality, fraction, seed=3, rss_floor_dbm=FLOOR)
    still = valid_mask(w, modality, FLOOR)
    assert int(valid.sum() - still.sum()) == round(fraction * valid.sum())
    assert not np.any(still & ~valid)
    for other in {"wifi", "imu", "mag"} - {modality}:
        assert np.array_equal(getattr(w, other), getattr(s, other), equal_nan=True)
    assert np.isfinite(s.imu).all()  # the input is untouched
    if modality == "wifi":
        assert np.array_equal(w.wifi_valid, still)


def test_wiped_windows_give_finite_predictions() -> None:
    s = synthetic(50)
    m = make_mtloc(s, mode="scratch")
    e = errors_m(m, wipe(wipe(s, "imu", 1.0), "mag", 1.0))
    assert np.isfinite(e).all()


def test_wipe_rejects_bad_input() -> None:
    s = synthetic(10)
    with pytest.raises(ValueError, match=r"fraction=1.5 must be a number in \[0, 1\]"):
        wipe(s, "wifi", 1.5)
    with pytest.raises(ValueError, match="modality='gps'"):
        wipe(s, "gps", 0.1)


# --- experiment helpers and baselines ------------------------------------------------------

def test_training_subsets_are_nested_and_never_empty() -> None:
    ids = [f"t{i}" for i in range(21)]
    subsets = [training_subset(ids, k / 8) for k in range(1, 9)]
    assert len(subsets[0]) == 3 and subsets[-1] == ids
    for a, b in itertools.pairwise(subsets):
        assert b[: len(a)] == a and len(b) >= len(a)
    assert training_subset(["a", "b"], 0.125) == ["a"]
    with pytest.raises(ValueError, match="rate=0"):
        training_subset(ids, 0)


def test_settings_reject_bad_rates() -> None:
    with pytest.raises(ValueError, match="rates"):
        Settings(rates=(0.0, 1.5))
    with pytest.raises(ValueError, match="wipe_rate"):
        Settings(wipe_rate=0.3)


def test_wifi_knn_is_exact_on_its_training_points() -> None:
    s = synthetic(120)
    res = wifi_knn(s, s, s, k_values=(1, 3))
    assert res.k == 1 and np.median(res.errors) == pytest.approx(0.0, abs=1e-6)


def _sklearn_knn_errors(train: Samples, test: Samples, rep: str, metric: str, k: int) -> np.ndarray:
    """Independent reference: scikit-learn's distance-weighted regressor on represented vectors."""
    from sklearn.neighbors import KNeighborsRegressor

    from ipsbook.methods.dml.representations import represent

    tv, ok = train.wifi_valid, test.wifi_valid
    heard = train.wifi[tv] > FLOOR
    min_rss = min(FLOOR, float(train.wifi[tv][heard].min()) - 1.0)

    def r(x: np.ndarray) -> np.ndarray:
        return represent(x.astype(np.float64), rep, missing=FLOOR, min_rss=min_rss)

    reg = KNeighborsRegressor(n_neighbors=k, weights="distance", metric=metric,
                              algorithm="brute")
    pred = np.tile(train.pos.astype(np.float64).mean(axis=0), (len(test.pos), 1))
    pred[ok] = reg.fit(r(train.wifi[tv]), train.pos[tv]).predict(r(test.wifi[ok]))
    return np.linalg.norm(pred - test.pos, axis=1)


def test_wifi_knn_chooses_the_configuration_best_on_validation() -> None:
    train, val, test = synthetic(200, seed=1), synthetic(80, seed=2), synthetic(60, seed=3)
    # a device that reads 12 dB weaker: the ranking of APs survives, the raw dBm distances do not
    for s in (val, test):
        heard = s.wifi > FLOOR
        s.wifi = np.where(heard, np.maximum(s.wifi - 12.0, FLOOR + 1), FLOOR).astype(np.float32)
    test.wifi_valid[:3] = False  # before the first scan: the training centroid
    test.wifi[:3] = FLOOR
    configs = (*KNN_CONFIGS, ("positive", "manhattan"))
    res = wifi_knn(train, test, val, k_values=(1, 3, 5), configs=configs)
    grid = res.grid
    assert len(grid) == 5 * 3 and set(grid.representation) == {"raw", "positive", "powed"}
    best = grid.loc[grid.validation_mean_m.idxmin()]
    assert (res.representation, res.metric, res.k) == (best.representation, best.metric, best.k)
    np.testing.assert_array_equal(res.errors, res.by_config[(res.representation, res.metric)][2])
    # every pair, at the k it chose on validation, is scikit-learn's distance-weighted kNN (the
    # cosine one is searched as Euclidean on unit vectors: same neighbours, same weights)
    for (rep, metric), (k, val_e, test_e) in res.by_config.items():
        sel = grid[(grid.representation == rep) & (grid.metric == metric)]
        assert k == sel.loc[sel.validation_mean_m.idxmin(), "k"]
        np.testing.assert_allclose(test_e, _sklearn_knn_errors(train, test, rep, metric, k),
                                   atol=1e-4, err_msg=f"{rep}/{metric}")
        np.testing.assert_allclose(val_e, _sklearn_knn_errors(train, val, rep, metric, k),
                                   atol=1e-4, err_msg=f"{rep}/{metric}")
    # raw dBm with the Euclidean distance is one point of the grid, and on its own gives the same
    raw = wifi_knn(train, test, val, k_values=(1, 3, 5), configs=[("raw", "euclidean")])
    np.testing.assert_allclose(raw.errors, _sklearn_knn_errors(train, test, "raw", "euclidean", raw.k),
                               atol=1e-6)
    k, val_e, test_e = res.by_config[("raw", "euclidean")]
    assert k == raw.k
    np.testing.assert_array_equal(test_e, raw.errors)
    np.testing.assert_array_equal(val_e, raw.val_errors)
    assert np.mean(res.val_errors) == pytest.approx(best.validation_mean_m)
    assert raw.grid.validation_mean_m.min() >= grid.validation_mean_m.min()


def test_wifi_knn_rejects_unknown_representation_or_metric() -> None:
    s = synthetic(60)
    with pytest.raises(ValueError, match="configs=.*representation one of raw"):
        wifi_knn(s, s, s, configs=[("dBm", "euclidean")])
    with pytest.raises(ValueError, match="configs=.*metric one of euclidean"):
        wifi_knn(s, s, s, configs=[("raw", "hamming")])
    with pytest.raises(ValueError, match="distinct"):
        wifi_knn(s, s, s, configs=[("raw", "euclidean"), ("raw", "euclidean")])
    with pytest.raises(ValueError, match="knn_configs"):
        Settings(knn_configs=(("powed", "cosine"),))
    with pytest.raises(ValueError, match="k_values"):
        wifi_knn(s, s, s, k_values=(0,))


@dataclasses.dataclass
class FakeTrace:
    imu: pd.DataFrame
    rotvec: pd.DataFrame
    waypoints: pd.DataFrame


def _walk(heading_deg: float, phone_yaw_deg: float, seconds: float = 20.0) -> FakeTrace:
    """Walk straight at 2 steps/s, 0.7 m a step, along ``heading_deg`` on the map, holding the
    phone flat with its y axis at ``phone_yaw_deg`` (counter-clockwise from east) in the world."""
    fs = 50.0
    t = np.arange(0, seconds * 1000, 1000 / fs)
    acc = np.column_stack([np.zeros_like(t), np.zeros_like(t), 9.8 + 3 * np.sin(2 * np.pi * 2 * t / 1000)])
    # rotation about z by (yaw - 90°) takes the device y axis to yaw
    half = np.radians(phone_yaw_deg - 90) / 2
    q = np.column_stack([np.zeros_like(t), np.zeros_like(t), np.full_like(t, np.sin(half))])
    h = np.radians(heading_deg)
    speed = 1.4  # m/s = 2 steps/s × 0.7 m
    wp_t = np.array([0.0, seconds * 1000])
    wp = np.column_stack([10 + np.cos(h) * speed * wp_t / 1000, 20 + np.sin(h) * speed * wp_t / 1000])
    imu = pd.DataFrame({"t_ms": t, "ax": acc[:, 0], "ay": acc[:, 1], "az": acc[:, 2]})
    rot = pd.DataFrame({"t_ms": t, "qx": q[:, 0], "qy": q[:, 1], "qz": q[:, 2]})
    return FakeTrace(imu, rot, pd.DataFrame({"t_ms": wp_t, "x": wp[:, 0], "y": wp[:, 1]}))


def test_pdr_recovers_step_length_heading_offset_and_track() -> None:
    tr = _walk(heading_deg=30, phone_yaw_deg=100)  # map frame rotated by -70° from the world
    times = step_times(tr.imu.t_ms.to_numpy(), tr.imu[["ax", "ay", "az"]].to_numpy())
    assert len(times) == pytest.approx(40, abs=1)
    model = fit_pdr([tr, _walk(heading_deg=120, phone_yaw_deg=190)])
    assert model.step_length_m == pytest.approx(0.7, rel=0.05)
    assert np.degrees(model.heading_offset_rad) == pytest.approx(-70, abs=1)
    test = _walk(heading_deg=-45, phone_yaw_deg=25)
    t = np.array([5000.0, 10000.0, 19000.0])
    truth = test.waypoints[["x", "y"]].to_numpy()[0] + 1.4 * t[:, None] / 1000 * [
        np.cos(np.radians(-45)), np.sin(np.radians(-45))]
    assert np.max(np.linalg.norm(pdr_positions(model, test, t) - truth, axis=1)) < 1.0


# --- the experiment on real traces -----------------------------------------------------------

def _have_ilc() -> bool:
    from ipsbook.data import ilc

    try:
        ilc.trace_ids("site2")
        ilc.read_trace("site2", ilc.trace_ids("site2")[0])
    except Exception:  # noqa: BLE001 - any missing/corrupt data means: skip
        return False
    return True


@pytest.mark.skipif(not _have_ilc(), reason="ms-ilc2020 traces not found (IPSBOOK_DATA_DIR)")
def test_run_all_gives_the_same_numbers_in_parallel_and_in_order() -> None:
    from ipsbook.methods.mtloc.experiment import run_all

    tiny = FitConfig(epochs=1, lr=0.001, batch_size=512, num_threads=1)
    s = Settings(pretrain=tiny, target=tiny, rates=(0.0, 1.0), wipe_rate=1.0, step_s=1.0,
                 wipe_fractions=(0.0, 1.0), knn_configs=(("raw", "euclidean"), ("powed", "cosine")))
    dirs = [("site1", "site2"), ("site1", "site2", "blocks")]
    seq = run_all(dirs, [0], settings=s, workers=1, progress=False)
    par = run_all(dirs, [0], settings=s, workers=2, progress=False)
    assert [r.info["protocol"] for r in par] == ["by trace", "walked"]
    for a, b in zip(seq, par, strict=True):
        pd.testing.assert_frame_equal(a.errors, b.errors)
        pd.testing.assert_frame_equal(a.wipe_curve, b.wipe_curve)
        pd.testing.assert_frame_equal(a.knn_grid, b.knn_grid)
        pd.testing.assert_frame_equal(a.pretrain_errors, b.pretrain_errors)
    # every model, every split, and the baselines are there
    e = seq[0].errors
    assert set(e.model) == {"scratch", "transfer", "finetune", "scratch-latest", "wifi-knn",
                            "wifi-knn-raw", "pdr", "wifi-pdr-kf", "coverage", "mean-position"}
    # the MTLoc models are also scored on the samples they were fitted on (the generalisation
    # gap); the baselines only on validation and test
    assert set(e[e.split == "train"].model) == {"scratch", "transfer", "finetune",
                                                 "scratch-latest"}
    assert set(e.split) == {"train", "validation", "test"}
    # the distance to the nearest training position rides along every evaluated error
    held_out = e[e.split != "train"]
    assert held_out.dist_m.notna().all() and e[e.split == "train"].dist_m.isna().all()
    cov = held_out[held_out.model == "coverage"]
    assert np.allclose(cov.error_m, cov.dist_m)
    # walked corridors: test positions lie much nearer to training positions than by trace,
    # and the gap between blocks of different splits dropped samples
    walked = seq[1]
    assert walked.info["target_gap_samples"] > 0
    d_trace = e[(e.model == "coverage") & (e.split == "test")].dist_m.mean()
    w = walked.errors
    assert w[(w.model == "coverage") & (w.split == "test")].dist_m.mean() < d_trace
    assert len(walked.pretrain_errors) == walked.info["source_validation_samples"]
    info, grid = seq[0].info, seq[0].knn_grid
    assert info["pretrain_constant_val_m"] > 0  # the mean-position reference for Table IV
    best = grid.loc[grid.validation_mean_m.idxmin()]
    assert (info["knn_representation"], info["knn_metric"], info["knn_k"]) == (
        best.representation, best.metric, best.k)
    with pytest.raises(ValueError, match="workers=0"):
        run_all([("site1", "site2")], [0], settings=s, workers=0)
    with pytest.raises(ValueError, match="source and target must be different"):
        run_all([("site1", "site1")], [0], settings=s)

"""Binary fingerprinting (paper D): layouts, labelling, cell designs and the simulation."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.methods import bfp
from ipsbook.methods import bfp_rules as rules
from ipsbook.stats import Interval


@pytest.mark.parametrize("name,n_beacons,n_cells", [("2x2", 2, 4), ("4x4", 6, 16)])
def test_layout_codes_are_distinct_and_match_cells(name, n_beacons, n_cells):
    lay = bfp.make_layout(name, 20.0)
    codes = lay.cell_codes
    assert lay.n_beacons == n_beacons and codes.shape == (n_cells, n_beacons)
    assert len({tuple(c) for c in codes}) == n_cells
    # the designed bits of any point equal the code of the cell that contains it
    pts = np.random.default_rng(0).uniform(0.01, 19.99, (500, 2))
    assert np.array_equal(lay.ideal_bits(pts), codes[lay.cell_of(pts)])
    # ... also on the borders and corners (a whole 0.25 m grid): every point gets a codeword
    grid_pts = bfp.Scenario(side_m=20.0).test_grid.points
    assert np.array_equal(lay.ideal_bits(grid_pts), codes[lay.cell_of(grid_pts)])


def test_ideal_bits_follow_eq4_on_a_border():
    """Eq. 4 gives 1 where RSSI = RSSI_REF: a point on a designed border gets bit 1, whichever
    side of the border is the '1' side."""
    lay = bfp.make_layout("4x4", 20.0)  # x-borders at 5, 10 (1 below) and 15 (1 above)
    on = np.array([[5.0, 2.0], [10.0, 2.0], [15.0, 2.0]])
    bits = lay.ideal_bits(on)
    assert bits[0, 0] == 1 and bits[1, 1] == 1 and bits[2, 2] == 1
    # just across each border on the '0' side the bit is 0
    off = on + np.array([[1e-6, 0], [1e-6, 0], [-1e-6, 0]])
    b_off = lay.ideal_bits(off)
    assert b_off[0, 0] == 0 and b_off[1, 1] == 0 and b_off[2, 2] == 0
    # the 2x2 border x = side/2: its beacon stands at x = 0, the '1' side is below
    lay2 = bfp.make_layout("2x2", 10.0)
    assert lay2.ideal_bits(np.array([[5.0, 1.0]]))[0, 0] == 1
    assert lay2.ideal_bits(np.array([[1.0, 5.0]]))[0, 1] == 1


def test_thermometer_code_hamming_equals_city_block_distance():
    lay = bfp.make_layout("4x4", 8.0)
    codes = lay.cell_codes.astype(int)
    ij = np.array([(k % 4, k // 4) for k in range(16)])
    for a in range(16):
        for b in range(16):
            assert np.abs(codes[a] - codes[b]).sum() == np.abs(ij[a] - ij[b]).sum()


def test_2x2_beacons_sit_at_wall_midpoints():
    lay = bfp.make_layout("2x2", 10.0)
    assert np.allclose(lay.beacons, [[0, 5], [5, 0]])


@given(st.floats(-30, 30), st.floats(0, 20))
@settings(max_examples=100, deadline=None)
def test_ternary_labels_follow_eq5(rssi, delta):
    bits, mask = bfp.ternary_labels(np.array([[rssi]]), np.array([0.0]), delta)
    assert bits[0, 0] == (rssi >= 0)
    neutral = -delta / 2 <= rssi < delta / 2
    assert mask[0, 0] == (not neutral)


def test_ternary_keys_and_table_match_labels_and_packed_search():
    rng = np.random.default_rng(3)
    lay = bfp.make_layout("4x4", 20.0)
    codes = lay.cell_codes
    centres = lay.cell_centres + rng.normal(0, 0.5, (16, 2))
    ref = np.array([-60.0, -55.0, -65.0, -62.0, -58.0, -61.0])
    meas = ref + rng.normal(0, 4, (400, 6))
    meas[:5] = ref + np.array([0.0, 1.0, -1.0, 0.5, -0.5, 2.0])  # on / at the region's edges
    table = bfp.TernaryTable(codes, centres)
    for delta in (0.0, 1.0, 2.0, 5.0, 40.0):
        keys = bfp.ternary_keys(meas, ref, delta)
        bits, mask = bfp.ternary_labels(meas, ref, delta)
        digit = (keys[:, None] // 3 ** np.arange(6)) % 3
        assert np.array_equal(digit != 0, mask.astype(bool))
        assert np.array_equal((digit == 2)[mask.astype(bool)], bits.astype(bool)[mask.astype(bool)])
        np.testing.assert_allclose(table.locate(keys),
                                   bfp.locate_bfp(meas, ref, delta, codes, centres))


def test_table_refuses_too_many_beacons():
    with pytest.raises(ValueError, match="n_beacons=13 is too many"):
        bfp.TernaryTable(np.zeros((2, 13), dtype=np.uint8), np.zeros((2, 2)))


def test_delta_zero_is_binary_labelling():
    rssi = np.random.default_rng(0).normal(-60, 5, (100, 3))
    ref = np.array([-60.0, -55.0, -65.0])
    bits, mask = bfp.ternary_labels(rssi, ref, 0.0)
    assert mask.all() and np.array_equal(bits, bfp.binary_labels(rssi, ref))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_negative_or_nonfinite_delta_and_sigma_are_rejected(bad):
    with pytest.raises(ValueError, match="delta"):
        bfp.ternary_labels(np.zeros((1, 1)), np.zeros(1), bad)
    with pytest.raises(ValueError, match="sigma_w"):
        bfp.simulate(bfp.Scenario(side_m=4.0, test_step_m=0.5), "2x2", (bad,), (0.0,), 1,
                     progress=False)


def test_scenario_rejects_resolution_that_does_not_divide_the_area():
    with pytest.raises(ValueError, match=r"rho_m=0\.3 m does not divide the area side"):
        bfp.Scenario(side_m=20.0, rho_m=0.3)
    with pytest.raises(ValueError, match="multiple of test_step_m"):
        bfp.Scenario(side_m=20.0, rho_m=0.5, test_step_m=0.2)


def test_unknown_layout_and_design_are_named():
    with pytest.raises(ValueError, match="layout='3x3' is not known; allowed: 2x2, 4x4"):
        bfp.make_layout("3x3", 10.0)
    with pytest.raises(ValueError, match="design='XYZ'"):
        bfp.simulate(bfp.Scenario(side_m=4.0, test_step_m=0.5), "2x2", (0.0,), (0.0,), 1,
                     designs=("XYZ",), progress=False)


def test_code_rate_eq3():
    assert bfp.code_rate(16, 6) == pytest.approx(4 / 6)
    assert bfp.code_rate(4, 2) == 1.0
    assert bfp.code_rate(16, 4, levels=4) == pytest.approx(0.5)


def test_ideal_channel_gives_designed_cells_and_exact_positioning_at_cell_centres():
    """No shadowing and a pure log-distance law: FCD centres are the square centres, and a
    noise-free measurement taken at a cell centre is located exactly there."""
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.25, sigma_sh_db=0.0)
    lay = bfp.make_layout("4x4", sc.side_m)
    real = bfp.realise(sc, lay, np.random.default_rng(0))
    codes, centres = real.codebooks["FCD"]
    assert np.allclose(centres, lay.cell_centres)
    idx = sc.test_grid.index_of(lay.cell_centres)
    est = bfp.locate_bfp(real.rssi[:, idx].T, real.ref, 0.0, codes, centres)
    np.testing.assert_allclose(est, lay.cell_centres)
    # OCD centres stay inside the area and each is the centroid of its real region
    ocd = real.codebooks["OCD"][1]
    assert np.all((ocd >= 0) & (ocd <= sc.side_m))


def test_threshold_is_mean_rssi_on_the_border():
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.25)
    lay = bfp.make_layout("2x2", sc.side_m)
    real = bfp.realise(sc, lay, np.random.default_rng(5))
    g = sc.test_grid
    for i in range(lay.n_beacons):
        b = lay.borders[i]
        along = g.points[:, 1 - b.axis]
        # the surveyed border points: on the line, every rho metres
        on_border = np.isclose(g.points[:, b.axis], b.pos) & np.isclose(along % sc.rho_m, 0)
        assert on_border.sum() == round(sc.side_m / sc.rho_m) + 1
        assert real.ref[i] == pytest.approx(real.rssi[i, on_border].mean())


def test_fp_uses_the_same_k_t_positions_as_bfp():
    """FP's fingerprints are the noise-free RSSI at the designed cell centres (eq. 3: one K_T);
    a noise-free measurement at a centre is located exactly there."""
    sc = bfp.Scenario(side_m=20.0, rho_m=0.5, test_step_m=0.25)
    lay = bfp.make_layout("4x4", sc.side_m)
    real = bfp.realise(sc, lay, np.random.default_rng(2))
    assert real.kt_map.shape == (16, 6)
    idx = sc.test_grid.index_of(lay.cell_centres)  # the centres lie on the 0.25 m test grid
    np.testing.assert_allclose(real.kt_map, real.rssi[:, idx].T)
    fp = bfp.FingerprintNN(real.kt_map, lay.cell_centres)
    np.testing.assert_allclose(fp.locate(real.rssi[:, idx].T), lay.cell_centres)
    # a side whose centres are off the test grid: bilinear, still a finite map
    sc15 = bfp.Scenario(side_m=15.0, rho_m=0.5, test_step_m=0.25)
    r15 = bfp.realise(sc15, bfp.make_layout("4x4", 15.0), np.random.default_rng(2))
    assert np.isfinite(r15.kt_map).all()


def test_ideal_regime_is_deterministic_and_los_only():
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.25)
    ideal = sc.ideal()
    assert ideal.regime == "ideal" and sc.regime == "default" and ideal.deterministic
    assert ideal.sigma_sh_db == 0 and ideal.pathloss.los_model == "always"
    lay = bfp.make_layout("2x2", 8.0)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    a = bfp.realise(ideal, lay, rng)
    assert rng.bit_generator.state == state  # nothing drawn
    b = bfp.realise(ideal, lay, np.random.default_rng(99))
    assert a.los.all() and np.array_equal(a.rssi, b.rssi)
    np.testing.assert_allclose(a.codebooks["OCD"][1], b.codebooks["OCD"][1])


def test_fp_is_exact_without_noise_on_its_own_grid():
    sc = bfp.Scenario(side_m=4.0, rho_m=0.5, test_step_m=0.5)
    real = bfp.realise(sc, bfp.make_layout("4x4", sc.side_m), np.random.default_rng(1))
    pts = sc.test_grid.points
    fp = bfp.FingerprintNN(real.fp_map, pts[real.fp_index])
    np.testing.assert_allclose(fp.locate(real.fp_map), pts[real.fp_index])


def test_simulation_is_deterministic_and_rmse_table_is_consistent():
    sc = bfp.Scenario(side_m=6.0, rho_m=0.5, test_step_m=0.5)
    kw = {"sigma_ws": (0.0, 3.0), "deltas": (0.0, 2.0), "n_mc": 3, "seed": 7, "progress": False}
    a = bfp.simulate(sc, "2x2", **kw)
    b = bfp.simulate(sc, "2x2", **kw)
    assert a.equals(b)
    assert len(a) == 3 * 2 * (2 + 2 * 2)  # runs × σ_W × (FP, FP-grid + Δ × designs)
    assert set(a.method) == {"FP", "FP-grid", "BFP"} and set(a.regime) == {"default"}
    assert (a[a.method == "BFP"].query("delta_db == 0").erased == 0).all()
    assert (a[a.method == "BFP"].query("delta_db == 2").erased > 0).all()
    t = bfp.rmse_table(a, ["layout", "method", "design", "sigma_w_db", "delta_db"])
    fp0 = t[(t.method == "FP") & (t.sigma_w_db == 0)]
    assert fp0.rmse_m.iloc[0] == pytest.approx(math.sqrt(a[(a.method == "FP") &
                                                          (a.sigma_w_db == 0)].mse.mean()))
    assert (t.ci_low_m <= t.rmse_m).all() and (t.rmse_m <= t.ci_high_m).all()
    best = bfp.best_delta(t)
    assert set(best.design) == {"FCD", "OCD"} and len(best) == 4


@pytest.mark.parametrize("regime", ["default", "ideal"])
def test_a_run_does_not_depend_on_how_many_runs(regime):
    """Each run has its own stream (and the ideal regime reuses its one map): run 1 is the same
    in a 2-run and a 3-run study."""
    sc = bfp.Scenario(side_m=6.0, rho_m=0.5, test_step_m=0.5)
    sc = sc.ideal() if regime == "ideal" else sc
    kw = {"sigma_ws": (1.0, 3.0), "deltas": (0.0, 2.0), "seed": 4, "progress": False}
    a = bfp.simulate(sc, "4x4", n_mc=2, **kw)
    b = bfp.simulate(sc, "4x4", n_mc=3, **kw)
    pd.testing.assert_frame_equal(a[a.run == 1].reset_index(drop=True),
                                  b[b.run == 1].reset_index(drop=True))


def test_error_draws_and_border_error():
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.25).ideal()
    real = bfp.realise(sc, bfp.make_layout("2x2", 8.0), np.random.default_rng(0))
    d = bfp.error_draws(real, 2.0, 0.0, "OCD", 3, seed=1)
    assert d.shape == (3, sc.test_grid.size)
    np.testing.assert_allclose(bfp.error_map(real, 2.0, 0.0, "OCD", 3, seed=1), d.mean(axis=0))
    near = bfp.distance_to_real_border(real) <= 1.0
    diff = bfp.border_error(d, near)
    np.testing.assert_allclose(diff, d[:, near].mean(axis=1) - d[:, ~near].mean(axis=1))
    with pytest.raises(ValueError, match="near must mark"):
        bfp.border_error(d, np.ones(sc.test_grid.size, dtype=bool))


def test_more_noise_hurts_fp():
    sc = bfp.Scenario(side_m=10.0, rho_m=0.5, test_step_m=0.5)
    res = bfp.simulate(sc, "4x4", (0.0, 8.0), (0.0,), 3, progress=False)
    t = bfp.rmse_table(res, ["method", "sigma_w_db"])
    fp = t[t.method == "FP"].set_index("sigma_w_db").rmse_m
    assert fp[8.0] > fp[0.0]


def test_footprint_counts_bits():
    f = bfp.footprint(bfp.Scenario(side_m=10.0, rho_m=1.0), "4x4")
    assert f["bfp_bits_per_fingerprint"] == 6 and f["fp_bits_per_fingerprint_float32"] == 192
    assert f["positions_K_T"] == 16 and f["fp_grid_positions"] == 121
    assert f["fp_map_bytes_float32"] == 4 * 6 * 16 and f["bfp_map_bytes_packed"] == 8 * 16
    assert f["fp_grid_map_bytes_float32"] == 4 * 6 * 121
    assert f["code_rate"] == pytest.approx(4 / 6)


def test_table1_marks_choices():
    t = bfp.table1(bfp.Scenario(), (0.0, 2.0), (0.0, 2.0), 10)
    assert {"parameter", "symbol", "value", "unit", "source", "chosen"} <= set(t.columns)
    assert t.chosen.any() and (~t.chosen).any()
    assert t.set_index("parameter").loc["test grid resolution", "value"] == 0.25


def test_distance_to_real_border_is_zero_on_borders_and_grows_away():
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.25, sigma_sh_db=0.0)
    real = bfp.realise(sc, bfp.make_layout("2x2", sc.side_m), np.random.default_rng(0))
    d = bfp.distance_to_real_border(real)
    code = (real.real_bits @ np.array([1, 2])).reshape(sc.test_grid.shape)
    changes = np.zeros_like(code, dtype=bool)
    changes[:, 1:] |= code[:, 1:] != code[:, :-1]
    assert np.all(d.reshape(code.shape)[changes] == 0)
    assert d.max() > 0 and d.max() <= sc.side_m * np.sqrt(2)


# --------------------------------------------------------------------------------------------
# The rules that judge the claims (bfp_rules): each can say yes and no on constructed inputs


def _toy_sim(effect: float, n_runs: int = 30, sd: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Two designs at two σ_W: per-run RMSE of OCD = FCD + effect (+ noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        for s in (1.0, 4.0):
            base = 3.0 + s / 4 + rng.normal(0, 0.3)
            for g, r in (("FCD", base), ("OCD", base + effect + rng.normal(0, sd))):
                rows.append({"regime": "default", "layout": "2x2", "method": "BFP", "design": g,
                             "sigma_w_db": s, "delta_db": 0.0, "run": run, "mse": r**2})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("effect,holds", [(-0.3, True), (0.3, False), (0.0, False)])
def test_contrast_and_every_point_both_ways(effect, holds):
    sim = _toy_sim(effect)
    c = rules.contrast(sim, [(1, {"design": "OCD"}), (-1, {"design": "FCD"})], ["sigma_w_db"])
    assert list(c.sigma_w_db) == [1.0, 4.0] and (c.n == 30).all()
    np.testing.assert_allclose(c["mean"], effect, atol=0.05)
    ok, _ = rules.every_point(list(c.interval), "lower")
    assert ok is holds
    t = rules.tally(list(c.interval), "lower")
    assert t["total"] == 2 and t["claimed"] + t["other"] + t["unresolved"] == 2
    v = rules.verdict_every(c, "lower", ["sigma_w_db"])
    assert v.holds is holds and "closest to failing" in v.ours


def test_contrast_weights_and_pairing_errors():
    sim = _toy_sim(-0.2)
    mid = rules.contrast(sim, [(1, {"design": "OCD"}), (-0.5, {"design": "OCD"}),
                               (-0.5, {"design": "FCD"})], ["sigma_w_db"])
    full = rules.contrast(sim, [(1, {"design": "OCD"}), (-1, {"design": "FCD"})], ["sigma_w_db"])
    np.testing.assert_allclose(mid["mean"], full["mean"] / 2)
    with pytest.raises(ValueError, match="not unique"):
        rules.contrast(sim, [(1, {"method": "BFP"}), (-1, {"design": "FCD"})], ["sigma_w_db"])
    with pytest.raises(ValueError, match="matches no row"):
        rules.contrast(sim, [(1, {"design": "XYZ"})], ["sigma_w_db"])
    with pytest.raises(ValueError, match="selection column 'colour'"):
        rules.contrast(sim, [(1, {"colour": "red"})], ["sigma_w_db"])


def test_unresolved_counts_against_and_one_repeat_decides_nothing():
    iv = Interval(-0.1, -0.3, 0.1, 10, "monte-carlo")
    assert rules.every_point([iv], "lower")[0] is False
    single = Interval(-1.0, -1.0, -1.0, 1, "monte-carlo")
    assert rules.every_point([single], "lower")[0] is False


@pytest.mark.parametrize("lo,hi,expected", [(-0.1, 0.1, 1), (0.6, 0.9, -1), (0.3, 0.7, 0)])
def test_within_and_equivalence_both_ways(lo, hi, expected):
    iv = Interval((lo + hi) / 2, lo, hi, 20, "monte-carlo")
    assert rules.within(iv, -0.5, 0.5) == expected
    holds, _ = rules.every_within([iv], [0.5])
    assert holds is (expected == 1)


def _slope_sim(a: float, b: float, n_runs: int = 40, seed: int = 0) -> pd.DataFrame:
    """RMSE curves in Δ with their minimum at Δ* = a + b σ_W, plus per-run noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        for s in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0):
            for d in np.arange(0.0, 21.0):
                mse = 4.0 + 0.05 * (d - (a + b * s)) ** 2 + rng.normal(0, 0.02)
                rows.append({"regime": "ideal", "layout": "4x4", "method": "BFP",
                             "design": "OCD", "sigma_w_db": s, "delta_db": float(d),
                             "run": run, "mse": mse})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("a,b,holds", [(1.0, 2.0, True), (4.5, 0.9, False), (0.0, 3.0, False)])
def test_optimal_delta_fit_with_intercept_both_ways(a, b, holds):
    fit = rules.optimal_delta_fit(_slope_sim(a, b), {"regime": "ideal", "layout": "4x4",
                                                     "design": "OCD"}, n_boot=300)
    assert fit.b == pytest.approx(b, abs=0.15) and fit.a == pytest.approx(a, abs=0.6)
    assert fit.b_interval.lo <= fit.b <= fit.b_interval.hi and fit.b_interval.n == 40
    assert rules.verdict_slope_within(fit, 1.5, 2.5).holds is holds


def test_a_fit_through_the_origin_would_hide_the_intercept():
    """Δ* = 4.5 + 0.9 σ_W: the fit with intercept recovers b = 0.9, not the ~1.9 of a line
    forced through the origin over σ_W > 0."""
    fit = rules.optimal_delta_fit(_slope_sim(4.5, 0.9), {"design": "OCD"}, n_boot=200)
    s = np.array(fit.sigma_w[1:])
    d = np.array(fit.delta_star[1:])
    through_origin = (s * d).sum() / (s**2).sum()
    assert through_origin > 1.7 and fit.b == pytest.approx(0.9, abs=0.15)


@pytest.mark.parametrize("bigger_at_4,expected", [(True, 1), (False, -1)])
def test_gap_peak_both_ways(bigger_at_4, expected):
    rng = np.random.default_rng(1)
    rows = []
    for run in range(25):
        for s in (1.0, 2.0, 4.0, 6.0):
            gap = (0.5 if s == 4.0 else 0.1) if bigger_at_4 else (0.5 if s == 2.0 else 0.1)
            base = 5 + rng.normal(0, 0.3)
            for g, r in (("FCD", base + gap + rng.normal(0, 0.02)), ("OCD", base)):
                for d in (0.0, 2.0, 12.0):
                    rows.append({"method": "BFP", "design": g, "sigma_w_db": s, "delta_db": d,
                                 "run": run, "mse": r**2})
    gaps = rules.gap_by_sigma(pd.DataFrame(rows), {}, (1.0, 6.0), (0.0, 10.0))
    assert list(gaps.columns) == [1.0, 2.0, 4.0, 6.0] and len(gaps) == 25
    iv, s_hi, s_lo = rules.gap_peak(gaps)
    assert iv.side() == expected
    assert s_hi in (4.0, 6.0) and s_lo in (1.0, 2.0)
    if not bigger_at_4:
        assert s_lo == 2.0
    assert rules.gap_peak(gaps[[1.0, 2.0]]) is None

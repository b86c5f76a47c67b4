"""Binary fingerprinting (paper D): layouts, labelling, cell designs and the simulation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsbook.methods import bfp


@pytest.mark.parametrize("name,n_beacons,n_cells", [("2x2", 2, 4), ("4x4", 6, 16)])
def test_layout_codes_are_distinct_and_match_cells(name, n_beacons, n_cells):
    lay = bfp.make_layout(name, 20.0)
    codes = lay.cell_codes
    assert lay.n_beacons == n_beacons and codes.shape == (n_cells, n_beacons)
    assert len({tuple(c) for c in codes}) == n_cells
    # the designed bits of any point equal the code of the cell that contains it
    pts = np.random.default_rng(0).uniform(0.01, 19.99, (500, 2))
    assert np.array_equal(lay.ideal_bits(pts), codes[lay.cell_of(pts)])


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


def test_fp_is_exact_without_noise_on_its_own_grid():
    sc = bfp.Scenario(side_m=4.0, rho_m=0.5, test_step_m=0.5)
    real = bfp.realise(sc, bfp.make_layout("4x4", sc.side_m), np.random.default_rng(1))
    pts = sc.test_grid.points
    fp = bfp.FingerprintNN(real.fp_map, pts[real.fp_index])
    np.testing.assert_allclose(fp.locate(real.fp_map), pts[real.fp_index])


def test_simulation_is_deterministic_and_rmse_table_is_consistent():
    sc = bfp.Scenario(side_m=6.0, rho_m=0.5, test_step_m=0.5)
    kw = dict(sigma_ws=(0.0, 3.0), deltas=(0.0, 2.0), n_mc=3, seed=7, progress=False)
    a = bfp.simulate(sc, "2x2", **kw)
    b = bfp.simulate(sc, "2x2", **kw)
    assert a.equals(b)
    assert len(a) == 3 * 2 * (1 + 2 * 2)  # runs × σ_W × (FP + Δ × designs)
    t = bfp.rmse_table(a, ["layout", "method", "design", "sigma_w_db", "delta_db"])
    fp0 = t[(t.method == "FP") & (t.sigma_w_db == 0)]
    assert fp0.rmse_m.iloc[0] == pytest.approx(math.sqrt(a[(a.method == "FP") &
                                                          (a.sigma_w_db == 0)].mse.mean()))
    assert (t.ci_low_m <= t.rmse_m).all() and (t.rmse_m <= t.ci_high_m).all()
    best = bfp.best_delta(t)
    assert set(best.design) == {"FCD", "OCD"} and len(best) == 4


def test_more_noise_hurts_fp():
    sc = bfp.Scenario(side_m=10.0, rho_m=0.5, test_step_m=0.5)
    res = bfp.simulate(sc, "4x4", (0.0, 8.0), (0.0,), 3, progress=False)
    t = bfp.rmse_table(res, ["method", "sigma_w_db"])
    fp = t[t.method == "FP"].set_index("sigma_w_db").rmse_m
    assert fp[8.0] > fp[0.0]


def test_footprint_counts_bits():
    f = bfp.footprint(bfp.Scenario(side_m=10.0, rho_m=1.0), "4x4")
    assert f["bfp_bits_per_fingerprint"] == 6 and f["fp_bits_per_fingerprint_float32"] == 192
    assert f["fp_map_bytes_float32"] == 4 * 6 * 121 and f["bfp_map_bytes_packed"] == 8 * 16


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

"""Radio model: grids, correlated shadowing statistics, path loss and LoS probability."""

import numpy as np
import pytest

from ipsbook.radio import Grid, PathLossModel, correlated_field
from ipsbook.radio.pathloss import los_probability_inh_mixed, rssi_map


def test_grid_points_and_subgrid():
    g = Grid(4.0, 2.0, 0.5)
    assert g.shape == (5, 9) and g.points.shape == (45, 2)
    assert np.allclose(g.points[g.index_of(np.array([[1.5, 1.0]]))], [1.5, 1.0])
    coarse = Grid(4.0, 2.0, 1.0)
    assert np.allclose(g.points[g.subgrid_index(coarse)], coarse.points)


@pytest.mark.parametrize("step", [0.3, 0.0, -1.0, float("nan")])
def test_grid_rejects_steps_that_do_not_divide(step):
    with pytest.raises(ValueError, match="grid resolution"):
        Grid(1.0, 1.0, step)


def test_shadowing_has_requested_variance_and_exponential_correlation():
    g = Grid(30.0, 30.0, 0.5)
    f = correlated_field(g, 4.0, 3.0, np.random.default_rng(1), n_fields=40)
    assert f.shape == (40, *g.shape)
    assert abs(f.std() / 4.0 - 1) < 0.08
    # correlation at lag d_SH (6 steps along x) should be exp(-1) = 0.37
    a, b = f[:, :, :-6].ravel(), f[:, :, 6:].ravel()
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r - np.exp(-1)) < 0.06
    # and at a lag of 4 d_SH nearly uncorrelated
    a, b = f[:, :, :-24].ravel(), f[:, :, 24:].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_shadowing_special_cases_and_errors():
    g = Grid(2.0, 2.0, 1.0)
    rng = np.random.default_rng(0)
    assert np.all(correlated_field(g, 0.0, 3.0, rng) == 0)
    assert correlated_field(g, 1.0, 0.0, rng, 3).shape == (3, 3, 3)
    with pytest.raises(ValueError, match="sigma_SH"):
        correlated_field(g, -1.0, 3.0, rng)
    with pytest.raises(ValueError, match="d_SH"):
        correlated_field(g, 1.0, -3.0, rng)


def test_pathloss_decreases_with_distance_and_nlos_is_weaker():
    m = PathLossModel()
    d = np.array([1.0, 2.0, 5.0, 10.0, 30.0])
    los, nlos = m.mean_rssi(d, True), m.mean_rssi(d, False)
    assert np.all(np.diff(los) < 0) and np.all(np.diff(nlos) < 0)
    assert np.all(nlos <= los)
    assert los[0] == pytest.approx(m.a_dbm - m.l0_los_db)  # eq. 1 at d0


def test_los_probability_is_monotone_and_bounded():
    d = np.linspace(0, 100, 500)
    p = los_probability_inh_mixed(d)
    assert p[0] == 1 and np.all(np.diff(p) <= 1e-12) and np.all((p >= 0) & (p <= 1))


def test_rssi_map_is_reproducible_with_a_seed():
    g = Grid(5.0, 5.0, 0.5)
    beacons = np.array([[0.0, 2.5], [2.5, 0.0]])
    a = rssi_map(g, beacons, PathLossModel(), 4.0, 2.0, np.random.default_rng(3))
    b = rssi_map(g, beacons, PathLossModel(), 4.0, 2.0, np.random.default_rng(3))
    assert np.array_equal(a[0], b[0]) and a[0].shape == (2, g.size)


def test_los_model_always_puts_every_link_in_los_and_draws_nothing():
    g = Grid(5.0, 5.0, 0.5)
    beacons = np.array([[0.0, 2.5], [2.5, 0.0]])
    model = PathLossModel(los_model="always")
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    rssi, los = rssi_map(g, beacons, model, 0.0, 2.0, rng)
    assert los.all() and rng.bit_generator.state == state
    d = np.hypot(g.points[:, 0] - 0.0, g.points[:, 1] - 2.5)
    np.testing.assert_allclose(rssi[0], model.mean_rssi(d, True))
    # the default draws LoS states: some links far from the beacon are NLoS
    _, los_mixed = rssi_map(Grid(30.0, 30.0, 1.0), np.array([[0.0, 0.0]]), PathLossModel(), 0.0,
                            2.0, np.random.default_rng(0))
    assert not los_mixed.all()


def test_unknown_los_model_is_named():
    with pytest.raises(ValueError, match="los_model='sometimes' is not known; allowed: "
                                         "inh-mixed, always"):
        PathLossModel(los_model="sometimes")

"""ipsbook.metrics: the field's metrics (hit rates, EvAAL/IPIN score, CE95, p75) and
Web-Mercator units."""

import math

import numpy as np
import pytest

from ipsbook import metrics


def test_hit_rate_counts_equal_labels_and_is_nan_without_labels():
    assert metrics.hit_rate([0, 1, 2, 3], [0, 1, 0, 0]) == 0.5
    assert math.isnan(metrics.hit_rate(None, [0, 1]))
    assert math.isnan(metrics.hit_rate([0, 1], None))
    with pytest.raises(ValueError, match="one shape"):
        metrics.hit_rate([0, 1], [0, 1, 2])


def test_evaal_errors_add_4_m_per_floor_and_50_m_per_building_missed():
    err = np.array([1.0, 2.0, 3.0, 4.0])
    fp, ft = np.array([0, 1, 3, 2]), np.array([0, 0, 1, 2])  # misses by 0, 1, 2, 0 floors
    bp, bt = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1])  # third misses its building
    e = metrics.evaal_errors(err, fp, ft, bp, bt)
    np.testing.assert_allclose(e, [1.0, 2.0 + 4.0, 3.0 + 8.0 + 50.0, 4.0])
    # a wrong floor charged once, whatever its size
    e1 = metrics.evaal_errors(err, fp, ft, bp, bt, per_floor=False)
    np.testing.assert_allclose(e1, [1.0, 6.0, 3.0 + 4.0 + 50.0, 4.0])
    assert metrics.evaal_score(err, fp, ft, bp, bt) == pytest.approx(e.mean())
    # no labels: the plain 2-D error; a single-building set: floors only
    np.testing.assert_allclose(metrics.evaal_errors(err), err)
    np.testing.assert_allclose(metrics.evaal_errors(err, fp, ft), [1.0, 6.0, 11.0, 4.0])


def test_evaal_errors_reject_bad_input():
    with pytest.raises(ValueError, match="give both or neither"):
        metrics.evaal_errors([1.0], [0], None)
    with pytest.raises(ValueError, match="floor labels must have 2 entries"):
        metrics.evaal_errors([1.0, 2.0], [0], [0])
    with pytest.raises(ValueError, match="floor_penalty_m=-1"):
        metrics.evaal_errors([1.0], floor_penalty_m=-1)
    with pytest.raises(ValueError, match="finite and >= 0"):
        metrics.evaal_errors([-1.0])


def test_ce_is_the_percentile_and_field_summary_collects_them():
    err = np.arange(1.0, 101.0)  # 1 .. 100
    assert metrics.ce(err, 95) == pytest.approx(np.percentile(err, 95))
    assert metrics.ce(err, 75) == pytest.approx(75.25)
    with pytest.raises(ValueError, match="level=0"):
        metrics.ce(err, 0)
    with pytest.raises(ValueError, match="at least one"):
        metrics.ce([], 95)
    f = metrics.field_summary(err, np.zeros(100), np.zeros(100))
    assert f["ce95_m"] == metrics.ce(err, 95) and f["p75_m"] == metrics.ce(err, 75)
    assert f["floor_hit"] == 1.0 and math.isnan(f["building_hit"])
    assert f["evaal_m"] == pytest.approx(err.mean())  # every floor right, no buildings
    # floors asked of a method that predicts none: no score
    g = metrics.field_summary(err, None, np.zeros(100))
    assert math.isnan(g["floor_hit"]) and math.isnan(g["evaal_m"])


def _mercator_northing(lat_deg: float) -> float:
    """The forward spherical Mercator projection (EPSG:3857): y = R ln tan(pi/4 + phi/2)."""
    return metrics.WEB_MERCATOR_RADIUS_M * math.log(math.tan(math.pi / 4 + math.radians(lat_deg) / 2))


@pytest.mark.parametrize("lat", [0.0, 39.99, 45.0, 60.0, -33.9])
def test_mercator_latitude_inverts_the_projection_and_scale_is_sec_latitude(lat):
    y = _mercator_northing(lat)
    assert metrics.mercator_latitude(y) == pytest.approx(lat, abs=1e-9)
    assert metrics.mercator_scale(y) == pytest.approx(1 / math.cos(math.radians(lat)), rel=1e-12)
    assert metrics.to_ground_m(10.0, y) == pytest.approx(10.0 * math.cos(math.radians(lat)))


def test_mercator_scale_at_the_ujiindoorloc_campus():
    # UJIIndoorLoc's LATITUDE column spans about 4,864,746 .. 4,865,017 (EPSG:3857)
    y = np.array([4_864_746.0, 4_865_017.0])
    assert metrics.mercator_latitude(float(y.mean())) == pytest.approx(39.99, abs=0.01)
    assert metrics.mercator_scale(y) == pytest.approx(1.3055, abs=5e-4)
    # over the campus the factor varies by far less than the reported precision
    assert abs(metrics.mercator_scale(y[:1]) / metrics.mercator_scale(y[1:]) - 1) < 1e-4
    with pytest.raises(ValueError, match="outside Web Mercator"):
        metrics.mercator_scale(3e7)
    with pytest.raises(ValueError, match="finite"):
        metrics.mercator_scale([np.nan])

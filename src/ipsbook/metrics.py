"""Positioning errors on 2-D positions: mean (the papers' "MAE"), median, RMSE, p75, p95, ECDF;
the field's metrics (floor and building hit rates, the EvAAL/IPIN score, CE95); Web-Mercator units."""

from __future__ import annotations

import numpy as np
import pandas as pd


def errors(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Euclidean error per sample (metres) between ``(n, 2)`` estimates and true positions."""
    est = np.asarray(est, dtype=float)
    truth = np.asarray(truth, dtype=float)
    if est.shape != truth.shape or est.ndim != 2 or est.shape[1] != 2:
        raise ValueError(f"est and truth must both be (n, 2); got {est.shape} and {truth.shape}")
    return np.hypot(*(est - truth).T)


def summary(err: np.ndarray) -> dict[str, float]:
    """Mean, median, RMSE, 75th and 95th percentile of a vector of errors (metres)."""
    err = np.asarray(err, dtype=float).ravel()
    if err.size == 0:
        raise ValueError("summary() needs at least one error")
    if np.any(err < 0) or not np.all(np.isfinite(err)):
        raise ValueError("errors must be finite and >= 0")
    return {
        "mean_m": float(err.mean()),
        "median_m": float(np.median(err)),
        "rmse_m": float(np.sqrt(np.mean(err**2))),
        "p75_m": float(np.percentile(err, 75)),
        "p95_m": float(np.percentile(err, 95)),
        "n": int(err.size),
    }


def summary_table(errors_by_method: dict[str, np.ndarray]) -> pd.DataFrame:
    """One :func:`summary` row per method."""
    return pd.DataFrame([{"method": k, **summary(v)} for k, v in errors_by_method.items()])


def ecdf(err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted errors and their empirical CDF values ``i/n``."""
    x = np.sort(np.asarray(err, dtype=float).ravel())
    return x, np.arange(1, x.size + 1) / x.size


# --- the field's own metrics ------------------------------------------------------------------
# Positioning papers each pick their own summary (the papers here: the mean 2-D error, "MAE");
# the field's competitions and standard add the floor and building, and tail percentiles. One
# home for them, shared by every chapter that positions on a multi-floor set.

#: EvAAL/IPIN penalties for UJIIndoorLoc (metres): per building missed, per floor missed.
EVAAL_BUILDING_PENALTY_M = 50.0
EVAAL_FLOOR_PENALTY_M = 4.0


def hit_rate(pred, truth) -> float:
    """Share of samples whose predicted label (floor, building) equals the true one; NaN when
    either side is None (the method or the data has no such label)."""
    if pred is None or truth is None:
        return float("nan")
    p, t = np.asarray(pred), np.asarray(truth)
    if p.shape != t.shape or p.ndim != 1:
        raise ValueError(f"pred and truth must be 1-D and of one shape; got {p.shape} and {t.shape}")
    if p.size == 0:
        raise ValueError("hit_rate() needs at least one sample")
    return float(np.mean(p == t))


def evaal_errors(
    err: np.ndarray,
    floor_pred=None,
    floor_true=None,
    building_pred=None,
    building_true=None,
    *,
    floor_penalty_m: float = EVAAL_FLOOR_PENALTY_M,
    building_penalty_m: float = EVAAL_BUILDING_PENALTY_M,
    per_floor: bool = True,
) -> np.ndarray:
    """Per-sample EvAAL/IPIN positioning error: the 2-D error plus ``building_penalty_m`` (50 m)
    when the building is missed and ``floor_penalty_m`` (4 m) per floor missed.

    These are the penalties of the EvAAL-ETRI 2015 competition's off-site Wi-Fi fingerprinting
    track (IPIN 2015), run on the UJIIndoorLoc campus by the set's authors (Torres-Sospedra et
    al., "UJIIndoorLoc: a new multi-building and multi-floor database for WLAN fingerprint-based
    indoor localization problems", IPIN 2014; Torres-Sospedra et al., "A realistic evaluation of
    indoor positioning systems based on Wi-Fi fingerprinting: the 2015 EvAAL-ETRI competition",
    J. Ambient Intell. Smart Environ. 9(2):263-279, 2017), where the score is
    the mean of this error over the evaluation samples (:func:`evaal_score`; later IPIN
    competitions rank by the 75th percentile, with other penalties). "Per floor missed"
    is read as ``4 m x |floor difference|`` (``per_floor=True``: two floors off costs 8 m);
    ``per_floor=False`` charges a wrong floor once, as some re-implementations do. Both
    penalties add up when both labels are missed. A label pair left as None (e.g. a
    single-building set) adds nothing. The error is in the units of the positions (for
    UJIIndoorLoc: Web-Mercator metres, as in the competition; see :func:`mercator_scale`).
    """
    e = np.asarray(err, dtype=float).ravel()
    if np.any(e < 0) or not np.all(np.isfinite(e)):
        raise ValueError("err must be finite and >= 0")
    for name, v in (("floor_penalty_m", floor_penalty_m), ("building_penalty_m", building_penalty_m)):
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name}={v!r} must be a finite penalty >= 0 (metres)")
    out = e.copy()
    for pred, truth, pen, name, graded in (
        (floor_pred, floor_true, floor_penalty_m, "floor", per_floor),
        (building_pred, building_true, building_penalty_m, "building", False),
    ):
        if (pred is None) != (truth is None):
            raise ValueError(f"{name}_pred and {name}_true: give both or neither")
        if pred is None:
            continue
        p, t = np.asarray(pred).ravel(), np.asarray(truth).ravel()
        if p.shape != e.shape or t.shape != e.shape:
            raise ValueError(f"{name} labels must have {e.size} entries like err; got "
                             f"{p.size} predicted and {t.size} true")
        miss = np.abs(p.astype(float) - t.astype(float)) if graded else (p != t).astype(float)
        out += pen * miss
    return out


def evaal_score(err, floor_pred=None, floor_true=None, building_pred=None, building_true=None,
                **kw) -> float:
    """The EvAAL/IPIN score: mean of :func:`evaal_errors` (same arguments)."""
    return float(evaal_errors(err, floor_pred, floor_true, building_pred, building_true,
                              **kw).mean())


def ce(err: np.ndarray, level: float = 95.0) -> float:
    """Circular error at ``level`` % (ISO/IEC 18305's CE95 for ``level=95``; p75 for 75): the
    ``level``-th percentile of the 2-D errors (linear interpolation, NumPy's default)."""
    e = np.asarray(err, dtype=float).ravel()
    if e.size == 0:
        raise ValueError("ce() needs at least one error")
    if not 0 < level <= 100:
        raise ValueError(f"level={level!r} must be a percentage in (0, 100]")
    return float(np.percentile(e, level))


def field_summary(err, floor_pred=None, floor_true=None, building_pred=None,
                  building_true=None) -> dict[str, float]:
    """The field's metrics beside the papers' mean: ``p75_m`` and ``ce95_m`` (ISO/IEC 18305),
    ``floor_hit`` and ``building_hit`` (shares; NaN without labels) and ``evaal_m`` (the
    EvAAL/IPIN score, :func:`evaal_errors`; NaN when floors are asked of a method that predicts
    none)."""
    e = np.asarray(err, dtype=float).ravel()
    floors = floor_pred is not None and floor_true is not None
    buildings = building_pred is not None and building_true is not None
    no_floor = floor_true is not None and floor_pred is None
    no_building = building_true is not None and building_pred is None
    return {
        "p75_m": ce(e, 75.0),
        "ce95_m": ce(e, 95.0),
        "floor_hit": hit_rate(floor_pred, floor_true),
        "building_hit": hit_rate(building_pred, building_true),
        "evaal_m": float("nan") if (no_floor or no_building) else evaal_score(
            e, *((floor_pred, floor_true) if floors else (None, None)),
            *((building_pred, building_true) if buildings else (None, None))),
    }


# --- units: Web-Mercator "metres" ---------------------------------------------------------------

#: The sphere of Web Mercator (EPSG:3857), metres.
WEB_MERCATOR_RADIUS_M = 6_378_137.0


def mercator_latitude(northing_m) -> np.ndarray | float:
    """Latitude (degrees) of a Web-Mercator (EPSG:3857) northing: ``2 atan(exp(y/R)) - 90 deg``."""
    y = np.asarray(northing_m, dtype=float)
    lat = np.degrees(2.0 * np.arctan(np.exp(y / WEB_MERCATOR_RADIUS_M)) - np.pi / 2)
    return float(lat) if lat.ndim == 0 else lat


def mercator_scale(northing_m) -> float:
    """Web-Mercator units per ground metre at a northing: ``1 / cos(latitude)``
    (``= cosh(y / R)``). UJIIndoorLoc's LONGITUDE/LATITUDE are EPSG:3857 coordinates, so its
    "metres" are this many times ground metres: about 1.305 at the campus (39.99 deg N).
    Pass the data's mean northing; over a campus a few hundred metres across the factor varies
    by less than 1e-4 of itself."""
    y = np.asarray(northing_m, dtype=float)
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise ValueError("northing_m must be finite (Web-Mercator metres)")
    if np.any(np.abs(y) > 2.0e7):
        raise ValueError(f"northing_m={float(np.max(np.abs(y))):.4g} is outside Web Mercator "
                         "(|y| <= 2.0e7 m); pass the data's EPSG:3857 northing")
    return float(np.cosh(float(np.mean(y)) / WEB_MERCATOR_RADIUS_M))


def to_ground_m(distance, northing_m):
    """Web-Mercator distances (or errors) in ground metres near ``northing_m``: divided by
    :func:`mercator_scale`."""
    return np.asarray(distance, dtype=float) / mercator_scale(northing_m)

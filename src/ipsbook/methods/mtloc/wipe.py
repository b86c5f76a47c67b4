"""Modality wiping (paper E, Sect. IV.E-F): remove a share of one modality's valid data points
from a test set, to see how a trained model copes with a sensor that fails.

"We randomly remove the data points in the testing set": our unit is the *sample* (one time
step): a wiped sample loses that modality's whole input — its Wi-Fi vector becomes "not heard"
(the floor value, the paper's ``null``) or its 1 s IMU / magnetometer window becomes NaN, which
the model maps to the channel's training mean (see :mod:`ipsbook.models.mtloc`). The paper
does not say whether it wipes samples or single readings inside a window; we wipe samples.

"Valid" data points: for Wi-Fi the samples whose vector holds at least one heard access point
(``wifi_valid``); for IMU and magnetometer every sample (the phones log them throughout).
Exactly ``round(fraction × valid)`` of them are wiped, chosen uniformly without replacement.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["MODALITIES", "valid_mask", "wipe"]

MODALITIES: tuple[str, ...] = ("wifi", "imu", "mag")


def _check(modality: str, fraction: float) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality={modality!r}; allowed: {', '.join(MODALITIES)}")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) \
            or not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction={fraction!r} must be a number in [0, 1]")


def valid_mask(samples: Any, modality: str, rss_floor_dbm: float = -110.0) -> np.ndarray:
    """Boolean mask of the samples whose ``modality`` holds data."""
    _check(modality, 0.0)
    if modality == "wifi":
        return np.any(np.asarray(samples.wifi) > rss_floor_dbm, axis=1)
    x = np.asarray(getattr(samples, modality))
    return ~np.isnan(x).any(axis=(1, 2))


def wipe(
    samples: Any,
    modality: str,
    fraction: float,
    *,
    seed: int = 0,
    rss_floor_dbm: float = -110.0,
) -> Any:
    """A copy of ``samples`` (a dataclass with ``wifi``, ``imu``, ``mag`` arrays) with
    ``round(fraction × n_valid)`` valid samples of ``modality`` wiped. The input is not changed.
    """
    _check(modality, fraction)
    valid = np.flatnonzero(valid_mask(samples, modality, rss_floor_dbm))
    k = round(float(fraction) * len(valid))
    chosen = np.random.default_rng(seed).choice(valid, size=k, replace=False)
    arr = np.array(getattr(samples, modality), copy=True)
    changes: dict[str, Any] = {modality: arr}
    if modality == "wifi":
        arr[chosen] = rss_floor_dbm
        if hasattr(samples, "wifi_valid"):
            wv = np.array(samples.wifi_valid, copy=True)
            wv[chosen] = False
            changes["wifi_valid"] = wv
    else:
        arr = arr.astype(np.float32, copy=False)
        arr[chosen] = np.nan
        changes[modality] = arr
    return dataclasses.replace(samples, **changes)

"""Two baselines beside MTLoc, on the same split (beyond the paper): what does the deep fusion add?

* :func:`wifi_knn` — Wi-Fi fingerprinting alone: distance-weighted k nearest neighbours
  (scikit-learn) on the same Wi-Fi vectors MTLoc reads (dBm, "not heard" = the floor value),
  with k chosen on the validation set from ``k_values``. A sample without a valid Wi-Fi vector
  (before the trace's first scan) gets the training positions' centroid.
* :func:`pdr_positions` — pedestrian dead reckoning, the engineering answer to the IMU: steps
  detected as peaks of the smoothed acceleration magnitude, a step length and a heading offset
  fitted per site on the *training* traces (:func:`fit_pdr`), heading from the Android rotation
  vector (the direction of the phone's y axis, projected on the horizontal), and the walk
  started at the trace's first ground-truth waypoint (any PDR needs a start). It uses no Wi-Fi
  and no target labels beyond that start point.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import find_peaks
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

__all__ = ["PDRModel", "fit_pdr", "pdr_positions", "step_times", "wifi_knn"]


def wifi_knn(
    train: Any,
    test: Any,
    val: Any | None = None,
    k_values: Sequence[int] = (1, 3, 5, 7, 9),
) -> tuple[np.ndarray, int]:
    """Errors (m) of distance-weighted kNN on ``test`` and the k used (chosen on ``val`` by mean
    error; the middle of ``k_values`` without ``val``). Weights are 1/distance as scikit-learn's
    ``weights="distance"`` (an exact match takes all the weight); the neighbours are searched
    once per set for the largest k."""
    ks = sorted({int(k) for k in k_values})
    if not ks or ks[0] < 1:
        raise ValueError(f"k_values={k_values!r} must be positive integers")
    tv = np.asarray(train.wifi_valid, bool)
    if tv.sum() < ks[-1]:
        raise ValueError(f"train has {int(tv.sum())} samples with Wi-Fi; k up to {ks[-1]} needs more")
    P = np.asarray(train.pos, np.float64)[tv]
    index = NearestNeighbors(n_neighbors=ks[-1]).fit(np.asarray(train.wifi, np.float32)[tv])
    centroid = np.asarray(train.pos, np.float64).mean(axis=0)

    def errors_by_k(s: Any) -> dict[int, np.ndarray]:
        ok = np.asarray(s.wifi_valid, bool)
        out = {}
        dist, idx = (index.kneighbors(np.asarray(s.wifi, np.float32)[ok]) if ok.any()
                     else (np.empty((0, ks[-1])), np.empty((0, ks[-1]), int)))
        for k in ks:
            d, i = dist[:, :k], idx[:, :k]
            exact = d <= 0
            w = np.where(exact.any(axis=1, keepdims=True), exact.astype(float),
                         1.0 / np.where(exact, 1.0, d))
            pred = np.tile(centroid, (len(s.pos), 1))
            pred[ok] = np.einsum("nk,nkd->nd", w, P[i]) / w.sum(axis=1, keepdims=True)
            out[k] = np.linalg.norm(pred - np.asarray(s.pos, np.float64), axis=1)
        return out

    # one BLAS/OpenMP thread: the neighbour search's float sums then do not depend on the
    # machine's thread pools, so near-ties (and the k chosen) are the same in every process
    with threadpool_limits(limits=1):
        if val is not None and len(ks) > 1:
            by_k = errors_by_k(val)
            k = min(ks, key=lambda k: float(np.mean(by_k[k])))
        else:
            k = ks[len(ks) // 2]
        return errors_by_k(test)[k], k


def _heading_world(rotvec: np.ndarray) -> np.ndarray:
    """Angle (rad, counter-clockwise from east) of the phone's y axis in the horizontal plane,
    from Android rotation-vector quaternions ``[n, 3]`` (x, y, z; w = sqrt(1 - x² - y² - z²))."""
    q = np.asarray(rotvec, np.float64)
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    w = np.sqrt(np.clip(1.0 - x * x - y * y - z * z, 0.0, None))
    east = 2.0 * (x * y - z * w)
    north = 1.0 - 2.0 * (x * x + z * z)
    return np.arctan2(north, east)


def step_times(
    t_ms: np.ndarray,
    acc: np.ndarray,
    *,
    smooth_s: float = 0.2,
    min_interval_s: float = 0.3,
    prominence: float = 1.0,
) -> np.ndarray:
    """Times (ms) of detected steps: peaks of the acceleration magnitude (m/s²), smoothed by a
    moving average of ``smooth_s``, at least ``min_interval_s`` apart and ``prominence`` high."""
    t = np.asarray(t_ms, np.float64)
    if len(t) < 3:
        return np.empty(0)
    a = np.linalg.norm(np.asarray(acc, np.float64), axis=1)
    fs = (len(t) - 1) / max((t[-1] - t[0]) / 1000.0, 1e-9)
    w = max(1, round(smooth_s * fs))
    a = np.convolve(a, np.ones(w) / w, mode="same")
    peaks, _ = find_peaks(a, distance=max(1, round(min_interval_s * fs)), prominence=prominence)
    return t[peaks]


@dataclass(frozen=True)
class PDRModel:
    """Per-site PDR constants fitted on training traces."""

    step_length_m: float
    heading_offset_rad: float  # map heading = world heading + offset
    n_steps: int
    n_legs: int


def _trace_arrays(trace: Any) -> tuple[np.ndarray, ...]:
    imu, rv, wp = trace.imu, trace.rotvec, trace.waypoints
    return (imu["t_ms"].to_numpy(np.float64), imu[["ax", "ay", "az"]].to_numpy(np.float64),
            rv["t_ms"].to_numpy(np.float64), rv[["qx", "qy", "qz"]].to_numpy(np.float64),
            wp["t_ms"].to_numpy(np.float64), wp[["x", "y"]].to_numpy(np.float64))


def _heading_at(rv_t: np.ndarray, rv_q: np.ndarray, t: np.ndarray) -> np.ndarray:
    if len(rv_t) == 0:
        raise ValueError("trace has no rotation-vector readings; PDR needs them for heading")
    i = np.clip(np.searchsorted(rv_t, t), 0, len(rv_t) - 1)
    return _heading_world(rv_q[i])


def fit_pdr(traces: Iterable[Any], min_leg_m: float = 2.0) -> PDRModel:
    """Step length = waypoint path length / steps detected between the first and last waypoint,
    pooled over ``traces``; heading offset = length-weighted circular mean, over waypoint legs
    longer than ``min_leg_m``, of (leg direction on the map − mean phone heading on the leg)."""
    path, steps, sin_sum, cos_sum, legs = 0.0, 0, 0.0, 0.0, 0
    for tr in traces:
        imu_t, acc, rv_t, rv_q, wp_t, wp_xy = _trace_arrays(tr)
        st = step_times(imu_t, acc)
        seg = np.diff(wp_xy, axis=0)
        lengths = np.linalg.norm(seg, axis=1)
        path += float(lengths.sum())
        steps += int(np.sum((st >= wp_t[0]) & (st <= wp_t[-1])))
        for (t0, t1), d, length in zip(itertools.pairwise(wp_t), seg, lengths):
            inside = (st >= t0) & (st < t1)
            if length < min_leg_m or inside.sum() == 0:
                continue
            h = _heading_at(rv_t, rv_q, st[inside])
            phone = np.arctan2(np.sin(h).mean(), np.cos(h).mean())
            diff = np.arctan2(d[1], d[0]) - phone
            sin_sum += length * np.sin(diff)
            cos_sum += length * np.cos(diff)
            legs += 1
    if steps == 0 or legs == 0:
        raise ValueError("no steps or no usable waypoint legs in the training traces: cannot fit PDR")
    return PDRModel(path / steps, float(np.arctan2(sin_sum, cos_sum)), steps, legs)


def pdr_positions(model: PDRModel, trace: Any, t_ms: np.ndarray) -> np.ndarray:
    """PDR positions (m, [n, 2]) of ``trace`` at times ``t_ms`` (after its first waypoint),
    started at the first waypoint; each detected step moves ``step_length_m`` along the phone
    heading plus the site's offset. Between steps the position is interpolated linearly."""
    imu_t, acc, rv_t, rv_q, wp_t, wp_xy = _trace_arrays(trace)
    st = step_times(imu_t, acc)
    st = st[st > wp_t[0]]
    h = _heading_at(rv_t, rv_q, st) + model.heading_offset_rad
    moves = model.step_length_m * np.column_stack([np.cos(h), np.sin(h)])
    track_t = np.concatenate([[wp_t[0]], st])
    track = wp_xy[0] + np.vstack([np.zeros((1, 2)), np.cumsum(moves, axis=0)])
    t = np.asarray(t_ms, np.float64)
    return np.column_stack([np.interp(t, track_t, track[:, 0]), np.interp(t, track_t, track[:, 1])])

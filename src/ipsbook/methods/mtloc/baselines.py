"""Two baselines beside MTLoc, on the same split (beyond the paper): what does the deep fusion add?

* :func:`wifi_knn` — Wi-Fi fingerprinting alone: distance-weighted k nearest neighbours
  (scikit-learn) on the same Wi-Fi vectors MTLoc reads (dBm, "not heard" = the floor value),
  in one of paper A's data representations (raw dBm, positive, powed) under the Euclidean or
  cosine distance (:data:`KNN_CONFIGS`), the pair and k chosen on the validation set. Raw dBm
  with the Euclidean distance, the common default, is one of the pairs (the chapter reports it
  on its own too). A sample without a valid Wi-Fi vector (before the trace's first
  scan) gets the training positions' centroid.
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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.signal import find_peaks
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from ..dml.representations import REPRESENTATIONS, represent

__all__ = ["KNN_CONFIGS", "KNN_METRICS", "PDRModel", "WifiKNN", "fit_pdr",
           "pdr_positions", "pdr_steps", "step_times", "wifi_knn"]

# The (representation, metric) pairs the kNN chooses from on validation. Raw dBm under the
# Euclidean distance is the common default; "positive" under it would be the same search (a
# constant shift), so positive is only tried under the cosine distance.
KNN_CONFIGS: tuple[tuple[str, str], ...] = (
    ("raw", "euclidean"), ("positive", "cosine"), ("powed", "euclidean"), ("powed", "cosine"))
KNN_METRICS: tuple[str, ...] = ("euclidean", "manhattan", "cosine")


class WifiKNN(NamedTuple):
    """What :func:`wifi_knn` chose on validation and what it scored.

    Every (representation, metric) pair gets its own k, the one best on validation; the chosen
    configuration is the pair whose best k has the lowest validation error. ``by_config`` keeps
    each pair's errors at its own k, so the raw-dBm Euclidean kNN (the common default) is read
    from the same call.
    """

    errors: np.ndarray  # (len(test),) test errors [m] of the chosen configuration
    val_errors: np.ndarray | None  # (len(val),) its validation errors; None without val
    k: int
    representation: str
    metric: str
    grid: pd.DataFrame  # representation, metric, k, validation_mean_m (one row per configuration)
    # (representation, metric) -> (k, validation errors or None, test errors)
    by_config: dict[tuple[str, str], tuple[int, np.ndarray | None, np.ndarray]]
    # the chosen configuration's estimated positions [n, 2] on test and validation (the
    # Wi-Fi fixes of the Wi-Fi + PDR filter, :mod:`.fusion`)
    positions: np.ndarray | None = None
    val_positions: np.ndarray | None = None


class _Index:
    """Brute-force neighbour search in float32 under ``metric``. Cosine is searched as the
    Euclidean distance between L2-normalised vectors (the same order: |a - b|^2 = 2 - 2 cos for
    unit vectors) and reported as ``1 - cos = |a - b|^2 / 2``, at the speed of scikit-learn's
    Euclidean kernel; a zero vector (no AP above ``min_rss``) stays zero, equidistant from all."""

    def __init__(self, X: np.ndarray, metric: str, k: int) -> None:
        self.metric = metric
        self.nn = NearestNeighbors(n_neighbors=k, algorithm="brute",
                                   metric="manhattan" if metric == "manhattan" else "euclidean")
        self.nn.fit(self._prepare(X))

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, np.float32)
        if self.metric == "cosine":
            n = np.linalg.norm(X, axis=1, keepdims=True)
            X = X / np.where(n > 0, n, 1.0)
        return X

    def kneighbors(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = self.nn.kneighbors(self._prepare(X))
        dist = dist.astype(np.float64)
        return (dist**2 / 2 if self.metric == "cosine" else dist), idx


def _knn_errors(index: _Index, P: np.ndarray, centroid: np.ndarray, X: np.ndarray,
                ok: np.ndarray, pos: np.ndarray, ks: Sequence[int]
                ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(errors, positions) per k of distance-weighted kNN (1/distance, scikit-learn's ``weights="distance"``:
    exact matches alone count, equally); rows without Wi-Fi get the training centroid."""
    dist, idx = (index.kneighbors(X) if len(X)
                 else (np.empty((0, ks[-1])), np.empty((0, ks[-1]), int)))
    out = {}
    for k in ks:
        d, i = dist[:, :k], idx[:, :k]
        exact = d <= 0
        w = np.where(exact.any(axis=1, keepdims=True), exact.astype(float),
                     1.0 / np.where(exact, 1.0, d))
        pred = np.tile(centroid, (len(pos), 1))
        pred[ok] = np.einsum("nk,nkd->nd", w, P[i]) / w.sum(axis=1, keepdims=True)
        out[k] = (np.linalg.norm(pred - pos, axis=1), pred)
    return out


def wifi_knn(
    train: Any,
    test: Any,
    val: Any | None = None,
    k_values: Sequence[int] = (1, 3, 5, 7, 9),
    *,
    configs: Sequence[tuple[str, str]] = KNN_CONFIGS,
    rss_floor_dbm: float = -110.0,
) -> WifiKNN:
    """Wi-Fi-only kNN: errors (m) on ``test`` of the configuration ((representation, metric)
    of ``configs``, and k) with the lowest mean error on ``val`` (see :class:`WifiKNN`); without
    ``val`` the first of ``configs`` and the middle k.

    The Wi-Fi vectors are dBm with ``rss_floor_dbm`` for "not heard"; each representation is
    paper A's (:func:`ipsbook.methods.dml.representations.represent`, Torres-Sospedra et al.
    2015) with "not heard" mapped to ``min_rss`` = the floor, or 1 dB below the weakest training
    reading where that is lower, so that ``raw`` is the dBm vector the MTLoc network reads (a
    query reading below ``min_rss`` is clipped to it). Metrics: ``euclidean``, ``manhattan`` or
    ``cosine`` (``1 - cos``), searched by brute force in float32 (:class:`_Index`). The neighbours are
    searched once per (representation, metric) for the largest k; a sample without a valid
    Wi-Fi vector (before its trace's first scan) gets the training positions' centroid; ties in
    the choice go to the earlier entry of ``configs``, then the smaller k.
    """
    ks = sorted({int(k) for k in k_values})
    if not ks or ks[0] < 1:
        raise ValueError(f"k_values={k_values!r} must be positive integers")
    configs = [tuple(c) for c in configs]
    bad = [c for c in configs if len(c) != 2 or c[0] not in REPRESENTATIONS
           or c[1] not in KNN_METRICS]
    if not configs or bad or len(set(configs)) != len(configs):
        raise ValueError(
            f"configs={configs!r}: need distinct (representation, metric) pairs, representation "
            f"one of {', '.join(REPRESENTATIONS)}, metric one of {', '.join(KNN_METRICS)}")
    tv = np.asarray(train.wifi_valid, bool)
    if tv.sum() < ks[-1]:
        raise ValueError(f"train has {int(tv.sum())} samples with Wi-Fi; k up to {ks[-1]} needs more")
    W = np.asarray(train.wifi, np.float64)[tv]
    heard = W != rss_floor_dbm
    min_rss = min(rss_floor_dbm, float(W[heard].min()) - 1.0 if heard.any() else rss_floor_dbm)
    P = np.asarray(train.pos, np.float64)[tv]
    centroid = np.asarray(train.pos, np.float64).mean(axis=0)

    def rep(x: np.ndarray, kind: str) -> np.ndarray:
        return represent(np.asarray(x, np.float64), kind, missing=rss_floor_dbm, min_rss=min_rss)

    def errors_by_k(s: Any, kind: str, index: _Index) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        ok = np.asarray(s.wifi_valid, bool)
        return _knn_errors(index, P, centroid, rep(np.asarray(s.wifi)[ok], kind), ok,
                           np.asarray(s.pos, np.float64), ks)

    # one BLAS/OpenMP thread: the neighbour search's float sums then do not depend on the
    # machine's thread pools, so near-ties (and the configuration chosen) are the same in every
    # process
    rows: list[dict[str, Any]] = []
    by_config: dict[tuple[str, str], tuple[int, np.ndarray | None, np.ndarray]] = {}
    where: dict[tuple[str, str], tuple[np.ndarray | None, np.ndarray]] = {}
    with threadpool_limits(limits=1):
        for r, m in configs:
            index = _Index(rep(W, r), m, ks[-1])
            if val is not None:
                by_k = errors_by_k(val, r, index)
                means = {k: float(np.mean(by_k[k][0])) for k in ks}
                rows += [{"representation": r, "metric": m, "k": k,
                          "validation_mean_m": means[k]} for k in ks]
                k = min(ks, key=means.get)  # first of equals
                ve: np.ndarray | None = by_k[k][0]
                vp: np.ndarray | None = by_k[k][1]
            else:
                k, ve, vp = ks[len(ks) // 2], None, None
            te, tp = errors_by_k(test, r, index)[k]
            by_config[(r, m)] = (k, ve, te)
            where[(r, m)] = (vp, tp)
    grid = pd.DataFrame(rows, columns=["representation", "metric", "k", "validation_mean_m"])
    if val is not None:
        r, m = min(by_config, key=lambda c: float(np.mean(by_config[c][1])))  # first of equals
    else:
        r, m = configs[0]
    k, ve, e = by_config[(r, m)]
    return WifiKNN(e, ve, k, r, m, grid, by_config, where[(r, m)][1], where[(r, m)][0])


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


def pdr_steps(model: PDRModel, trace: Any) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(start_t_ms, start_xy, step_t_ms [S], step_xy [S, 2])``: PDR started at the trace's
    first waypoint (the true position) and its steps after it, each ``step_length_m`` along
    the phone heading plus the site's offset (what :func:`pdr_positions` and the Wi-Fi + PDR
    filter of :mod:`.fusion` integrate)."""
    imu_t, acc, rv_t, rv_q, wp_t, wp_xy = _trace_arrays(trace)
    st = step_times(imu_t, acc)
    st = st[st > wp_t[0]]
    h = _heading_at(rv_t, rv_q, st) + model.heading_offset_rad
    moves = model.step_length_m * np.column_stack([np.cos(h), np.sin(h)])
    return float(wp_t[0]), wp_xy[0].copy(), st, moves


def pdr_positions(model: PDRModel, trace: Any, t_ms: np.ndarray) -> np.ndarray:
    """PDR positions (m, [n, 2]) of ``trace`` at times ``t_ms`` (after its first waypoint),
    started at the first waypoint; each detected step moves ``step_length_m`` along the phone
    heading plus the site's offset. Between steps the position is interpolated linearly."""
    t0, start, st, moves = pdr_steps(model, trace)
    track_t = np.concatenate([[t0], st])
    track = start + np.vstack([np.zeros((1, 2)), np.cumsum(moves, axis=0)])
    t = np.asarray(t_ms, np.float64)
    return np.column_stack([np.interp(t, track_t, track[:, 0]), np.interp(t, track_t, track[:, 1])])

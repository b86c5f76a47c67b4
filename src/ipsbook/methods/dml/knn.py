"""kNN fingerprint positioning with any Study 1 metric, the meta-metric or a learned embedding.

``KNNPositioner(k, weighted, metric, representation)`` finds the ``k`` database fingerprints
nearest to each query under ``metric`` (see :mod:`.distances`) and returns

* the position: their mean, or with ``weighted=True`` their mean weighted by ``1/distance``
  (scikit-learn's ``weights="distance"``: when some neighbours are at distance 0, they alone
  count, equally);
* the floor and the building: the majority among the ``k``; a tie goes to the label whose
  neighbours carry the larger summed weight (``1/distance`` or 1), then to the smaller label.

``distance_fn(Q, DB) -> (len(Q), len(DB))`` replaces the built-in metrics: it receives query
and database fingerprints exactly as given to ``predict`` and ``fit`` (dBm, 100 = not heard)
and returns distances (smaller = nearer); the learned meta-metric and the DML embedding plug in
this way. It is called on blocks of queries, so it never has to hold more than
``max_memory`` bytes of distances at once.

The representation's "not heard" value (``min_rss``) is fixed at ``fit`` (default: the
database's weakest reading minus 1 dB, Torres-Sospedra et al.'s choice) and used for the
queries as well; pass ``min_rss=-110`` to reproduce the common "missing -> -110 dBm" setting of
the scikit-learn reference in the chapter.

Positions may have two or more columns (x, y[, z]); errors are reported in 2-D by
:func:`knn_report` through :mod:`ipsbook.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ipsbook import metrics as _metrics

from .distances import (
    MAX_MEMORY,
    LGDParams,
    _iter_pairwise,
    _reject_empty,
    _Side,
    check_metric,
    check_representation,
)
from .representations import NOT_DETECTED, as_rss, default_min_rss, heard

__all__ = ["KNNPositioner", "KNNPrediction", "knn_report"]

DistanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class KNNPrediction(NamedTuple):
    """kNN estimates (unpacks as ``positions, floor, building``; labels None when not fitted)."""

    positions: np.ndarray
    floor: np.ndarray | None
    building: np.ndarray | None


def _labels(values: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    v = np.asarray(values)
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) like the fingerprints; got {v.shape}")
    if not np.issubdtype(v.dtype, np.integer):
        if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
            raise ValueError(f"{name} must hold integer labels")
        v = v.astype(np.int64)
    return v


class KNNPositioner:
    """k-nearest-neighbour positioning over a fingerprint database (see module docstring)."""

    def __init__(
        self,
        k: int = 3,
        weighted: bool = True,
        metric: str = "euclidean",
        representation: str = "raw",
        distance_fn: DistanceFn | None = None,
        *,
        min_rss: float | None = None,
        missing: float | None = NOT_DETECTED,
        lgd_params: LGDParams | None = None,
        block: int | None = None,
        max_memory: int = MAX_MEMORY,
        progress: bool | None = None,
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k={k!r} must be a positive integer")
        if distance_fn is not None and not callable(distance_fn):
            raise ValueError(
                f"distance_fn must be callable (Q, DB) -> distances; got {distance_fn!r}"
            )
        if distance_fn is None:
            check_metric(metric)
            check_representation(representation)
        self.k, self.weighted = int(k), bool(weighted)
        self.metric, self.representation = metric, representation
        self.distance_fn = distance_fn
        self.min_rss, self.missing = min_rss, missing
        self.lgd_params = lgd_params or LGDParams()
        self.block, self.max_memory, self.progress = block, max_memory, progress

    def __repr__(self) -> str:
        how = (
            "distance_fn"
            if self.distance_fn is not None
            else (f"metric={self.metric!r}, representation={self.representation!r}")
        )
        return f"KNNPositioner(k={self.k}, weighted={self.weighted}, {how})"

    # --- fitting -------------------------------------------------------------------------

    def fit(
        self,
        rss: np.ndarray,
        positions: np.ndarray,
        floor: np.ndarray | None = None,
        building: np.ndarray | None = None,
    ) -> KNNPositioner:
        """Store the database: ``rss`` (n x n_aps, dBm, 100 = not heard), ``positions`` (n x d)."""
        db = as_rss(rss, "rss")
        n = len(db)
        if n < self.k:
            raise ValueError(f"the database has {n} fingerprints, fewer than k={self.k}")
        pos = np.asarray(positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[0] != n or pos.shape[1] < 2 or not np.all(np.isfinite(pos)):
            raise ValueError(
                f"positions must be finite ({n}, 2) or ({n}, 3); got shape {np.shape(positions)}"
            )
        H = heard(db, self.missing)
        _reject_empty(H, "the database (rss)")
        self.min_rss_ = float(
            self.min_rss if self.min_rss is not None else default_min_rss(db, missing=self.missing)
        )
        self.rss_, self.positions_ = db, pos
        self.floor_ = _labels(floor, n, "floor")
        self.building_ = _labels(building, n, "building")
        self.n_aps_ = db.shape[1]
        self._db_side = None
        if self.distance_fn is None:
            self._db_side = _Side(db, H, self.representation, self.min_rss_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "rss_"):
            raise RuntimeError("KNNPositioner is not fitted: call fit(rss, positions, ...) first")

    def _queries(self, rss: np.ndarray) -> np.ndarray:
        self._check_fitted()
        q = as_rss(rss, "rss")
        if q.shape[1] != self.n_aps_:
            raise ValueError(
                f"queries have {q.shape[1]} APs per fingerprint but the positioner was fitted on "
                f"{self.n_aps_}"
            )
        return q

    # --- search --------------------------------------------------------------------------

    def _blocks(self, q: np.ndarray):
        if self.distance_fn is None:
            H = heard(q, self.missing)
            _reject_empty(H, "the queries (rss)")
            side = _Side(q, H, self.representation, self.min_rss_)
            yield from _iter_pairwise(
                side,
                self._db_side,
                self.metric,
                block=self.block,
                params=self.lgd_params,
                max_memory=self.max_memory,
                progress=self.progress,
                desc=f"kNN {self.metric}",
            )
            return
        n_db = len(self.rss_)
        rows = self.block or max(1, min(4096, self.max_memory // (8 * 4 * n_db)))
        for i0 in range(0, len(q), rows):
            ia = slice(i0, min(i0 + rows, len(q)))
            d = np.asarray(self.distance_fn(q[ia], self.rss_), dtype=np.float64)
            if d.shape != (ia.stop - ia.start, n_db):
                raise ValueError(
                    f"distance_fn returned shape {d.shape}; expected "
                    f"({ia.stop - ia.start}, {n_db}) = (queries in block, database size)"
                )
            yield ia, d

    def kneighbors(self, rss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances and database indices of the ``k`` nearest, nearest first: (nq, k) each."""
        q = self._queries(rss)
        k = self.k
        dist = np.empty((len(q), k), dtype=np.float64)
        idx = np.empty((len(q), k), dtype=np.int64)
        for ia, d in self._blocks(q):
            if np.isnan(d).any():
                raise ValueError(
                    f"metric {self.metric!r} gave NaN distances (e.g. cosine of an all-zero "
                    "representation); use another metric or representation"
                )
            part = (
                np.argpartition(d, k - 1, axis=1)[:, :k]
                if k < d.shape[1]
                else (np.broadcast_to(np.arange(d.shape[1]), d.shape).copy())
            )
            dk = np.take_along_axis(d, part, axis=1)
            order = np.argsort(dk, axis=1, kind="stable")
            dist[ia] = np.take_along_axis(dk, order, axis=1)
            idx[ia] = np.take_along_axis(part, order, axis=1)
        return dist, idx

    def _weights(self, dist: np.ndarray) -> np.ndarray:
        if not self.weighted:
            return np.ones_like(dist)
        with np.errstate(divide="ignore"):
            w = 1.0 / dist
        inf = np.isinf(w)
        rows = inf.any(axis=1)
        w[rows] = inf[rows]  # exact matches alone count, equally (as scikit-learn)
        return w

    @staticmethod
    def _vote(labels: np.ndarray, w: np.ndarray) -> np.ndarray:
        values, inv = np.unique(labels, return_inverse=True)
        inv = inv.reshape(labels.shape)
        nq = labels.shape[0]
        score = np.zeros((nq, values.size))
        wn = w / w.sum(axis=1, keepdims=True)
        rows = np.repeat(np.arange(nq), labels.shape[1])
        # count first; the normalised weight (< 1 in total) only breaks ties between counts
        np.add.at(score, (rows, inv.ravel()), 1.0 + 0.5 * wn.ravel())
        return values[np.argmax(score, axis=1)]  # argmax: first (smallest) label on a full tie

    def predict(self, rss: np.ndarray) -> KNNPrediction:
        """Positions (weighted mean of the k nearest), floor and building (majority)."""
        dist, idx = self.kneighbors(rss)
        w = self._weights(dist)
        pos = np.einsum("qk,qkd->qd", w, self.positions_[idx]) / w.sum(axis=1, keepdims=True)
        floor = None if self.floor_ is None else self._vote(self.floor_[idx], w)
        building = None if self.building_ is None else self._vote(self.building_[idx], w)
        return KNNPrediction(pos, floor, building)


def knn_report(pred: KNNPrediction | tuple, truth: tuple, *, errors: bool = False):
    """2-D error summary (m) and the field's metrics of ``pred`` against ``truth``.

    Both are ``(positions, floor, building)`` (floor/building may be None). Returns
    :func:`ipsbook.metrics.summary`'s ``mean_m, median_m, rmse_m, n`` and the field's metrics of
    :func:`ipsbook.metrics.field_summary`: ``p75_m``, ``ce95_m`` (the 95th percentile, ISO/IEC
    18305's name), ``floor_hit`` and ``building_hit`` (fractions; NaN where either side has no
    labels) and ``evaal_m`` (the EvAAL/IPIN score: 4 m per floor and 50 m per building missed).
    With ``errors=True`` also the per-sample 2-D and EvAAL errors: ``(report, err, evaal)``.
    """
    p_pos, p_floor, p_building = (tuple(pred) + (None, None))[:3]
    t_pos, t_floor, t_building = (tuple(truth) + (None, None))[:3]
    p_pos, t_pos = np.asarray(p_pos, dtype=float), np.asarray(t_pos, dtype=float)
    if p_pos.ndim != 2 or t_pos.ndim != 2 or p_pos.shape[1] < 2 or t_pos.shape[1] < 2:
        raise ValueError(f"positions must be (n, 2+); got {p_pos.shape} and {t_pos.shape}")
    err = _metrics.errors(p_pos[:, :2], t_pos[:, :2])
    for name, a, b in (("floor", p_floor, t_floor), ("building", p_building, t_building)):
        if a is not None and b is not None and np.shape(a) != np.shape(b):
            raise ValueError(f"predicted and true {name} labels differ in shape: "
                             f"{np.shape(a)} vs {np.shape(b)}")
    base = _metrics.summary(err)
    out: dict[str, float] = {k: base[k] for k in ("mean_m", "median_m", "rmse_m")}
    out.update(_metrics.field_summary(err, p_floor, t_floor, p_building, t_building))
    out["n"] = base["n"]
    if not errors:
        return out
    if (t_floor is not None and p_floor is None) or (t_building is not None and p_building is None):
        evaal = np.full(err.shape, np.nan)  # labels the method does not predict: no score
    else:
        def both(a, b):
            return (a, b) if a is not None and b is not None else (None, None)

        evaal = _metrics.evaal_errors(err, *both(p_floor, t_floor), *both(p_building, t_building))
    return out, err, evaal

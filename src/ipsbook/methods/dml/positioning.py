"""The positioning table of paper A's chapter: kNN with any fingerprint distance.

Every method plugs into :class:`~.knn.KNNPositioner` as a ``distance_fn(Q, DB) -> (nq, ndb)``:
a classical metric, the learned meta-metric (its expression evaluated on the classical metrics
of every query–database pair) or the DML embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .distances import iter_pairwise_features
from .knn import KNNPositioner, knn_report


def meta_distance_fn(
    meta, metrics: Sequence[str], representation: str, *, min_rss: float | None = None,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``distance_fn`` for the meta-metric: its expression over the classical metrics of each
    (query, database) pair, from the all-pairs kernels block by block (bounded memory).
    Only the metrics the expression uses are computed (an evolved expression often keeps one or
    two of them); the other columns are never read. ``min_rss`` must be the database's, fixed
    once, so queries and database agree."""
    metrics = list(metrics)
    used = sorted({t for t in meta.program if isinstance(t, int) and not isinstance(t, bool)})
    if not used:  # a constant expression: every distance is the same
        used = [0]
    names = [metrics[k] for k in used]

    def fn(Q: np.ndarray, DB: np.ndarray) -> np.ndarray:
        out = np.empty((len(Q), len(DB)), dtype=np.float64)
        for rows, F in iter_pairwise_features(Q, DB, names, representation, min_rss=min_rss,
                                              progress=False):
            full = np.zeros((F.shape[0] * F.shape[1], len(metrics)), dtype=np.float32)
            full[:, used] = F.reshape(-1, len(used))
            out[rows] = meta.evaluate(full).reshape(F.shape[:2])
        return out

    return fn


def knn_table(
    train: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    test: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    methods: dict[str, dict],
    ks: Sequence[int] = (1, 3, 5),
) -> pd.DataFrame:
    """kNN (distance-weighted) for every method and k: one :func:`knn_report` row each.

    ``train``/``test``: ``(rss, positions, floor, building)``; ``methods``: name → keyword
    arguments of :class:`KNNPositioner` (``metric``/``representation`` or ``distance_fn``).
    """
    rows = []
    for name, kw in methods.items():
        # one distance computation per method: the neighbours come sorted, nearest first, so
        # the k nearest for every smaller k are the first k of the largest
        knn = KNNPositioner(k=max(ks), weighted=True, progress=False, **kw).fit(*train)
        dist, idx = knn.kneighbors(test[0])
        for k in ks:
            d, i = dist[:, :k], idx[:, :k]
            w = knn._weights(d)
            pos = np.einsum("qk,qkd->qd", w, knn.positions_[i]) / w.sum(axis=1, keepdims=True)
            floor = None if knn.floor_ is None else knn._vote(knn.floor_[i], w)
            building = None if knn.building_ is None else knn._vote(knn.building_[i], w)
            rows.append({"method": name, "k": k,
                         **knn_report((pos, floor, building), test[1:])})
    return pd.DataFrame(rows)

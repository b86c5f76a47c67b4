"""The positioning table of paper A's chapter: kNN with any fingerprint distance.

Every method plugs into :class:`~.knn.KNNPositioner` as a ``distance_fn(Q, DB) -> (nq, ndb)``:
a classical metric, the learned meta-metric (its expression evaluated on the classical metrics
of every query–database pair) or the DML embedding. :func:`knn_table` scores them (the papers'
mean error and the field's metrics of :mod:`ipsbook.metrics`) and keeps the per-query errors
for paired comparisons; :func:`sklearn_reference` adds scikit-learn's regressor as the
practitioner's reference; :func:`headline_table` is the table the chapter shows.
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
    *,
    return_errors: bool = False,
):
    """kNN (distance-weighted) for every method and k: one :func:`knn_report` row each.

    ``train``/``test``: ``(rss, positions, floor, building)``; ``methods``: name → keyword
    arguments of :class:`KNNPositioner` (``metric``/``representation`` or ``distance_fn``).
    With ``return_errors=True`` also the per-query errors, ``{(method, k): {"err": 2-D errors,
    "evaal": EvAAL errors}}``, for paired comparisons over the same queries.
    """
    rows, errs = [], {}
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
            rep, err, evaal = knn_report((pos, floor, building), test[1:], errors=True)
            rows.append({"method": name, "k": k, **rep})
            errs[(name, k)] = {"err": err, "evaal": evaal}
    table = pd.DataFrame(rows)
    return (table, errs) if return_errors else table


#: The label of the scikit-learn reference rows (not one of the compared distances).
SKLEARN_REFERENCE = "scikit-learn kNN (raw, −110 dBm)"


def sklearn_reference(
    train: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    test: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    ks: Sequence[int] = (3, 4, 5),
    *,
    missing_dbm: float = -110.0,
    not_heard: float = 100.0,
) -> pd.DataFrame:
    """The reference a practitioner reaches for: scikit-learn's ``KNeighborsRegressor``
    (``weights="distance"``) on raw RSS with "not heard" (``not_heard``) replaced by
    ``missing_dbm``. It predicts positions only, so the floor and building hit rates and the
    EvAAL score are NaN. One :func:`knn_report` row per ``k``, method :data:`SKLEARN_REFERENCE`."""
    from sklearn.neighbors import KNeighborsRegressor

    rss_tr, pos_tr = np.asarray(train[0]), np.asarray(train[1], dtype=float)[:, :2]
    rss_te, pos_te = np.asarray(test[0]), np.asarray(test[1], dtype=float)[:, :2]
    X_tr = np.where(rss_tr == not_heard, missing_dbm, rss_tr)
    X_te = np.where(rss_te == not_heard, missing_dbm, rss_te)
    rows = []
    for k in ks:
        est = KNeighborsRegressor(n_neighbors=int(k), weights="distance").fit(X_tr, pos_tr)
        rep = knn_report((est.predict(X_te), None, None), (pos_te, None, None))
        if test[2] is not None or (len(test) > 3 and test[3] is not None):
            rep["evaal_m"] = float("nan")  # no floor or building predicted: no score
        rows.append({"method": SKLEARN_REFERENCE, "k": int(k), **rep})
    return pd.DataFrame(rows)


def headline_table(
    knn: pd.DataFrame, ranks: pd.DataFrame, k: int, units: dict[str, tuple[str, float]],
) -> pd.DataFrame:
    """The chapter's positioning table at one ``k``: the papers' mean error beside the field's
    metrics, with tie-aware ranks.

    ``knn``: :func:`knn_table` (and :func:`sklearn_reference`) rows with a ``test_set`` column;
    ``ranks``: :func:`~.compare.tie_aware_ranks` tables with a ``test_set`` column (methods
    without a rank, e.g. the reference, get none); ``units``: test set → (unit of its
    coordinates, units per ground metre), e.g. ``("Web-Mercator m", 1.305)`` for
    UJIIndoorLoc, ``("m", 1.0)`` for a local metric frame."""
    if not isinstance(k, (int, np.integer)) or k not in set(knn.k):
        raise ValueError(f"k={k!r} is not in the table; available: {sorted(set(knn.k))}")
    missing = sorted(set(knn.test_set) - set(units))
    if missing:
        raise ValueError(f"units: no unit given for test set(s) {', '.join(missing)}")
    t = knn[knn.k == k].merge(ranks[["test_set", "method", "rank"]], how="left",
                              on=["test_set", "method"])
    scale = t.test_set.map(lambda s: units[s][1]).astype(float)
    out = pd.DataFrame({
        "test set": t.test_set,
        "method": t.method,
        "rank (tie-aware)": t["rank"],
        "unit": t.test_set.map(lambda s: units[s][0]),
        "mean": t.mean_m,
        "mean [ground m]": t.mean_m / scale,
        "median": t.median_m,
        "p75": t.p75_m,
        "CE95": t.ce95_m,
        "floor hit": t.floor_hit,
        "building hit": t.building_hit,
        "EvAAL score": t.evaal_m,
    })
    return out.reset_index(drop=True)

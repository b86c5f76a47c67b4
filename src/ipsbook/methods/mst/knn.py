"""Beyond paper C: plain kNN fingerprinting on the same splits, as a yardstick.

scikit-learn's :class:`~sklearn.neighbors.KNeighborsRegressor`, ``weights="distance"``
(inverse Euclidean distance; a training fingerprint identical to the query takes all the
weight), Euclidean metric, brute-force search, on raw dBm with every "not heard" (100)
replaced by -110 dBm (:data:`MISSING_DBM`, below every reading of the three sets: their weakest
is -104 dBm), ``k`` in 3..5. It predicts the 2-D position in the set's frame (metres) and is
scored by the 2-D Euclidean error, as the paper scores its networks (mean = the paper's "MAE",
p75, p95). Nothing is tuned: no AP filtering, no floor/building classification first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsRegressor

from ipsbook.metrics import errors, summary

from .data import DATASETS, NOT_HEARD, FingerprintSet, load

__all__ = ["K_VALUES", "MISSING_DBM", "knn_baseline", "knn_errors", "knn_predict", "knn_table"]

K_VALUES: tuple[int, ...] = (3, 4, 5)
MISSING_DBM = -110.0


def _features(fs: FingerprintSet, missing: float) -> np.ndarray:
    rss = np.asarray(fs.rss, dtype=np.float64)
    return np.where(rss == NOT_HEARD, missing, rss)


def knn_predict(
    train: FingerprintSet, test: FingerprintSet, k: int, *, missing: float = MISSING_DBM
) -> np.ndarray:
    """Positions (n_test, 2) that distance-weighted kNN on ``train`` gives ``test``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if k > len(train):
        raise ValueError(f"k={k} exceeds the {len(train)} training fingerprints")
    if train.n_anchors != test.n_anchors:
        raise ValueError(
            f"train has {train.n_anchors} anchors and test {test.n_anchors}: kNN needs the same "
            "anchor columns (are they from the same dataset?)"
        )
    if train.name != test.name:
        raise ValueError(f"train ({train.label}) and test ({test.label}) are different datasets")
    model = KNeighborsRegressor(n_neighbors=int(k), weights="distance", algorithm="brute")
    model.fit(_features(train, missing), np.asarray(train.pos))
    return model.predict(_features(test, missing))


def knn_errors(
    train: FingerprintSet, test: FingerprintSet, k: int, *, missing: float = MISSING_DBM
) -> np.ndarray:
    """2-D Euclidean errors (metres), one per test fingerprint."""
    return errors(knn_predict(train, test, k, missing=missing), test.pos)


def knn_table(
    train: FingerprintSet,
    test: FingerprintSet,
    ks: Sequence[int] = K_VALUES,
    *,
    missing: float = MISSING_DBM,
) -> pd.DataFrame:
    """One row per ``k``: dataset label, k, n_train, n_test, mean / p75 / p95 error (m)."""
    rows = []
    for k in ks:
        s = summary(knn_errors(train, test, k, missing=missing))
        rows.append(
            {
                "dataset": test.label,
                "method": f"kNN (k={int(k)}, distance-weighted)",
                "k": int(k),
                "n_train": len(train),
                "n_test": len(test),
                "mean_m": s["mean_m"],
                "p75_m": s["p75_m"],
                "p95_m": s["p95_m"],
            }
        )
    return pd.DataFrame(rows)


def knn_baseline(datasets: Iterable[str] = DATASETS, ks: Sequence[int] = K_VALUES) -> pd.DataFrame:
    """:func:`knn_table` for each dataset's paper split (train -> test), stacked."""
    return pd.concat(
        [knn_table(load(d, "train"), load(d, "test"), ks) for d in datasets], ignore_index=True
    )

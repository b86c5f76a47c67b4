"""Fingerprint similarity vs physical distance — paper A (Saccomanno, Brunello, Montanari).

Study 1 machinery: data representations (:mod:`.representations`), the classical metrics,
blockwise and per pair (:mod:`.distances`), the scenarios and the correlation study
(:mod:`.scenarios`), and the kNN positioner every study is scored with (:mod:`.knn`).
Study 2 (GP meta-metric, :mod:`.meta`) and Study 3 (losses and training of the DML embedding,
:mod:`.losses`, :mod:`.train`) are re-exported here when present.
"""

from .distances import (
    METRICS,
    LGDParams,
    check_metric,
    check_representation,
    iter_pairwise_features,
    pair_features,
    pairwise,
    sample_pairs,
)
from .knn import KNNPositioner, KNNPrediction, knn_report
from .representations import (
    ALPHA,
    BETA,
    NOT_DETECTED,
    REPRESENTATIONS,
    default_min_rss,
    heard,
    represent,
)
from .scenarios import (
    DATASETS,
    FLOOR_HEIGHT,
    GRANULARITIES,
    Scenario,
    correlation_study,
    scenarios,
)

__all__ = [
    "ALPHA",
    "BETA",
    "DATASETS",
    "FLOOR_HEIGHT",
    "GRANULARITIES",
    "METRICS",
    "NOT_DETECTED",
    "REPRESENTATIONS",
    "KNNPositioner",
    "KNNPrediction",
    "LGDParams",
    "Scenario",
    "check_metric",
    "check_representation",
    "correlation_study",
    "default_min_rss",
    "heard",
    "iter_pairwise_features",
    "knn_report",
    "pair_features",
    "pairwise",
    "represent",
    "sample_pairs",
    "scenarios",
]

# Studies 2 and 3 live in modules written alongside this one; export them once they exist.
try:
    from .meta import MetaMetric, fit_meta_metric
except ImportError:  # pragma: no cover - module not there yet
    pass
else:
    __all__ += ["MetaMetric", "fit_meta_metric"]

try:
    from .losses import contrastive_loss, log_ratio_loss, triplet_loss
except ImportError:  # pragma: no cover
    pass
else:
    __all__ += ["contrastive_loss", "log_ratio_loss", "triplet_loss"]

try:
    from .train import train_embedding
except ImportError:  # pragma: no cover
    pass
else:
    __all__ += ["train_embedding"]

"""Euclidean distance matrices for FTM ranging between fixed APs — paper B.

Checks and helpers (:mod:`.core`), classical MDS (:mod:`.mds`), weighted metric SMACOF
(:mod:`.smacof`), trilateration (:mod:`.trilateration`); paper B's Wall Remover and
iterative algebro-geometric resolution live in :mod:`.wall_remover` and :mod:`.iag`.
Used by the chapter ``notebooks/ftm.py``.
"""

from .core import (
    SYMMETRISE_HOWS,
    AlignedErrors,
    align,
    check_distance_matrix,
    check_points,
    complete_shortest_path,
    dilation_factors,
    dilation_stats,
    edm,
    position_errors,
    symmetrise,
)
from .mds import MDSResult, classical_mds, double_centre
from .smacof import SmacofResult, smacof, smacof_sklearn
from .trilateration import trilaterate, trilaterate_network

__all__ = [
    "SYMMETRISE_HOWS",
    "AlignedErrors",
    "MDSResult",
    "SmacofResult",
    "align",
    "check_distance_matrix",
    "check_points",
    "classical_mds",
    "complete_shortest_path",
    "dilation_factors",
    "dilation_stats",
    "double_centre",
    "edm",
    "position_errors",
    "smacof",
    "smacof_sklearn",
    "symmetrise",
    "trilaterate",
    "trilaterate_network",
]

# written by another developer; absent until they land
try:
    from .wall_remover import WallRemoverResult, wall_remover

    __all__ += ["WallRemoverResult", "wall_remover"]
except ImportError:  # pragma: no cover - depends on the other modules being present
    pass
try:
    from .iag import IAGResult, iag_resolve

    __all__ += ["IAGResult", "iag_resolve"]
except ImportError:  # pragma: no cover
    pass

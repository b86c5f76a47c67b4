"""Radio propagation shared by chapters: path loss, correlated shadowing, LoS state.

Used by the BFP chapter (paper D); the FTM ranging simulator of paper B will live here too.
"""

from .grid import Grid
from .pathloss import PathLossModel, rssi_map
from .shadowing import correlated_field

__all__ = ["Grid", "PathLossModel", "correlated_field", "rssi_map"]

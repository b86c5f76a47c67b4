"""Radio propagation shared by chapters: path loss, correlated shadowing, LoS state (paper D),
and the FTM ranging simulator with its error model fitted to real RTT data (paper B).
"""

from .ftm import (
    FloorPlan,
    FTMModel,
    FTMRanges,
    pairwise_walls,
    random_aps,
    random_floor_plan,
    simulate_ranges,
    walls_crossed,
)
from .ftm_fit import fit_error_model, fit_table, ranges_frame, ranging_errors, to_model
from .grid import Grid
from .pathloss import PathLossModel, rssi_map
from .shadowing import correlated_field

__all__ = [
    "FTMModel",
    "FTMRanges",
    "FloorPlan",
    "Grid",
    "PathLossModel",
    "correlated_field",
    "fit_error_model",
    "fit_table",
    "pairwise_walls",
    "random_aps",
    "random_floor_plan",
    "ranges_frame",
    "ranging_errors",
    "rssi_map",
    "simulate_ranges",
    "to_model",
    "walls_crossed",
]

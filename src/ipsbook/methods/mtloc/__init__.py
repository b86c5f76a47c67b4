"""Paper E (Wei & Radu): MTLoc, multimodal transfer learning for indoor localisation.

:mod:`.train` (pre-training, transfer, fine-tuning, from scratch), :mod:`.wipe` (modality
wiping), :mod:`.baselines` (Wi-Fi kNN, pedestrian dead reckoning) and :mod:`.experiment` (one
source → target run per seed). The network is :class:`ipsbook.models.mtloc.MTLoc`; the data
come from :mod:`ipsbook.data.ilc`.
"""

from .baselines import KNN_CONFIGS, PDRModel, WifiKNN, fit_pdr, pdr_positions, step_times, wifi_knn
from .train import MODES, FitConfig, FitHistory, errors_m, fit, make_mtloc, predict, pretrain_imu
from .wipe import MODALITIES, valid_mask, wipe

__all__ = [
    "KNN_CONFIGS",
    "MODALITIES",
    "MODES",
    "FitConfig",
    "FitHistory",
    "PDRModel",
    "WifiKNN",
    "errors_m",
    "fit",
    "fit_pdr",
    "make_mtloc",
    "pdr_positions",
    "predict",
    "pretrain_imu",
    "step_times",
    "valid_mask",
    "wifi_knn",
    "wipe",
]

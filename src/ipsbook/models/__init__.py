"""The specialised networks of the chapters (PyTorch).

``EmbeddingMLP`` (:mod:`.dml`) is the embedding network φθ of paper A's deep metric learning
study; ``MTLoc`` and ``IMURegressor`` (:mod:`.mtloc`) are paper E's multimodal network and its
IMU pre-training model; paper C's specialised networks (DNN, CNNLoc, BayesCNN, bAaT), each split into Framer,
Extractor and Regressor, are in :mod:`.fingerprint`.
"""

from .dml import EmbeddingMLP
from .fingerprint import DNN, MODELS, BAaT, BayesCNN, CNNLoc, FingerprintNet, build
from .mtloc import IMURegressor, MTLoc

__all__ = [
    "DNN",
    "MODELS",
    "BAaT",
    "BayesCNN",
    "CNNLoc",
    "EmbeddingMLP",
    "FingerprintNet",
    "IMURegressor",
    "MTLoc",
    "build",
]

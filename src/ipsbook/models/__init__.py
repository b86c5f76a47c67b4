"""The specialised networks of the chapters (PyTorch).

``EmbeddingMLP`` (:mod:`.dml`) is the embedding network φθ of paper A's deep metric learning
study; ``MTLoc`` and ``IMURegressor`` (:mod:`.mtloc`) are paper E's multimodal network and its
IMU pre-training model; paper C's networks (DNN, CNNLoc, BayesCNN, bAaT) join here.
"""

from .dml import EmbeddingMLP
from .mtloc import IMURegressor, MTLoc

__all__ = ["EmbeddingMLP", "IMURegressor", "MTLoc"]

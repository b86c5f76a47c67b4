"""The specialised networks of the chapters (PyTorch).

``EmbeddingMLP`` (:mod:`.dml`) is the embedding network φθ of paper A's deep metric learning
study; the other chapters' networks (DNN, CNNLoc, BayesCNN, bAaT, MTLoc branches) join here.
"""

from .dml import EmbeddingMLP

__all__ = ["EmbeddingMLP"]

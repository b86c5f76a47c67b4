"""The specialised networks of the chapters (PyTorch).

``EmbeddingMLP`` (:mod:`.dml`) is the embedding network φθ of paper A's deep metric learning
study; ``MTLoc`` and ``IMURegressor`` (:mod:`.mtloc`) are paper E's multimodal network and its
IMU pre-training model; paper C's specialised networks (DNN, CNNLoc, BayesCNN, bAaT), each split into Framer,
Extractor and Regressor, are in :mod:`.fingerprint`.

Import them from their module (``from ipsbook.models.dml import EmbeddingMLP``): this package
imports none of them, so a chapter that uses one network does not import, and so does not
depend on, the others (the runner records the modules a chapter's kernel imported).
"""

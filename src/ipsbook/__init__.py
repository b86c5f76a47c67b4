"""ipsbook: the package behind a reproducible companion to five indoor-positioning papers.

Notebooks (``notebooks/*.py``) only orchestrate; every model, loss, loader and simulator
lives here, in two wings. The science: :mod:`ipsbook.data`, ``radio``, ``models``,
``methods`` (one subpackage or module per paper, with its figures and tables), ``metrics``,
``stats``, ``training``, ``plotting``, ``display`` and ``profiles``. The machinery that turns
the notebooks into a book: :mod:`ipsbook.book` (runner, claims, freeze, build, cli), which the
science never imports. Run a chapter with
``ipsbook run NAME --profile smoke|quick|full|paper -p key=value``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def setup(seed: int = 0) -> None:
    """Seed Python, NumPy and (if imported/installed) torch, and make torch deterministic."""
    import os
    import random

    import numpy as np

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch is a dependency, but BFP-only use must not need it
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)

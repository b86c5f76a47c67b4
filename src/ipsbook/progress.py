"""The package's progress bar: one import for every long loop.

``tqdm.auto`` picks tqdm's notebook widget inside a Jupyter kernel, and where ipywidgets is not
installed (the book's environment) it warns "IProgress not found" on import, which then shows
in the first cell of every executed chapter. Here the widget is used only where ipywidgets is
importable; everywhere else the plain text bar (``tqdm.std``), which papermill captures as
ordinary output.
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]

"""How a table reads in the book: no pandas index, booleans as yes/no, lists as "a, b, c",
nothing cut to "0.0...".

:func:`readable` wraps a DataFrame for display only: it *is* the same DataFrame (every
operation on it returns a plain DataFrame), so a chapter can keep computing with what
``out.table(...)`` returned, while the cell shows the readable form. The CSV a chapter saves
is untouched by any of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

__all__ = ["ReadableFrame", "readable", "readable_value"]


def readable_value(value: Any) -> Any:
    """One cell as a reader wants it: ``True`` → "yes", ``(1, 2)`` → "1, 2",
    ``{"a": 1}`` → "a 1"; numbers and strings unchanged."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {readable_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(readable_value(v))
                         for v in items)
    return value


class ReadableFrame(pd.DataFrame):
    """A DataFrame that displays readably (see the module docstring)."""

    _metadata: ClassVar[list[str]] = ["_show_index"]

    @property
    def _constructor(self):  # derived frames are ordinary DataFrames again
        return pd.DataFrame

    def _for_display(self) -> pd.DataFrame:
        shown = pd.DataFrame(self).copy()
        for col in shown.columns:
            if shown[col].dtype == bool or shown[col].dtype == object:
                shown[col] = shown[col].map(readable_value)
        return shown

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self._for_display().to_html(index=self._show_index, na_rep="–", border=0)

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 200):
            return self._for_display().to_string(index=self._show_index, na_rep="–")


def readable(frame: pd.DataFrame, *, index: bool = False) -> ReadableFrame:
    """``frame`` to show in a notebook cell: without its index unless ``index=True``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame={type(frame).__name__}: readable() takes a pandas DataFrame")
    out = ReadableFrame(frame)
    out._show_index = bool(index)
    return out

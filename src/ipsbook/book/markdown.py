"""Small helpers for the generated MyST Markdown pages (tables, escaping)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any


def escape(text: str) -> str:
    """Escape the characters Markdown would read as markup (emphasis, links, tables, HTML)."""
    return re.sub(r"([\\*_`\[\]<>|])", r"\\\1", str(text))


def cell(text: Any) -> str:
    """A table cell: pipes escaped, on one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    """A pipe table as lines, followed by a blank line. ``align``: one of ``l``/``r`` per
    column (default: all left)."""
    marks = [("---:" if a == "r" else "---") for a in (align or "l" * len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines + [""]

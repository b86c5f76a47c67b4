"""Print the Markdown file tables of book/datasets.md from the registry (maintainers only).

Usage: ``python tests/data_helpers/datasets_tables.py KEY [NAME_REGEX]`` prints one table of
the dataset's files (optionally only names matching NAME_REGEX). ``tests/test_data.py``
checks that every sha256 and size on the page is the registry's.
"""

from __future__ import annotations

import re
import sys

from ipsbook.data import REGISTRY


def table(key: str, pattern: str = ".*") -> str:
    lines = [
        f"| file (under `{key}/`) | bytes (uncompressed) | sha256 (uncompressed) |",
        "|---|--:|---|",
    ]
    for f in REGISTRY[key].files:
        if re.fullmatch(pattern, f.name):
            stored = f.relpath.partition("/")[2]
            lines.append(f"| `{stored}` | {f.size:,} | `{f.sha256}` |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(*sys.argv[1:]))

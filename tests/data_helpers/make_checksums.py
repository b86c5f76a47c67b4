"""Regenerate ``src/ipsbook/data/checksums.json`` from a data root (maintainers only).

Usage: ``python tests/data_helpers/make_checksums.py /path/to/data > src/ipsbook/data/checksums.json``

It hashes the uncompressed content of every file under ``<root>/<dataset>/`` except the
workplace's own ``MANIFEST.md`` notes, and records (path in the dataset folder, sha256, size
in bytes, uncompressed). Sources, licences and notes live in ``ipsbook/data/registry.py``;
``tests/test_data.py`` re-checks the JSON against the real files and the MANIFESTs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

DATASETS = ("ujiindoorloc", "tut3", "uji-lib", "rtt-feng", "rtt-yu", "ms-ilc2020", "uoe-rounds")
SKIP = {"MANIFEST.md"}


def _digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def main(root: Path) -> None:
    out: dict[str, list[list[object]]] = {}
    for key in DATASETS:
        rows = []
        for path in sorted((root / key).rglob("*")):
            if path.is_file() and path.name not in SKIP:
                sha, size = _digest(path)
                rows.append([path.relative_to(root / key).as_posix(), sha, size])
        out[key] = rows
    # One file per line keeps diffs of this generated file readable.
    lines = []
    for key, rows in out.items():
        body = ",\n".join("  " + json.dumps(row) for row in rows)
        lines.append(f" {json.dumps(key)}: [\n{body}\n ]")
    sys.stdout.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

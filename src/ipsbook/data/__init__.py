"""Datasets: the registry (sources, licences, sha256), file resolution and loaders.

Files are looked up in ``$IPSBOOK_DATA_DIR``, then the downloads folder (the checkout's
``data/``, or ``$IPSBOOK_DOWNLOAD_DIR``), else downloaded there from the official source with
pooch; the sha256 of the uncompressed content is checked on every read. See
``book/datasets.md`` and ``data/README.md`` (written from the registry by :func:`readme`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from .fetch import (
    DataChecksumError,
    DataError,
    DataFileMissing,
    DataIntegrityWarning,
    UnknownDataError,
    cache_dir,
    data_dirs,
    download_dir,
    fetch,
    get_dataset,
    project_root,
    read_bytes,
    sha256_of,
    verify_all,
)
from .registry import REGISTRY, DataFile, Dataset

# The loaders are imported on first use (PEP 562), so that a chapter which reads only paper E's
# traces has not imported, and does not depend on, UJIIndoorLoc's loader: the runner records the
# modules a chapter's kernel imported, and a change to one loader then leaves other chapters'
# runs current.
_LAZY = {
    "ilc": ("MultimodalSamples", "Trace", "TraceFormatError", "ap_vocabulary", "build_samples",
            "load_site", "parse_trace", "read_trace", "split_traces"),
    "loaders": ("UJI_LIB_MONTHS", "Tut3Split", "UJIArrays", "UjiLibSplit", "load_tut3",
                "load_uji_lib", "load_ujiindoorloc", "read_csv", "ujiindoorloc_arrays"),
    "rtt": ("RTTNetwork", "load_rtt_feng", "load_rtt_yu", "rtt_network"),
    "uoe": ("Round", "RoundFormatError", "load_rounds", "read_round", "round_summary"),
}
_HOME = {name: mod for mod, names in _LAZY.items() for name in names} | {m: m for m in _LAZY}

if TYPE_CHECKING:  # for readers and type checkers: what the lazy names are
    from . import uoe
    from .ilc import (
        MultimodalSamples,
        Trace,
        TraceFormatError,
        ap_vocabulary,
        build_samples,
        load_site,
        parse_trace,
        read_trace,
        split_traces,
    )
    from .loaders import (
        UJI_LIB_MONTHS,
        Tut3Split,
        UJIArrays,
        UjiLibSplit,
        load_tut3,
        load_uji_lib,
        load_ujiindoorloc,
        read_csv,
        ujiindoorloc_arrays,
    )
    from .rtt import RTTNetwork, load_rtt_feng, load_rtt_yu, rtt_network
    from .uoe import Round, RoundFormatError, load_rounds, read_round, round_summary


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{home}", __name__)
    value = module if name == home else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "REGISTRY",
    "UJI_LIB_MONTHS",
    "DataChecksumError",
    "DataError",
    "DataFile",
    "DataFileMissing",
    "DataIntegrityWarning",
    "Dataset",
    "MultimodalSamples",
    "RTTNetwork",
    "Round",
    "RoundFormatError",
    "Trace",
    "TraceFormatError",
    "Tut3Split",
    "UJIArrays",
    "UjiLibSplit",
    "UnknownDataError",
    "ap_vocabulary",
    "build_samples",
    "cache_dir",
    "citation_table",
    "data_dirs",
    "dataset_checksums",
    "download_dir",
    "fetch",
    "get_dataset",
    "load_rounds",
    "load_rtt_feng",
    "load_rtt_yu",
    "load_site",
    "load_tut3",
    "load_uji_lib",
    "load_ujiindoorloc",
    "parse_trace",
    "project_root",
    "read_bytes",
    "read_csv",
    "read_round",
    "read_trace",
    "readme",
    "round_summary",
    "rtt_network",
    "sha256_of",
    "split_traces",
    "ujiindoorloc_arrays",
    "uoe",
    "verify_all",
]


def dataset_checksums(keys: str | Iterable[str] | None = None) -> dict[str, dict[str, str | None]]:
    """``{dataset key: {relpath: sha256}}`` for ``keys`` (one key, several, or ``None``: all),
    sorted, so a cache key built from it changes exactly when registered content changes."""
    keys = list(REGISTRY) if keys is None else [keys] if isinstance(keys, str) else list(keys)
    return {k: {f.relpath: f.sha256 for f in get_dataset(k).files} for k in sorted(set(keys))}


def citation_table(include_unavailable: bool = False) -> pd.DataFrame:
    """One row per dataset: key, title, licence, source, files (count), citation."""
    rows = [
        {
            "key": ds.key,
            "title": ds.title,
            "licence": ds.licence,
            "source": ds.doi_or_url,
            "files": len(ds.files),
            "citation": ds.citation,
        }
        for ds in REGISTRY.values()
        if ds.available or include_unavailable
    ]
    return pd.DataFrame(rows, columns=["key", "title", "licence", "source", "files", "citation"])


def readme() -> str:
    """``data/README.md``, written from the registry: where files are looked for, and per dataset
    its source, licence, citation and every file with its sha256 (``make data-readme`` writes
    it; a test keeps the committed copy equal to this)."""
    head = """# data/

<!-- written by `make data-readme` (ipsbook.data.readme) from src/ipsbook/data/registry.py; do not
edit -->

The datasets ipsbook reads. A file is looked for in every folder of `$IPSBOOK_DATA_DIR`, then
here (or in `$IPSBOOK_DOWNLOAD_DIR` when set); a missing file is downloaded here from its official
source. Everything in this folder but this README is ignored by git. The sha256 is of the
uncompressed content; a stored file may be gzip-compressed (`<path>.gz`) or plain, and is checked
on every read. Trained artefacts (paper C's experts and checkpoints) are kept apart, in `.cache/`
(`make clean-cache`).
"""
    lines = [
        *head.split("\n"),
        "| dataset | title | licence | chapters | files | source |",
        "|---|---|---|---|---:|---|",
    ]
    for ds in REGISTRY.values():
        lines.append(f"| `{ds.key}` | {ds.title} | {ds.licence} | {', '.join(ds.chapters) or '–'}"
                     f" | {len(ds.files)} | {ds.doi_or_url} |")
    for ds in REGISTRY.values():
        lines += ["", f"## `{ds.key}`: {ds.title}", "", ds.description.strip(), "",
                  f"- licence: {ds.licence}", f"- source: {ds.doi_or_url}",
                  f"- cite: {ds.citation}"]
        if not ds.available:
            lines.append("- not obtainable here: no checksums, never downloaded automatically; "
                         "supply the files yourself")
        summary = "files (stored path, sha256 of the content, size, official URL)"
        lines += ["", f"<details><summary>{summary}</summary>", "",
                  "| stored as | sha256 | bytes | official source |", "|---|---|---:|---|"]
        for f in ds.files:
            where = f.url + (f" (member `{f.member}`)" if f.member else "")
            lines.append(f"| `{f.relpath}` | `{f.sha256 or 'unknown'}` | "
                         f"{'' if f.size is None else f.size} | {where} |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"

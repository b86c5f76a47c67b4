"""Datasets: the registry (sources, licences, sha256), file resolution and loaders.

Files are looked up in ``$IPSBOOK_DATA_DIR``, then the user cache (``$IPSBOOK_CACHE_DIR``
or ``~/.cache/ipsbook``), else downloaded from the official source with pooch; the sha256
of the uncompressed content is checked on every read. See ``book/datasets.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from . import uoe
from .fetch import (
    DataChecksumError,
    DataError,
    DataFileMissing,
    DataIntegrityWarning,
    UnknownDataError,
    cache_dir,
    data_dirs,
    fetch,
    get_dataset,
    read_bytes,
    sha256_of,
    verify_all,
)
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
from .registry import REGISTRY, DataFile, Dataset
from .rtt import RTTNetwork, load_rtt_feng, load_rtt_yu, rtt_network
from .uoe import Round, RoundFormatError, load_rounds, read_round, round_summary

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
    "read_bytes",
    "read_csv",
    "read_round",
    "read_trace",
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

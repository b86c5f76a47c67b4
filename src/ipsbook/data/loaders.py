"""Loaders for the fingerprinting datasets, on top of :func:`ipsbook.data.read_bytes`.

Every loader reads through the registry, so every file is found the same way and its
sha256 is checked. RSS values are kept as in the files (100 = not detected): choosing a
replacement value is a modelling decision, made by the methods, not here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .fetch import DataError, get_dataset, read_bytes

__all__ = [
    "UJI_LIB_MONTHS",
    "Tut3Split",
    "UJIArrays",
    "UjiLibSplit",
    "load_tut3",
    "load_uji_lib",
    "load_ujiindoorloc",
    "read_csv",
    "ujiindoorloc_arrays",
]

NOT_DETECTED = 100  # the "AP not heard" marker shared by UJIIndoorLoc, TUT3 and UJI-LIB


def _choice(param: str, value: Any, allowed: Sequence[Any], shown: str | None = None) -> None:
    if value not in allowed:
        shown = shown or ", ".join(map(repr, allowed))
        raise ValueError(f"{param}={value!r} is not valid; allowed values: {shown}")


def read_csv(dataset_key: str, name: str, **kwargs: Any) -> pd.DataFrame:
    """A registered CSV file as a DataFrame (verified; ``kwargs`` go to ``pandas.read_csv``)."""
    return pd.read_csv(io.BytesIO(read_bytes(dataset_key, name)), **kwargs)


def _matrix(dataset_key: str, name: str, dtype: Any) -> np.ndarray:
    # The fingerprint files have no header row.
    return read_csv(dataset_key, name, header=None).to_numpy(dtype=dtype)


# --- UJIIndoorLoc ----------------------------------------------------------------------------

_UJI_FILES = {"train": "trainingData.csv", "validation": "validationData.csv"}


def load_ujiindoorloc(split: str = "train") -> pd.DataFrame:
    """UJIIndoorLoc as in the file: ``"train"`` 19,937 x 529, ``"validation"`` 1,111 x 529.

    Columns WAP001-WAP520 (RSS in dBm, 100 = not detected), LONGITUDE, LATITUDE (metres,
    projected), FLOOR, BUILDINGID, SPACEID, RELATIVEPOSITION, USERID, PHONEID, TIMESTAMP.
    Papers A and C use the validation file as their test set.
    """
    _choice("split", split, tuple(_UJI_FILES))
    return read_csv("ujiindoorloc", _UJI_FILES[split])


class UJIArrays(NamedTuple):
    """UJIIndoorLoc as arrays (unpacks as ``rss, positions, floor, building``)."""

    rss: np.ndarray  # (n, 520) float32, dBm; 100 = not detected
    positions: np.ndarray  # (n, 2) float64, LONGITUDE and LATITUDE in metres
    floor: np.ndarray  # (n,) int64, 0-4
    building: np.ndarray  # (n,) int64, 0-2


def ujiindoorloc_arrays(split: str = "train") -> UJIArrays:
    """UJIIndoorLoc ``split`` as ``(rss, positions, floor, building)``.

    ``rss`` is float32 n x 520 with the file's 100 kept for "not detected"; ``positions`` is
    n x 2 (LONGITUDE, LATITUDE: projected coordinates in metres, the units the papers report
    errors in); ``floor`` and ``building`` are int64.
    """
    df = load_ujiindoorloc(split)
    waps = [c for c in df.columns if c.startswith("WAP")]
    return UJIArrays(
        rss=df[waps].to_numpy(np.float32),
        positions=df[["LONGITUDE", "LATITUDE"]].to_numpy(np.float64),
        floor=df["FLOOR"].to_numpy(np.int64),
        building=df["BUILDINGID"].to_numpy(np.int64),
    )


# --- Tampere (TUT3) --------------------------------------------------------------------------

TUT3_FLOOR_HEIGHT = 3.7  # metres; the dataset's benchmark software uses floor = round(z / 3.7)
# Training_* (697 rows) is the training set even though the dataset's README.txt swaps them.
_TUT3_PREFIX = {"train": "Training", "test": "Test"}


class Tut3Split(NamedTuple):
    """One TUT3 split (unpacks as ``rss, coords, floor``)."""

    rss: np.ndarray  # (n, 992) float32, dBm; 100 = not heard
    coords: np.ndarray  # (n, 3) float64, x, y, z in metres (local frame)
    floor: np.ndarray  # (n,) int64, 0-4, round(z / 3.7)


def load_tut3(split: str = "train") -> Tut3Split:
    """TUT3 ``split``: ``"train"`` (697 rows) or ``"test"`` (3,951 rows), 992 APs."""
    _choice("split", split, tuple(_TUT3_PREFIX))
    prefix = _TUT3_PREFIX[split]
    rss = _matrix("tut3", f"{prefix}_rss_21Aug17.csv", np.float32)
    coords = _matrix("tut3", f"{prefix}_coordinates_21Aug17.csv", np.float64)
    level = coords[:, 2] / TUT3_FLOOR_HEIGHT
    floor = np.round(level)
    if len(rss) != len(coords) or np.any(np.abs(level - floor) > 1e-6):
        raise DataError(
            f"tut3 {split}: RSS and coordinate rows disagree or z is not a multiple of 3.7 m"
        )
    return Tut3Split(rss, coords, floor.astype(np.int64))


# --- UJI library long-term (UJI-LIB) ------------------------------------------------------------


def _uji_lib_sets() -> dict[tuple[int, str], tuple[int, ...]]:
    """(month, "trn"|"tst") -> set numbers present in the registry."""
    found: dict[tuple[int, str], list[int]] = {}
    for f in get_dataset("uji-lib").files:
        m = re.fullmatch(r"db/(\d\d)/(trn|tst)(\d\d)rss\.csv", f.name)
        if m:
            found.setdefault((int(m[1]), m[2]), []).append(int(m[3]))
    return {k: tuple(sorted(v)) for k, v in found.items()}


_LIB_SETS = _uji_lib_sets()
UJI_LIB_MONTHS: tuple[int, ...] = tuple(sorted({m for m, _ in _LIB_SETS}))
_LIB_KIND = {"train": "trn", "test": "tst"}


class UjiLibSplit(NamedTuple):
    """Concatenated UJI-LIB sets of one month (unpacks as ``rss, coords, floor, time, ids, set_id``)."""

    rss: np.ndarray  # (n, 620) float32, dBm; 100 = not detected
    coords: np.ndarray  # (n, 2) float64, x, y in metres (library frame)
    floor: np.ndarray  # (n,) int64, 3 or 5 (month 01 trn14 has six rows with 0, an upstream error)
    time: np.ndarray  # (n,) datetime64[ms], local time (zone not stated)
    ids: np.ndarray  # (n,) int64, month*1e8 + set*1e6 + kind*1e5 + point*1e2 + sample
    set_id: np.ndarray  # (n,) int64, the set number each row comes from


def load_uji_lib(
    month: int = 1, split: str = "train", sets: Iterable[int] | None = None
) -> UjiLibSplit:
    """UJI-LIB ``month`` (1-25), ``split`` ``"train"`` or ``"test"``.

    ``sets`` picks set numbers; by default ``train`` is set 01 (576 rows) and ``test`` is
    every test set of the month (month 01: tst01-tst05, 3,120 rows), the split paper C's
    substitute for UTS uses.
    """
    months = f"integers {UJI_LIB_MONTHS[0]}-{UJI_LIB_MONTHS[-1]}"
    if isinstance(month, bool) or not isinstance(month, (int, np.integer)):
        _choice("month", month, (), months)
    _choice("month", int(month), UJI_LIB_MONTHS, months)
    _choice("split", split, tuple(_LIB_KIND))
    kind = _LIB_KIND[split]
    available = _LIB_SETS[(int(month), kind)]
    chosen = (
        (available[0],)
        if sets is None and split == "train"
        else tuple(available if sets is None else sets)
    )
    if not chosen:
        raise ValueError(
            f"sets={sets!r} is empty; allowed values for month {month} {split}: {available}"
        )
    for s in chosen:
        _choice(f"sets (month {month}, {split})", s, available)
    parts = []
    for s in chosen:
        stem = f"db/{int(month):02d}/{kind}{s:02d}"
        rss = _matrix("uji-lib", f"{stem}rss.csv", np.float32)
        crd = _matrix("uji-lib", f"{stem}crd.csv", np.float64)
        tms = _matrix("uji-lib", f"{stem}tms.csv", np.int64)[:, 0]
        ids = _matrix("uji-lib", f"{stem}ids.csv", np.int64)[:, 0]
        if not len(rss) == len(crd) == len(tms) == len(ids):
            raise DataError(f"uji-lib {stem}: the rss/crd/tms/ids files have different row counts")
        time = pd.to_datetime(pd.Series(tms).astype(str), format="%Y%m%d%H%M%S%f").to_numpy(
            "datetime64[ms]"
        )
        parts.append(
            (
                rss,
                crd[:, :2],
                crd[:, 2].round().astype(np.int64),
                time,
                ids,
                np.full(len(ids), s, np.int64),
            )
        )
    return UjiLibSplit(*(np.concatenate(cols) for cols in zip(*parts)))

"""Fingerprint datasets for paper C (Nguyen et al., multi-surrogate teachers), one convention.

Every set comes out as a :class:`FingerprintSet` in the paper's convention, whatever file it
came from, read through :mod:`ipsbook.data` (registry, checksums, loaders); nothing here reads a
file itself.

**RSS.** ``rss`` is float32 ``(n, n_anchors)`` in dBm with **100 = anchor not heard**: the
paper's "missing anchor values were filled with default values of 100 dB" (Sect. 4.1). That is
already the marker of all four files (UJIIndoorLoc, Tampere/TUT3, UJI-LIB and UTS use ``+100``
for "not detected"), so no value is converted; :func:`load` only checks that every other value
is a reading (``<= 0`` dBm) and fails otherwise. The models then apply "the scaling each model
expects" with :func:`scale` / :class:`Scaler` (``SCALINGS``), which replace the 100 first.

**Positions.** ``pos`` is float64 ``(n, 2)``, metres, in a local 2-D frame per dataset (the
paper evaluates 2-D Euclidean errors); ``origin`` is what was subtracted from the file's
coordinates, so ``pos + origin`` gives them back. Errors are invariant to the shift.

* ``ujiindoorloc``: the file's LONGITUDE/LATITUDE, which are projected (Web-Mercator-like)
  metres, minus the fixed origin :data:`UJI_ORIGIN` = (-7700, 4864700). Web-Mercator metres are
  about 1.3 ground metres at Castellón's latitude (1/cos 40 deg); we keep them unscaled, as
  paper C and every paper reporting errors on this set do, so numbers stay comparable.
* ``tampere``: the file's x, y (metres, the building's local frame; z gives ``floor`` =
  z / 3.7 m and is dropped). Origin (0, 0).
* ``uji-lib``: the file's x, y (metres, the library's local frame; floors 3 and 5 as given).
  Origin (0, 0).
* ``uts``: the file's two position columns (metres, local frame), origin (0, 0).

**Splits** (``SPLITS`` = train, test), as in the paper: UJIIndoorLoc train = trainingData
(19,937), test = validationData (1,111: the paper's test set); Tampere train = the
``Training_*`` files (697), test = ``Test_*`` (3,951); UJI-LIB (our stand-in for UTS, which
cannot be had here) month 01, train = ``trn01`` (576), test = ``tst01``-``tst05`` pooled (3,120);
UTS, when a user has its files, train = UTS_training.csv, test = UTS_test.csv.

Rows are kept as in the files: UJIIndoorLoc's training file has 76 fingerprints with no anchor
heard (and 137 readings of exactly 0 dBm); the paper says nothing of dropping them, so they stay
(``s.subset(s.heard.any(axis=1))`` drops them where wanted).

**Table 4 partitions.** :func:`subsample` draws ``floor(fraction * n)`` rows without
replacement with ``numpy.random.default_rng(seed)``; the paper's sizes (199 and 1,993 of 19,937;
910 of 9,108; 69 of 697) are all ``floor``. Ten partitions = seeds ``PARTITION_SEEDS`` (0-9).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATASETS",
    "LABELS",
    "MIN_RSS",
    "NOT_HEARD",
    "OPTIONAL_DATASETS",
    "PARTITION_SEEDS",
    "SCALINGS",
    "SPLITS",
    "UJI_ORIGIN",
    "FingerprintSet",
    "Scaler",
    "available_datasets",
    "clear_cache",
    "describe",
    "label",
    "load",
    "scale",
    "subsample",
    "uts_available",
]

DATASETS: tuple[str, ...] = ("ujiindoorloc", "tampere", "uji-lib")
OPTIONAL_DATASETS: tuple[str, ...] = ("uts",)  # accepted only when its files are present
LABELS: dict[str, str] = {
    "ujiindoorloc": "UJI",
    "tampere": "Tampere",
    "uji-lib": "UJI-LIB",  # never "UTS": it stands in for UTS, it is not UTS
    "uts": "UTS",
}
SPLITS: tuple[str, ...] = ("train", "test")
NOT_HEARD = 100.0  # the paper's (and every file's) value for a missing anchor
MIN_RSS = -110.0  # dBm standing for "not heard" once a scaling replaces the 100
UJI_ORIGIN: tuple[float, float] = (-7700.0, 4864700.0)  # subtracted from LONGITUDE, LATITUDE
PARTITION_SEEDS: tuple[int, ...] = tuple(range(10))  # Table 4: ten random partitions
SCALINGS: tuple[str, ...] = ("none", "positive", "minmax01", "standard")

_ALIASES = {"uji": "ujiindoorloc", "tut3": "tampere", "lib": "uji-lib", "uji_lib": "uji-lib"}
_FRAMES = {
    "ujiindoorloc": (
        "UJIIndoorLoc LONGITUDE/LATITUDE (projected Web-Mercator metres) minus UJI_ORIGIN "
        "(-7700, 4864700)"
    ),
    "tampere": "Tampere (TUT3) building frame: file x, y in metres",
    "uji-lib": "UJI library frame: file x, y in metres",
    "uts": "UTS file position columns (metres, local frame)",
}
_UTS_FILES = {"train": "UTS_training.csv", "test": "UTS_test.csv"}


# --- the container ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FingerprintSet:
    """One split of one dataset in paper C's convention (see the module docs).

    ``rss`` (n, n_anchors) float32 dBm, 100 = not heard; ``pos`` (n, 2) float64 metres in the
    frame ``frame`` (``pos + origin`` = the file's coordinates); ``floor`` and ``building``
    (n,) int64 where known (single-building sets: building 0), else None; ``index`` the rows'
    numbers in the full split (``subsample``/``subset`` keep them, for provenance).
    """

    name: str
    split: str
    rss: np.ndarray
    pos: np.ndarray
    floor: np.ndarray | None = None
    building: np.ndarray | None = None
    origin: tuple[float, float] = (0.0, 0.0)
    frame: str = ""
    index: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        rss = np.asarray(self.rss)
        pos = np.asarray(self.pos)
        if rss.ndim != 2 or rss.shape[1] == 0:
            raise ValueError(
                f"{self.name}/{self.split}: rss must be (n, n_anchors); got {rss.shape}"
            )
        n = len(rss)
        if pos.shape != (n, 2):
            raise ValueError(f"{self.name}/{self.split}: pos must be ({n}, 2); got {pos.shape}")
        if not np.all(np.isfinite(pos)):
            raise ValueError(f"{self.name}/{self.split}: pos has non-finite values")
        object.__setattr__(self, "rss", _frozen(rss, np.float32))
        object.__setattr__(self, "pos", _frozen(pos, np.float64))
        for attr in ("floor", "building", "index"):
            v = getattr(self, attr)
            if v is not None:
                v = np.asarray(v)
                if v.shape != (n,):
                    raise ValueError(f"{self.name}/{self.split}: {attr} must have shape ({n},)")
                object.__setattr__(self, attr, _frozen(v, np.int64))
        if self.index is None:
            object.__setattr__(self, "index", _frozen(np.arange(n), np.int64))

    def __len__(self) -> int:
        return len(self.rss)

    def __repr__(self) -> str:
        return (
            f"FingerprintSet({self.label} {self.split}: {len(self)} fingerprints x "
            f"{self.n_anchors} anchors)"
        )

    @property
    def label(self) -> str:
        """The name tables and figures use: "UJI", "Tampere", "UJI-LIB" (or "UTS")."""
        return LABELS.get(self.name, self.name)

    @property
    def n_anchors(self) -> int:
        return int(self.rss.shape[1])

    @property
    def heard(self) -> np.ndarray:
        """Boolean (n, n_anchors): anchor heard in that fingerprint (``rss != 100``)."""
        return self.rss != NOT_HEARD

    def subset(self, rows: np.ndarray) -> FingerprintSet:
        """The fingerprints ``rows`` (indices or a boolean mask), ``index`` carried along."""
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape != (len(self),):
            raise ValueError(f"a boolean mask must have shape ({len(self)},); got {rows.shape}")

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return replace(
            self,
            rss=self.rss[rows],
            pos=self.pos[rows],
            floor=pick(self.floor),
            building=pick(self.building),
            index=pick(self.index),
        )


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=a.dtype != dtype or a.flags.writeable)
    out.flags.writeable = False  # shared by load()'s cache: nobody may change it in place
    return out


# --- names and availability -------------------------------------------------------------------


def _canonical(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else ""
    key = _ALIASES.get(key, key)
    if key in DATASETS or key in OPTIONAL_DATASETS:
        return key
    raise ValueError(
        f"unknown dataset {name!r}; allowed values: {', '.join(map(repr, DATASETS))}"
        f" and {OPTIONAL_DATASETS[0]!r} (only when its files are present)"
    )


def label(name: str) -> str:
    """Table label of a dataset name: ``"UJI"``, ``"Tampere"``, ``"UJI-LIB"`` or ``"UTS"``."""
    return LABELS[_canonical(name)]


def _uts_paths() -> list[Path]:
    from ipsbook.data import data_dirs, download_dir

    return [d / "uts" for d in data_dirs()] + [download_dir() / "uts"]


def uts_available() -> bool:
    """Whether both UTS files (``UTS_training.csv``, ``UTS_test.csv``; plain or ``.gz``) are in
    one of the folders :mod:`ipsbook.data` searches (``$IPSBOOK_DATA_DIR/uts/``, ``data/uts/``)."""

    def found(fname: str) -> bool:
        return any((d / fname).is_file() or (d / f"{fname}.gz").is_file() for d in _uts_paths())

    return all(found(f) for f in _UTS_FILES.values())


def available_datasets() -> tuple[str, ...]:
    """``DATASETS``, plus ``"uts"`` when its files are present."""
    return DATASETS + (("uts",) if uts_available() else ())


def _uts_missing() -> Exception:
    from ipsbook.data import DataFileMissing, get_dataset

    ds = get_dataset("uts")
    where = "\n".join(f"  - {p}/" for p in _uts_paths())
    return DataFileMissing(
        "dataset 'uts' (UTSIndoorLoc, Song et al., IEEE Access 2019) is not available: both "
        f"{' and '.join(_UTS_FILES.values())} must be in one of these folders:\n{where}\n"
        f"(set IPSBOOK_DATA_DIR to a folder holding uts/UTS_training.csv and uts/UTS_test.csv). "
        f"Source: {ds.doi_or_url}. Paper C's chapter uses 'uji-lib' (UJI-LIB) in its place."
    )


# --- loading ---------------------------------------------------------------------------------


def load(name: str, split: str = "train") -> FingerprintSet:
    """``split`` (``"train"`` or ``"test"``) of dataset ``name`` as paper C uses it.

    ``name`` is one of :data:`DATASETS` (aliases: ``"uji"``, ``"tut3"``, ``"lib"``) or ``"uts"``
    when its files are present (else :class:`ipsbook.data.DataFileMissing` saying where to put
    them). Results are cached per process; their arrays are read-only.
    """
    key = _canonical(name)
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not valid; allowed values: {', '.join(SPLITS)}")
    if key == "uts" and not uts_available():
        raise _uts_missing()
    return _load_cached(key, split)


def clear_cache() -> None:
    """Forget the sets :func:`load` has read (e.g. after adding the UTS files)."""
    _load_cached.cache_clear()


@functools.cache
def _load_cached(key: str, split: str) -> FingerprintSet:
    from ipsbook.data import load_tut3, load_uji_lib, ujiindoorloc_arrays

    origin = (0.0, 0.0)
    if key == "ujiindoorloc":
        a = ujiindoorloc_arrays("train" if split == "train" else "validation")
        rss, floor, building = a.rss, a.floor, a.building
        origin = UJI_ORIGIN
        pos = a.positions - np.asarray(UJI_ORIGIN)
    elif key == "tampere":
        t = load_tut3(split)
        rss, pos, floor = t.rss, t.coords[:, :2], t.floor
        building = np.zeros(len(rss), np.int64)
    elif key == "uji-lib":
        u = load_uji_lib(1, split)  # month 01: trn01 / tst01-tst05 (the loader's defaults)
        rss, pos, floor = u.rss, u.coords, u.floor
        building = np.zeros(len(rss), np.int64)
    else:  # uts
        rss, pos, floor, building = _read_uts(split)
    _check_convention(key, split, rss)
    return FingerprintSet(
        name=key,
        split=split,
        rss=rss,
        pos=pos,
        floor=floor,
        building=building,
        origin=origin,
        frame=_FRAMES[key],
    )


def _check_convention(key: str, split: str, rss: np.ndarray) -> None:
    rss = np.asarray(rss)
    if not np.all(np.isfinite(rss)):
        raise ValueError(f"{key}/{split}: RSS has non-finite values")
    bad = (rss > 0) & (rss != NOT_HEARD)
    if bad.any():
        raise ValueError(
            f"{key}/{split}: {int(bad.sum())} RSS values are positive but not {NOT_HEARD:g}; "
            "expected dBm readings <= 0 and 100 = not heard"
        )


def _norm(col: object) -> str:
    return re.sub(r"[\s_\-]", "", str(col)).lower()


def _read_uts(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """UTS_training.csv / UTS_test.csv (header row; WAP001.. columns, 100 = not detected, then
    the position columns). Columns are found by name (``WAPnnn``; ``Pos_x``/``Pos_y`` or ``x``/
    ``y``; ``Floor*``; ``Building*``); without position names, the two columns after the last
    WAP column are taken (the layout other projects' loaders read: 589 WAPs, then x, y). Not
    checked against the real files, which this project does not have."""
    from ipsbook.data import DataError, read_csv

    df = read_csv("uts", _UTS_FILES[split])
    cols = list(df.columns)
    waps = [c for c in cols if re.fullmatch(r"wap\d+", _norm(c))]
    if not waps:
        raise DataError(f"UTS {_UTS_FILES[split]}: no WAPnnn columns in its header row")
    names = {_norm(c): c for c in cols}
    pick = [
        next((names[k] for k in cand if k in names), None)
        for cand in (("posx", "x", "longitude"), ("posy", "y", "latitude"))
    ]
    if None in pick:
        last = cols.index(waps[-1])
        if last + 2 >= len(cols):
            raise DataError(f"UTS {_UTS_FILES[split]}: no position columns after the WAP columns")
        pick = [cols[last + 1], cols[last + 2]]
    floor_col = next((c for c in cols if "floor" in _norm(c)), None)
    bld_col = next((c for c in cols if "building" in _norm(c)), None)
    rss = df[waps].to_numpy(np.float32)
    pos = df[pick].to_numpy(np.float64)
    floor = None if floor_col is None else df[floor_col].to_numpy().round().astype(np.int64)
    building = None if bld_col is None else df[bld_col].to_numpy().round().astype(np.int64)
    return rss, pos, floor, building


# --- Table 4 partitions ---------------------------------------------------------------------


def subsample(fs: FingerprintSet, fraction: float, seed: int) -> FingerprintSet:
    """``floor(fraction * len(fs))`` fingerprints (at least 1) drawn without replacement with
    ``numpy.random.default_rng(seed)``, in their original order; deterministic in
    ``(fraction, seed)``. Table 4: ``fraction`` 0.01 or 0.10, seeds :data:`PARTITION_SEEDS`."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)):
        raise TypeError(f"fraction must be a number in (0, 1]; got {fraction!r}")
    fraction = float(fraction)
    if not (0.0 < fraction <= 1.0):
        raise ValueError(f"fraction={fraction!r} must be in (0, 1]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer; got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    n = len(fs)
    size = max(1, math.floor(fraction * n + 1e-9))
    rows = np.random.default_rng(int(seed)).choice(n, size=size, replace=False)
    return fs.subset(np.sort(rows))


# --- scalings ---------------------------------------------------------------------------------


def _as_rss(rss: np.ndarray, name: str = "rss") -> np.ndarray:
    arr = np.asarray(rss)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or arr.ndim != 2:
        raise ValueError(
            f"{name} must be a numeric (n, n_anchors) array; got {arr.shape} {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite values; mark missing anchors with 100")
    if np.any((arr > 0) & (arr != NOT_HEARD)):
        raise ValueError(
            f"{name} is not in the paper's convention (dBm <= 0, 100 = not heard): it has "
            "other positive values (already scaled?)"
        )
    return arr


@dataclass
class Scaler:
    """One of :data:`SCALINGS`, fitted on training fingerprints, applied to any (n, n_anchors).

    Input is dBm with 100 = not heard; output float32. ``min_rss`` (default -110 dBm) stands
    for a missing anchor, and readings below it are clipped to it.

    * ``"none"``: unchanged (100 kept: the paper's fill, for models that take it as is).
    * ``"positive"``: ``(rss - min_rss) / -min_rss``, not heard -> 0; 0 dBm -> 1. Stateless.
    * ``"minmax01"``: missing -> ``min_rss``, then per anchor ``(x - lo) / (hi - lo)`` with
      ``lo``, ``hi`` the anchor's min and max over the fitted data, clipped to [0, 1].
    * ``"standard"``: missing -> ``min_rss``, then per anchor ``(x - mean) / std`` over the
      fitted data.

    Anchors constant in the fitted data (e.g. never heard in training) map to 0 under
    ``minmax01`` and ``standard``: a model fitted there cannot use them.
    """

    how: str
    min_rss: float = MIN_RSS
    shift_: np.ndarray | None = field(default=None, repr=False)
    factor_: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.how not in SCALINGS:
            raise ValueError(
                f"unknown scaling {self.how!r}; allowed values: {', '.join(map(repr, SCALINGS))}"
            )
        m = float(self.min_rss)
        if not math.isfinite(m) or m >= 0:
            raise ValueError(f"min_rss={self.min_rss!r} must be a finite negative dBm value")
        self.min_rss = m

    @property
    def needs_fit(self) -> bool:
        return self.how in ("minmax01", "standard")

    def _filled(self, rss: np.ndarray) -> np.ndarray:
        return np.where(rss == NOT_HEARD, self.min_rss, np.maximum(rss, self.min_rss))

    def fit(self, ref: np.ndarray) -> Scaler:
        """Learn the per-anchor statistics (``minmax01``, ``standard``) from ``ref``; a no-op
        for the stateless ``none`` and ``positive``."""
        if not self.needs_fit:
            return self
        x = self._filled(_as_rss(ref, "ref"))
        if len(x) == 0:
            raise ValueError("ref has no fingerprints")
        if self.how == "minmax01":
            shift, span = x.min(axis=0), np.ptp(x, axis=0)
        else:  # standard
            shift, span = x.mean(axis=0), x.std(axis=0)
        self.shift_ = shift
        self.factor_ = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
        return self

    def transform(self, rss: np.ndarray) -> np.ndarray:
        """``rss`` (dBm, 100 = not heard) scaled, float32 of the same shape."""
        arr = _as_rss(rss)
        if self.how == "none":
            return arr.astype(np.float32)
        if self.how == "positive":
            out = (self._filled(arr) - self.min_rss) / -self.min_rss
            return out.astype(np.float32)
        if self.shift_ is None or self.factor_ is None:
            raise ValueError(
                f"scaling {self.how!r} must be fitted first: Scaler({self.how!r}).fit(train_rss)"
            )
        if arr.shape[1] != len(self.shift_):
            raise ValueError(
                f"rss has {arr.shape[1]} anchors but the scaler was fitted on {len(self.shift_)}"
            )
        out = (self._filled(arr) - self.shift_) * self.factor_
        if self.how == "minmax01":
            out = np.clip(out, 0.0, 1.0)
        return out.astype(np.float32)

    def fit_transform(self, rss: np.ndarray) -> np.ndarray:
        return self.fit(rss).transform(rss)


def scale(
    rss: np.ndarray, how: str, *, ref: np.ndarray | None = None, min_rss: float = MIN_RSS
) -> np.ndarray:
    """``rss`` (dBm, 100 = not heard) in scaling ``how`` (one of :data:`SCALINGS`), float32.

    ``ref``: the training fingerprints whose statistics ``minmax01`` and ``standard`` use
    (default: ``rss`` itself; pass the training set when scaling a test set). Unknown ``how``
    raises ``ValueError`` naming the allowed values. See :class:`Scaler`.
    """
    sc = Scaler(how, min_rss)
    return sc.fit(rss if ref is None else ref).transform(rss)


def describe(sets: list[FingerprintSet] | None = None) -> pd.DataFrame:
    """One row per set: label, split, fingerprints, anchors, anchors heard, floors, extent (m)."""
    if sets is None:
        sets = [load(n, s) for n in available_datasets() for s in SPLITS]
    rows = []
    for s in sets:
        h = s.heard
        rows.append(
            {
                "dataset": s.label,
                "split": s.split,
                "n": len(s),
                "anchors": s.n_anchors,
                "anchors_heard": int(h.any(axis=0).sum()),
                "mean_heard_per_fp": float(h.sum(axis=1).mean()),
                "floors": "" if s.floor is None else ",".join(map(str, np.unique(s.floor))),
                "x_extent_m": float(np.ptp(s.pos[:, 0])),
                "y_extent_m": float(np.ptp(s.pos[:, 1])),
            }
        )
    return pd.DataFrame(rows)

"""Indoor Location Competition 2.0 sample traces (dataset ``"ms-ilc2020"``) for paper E.

Reads the raw smartphone traces of the two shopping malls (``site1``, ``site2``, floor F1;
see the data folder's ``MANIFEST.md``) and builds MTLoc's multimodal samples (paper E,
Tables II/III): one sample per time step with the previous second of IMU and magnetometer
readings resampled to 10 points, a Wi-Fi RSS vector over a per-site access-point vocabulary,
and the position interpolated in time between the ground-truth waypoints.

Pipeline::

    traces = load_site("site1")                       # list[Trace], parsed once per process
    split = split_traces([t.trace_id for t in traces])  # 8:5:1 by trace
    train = [t for t in traces if t.trace_id in split["train"]]
    vocab = ap_vocabulary(train, min_scans=10)        # BSSIDs heard in >= 10 training scans
    s = build_samples(traces, vocab)                  # MultimodalSamples, arrays of N samples
    s.subset(np.isin(s.trace_id, split["train"]))

Parsing (:func:`parse_trace`): the C tokenizer of :func:`pandas.read_csv` splits every line
on tabs (no quoting, ``\\n`` as the only line end, undecodable bytes replaced), and NumPy
counts the tabs of every line, so each line's exact field count and line number are known
without a Python loop over lines. Header/footer lines start with ``#``. Lines of the types
this module uses (accelerometer, gyroscope, magnetometer, rotation vector, Wi-Fi, waypoint)
must have exactly their documented field count and finite numeric values (integers for
the time and for the Wi-Fi RSSI, frequency and last-seen fields; a non-empty BSSID);
otherwise :class:`TraceFormatError` names the file, the 1-based line number, the problem
and the line (the first malformed line, with the total count when there are several).
The 84 real traces contain no such line, so nothing is skipped silently. Every other type (``TYPE_BEACON``, the
``*_UNCALIBRATED`` sensors, the undocumented ``TYPE_BLUE``, ``TYPE_BLU4``, ``TYPE_DIST1``,
``TYPE_DIST2``, ``TYPE_SENSOR_MAGNETIC_FIELD_ACCURACY_CHANGED``, anything unknown) is not
validated and only counted in :attr:`Trace.skipped`. Blank lines are ignored (CRLF line
ends are accepted); a non-blank line without a type field is malformed. SSIDs may be empty
(31 % of the Wi-Fi lines) and are kept verbatim. Parsing all 84 traces (read, sha256
check, parse) takes about 4-6 s on 2 cores.

Data facts relied on or checked (all 84 traces): accelerometer, gyroscope, magnetometer and
rotation vector lines share their timestamps exactly, none is duplicated, and the largest
gap between IMU samples is 95 ms; Wi-Fi ages (scan time - ``last_seen_ms``) have a trough
at 2.5-2.75 s between the readings of the current scan (mode ~1 s) and cached ones (mode
~3.5 s, tail to 145 s), hence :data:`DEFAULT_MAX_AGE_S` = 2.5 s (44 % of the lines).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .fetch import DataError, fetch, get_dataset, read_bytes
from .loaders import _choice

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "ILC_DATASET",
    "SITES",
    "MultimodalSamples",
    "Trace",
    "TraceFormatError",
    "ap_vocabulary",
    "build_samples",
    "floor_image_path",
    "floor_info",
    "load_site",
    "parse_trace",
    "read_trace",
    "split_traces",
    "trace_ids",
]

ILC_DATASET = "ms-ilc2020"
SITES = ("site1", "site2")
DEFAULT_MAX_AGE_S = 2.5
"""Default freshness limit for Wi-Fi readings (s): scan time - ``last_seen_ms`` <= 2.5 s
keeps the readings of the current scan and drops the cached repeats of earlier scans (the
age histogram of all 412,603 Wi-Fi lines has its trough at 2.5-2.75 s)."""

_SITE_IDS = {"5dd3d7732a57a34356595932": "site1", "5dbc1d84c1eb61796cf7c010": "site2"}

# sensor line type -> its table columns (x, y, z; the accuracy field is validated, not kept)
_SENSORS = {
    "TYPE_ACCELEROMETER": ("ax", "ay", "az"),
    "TYPE_GYROSCOPE": ("gx", "gy", "gz"),
    "TYPE_MAGNETIC_FIELD": ("mx", "my", "mz"),
    "TYPE_ROTATION_VECTOR": ("qx", "qy", "qz"),
}
_NFIELDS = {**{k: 6 for k in _SENSORS}, "TYPE_WIFI": 7, "TYPE_WAYPOINT": 4}
_IMU_COLUMNS = ["t_ms", "ax", "ay", "az", "gx", "gy", "gz", "mx", "my", "mz"]
_WIFI_COLUMNS = ["t_ms", "bssid", "rssi", "freq", "last_seen_ms", "ssid"]
IMU_JOIN_TOLERANCE_MS = 10


class TraceFormatError(DataError, ValueError):
    """A malformed line in a trace file (the message names file, line number and line)."""


# --- trace files ----------------------------------------------------------------------------


def _check_site(site: str) -> None:
    _choice("site", site, SITES)


def _floors(site: str) -> list[str]:
    pat = re.compile(rf"^{re.escape(site)}/([^/]+)/")
    return sorted({m.group(1) for f in get_dataset(ILC_DATASET).files if (m := pat.match(f.name))})


def _check_floor(site: str, floor: str) -> None:
    _choice("floor", floor, _floors(site))


def trace_ids(site: str, floor: str = "F1") -> list[str]:
    """Sorted ids of the registered traces of ``site``/``floor`` (47 for site1, 37 for site2)."""
    _check_site(site)
    _check_floor(site, floor)
    prefix = f"{site}/{floor}/path_data_files/"
    return sorted(
        f.name[len(prefix) : -len(".txt")]
        for f in get_dataset(ILC_DATASET).files
        if f.name.startswith(prefix) and f.name.endswith(".txt")
    )


def floor_info(site: str, floor: str = "F1") -> dict[str, float]:
    """``{"width": ..., "height": ...}`` of the floor map in metres (``floor_info.json``);
    the waypoints use the same frame, origin at the map's lower-left corner."""
    _check_site(site)
    _check_floor(site, floor)
    info = json.loads(read_bytes(ILC_DATASET, f"{site}/{floor}/floor_info.json"))["map_info"]
    return {"width": float(info["width"]), "height": float(info["height"])}


def floor_image_path(site: str, floor: str = "F1") -> Path:
    """Path of the verified floor plan image (PNG) of ``site``/``floor``."""
    _check_site(site)
    _check_floor(site, floor)
    return fetch(ILC_DATASET, f"{site}/{floor}/floor_image.png")


@dataclass(frozen=True, eq=False)
class Trace:
    """One parsed trace; every table is sorted by time (stable: file order among equal times).

    * ``header``: the ``key:value`` fields of the ``#`` lines (``startTime``, ``endTime``
      as int ms; ``SiteID``, ``SiteName``, ``FloorId``, ``FloorName``, ``Brand``, ``Model``,
      ``AndroidName``, ``APILevel``, ``VersionName``, ``VersionCode`` as str) plus
      ``"sensors"``: one dict per sensor line (``type``, ``name``, ``vendor``, ...).
    * ``waypoints``: ``t_ms`` (int64), ``x``, ``y`` (m, floor-plan frame).
    * ``imu``: ``t_ms``, ``ax ay az`` (m/s²), ``gx gy gz`` (rad/s), ``mx my mz`` (µT). The
      three sensors share timestamps in every real trace; the join keeps each accelerometer
      row with the gyroscope and magnetometer rows nearest in time within
      ``IMU_JOIN_TOLERANCE_MS`` (10 ms) and drops accelerometer rows without both
      (``imu_unmatched`` counts them; 0 in the real data).
    * ``rotvec``: ``t_ms``, ``qx qy qz`` (unit-quaternion vector part).
    * ``wifi``: one row per access-point line: ``t_ms`` (scan time; one scan = one distinct
      ``t_ms``), ``bssid``, ``rssi`` (dBm), ``freq`` (MHz), ``last_seen_ms`` (all int64),
      ``ssid`` (may be empty).
    * ``skipped``: ``{line type: count}`` of the lines not parsed into a table.
    """

    site: str
    trace_id: str
    header: dict[str, Any]
    waypoints: pd.DataFrame
    imu: pd.DataFrame
    rotvec: pd.DataFrame
    wifi: pd.DataFrame
    skipped: dict[str, int]
    source: str = ""
    imu_unmatched: int = 0

    @property
    def start_ms(self) -> int:
        """``startTime`` of the header (else the earliest timestamp of any table)."""
        if isinstance(self.header.get("startTime"), int):
            return self.header["startTime"]
        times = [df["t_ms"].iloc[0] for df in (self.waypoints, self.imu, self.wifi) if len(df)]
        return int(min(times)) if times else 0

    @property
    def n_scans(self) -> int:
        """Number of Wi-Fi scans (distinct scan times)."""
        return int(self.wifi["t_ms"].nunique())

    def __repr__(self) -> str:
        return (
            f"Trace({self.site}/{self.trace_id}: {len(self.waypoints)} waypoints, "
            f"{len(self.imu)} IMU rows, {self.n_scans} scans / {len(self.wifi)} Wi-Fi rows)"
        )


def _parse_header(lines: list[str]) -> dict[str, Any]:
    header: dict[str, Any] = {}
    sensors: list[dict[str, str]] = []
    for line in lines:
        tokens = [t for t in line.rstrip("\r").split("\t")[1:] if t.strip()]
        pairs = dict(t.split(":", 1) for t in tokens if ":" in t)
        if "type" in pairs and "name" in pairs:
            sensors.append(pairs)
        else:
            header.update(pairs)
    for key in ("startTime", "endTime"):
        if key in header:
            try:
                header[key] = int(header[key])
            except ValueError:
                pass
    header["sensors"] = sensors
    return header


def _line_fields(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line (split on ``\\n``; a final newline ends the last line): start and end byte
    offsets and number of tab-separated fields, all vectorised."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    ends = nl if (len(arr) and arr[-1] == 10) else np.append(nl, len(arr))
    starts = np.concatenate(([0], nl + 1))[: len(ends)]
    tabs = np.flatnonzero(arr == 9)
    ntab = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts)
    return starts, ends, ntab + 1


def _tokenize(raw: bytes, n_fields: int, skip_blank: bool) -> pd.DataFrame:
    """Every line split on tabs, as strings (no quoting, ``\\n`` only, never NaN)."""
    return pd.read_csv(
        io.BytesIO(raw),
        sep="\t",
        header=None,
        names=range(n_fields),
        dtype=str,
        quoting=csv.QUOTE_NONE,
        na_filter=False,
        skip_blank_lines=skip_blank,
        lineterminator="\n",
        engine="c",
        encoding="utf-8",
        encoding_errors="replace",
    )


def _numeric(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def parse_trace(text_or_bytes: str | bytes, source_name: str, site: str | None = None) -> Trace:
    """Parse one trace file's content (pure: no file access). ``source_name`` is used in
    error messages and for the trace id (its file name without ``.txt``/``.gz``). ``site``
    (``"site1"``/``"site2"``) defaults to the header's SiteID, else a ``site1``/``site2``
    folder in ``source_name``, else the SiteID itself (``""`` if absent).

    Raises :class:`TraceFormatError` for a malformed line of a used type (see the module
    docstring); lines of other types are counted in :attr:`Trace.skipped`.
    """
    raw = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else bytes(text_or_bytes)
    if b"\r" in raw:  # CRLF files: one line end, same line numbers
        raw = raw.replace(b"\r\n", b"\n")
    starts, ends, nfields = _line_fields(raw)
    keep = ends > starts  # blank lines are ignored
    kstarts, kends = starts[keep], ends[keep]
    line_no = np.flatnonzero(keep) + 1
    nf = nfields[keep]

    def line_text(i: int) -> str:  # i: index into the non-blank lines
        return raw[kstarts[i] : kends[i]].decode("utf-8", "replace")

    problems: list[tuple[np.ndarray, Any]] = []  # (bad line indices, message for one index)

    def note(bad_idx: np.ndarray, what: Any) -> None:
        """Record malformed lines (indices into the non-blank lines); ``what(i)`` or ``what``
        describes the first."""
        if len(bad_idx):
            problems.append((np.asarray(bad_idx, dtype=np.int64), what))

    if len(nf):
        width = max(int(nf.max()), max(_NFIELDS.values()))
        df = _tokenize(raw, width, skip_blank=True)
        if len(df) != len(nf):  # the tokenizer's idea of a blank line differs: strip them here
            body = b"\n".join(raw[s:e] for s, e in zip(kstarts, kends, strict=True))
            df = _tokenize(body, width, skip_blank=False)
        if len(df) != len(nf):  # pragma: no cover - the tokenizer disagrees with the tab count
            raise TraceFormatError(
                f"{source_name}: {len(df)} rows parsed but {len(nf)} non-blank lines found"
            )
    else:
        df = pd.DataFrame({c: pd.Series([], dtype=str) for c in range(max(_NFIELDS.values()))})
    is_header = np.frombuffer(raw, np.uint8)[kstarts] == ord("#")
    header = _parse_header([line_text(i) for i in np.flatnonzero(is_header)])

    no_type = (~is_header) & ((nf < 2) | (df[1].to_numpy(dtype=object) == ""))
    note(np.flatnonzero(no_type), "data line without a type field")
    data_idx = np.flatnonzero(~is_header & ~no_type)
    types = df[1].to_numpy(dtype=object)[data_idx] if len(data_idx) else np.array([], object)
    types = types.astype(str)
    known = np.isin(types, list(_NFIELDS))
    skipped = dict(sorted(pd.Series(types[~known]).value_counts().astype(int).items()))
    skipped = {str(k): int(v) for k, v in skipped.items()}

    # Field counts of the used types.
    exp = pd.Series(types).map(_NFIELDS).to_numpy(dtype=np.float64, na_value=np.nan)
    bad_nf = np.flatnonzero(known & (nf[data_idx] != exp))
    pos_of = {int(data_idx[j]): j for j in bad_nf[:1]}
    note(
        data_idx[bad_nf],
        lambda i: f"{types[pos_of[i]]} line has {nf[i]} fields, expected {int(exp[pos_of[i]])}",
    )

    sel = data_idx[known]
    ktypes = types[known]
    t_all = _numeric(df[0].iloc[sel]) if len(sel) else np.array([], np.float64)

    def check_values(
        rows: np.ndarray, vals: np.ndarray, cols: Sequence[int], kind: str, integer: bool = False
    ) -> None:
        bad = ~np.isfinite(vals)
        if integer:
            bad |= np.isfinite(vals) & (vals != np.round(vals))
        bad_rows = np.flatnonzero(bad.any(axis=1))
        if len(bad_rows):
            r = int(bad_rows[0])
            c = cols[int(np.flatnonzero(bad[r])[0])]
            value = df[c].iloc[int(rows[r])]
            what = "an integer" if integer else "a finite number"
            note(rows[bad_rows], f"{kind}: field {c + 1} ({value!r}) is not {what}")

    check_values(sel, t_all[:, None], (0,), "data line (time in ms)", integer=True)
    t_all = np.where(np.isfinite(t_all), t_all, 0)

    def rows_of(kind: str) -> tuple[np.ndarray, np.ndarray]:
        m = ktypes == kind
        return sel[m], t_all[m].astype(np.int64)

    def values(
        rows: np.ndarray, cols: Sequence[int], kind: str, integer: bool = False
    ) -> np.ndarray:
        out = (
            np.column_stack([_numeric(df[c].iloc[rows]) for c in cols])
            if len(rows)
            else (np.empty((0, len(cols))))
        )
        check_values(rows, out, cols, f"{kind} line", integer)
        return out

    def table(t: np.ndarray, vals: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
        order = np.argsort(t, kind="stable")
        out = pd.DataFrame(vals[order], columns=list(names))
        out.insert(0, "t_ms", t[order])
        return out

    sensor = {}
    for kind, names in _SENSORS.items():
        rows, t = rows_of(kind)
        # x y z accuracy: the accuracy (0-3) is validated too but not kept
        sensor[kind] = table(t, values(rows, (2, 3, 4, 5), kind)[:, :3], names)

    rows, t = rows_of("TYPE_WAYPOINT")
    waypoints = table(t, values(rows, (2, 3), "TYPE_WAYPOINT"), ("x", "y"))

    rows, t = rows_of("TYPE_WIFI")
    wv = values(rows, (4, 5, 6), "TYPE_WIFI", integer=True)
    bssid = df[3].iloc[rows].to_numpy(dtype=object).astype(str) if len(rows) else np.array([], str)
    note(rows[bssid == ""], "TYPE_WIFI line has an empty BSSID (field 4)")
    if problems:
        all_bad = np.unique(np.concatenate([b for b, _ in problems]))
        first, what = min(problems, key=lambda p: int(p[0][0]))
        i = int(first[0])
        line = line_text(i)
        shown = line if len(line) <= 200 else line[:200] + "..."
        more = (
            f" ({len(all_bad)} malformed lines in all; the first is shown)"
            if len(all_bad) > 1
            else ""
        )
        raise TraceFormatError(
            f"{source_name}: line {line_no[i]}: {what(i) if callable(what) else what}: "
            f"{shown!r}{more}"
        )
    ssid = df[2].iloc[rows].to_numpy(dtype=object).astype(str) if len(rows) else np.array([], str)
    order = np.argsort(t, kind="stable")
    wifi = pd.DataFrame(
        {
            "t_ms": t[order],
            "bssid": pd.array(bssid[order], dtype=object),
            "rssi": wv[order, 0].astype(np.int64),
            "freq": wv[order, 1].astype(np.int64),
            "last_seen_ms": wv[order, 2].astype(np.int64),
            "ssid": pd.array(ssid[order], dtype=object),
        },
        columns=_WIFI_COLUMNS,
    )

    imu, unmatched = _join_imu(
        sensor["TYPE_ACCELEROMETER"], sensor["TYPE_GYROSCOPE"], sensor["TYPE_MAGNETIC_FIELD"]
    )
    name = Path(source_name).name
    for suffix in (".gz", ".txt"):
        name = name.removesuffix(suffix)
    if site is None:
        site = _SITE_IDS.get(str(header.get("SiteID", "")))
        if site is None:
            parts = Path(source_name).parts
            site = next((p for p in parts if p in SITES), str(header.get("SiteID", "")))
    return Trace(
        site=site,
        trace_id=name,
        header=header,
        waypoints=waypoints,
        imu=imu,
        rotvec=sensor["TYPE_ROTATION_VECTOR"],
        wifi=wifi,
        skipped=skipped,
        source=source_name,
        imu_unmatched=unmatched,
    )


def _join_imu(acc: pd.DataFrame, gyr: pd.DataFrame, mag: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Accelerometer rows joined with the nearest gyroscope and magnetometer rows (within
    ``IMU_JOIN_TOLERANCE_MS``); rows lacking either are dropped and counted."""
    out = acc
    for other in (gyr, mag):
        other = other.rename(columns={"t_ms": "t_other"})
        other["t_ms"] = other["t_other"]
        out = pd.merge_asof(
            out,
            other,
            on="t_ms",
            direction="nearest",
            tolerance=IMU_JOIN_TOLERANCE_MS,
        ).drop(columns="t_other")
    ok = out.notna().all(axis=1).to_numpy()
    out = out.loc[ok, _IMU_COLUMNS].reset_index(drop=True)
    return out, int((~ok).sum())


def read_trace(site: str, trace_id: str, floor: str = "F1") -> Trace:
    """Read and parse a registered trace (content verified against its sha256)."""
    _check_site(site)
    _check_floor(site, floor)
    name = f"{site}/{floor}/path_data_files/{trace_id}.txt"
    return parse_trace(read_bytes(ILC_DATASET, name), name, site=site)


@functools.lru_cache(maxsize=4)
def _load_site(site: str, floor: str) -> tuple[Trace, ...]:
    return tuple(read_trace(site, tid, floor) for tid in trace_ids(site, floor))


def load_site(site: str, floor: str = "F1") -> list[Trace]:
    """Every registered trace of ``site``/``floor``, sorted by id; parsed once per process
    (cached; ``ilc._load_site.cache_clear()`` forgets), so callers share the same
    :class:`Trace` objects: do not modify their tables."""
    _check_site(site)
    _check_floor(site, floor)
    return list(_load_site(site, floor))


# --- vocabulary and split ---------------------------------------------------------------------


def _check_number(
    param: str,
    value: Any,
    allowed: str,
    *,
    integer: bool = False,
    low: float | None = None,
    strict: bool = False,
    allow_inf: bool = False,
) -> None:
    """ValueError naming ``param``, ``value`` and ``allowed`` unless ``value`` is a real
    number (an integer if ``integer``), finite (unless ``allow_inf``) and above ``low``
    (``>`` if ``strict``, else ``>=``)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = not math.isnan(v) and (math.isfinite(v) or allow_inf)
        if ok and integer:
            ok = math.isfinite(v) and v == int(v)
        if ok and low is not None:
            ok = v > low if strict else v >= low
    if not ok:
        raise ValueError(f"{param}={value!r} is not valid; allowed: {allowed}")


def _fresh(wifi: pd.DataFrame, max_age_s: float | None) -> pd.DataFrame:
    if max_age_s is None:
        return wifi
    return wifi[(wifi["t_ms"] - wifi["last_seen_ms"]) <= max_age_s * 1000.0]


def _check_traces(traces: Any) -> list[Trace]:
    traces = [traces] if isinstance(traces, Trace) else list(traces)
    if not traces:
        raise ValueError("traces is empty; pass at least one Trace")
    bad = [type(t).__name__ for t in traces if not isinstance(t, Trace)]
    if bad:
        raise TypeError(f"traces must hold Trace objects, got {bad[0]}")
    return traces


def _check_max_age(max_age_s: float | None) -> None:
    if max_age_s is None:
        return
    _check_number(
        "max_age_s",
        max_age_s,
        "a number > 0 (s), or None (no limit)",
        low=0.0,
        strict=True,
        allow_inf=True,
    )


def ap_vocabulary(
    traces: Trace | Sequence[Trace],
    min_scans: int = 10,
    max_age_s: float | None = DEFAULT_MAX_AGE_S,
) -> list[str]:
    """BSSIDs with a fresh reading in at least ``min_scans`` distinct scans of ``traces``
    (pass the training traces only), sorted alphabetically (so the vector layout depends
    only on the set). A reading is fresh when scan time - ``last_seen_ms`` <= ``max_age_s``
    (``None``: every reading counts, cached repeats included). A scan is one
    (trace, scan time) pair; several lines of one BSSID in one scan count once.
    """
    traces = _check_traces(traces)
    _check_number("min_scans", min_scans, "an integer >= 1", integer=True, low=1)
    _check_max_age(max_age_s)
    parts = [
        _fresh(t.wifi, max_age_s)[["t_ms", "bssid"]].assign(trace=i) for i, t in enumerate(traces)
    ]
    w = pd.concat(parts, ignore_index=True)
    counts = w.drop_duplicates(["trace", "t_ms", "bssid"])["bssid"].value_counts()
    return sorted(str(b) for b in counts.index[counts.to_numpy() >= min_scans])


def split_traces(
    trace_ids: Sequence[str], ratios: Sequence[float] = (8, 5, 1), seed: int = 0
) -> dict[str, list[str]]:
    """Split trace ids into ``train``/``validation``/``test`` by trace (paper E: 8:5:1 of its
    14 rounds). The ids are sorted, then shuffled with ``numpy.random.default_rng(seed)``,
    so the result depends only on the set of ids and the seed. Sizes: largest-remainder
    rounding of ``n * ratio / sum(ratios)``; with at least as many traces as positive
    ratios, every split with a positive ratio gets at least one trace (taken from the
    largest). Each split's ids are returned sorted.
    """
    ids = [str(t) for t in trace_ids]
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise ValueError(f"trace_ids has duplicates (e.g. {dup!r}); each trace once")
    r = np.asarray(list(ratios), dtype=np.float64) if len(ratios) else np.array([])
    if r.shape != (3,) or not np.all(np.isfinite(r)) or (r < 0).any() or r.sum() <= 0:
        raise ValueError(
            f"ratios={tuple(ratios)!r} is not valid; allowed: three finite numbers >= 0 "
            "(train, validation, test) with a positive sum, e.g. (8, 5, 1)"
        )
    n = len(ids)
    exact = n * r / r.sum()
    sizes = np.floor(exact).astype(int)
    rest = n - sizes.sum()
    order = np.lexsort((np.arange(3), -(exact - sizes)))  # largest remainder, ties by position
    sizes[order[:rest]] += 1
    positive = r > 0
    if n >= positive.sum():
        for k in np.flatnonzero(positive & (sizes == 0)):
            sizes[int(np.argmax(sizes))] -= 1
            sizes[k] += 1
    perm = np.random.default_rng(seed).permutation(n)
    shuffled = np.array(sorted(ids), dtype=object)[perm]
    parts = np.split(shuffled, np.cumsum(sizes)[:-1])
    return {
        k: sorted(p.tolist()) for k, p in zip(("train", "validation", "test"), parts, strict=True)
    }


# --- multimodal samples -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MultimodalSamples:
    """MTLoc's samples (paper E, Table II), one per time step of each trace.

    Arrays (``N`` samples): ``imu`` [N, n_steps, 2 or 6] float32 (``imu_names``), ``mag``
    [N, n_steps, 1 or 3] float32 (``mag_names``), ``wifi`` [N, n_ap] float32 (dBm,
    ``rss_floor_dbm`` where missing; columns = ``vocabulary``), ``wifi_valid`` [N] bool,
    ``wifi_age_s`` [N] float64 (sample time - scan time; NaN before the first scan),
    ``pos`` [N, 2] float32 (m), ``t_s`` [N] float64 (s since the trace's ``startTime``),
    ``trace`` [N] int64 (index into ``trace_ids``). Settings used are kept alongside.
    """

    imu: np.ndarray
    mag: np.ndarray
    wifi: np.ndarray
    wifi_valid: np.ndarray
    wifi_age_s: np.ndarray
    pos: np.ndarray
    t_s: np.ndarray
    trace: np.ndarray
    trace_ids: tuple[str, ...]
    vocabulary: tuple[str, ...]
    site: str
    imu_names: tuple[str, ...]
    mag_names: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, int] = field(default_factory=dict)
    """Raw counts of the traces used: ``imu_rows`` (joined IMU samples), ``scans``,
    ``wifi_rows``."""
    no_sample_traces: tuple[str, ...] = ()
    """Ids of the given traces too short for any sample (they are in ``trace_ids`` too)."""

    _ARRAYS = ("imu", "mag", "wifi", "wifi_valid", "wifi_age_s", "pos", "t_s", "trace")

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def trace_id(self) -> np.ndarray:
        """[N] trace id (str) of every sample."""
        return np.asarray(self.trace_ids, dtype=object)[self.trace]

    def subset(self, mask_or_index: Any) -> MultimodalSamples:
        """The samples selected by a boolean mask [N] or an index array (metadata kept)."""
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(
                    f"mask_or_index: boolean mask of shape {idx.shape}, expected ({len(self)},)"
                )
        elif idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"mask_or_index must be a boolean mask or integers, got {idx.dtype}")
        else:
            idx = idx.astype(np.int64)
        return replace(self, **{k: getattr(self, k)[idx] for k in self._ARRAYS})

    def counts(self) -> dict[str, Any]:
        """Summary for the paper's Tables II/III: ``samples`` (= IMU and magnetometer
        windows, the paper's "IMU samples"), ``imu_shape``/``mag_shape`` as the paper writes
        them, ``rss_samples`` (samples with a valid Wi-Fi vector: the paper's "RSS
        samples" in ``at_scan`` mode), ``aps``, ``traces`` (with at least one sample),
        ``minutes`` (samples x step), and the raw ``imu_rows``, ``scans``, ``wifi_rows``."""
        n = len(self)
        step = float(self.settings.get("step_s", float("nan")))
        return {
            "site": self.site,
            "samples": n,
            "traces": int(np.unique(self.trace).size),
            "aps": len(self.vocabulary),
            "imu_samples": n,
            "imu_shape": f"{n} * ({self.imu.shape[1]} * {self.imu.shape[2]})",
            "mag_shape": f"{n} * ({self.mag.shape[1]} * {self.mag.shape[2]})",
            "rss_samples": int(self.wifi_valid.sum()),
            "minutes": n * step / 60.0,
            **self.raw,
        }

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"MultimodalSamples({c['site']}: {c['samples']} samples from {c['traces']} traces, "
            f"imu {self.imu.shape}, mag {self.mag.shape}, wifi {self.wifi.shape}, "
            f"{c['rss_samples']} with valid Wi-Fi)"
        )


def _window_values(
    times: np.ndarray,
    vals: np.ndarray,
    sample_ms: np.ndarray,
    window_ms: float,
    n_steps: int,
    method: str,
) -> np.ndarray:
    """Values at ``n_steps`` ticks ``t - window + (j + 1) * window / n_steps`` (j = 0..n-1,
    the last tick is the sample time ``t``) for each sample time ``t``; [N, n_steps, C].

    ``"linear"``: linear interpolation between the readings around each tick, but never
    with a reading later than ``t``: a tick after the newest reading at or before ``t``
    holds that reading. ``"pick"``: the newest reading at or before each tick (zero-order
    hold, the paper's "pick one sampling every 100 milliseconds"). Both use only readings
    at or before ``t``. Callers guarantee a reading at or before the first tick.
    """
    ticks = sample_ms[:, None] - window_ms + (np.arange(1, n_steps + 1) * (window_ms / n_steps))
    ticks = np.minimum(ticks, sample_ms[:, None])  # float rounding: the last tick is t exactly
    lo = np.searchsorted(times, ticks, side="right") - 1
    lo = np.clip(lo, 0, len(times) - 1)
    if method == "pick":
        return vals[lo]
    hi = np.minimum(lo + 1, len(times) - 1)
    t_lo = times[lo].astype(np.float64)
    t_hi = times[hi].astype(np.float64)
    usable = (t_hi > t_lo) & (t_hi <= sample_ms[:, None])
    w = np.where(usable, (ticks - t_lo) / np.where(t_hi > t_lo, t_hi - t_lo, 1.0), 0.0)
    w = np.clip(w, 0.0, 1.0)[..., None]
    return vals[lo] * (1.0 - w) + vals[hi] * w


def _positions(waypoints: pd.DataFrame, sample_ms: np.ndarray) -> np.ndarray:
    """Linear interpolation in time between waypoints; exact at a waypoint's time."""
    wt = waypoints["t_ms"].to_numpy(np.float64)
    return np.column_stack(
        [np.interp(sample_ms, wt, waypoints[c].to_numpy(np.float64)) for c in ("x", "y")]
    )


def _sample_times(tr: Trace, step_ms: float, window_ms: float) -> np.ndarray:
    """Grid ``first waypoint + k * step`` within [first, last waypoint], at least
    ``window`` after the first IMU reading, and whose newest IMU reading is at most one step
    old (trims the end where the IMU stopped; decided from past data only)."""
    if len(tr.waypoints) == 0 or len(tr.imu) == 0:
        return np.empty(0)
    wp0 = float(tr.waypoints["t_ms"].iloc[0])
    wp1 = float(tr.waypoints["t_ms"].iloc[-1])
    it = tr.imu["t_ms"].to_numpy(np.float64)
    first = it[0] + window_ms
    k0 = max(0, math.ceil((first - wp0) / step_ms - 1e-9))
    k1 = math.floor((wp1 - wp0) / step_ms + 1e-9)
    if k1 < k0:
        return np.empty(0)
    s = wp0 + np.arange(k0, k1 + 1) * step_ms
    s = s[s >= first]
    lo = np.searchsorted(it, s, side="right") - 1
    return s[(lo >= 0) & (s - it[np.maximum(lo, 0)] <= step_ms + 1e-9)]


def _wifi_matrix(
    tr: Trace, ap_index: pd.Index, max_age_s: float | None, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scan times [S], RSS [S, n_ap] (floor where missing), has-any-vocabulary-AP [S]."""
    scans = np.unique(tr.wifi["t_ms"].to_numpy(np.int64))
    mat = np.full((len(scans), len(ap_index)), floor, dtype=np.float32)
    w = _fresh(tr.wifi, max_age_s)
    col = ap_index.get_indexer(w["bssid"]) if len(ap_index) else np.full(len(w), -1)
    w = w.assign(col=col)[col >= 0]
    # One reading per (scan, AP): the freshest, then the strongest.
    w = w.sort_values(["t_ms", "col", "last_seen_ms", "rssi"]).drop_duplicates(
        ["t_ms", "col"], keep="last"
    )
    row = np.searchsorted(scans, w["t_ms"].to_numpy(np.int64))
    mat[row, w["col"].to_numpy()] = w["rssi"].to_numpy(np.float32)
    has = np.zeros(len(scans), bool)
    has[row] = True
    return scans, mat, has


def build_samples(
    traces: Trace | Sequence[Trace],
    vocabulary: Sequence[str],
    *,
    step_s: float = 0.1,
    window_s: float = 1.0,
    n_steps: int = 10,
    imu_channels: str = "magnitude",
    mag_channels: str = "magnitude",
    wifi_mode: str = "latest",
    max_age_s: float | None = DEFAULT_MAX_AGE_S,
    rss_floor_dbm: float = -110.0,
    resample: str = "pick",
    max_scan_age_s: float | None = None,
) -> MultimodalSamples:
    """Paper E's multimodal samples (Table II) from parsed traces, vectorised per trace.

    **Sample times.** Every ``step_s`` (default 0.1 s: the paper's 100 ms step, i.e. 1 s
    windows overlapping by 900 ms) on the grid ``first waypoint + k * step_s``, kept while
    within [first, last waypoint] (positions are never extrapolated), at least ``window_s``
    after the first IMU reading, and while the newest IMU reading is at most ``step_s``
    old. Traces too short for any sample are listed in ``no_sample_traces``; if no trace
    gives a sample, ``ValueError`` names ``window_s`` and the largest value that would work.

    **IMU and magnetometer.** The ``window_s`` before each sample time ``t`` resampled to
    ``n_steps`` ticks ``t - window_s + (j + 1) * window_s / n_steps`` (10 ticks every
    100 ms ending at ``t``): ``resample="pick"`` (default) takes the newest reading at or
    before each tick (the paper's "pick one sampling every 100 milliseconds"; at ~50 Hz the
    picked reading is at most ~20 ms older than its tick); ``"linear"`` interpolates
    linearly between the readings around each tick. Neither ever uses a reading later than
    ``t`` (a "nearest reading" pick could, so it is not offered).
    ``imu_channels="magnitude"``: 2 channels |acc| (m/s², gravity included) and |gyro|
    (rad/s), computed per reading and then resampled (the paper's 10 x 2 "accelerator and
    gyroscope"); ``"6axis"``: ax ay az gx gy gz (phone frame).
    ``mag_channels="magnitude"``: |B| (µT; paper 10 x 1), ``"3axis"``: mx my mz. No
    normalisation here.

    **Wi-Fi.** Readings older than ``max_age_s`` at their scan (scan time -
    ``last_seen_ms``; ``None``: keep all) and BSSIDs outside ``vocabulary`` are dropped;
    per (scan, AP) the freshest reading is used; missing APs get ``rss_floor_dbm`` (the
    paper's "null"). ``wifi_mode="latest"``: the newest scan at or before ``t``;
    ``wifi_age_s = t - scan time``; ``wifi_valid`` is False before the first scan or when
    that scan has no fresh vocabulary AP. ``"at_scan"`` (Table II literally): a scan's
    vector appears only on the step where it arrives (``t - step_s < scan time <= t``);
    every other step is all floor with ``wifi_valid`` False (``wifi_age_s`` still gives the
    age of the newest scan). Two scans within one step: the later one is used.
    ``max_scan_age_s`` (``latest`` only; default ``None``: no limit, the paper's "latest scan"):
    a newest scan older than this at the step counts as no scan (all floor, ``wifi_valid``
    False). Scans usually come every 2–3 s, but site2's logs have gaps of up to 20 s, during
    which "latest" holds a vector from tens of metres back.

    **Position.** ``np.interp`` of the waypoints in time; exact at waypoint times.
    ``t_s`` is measured from the header's ``startTime``.
    """
    traces = _check_traces(traces)
    for param, value in (("step_s", step_s), ("window_s", window_s)):
        _check_number(param, value, "a finite number > 0 (s)", low=0.0, strict=True)
    _check_number("n_steps", n_steps, "an integer >= 1", integer=True, low=1)
    n_steps = int(n_steps)
    _choice("imu_channels", imu_channels, ("magnitude", "6axis"))
    _choice("mag_channels", mag_channels, ("magnitude", "3axis"))
    _choice("wifi_mode", wifi_mode, ("latest", "at_scan"))
    _choice("resample", resample, ("linear", "pick"))
    _check_max_age(max_age_s)
    _check_number("rss_floor_dbm", rss_floor_dbm, "a finite number (dBm), e.g. -110")
    if max_scan_age_s is not None:
        _check_number("max_scan_age_s", max_scan_age_s, "a number > 0 (s), or None (no limit)",
                      low=0.0, strict=True, allow_inf=True)
    if isinstance(vocabulary, str):
        raise TypeError("vocabulary must be a sequence of BSSIDs, not one string")
    vocab = tuple(str(v) for v in vocabulary)
    ap_index = pd.Index(vocab)
    if not ap_index.is_unique:
        dup = ap_index[ap_index.duplicated()][0]
        raise ValueError(f"vocabulary has duplicates (e.g. {dup!r}); each BSSID once")

    step_ms, window_ms = step_s * 1000.0, window_s * 1000.0
    imu_names = (
        ("acc_norm", "gyro_norm") if imu_channels == "magnitude" else tuple(_IMU_COLUMNS[1:7])
    )
    mag_names = ("mag_norm",) if mag_channels == "magnitude" else tuple(_IMU_COLUMNS[7:10])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in MultimodalSamples._ARRAYS}
    empty: list[str] = []
    longest = 0.0
    for ti, tr in enumerate(traces):
        s = _sample_times(tr, step_ms, window_ms)
        if len(tr.waypoints) and len(tr.imu):
            end = min(float(tr.waypoints["t_ms"].iloc[-1]), float(tr.imu["t_ms"].iloc[-1]))
            longest = max(longest, (end - float(tr.imu["t_ms"].iloc[0])) / 1000.0)
        if len(s) == 0:
            empty.append(tr.trace_id)
            continue
        imu = tr.imu
        it = imu["t_ms"].to_numpy(np.int64)
        acc = imu[["ax", "ay", "az"]].to_numpy(np.float64)
        gyr = imu[["gx", "gy", "gz"]].to_numpy(np.float64)
        mag = imu[["mx", "my", "mz"]].to_numpy(np.float64)
        if imu_channels == "magnitude":
            iv = np.column_stack([np.linalg.norm(acc, axis=1), np.linalg.norm(gyr, axis=1)])
        else:
            iv = np.column_stack([acc, gyr])
        mv = np.linalg.norm(mag, axis=1)[:, None] if mag_channels == "magnitude" else mag
        both = _window_values(it, np.column_stack([iv, mv]), s, window_ms, n_steps, resample)
        parts["imu"].append(both[..., : iv.shape[1]].astype(np.float32))
        parts["mag"].append(both[..., iv.shape[1] :].astype(np.float32))

        scans, mat, has = _wifi_matrix(tr, ap_index, max_age_s, rss_floor_dbm)
        k = np.searchsorted(scans, s, side="right") - 1  # newest scan at or before t
        seen = k >= 0
        kk = np.maximum(k, 0)
        age = np.where(seen, (s - scans[kk] if len(scans) else 0.0) / 1000.0, np.nan)
        valid = seen & (has[kk] if len(scans) else False)
        if wifi_mode == "at_scan":
            valid &= age * 1000.0 < step_ms
        elif max_scan_age_s is not None:
            valid &= age <= max_scan_age_s
        wifi = np.full((len(s), len(vocab)), rss_floor_dbm, dtype=np.float32)
        if len(scans):
            wifi[valid] = mat[kk[valid]]
        parts["wifi"].append(wifi)
        parts["wifi_valid"].append(valid)
        parts["wifi_age_s"].append(age)
        parts["pos"].append(_positions(tr.waypoints, s).astype(np.float32))
        parts["t_s"].append((s - tr.start_ms) / 1000.0)
        parts["trace"].append(np.full(len(s), ti, dtype=np.int64))

    if not parts["t_s"]:
        raise ValueError(
            f"window_s={window_s!r} leaves no sample in any of the {len(traces)} trace(s): "
            f"each needs window_s of IMU data before a time within its waypoints; allowed: "
            f"window_s <= {longest:.3f} s for these traces"
        )
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    sites = sorted({t.site for t in traces})
    used = [traces[i] for i in np.unique(arrays["trace"])]
    raw = {
        "imu_rows": int(sum(len(t.imu) for t in used)),
        "scans": int(sum(t.n_scans for t in used)),
        "wifi_rows": int(sum(len(t.wifi) for t in used)),
    }
    settings = {
        "step_s": step_s,
        "window_s": window_s,
        "n_steps": n_steps,
        "imu_channels": imu_channels,
        "mag_channels": mag_channels,
        "wifi_mode": wifi_mode,
        "max_age_s": max_age_s,
        "rss_floor_dbm": rss_floor_dbm,
        "resample": resample,
        "max_scan_age_s": max_scan_age_s,
    }
    return MultimodalSamples(
        **arrays,
        trace_ids=tuple(t.trace_id for t in traces),
        vocabulary=vocab,
        site="+".join(sites),
        imu_names=imu_names,
        mag_names=mag_names,
        settings=settings,
        raw=raw,
        no_sample_traces=tuple(empty),
    )

"""One route walked in rounds (dataset ``"uoe-rounds"``): the IMU-LSTM's own setting (paper E).

Rounds 1, 5, 9, 11 and 12 of one closed four-corner route in a University of Edinburgh
building, logged by one phone (Smartisan) and published by paper E's first author with the
code of the IPIN 2019 paper whose IMU-LSTM paper E pre-trains (see the data folder's
``MANIFEST.md``). Each round is ``roundN.xml`` (the log) and ``roundN.csv`` (five corner
waypoints with their times).

Pipeline::

    rounds = load_rounds()                           # list[Round], parsed once per process
    vocab = wifi_vocabulary(rounds[:3])              # BSSIDs heard in the training rounds
    s = build_samples(rounds, vocab)                 # ilc.MultimodalSamples (paper E's format)
    round_summary(rounds)                            # one row per round (Table II-style)

**The log** (:func:`parse_round_xml`, a streaming ``xml.parsers.expat`` parse of the gzip):
``<data phone building t>`` holds ``<a>`` accelerometer, ``<g>`` gyroscope and ``<m>``
magnetometer readings (``t`` wall-clock ms, ``x y z``, ``st`` sensor timestamp in ns) and
``<wr t>`` Wi-Fi records of ``<r b s c>`` readings (BSSID, RSS in dBm, channel). Every one of
these attributes is required and checked (``t``, ``st``, ``s``, ``c`` integers; ``x y z``
finite numbers; ``b`` non-empty); a bad value, a missing attribute, a reading outside a record
or broken XML/gzip raises :class:`RoundFormatError` naming the file, the line and column, the
element (``<a> #443``: its 1-based index among the file's ``<a>`` elements) and the attribute.
Other elements are only counted in :attr:`Round.skipped` (none in the real rounds).

**Clocks** (facts of the five real logs). The sensor ``st`` is the sampling time: it
increases steadily at ~50 Hz, ``<a>`` and ``<g>`` share it. The sensor ``t`` is *not*: the
logger sometimes buffered the sensor readings for tens of seconds (round 1: from 8.9 s to
105.6 s of the walk) and wrote them in one burst, all with ``t`` = the time of the burst
(about 90 % of the readings share their ``t`` with the previous one; jumps of up to 164 s).
The upstream processing code times everything by ``st``, and so does this module: a round's
time axis ``t_ms`` is milliseconds since the ``st`` of the log's first sensor element, the
origin of the waypoints' ``Time`` column ("s from the log's first sample"). Wi-Fi records
carry only the wall clock ``t``; they are mapped onto the same axis with the offset between
the two clocks, ``min(t - st)`` over the sensor readings (the readings written at once; the
buffered ones only have larger ``t - st``). The offset found is the same in all five rounds
to 0.2 ms (the phone's boot time: ``st`` counts from boot), and at the start and end of the
logs, where nothing is buffered, the two clocks agree to ~20 ms. (Round 12: another sensor's
first reading is 1.9 ms older than the first element; the origin is the first element, as
upstream.)

**Cached Wi-Fi.** Consecutive ``<wr>`` records are almost always byte-identical repeats of the
phone's last scan (rounds 1/5/9/11/12: 363/300/134/252/301 records, 5/5/5/4/8 distinct
scans). A *scan* here is a run of consecutive records with the same readings (same BSSIDs,
RSS and channels in the same order); its time is its first record's. The samples use one
Wi-Fi vector per scan (``wifi_records="scans"``), so ``wifi_age_s`` says how stale it is.

**Positions** (:func:`route_positions`): linear in time between consecutive waypoints, i.e.
along the route's straight edges, exact at the waypoints (the upstream code does the same);
``x`` and ``y`` are the CSV's local-metre columns ``lat`` and ``Lng`` (east and north of the
route's south-west corner; the upstream names them so).

**Samples** (:func:`build_samples`): the rounds are turned into :class:`ipsbook.data.ilc.Trace`
objects (:meth:`Round.to_trace`; IMU rows joined by :func:`ipsbook.data.ilc._join_imu`, the
nearest gyroscope and magnetometer reading within 10 ms of each accelerometer reading) and
passed to :func:`ipsbook.data.ilc.build_samples`: every 100 ms between the first and last
waypoint, the previous second of |acc|, |gyro| (10 x 2) and |B| (10 x 1) picked every 100 ms,
the newest scan's RSS vector over the vocabulary (-110 dBm where not heard) and the position at
the window's end; a step whose newest IMU reading is more than 100 ms old is skipped (round 9
has gaps).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
import os
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import numpy as np
import pandas as pd

from . import ilc
from .fetch import DataError, fetch, read_bytes

__all__ = [
    "ROUNDS",
    "UOE_DATASET",
    "Round",
    "RoundFormatError",
    "build_samples",
    "load_rounds",
    "parse_round",
    "parse_round_xml",
    "parse_waypoints",
    "read_round",
    "round_summary",
    "route_positions",
    "wifi_vocabulary",
]

UOE_DATASET = "uoe-rounds"
ROUNDS: tuple[int, ...] = (1, 5, 9, 11, 12)
"""The rounds whose logs are stored (upstream has 14; the others' logs are absent)."""

_SENSORS = {"a": "accelerometer", "g": "gyroscope", "m": "magnetometer"}
_WP_REQUIRED = ("Time", "lat", "Lng")
_WP_OPTIONAL = {"lat1": "lat", "Lng1": "lng", "x": "utm_x", "y": "utm_y"}


class RoundFormatError(DataError, ValueError):
    """A malformed round file (the message names the file, the position and the attribute)."""


# --- the XML log -------------------------------------------------------------------------------


class _Bad(Exception):
    """A bad attribute inside a handler: turned into a RoundFormatError with the position."""


def _int(attrs: dict[str, str], key: str) -> int:
    if key not in attrs:
        raise _Bad(f"attribute {key!r} is missing")
    v = attrs[key]
    try:
        return int(v)
    except ValueError:
        raise _Bad(f"attribute {key!r} = {v!r} is not an integer") from None


def _float(attrs: dict[str, str], key: str) -> float:
    if key not in attrs:
        raise _Bad(f"attribute {key!r} is missing")
    v = attrs[key]
    try:
        x = float(v)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise _Bad(f"attribute {key!r} = {v!r} is not a finite number")
    return x


class _Collector:
    """Expat handlers collecting a round's elements (plain lists; tables built at the end)."""

    def __init__(self, parser: Any, source: str) -> None:
        self.p, self.source = parser, source
        self.depth = 0
        self.root: dict[str, str] | None = None
        self.n: Counter[str] = Counter()  # elements seen per tag (the 1-based index in messages)
        self.sensor: dict[str, list[tuple[int, float, float, float, int]]] = {
            k: [] for k in _SENSORS
        }
        self.order: list[tuple[str, int]] = []  # (tag, index) of sensor elements, document order
        self.records: list[int] = []  # wall-clock t of each <wr>
        self.readings: list[tuple[int, str, int, int]] = []  # (record, bssid, rss, channel)
        self.raw_readings: list[list[tuple[str, str, str]]] = []  # per record, as written
        self.in_wr = False
        self.skipped: Counter[str] = Counter()

    def fail(self, tag: str, what: str) -> RoundFormatError:
        return RoundFormatError(
            f"{self.source}: line {self.p.CurrentLineNumber}, column "
            f"{self.p.CurrentColumnNumber + 1}: <{tag}> #{self.n[tag]}: {what}"
        )

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.n[tag] += 1
        depth = self.depth
        self.depth += 1
        try:
            if depth == 0:
                if tag != "data":
                    raise _Bad("the root element must be <data>")
                self.root = dict(attrs)
            elif tag in _SENSORS:
                if depth != 1:
                    raise _Bad("a sensor reading must be a child of <data>")
                rows = self.sensor[tag]
                rows.append((_int(attrs, "t"), _float(attrs, "x"), _float(attrs, "y"),
                             _float(attrs, "z"), _int(attrs, "st")))
                self.order.append((tag, len(rows) - 1))
            elif tag == "wr":
                if depth != 1:
                    raise _Bad("a Wi-Fi record must be a child of <data>")
                self.records.append(_int(attrs, "t"))
                self.raw_readings.append([])
                self.in_wr = True
            elif tag == "r":
                if not (self.in_wr and depth == 2):
                    raise _Bad("a Wi-Fi reading must be a child of <wr>")
                b = attrs.get("b")
                if not b:
                    raise _Bad("attribute 'b' (BSSID) is missing or empty")
                rec = len(self.records) - 1
                self.readings.append((rec, b, _int(attrs, "s"), _int(attrs, "c")))
                self.raw_readings[rec].append((b, attrs["s"], attrs["c"]))
            else:
                self.skipped[tag] += 1
        except _Bad as exc:
            raise self.fail(tag, str(exc)) from None

    def end(self, tag: str) -> None:
        self.depth -= 1
        if tag == "wr" and self.depth == 1:
            self.in_wr = False


def _open_stream(
    source: bytes | str | os.PathLike[str] | IO[bytes],
) -> tuple[IO[bytes], list[IO[bytes]]]:
    """A binary stream of the (decompressed) content, and the streams we opened (to close)."""
    opened: list[IO[bytes]] = []
    if isinstance(source, (bytes, bytearray, memoryview)):
        f: IO[bytes] = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        f = open(source, "rb")  # noqa: SIM115 - closed by the caller
        opened.append(f)
    else:
        f = source
    if hasattr(f, "peek"):
        head = f.peek(2)[:2]
    else:
        pos = f.tell()
        head = f.read(2)
        f.seek(pos)
    if head == b"\x1f\x8b":  # decide by content, not name (as ipsbook.data.fetch does)
        g = gzip.GzipFile(fileobj=f, mode="rb")
        opened.insert(0, g)
        return g, opened
    return f, opened


@dataclass(frozen=True)
class _Log:
    header: dict[str, str]
    acc: pd.DataFrame
    gyro: pd.DataFrame
    mag: pd.DataFrame
    records: pd.DataFrame
    wifi: pd.DataFrame
    skipped: dict[str, int]
    st0_ns: int
    clock_offset_ns: int


def parse_round_xml(
    source: bytes | str | os.PathLike[str] | IO[bytes], source_name: str | None = None
) -> _Log:
    """Parse one round's log: raw bytes, a path or a binary stream, gzip-compressed or not
    (decided by content), read in chunks by expat. ``source_name`` names the file in errors
    (default: the path, else ``"<round log>"``).

    Returns the tables of :class:`Round` (``acc``, ``gyro``, ``mag``, ``records``, ``wifi``;
    see there) with the root's attributes as ``header``; raises :class:`RoundFormatError`.
    """
    if source_name is None:
        source_name = str(source) if isinstance(source, (str, os.PathLike)) else "<round log>"
    parser = expat.ParserCreate()
    col = _Collector(parser, source_name)
    parser.StartElementHandler = col.start
    parser.EndElementHandler = col.end
    parser.buffer_text = True
    stream, opened = _open_stream(source)
    try:
        parser.ParseFile(stream)
    except expat.ExpatError as exc:
        raise RoundFormatError(
            f"{source_name}: line {exc.lineno}, column {exc.offset + 1}: not well-formed XML: "
            f"{expat.errors.messages[exc.code]}"
        ) from None
    except (EOFError, OSError, zlib.error) as exc:  # truncated or damaged gzip
        raise RoundFormatError(
            f"{source_name}: the gzip stream is damaged or truncated (after line "
            f"{parser.CurrentLineNumber} of the XML): {exc}"
        ) from None
    finally:
        for f in opened:
            f.close()
    if col.root is None:  # pragma: no cover - expat reports an empty document itself
        raise RoundFormatError(f"{source_name}: no <data> element")
    missing = [f"<{k}> ({v})" for k, v in _SENSORS.items() if not col.sensor[k]]
    if missing:
        raise RoundFormatError(f"{source_name}: no {', '.join(missing)} element")

    # The time axis: ms since the st of the first sensor element in document order (the
    # upstream code's origin, and the waypoints'); wall clock - sensor clock = min(t - st).
    tag0, i0 = col.order[0]
    st0 = col.sensor[tag0][i0][4]
    offset = min(int(np.min(np.array([r[0] for r in rows], np.int64) * 1_000_000
                            - np.array([r[4] for r in rows], np.int64)))
                 for rows in col.sensor.values())
    tables = {}
    for tag, rows in col.sensor.items():
        a = np.array([r[1:4] for r in rows], np.float64)
        st = np.array([r[4] for r in rows], np.int64)
        df = pd.DataFrame({
            "t_ms": (st - st0) / 1e6,
            "x": a[:, 0], "y": a[:, 1], "z": a[:, 2],
            "st_ns": st,
            "t_wall_ms": np.array([r[0] for r in rows], np.int64),
        })
        tables[tag] = df.sort_values("t_ms", kind="stable").reset_index(drop=True)

    # Wi-Fi records and their distinct scans (runs of consecutive identical records).
    n_rec = len(col.records)
    wall = np.array(col.records, np.int64)
    rec_ms = (wall * 1_000_000 - offset - st0) / 1e6
    new_scan = np.ones(n_rec, bool)
    for i in range(1, n_rec):
        new_scan[i] = col.raw_readings[i] != col.raw_readings[i - 1]
    scan = np.cumsum(new_scan) - 1
    records = pd.DataFrame({
        "record": np.arange(n_rec, dtype=np.int64),
        "t_ms": rec_ms,
        "t_wall_ms": wall,
        "n_readings": np.array([len(r) for r in col.raw_readings], np.int64),
        "scan": scan.astype(np.int64),
        "first_of_scan": new_scan,
    })
    rd = col.readings
    rec = np.array([r[0] for r in rd], np.int64)
    wifi = pd.DataFrame({
        "record": rec,
        "t_ms": rec_ms[rec] if len(rd) else np.empty(0),
        "bssid": pd.array([r[1] for r in rd], dtype=object),
        "rssi": np.array([r[2] for r in rd], np.int64),
        "channel": np.array([r[3] for r in rd], np.int64),
        "scan": scan[rec] if len(rd) else np.empty(0, np.int64),
    })
    return _Log(
        header=dict(col.root),
        acc=tables["a"],
        gyro=tables["g"],
        mag=tables["m"],
        records=records,
        wifi=wifi,
        skipped=dict(sorted(col.skipped.items())),
        st0_ns=int(st0),
        clock_offset_ns=int(offset),
    )


# --- the waypoints ---------------------------------------------------------------------------------


def parse_waypoints(text_or_bytes: str | bytes, source_name: str) -> pd.DataFrame:
    """The waypoints CSV of a round: ``time_s`` (s since the log's first sample), ``t_ms``,
    ``x``, ``y`` (local metres: the CSV's ``lat``, ``Lng``), and, when present, ``lat``,
    ``lng`` (WGS84: ``lat1``, ``Lng1``) and ``utm_x``, ``utm_y`` (``x``, ``y``).

    ``Time``, ``lat`` and ``Lng`` are required; every value must be a finite number, the times
    strictly increasing, at least two rows. Otherwise :class:`RoundFormatError` names the file,
    the line, the column and the value."""
    text = text_or_bytes.decode("utf-8-sig") if isinstance(text_or_bytes, bytes) else text_or_bytes
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise RoundFormatError(f"{source_name}: empty waypoint file")
    header = [c.strip() for c in rows[0]]
    lacking = [c for c in _WP_REQUIRED if c not in header]
    if lacking:
        raise RoundFormatError(
            f"{source_name}: line 1: the header lacks column(s) {', '.join(map(repr, lacking))} "
            f"(found {header})"
        )
    used = [c for c in header if c in _WP_REQUIRED or c in _WP_OPTIONAL]
    values: dict[str, list[float]] = {c: [] for c in used}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            raise RoundFormatError(f"{source_name}: line {line_no}: blank line inside the table")
        if len(row) != len(header):
            raise RoundFormatError(
                f"{source_name}: line {line_no}: {len(row)} fields, the header has {len(header)}"
            )
        for c in used:
            v = row[header.index(c)]
            try:
                x = float(v)
            except ValueError:
                x = math.nan
            if not math.isfinite(x):
                raise RoundFormatError(
                    f"{source_name}: line {line_no}, column {c!r}: {v!r} is not a finite number"
                )
            values[c].append(x)
    t = np.array(values["Time"])
    if len(t) < 2:
        raise RoundFormatError(f"{source_name}: {len(t)} waypoint(s); at least 2 are needed")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if len(bad):
        i = int(bad[0]) + 1
        raise RoundFormatError(
            f"{source_name}: line {i + 2}, column 'Time': {t[i]:g} s is not after the previous "
            f"waypoint's {t[i - 1]:g} s (times must increase)"
        )
    out = pd.DataFrame({"time_s": t, "t_ms": t * 1000.0, "x": values["lat"], "y": values["Lng"]})
    for c, name in _WP_OPTIONAL.items():
        if c in values:
            out[name] = values[c]
    return out


def route_positions(waypoints: pd.DataFrame, t_ms: Any) -> np.ndarray:
    """Positions (m, ``[n, 2]``) at times ``t_ms`` (ms on the round's axis): linear in time
    between consecutive waypoints, i.e. along the straight edge between them, exact at a
    waypoint's time (:func:`ipsbook.data.ilc._positions`). NaN outside the first..last
    waypoint (never extrapolated)."""
    t = np.atleast_1d(np.asarray(t_ms, np.float64))
    wp = waypoints[["t_ms", "x", "y"]]
    pos = ilc._positions(wp, t)
    outside = (t < wp["t_ms"].iloc[0]) | (t > wp["t_ms"].iloc[-1]) | ~np.isfinite(t)
    pos[outside] = np.nan
    return pos


# --- rounds ---------------------------------------------------------------------------------------


def _freq_mhz(channel: np.ndarray) -> np.ndarray:
    """Centre frequency (MHz) of a Wi-Fi channel number (2.4 GHz: 1-14; 5 GHz: 32-177)."""
    c = np.asarray(channel, np.int64)
    return np.where(c == 14, 2484, np.where(c < 14, 2407 + 5 * c, 5000 + 5 * c)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Round:
    """One parsed round. Every table is sorted by time; ``t_ms`` is the round's time axis (ms
    since the ``st`` of the log's first sensor element; module notes).

    * ``acc``, ``gyro``, ``mag``: ``t_ms`` (float), ``x y z`` (m/s², rad/s, µT), ``st_ns``
      (sensor timestamp), ``t_wall_ms`` (the logged ``t``: write time, unreliable as a time).
    * ``records``: one row per ``<wr>``: ``record`` (0-based, file order), ``t_ms`` (mapped
      from the wall clock), ``t_wall_ms``, ``n_readings``, ``scan`` (0-based index of its run
      of identical records), ``first_of_scan``.
    * ``wifi``: one row per ``<r>``: ``record``, ``t_ms``, ``bssid``, ``rssi`` (dBm),
      ``channel``, ``scan``.
    * ``waypoints``: :func:`parse_waypoints`.
    * ``header``: the ``<data>`` attributes (``phone``, ``building``, ``t``); ``skipped``:
      ``{tag: count}`` of unknown elements; ``clock_offset_ns``: wall clock - sensor clock.
    """

    round_id: int
    acc: pd.DataFrame
    gyro: pd.DataFrame
    mag: pd.DataFrame
    records: pd.DataFrame
    wifi: pd.DataFrame
    waypoints: pd.DataFrame
    header: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    source: str = ""
    st0_ns: int = 0
    clock_offset_ns: int = 0

    @property
    def name(self) -> str:
        """``"round<N>"`` (the trace id in samples)."""
        return f"round{self.round_id}"

    @property
    def duration_s(self) -> float:
        """First to last sensor sample (s, sensor clock)."""
        t = [df["t_ms"] for df in (self.acc, self.gyro, self.mag)]
        return (max(float(x.iloc[-1]) for x in t) - min(float(x.iloc[0]) for x in t)) / 1000.0

    @property
    def n_scans(self) -> int:
        """Distinct scans: runs of consecutive identical Wi-Fi records."""
        return int(self.records["first_of_scan"].sum())

    @property
    def route_length_m(self) -> float:
        """Length of the polyline through the waypoints (m)."""
        xy = self.waypoints[["x", "y"]].to_numpy(np.float64)
        return float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())

    def positions(self, t_ms: Any) -> np.ndarray:
        """:func:`route_positions` of this round's waypoints."""
        return route_positions(self.waypoints, t_ms)

    def to_trace(self, wifi_records: str = "scans") -> ilc.Trace:
        """This round as an :class:`ipsbook.data.ilc.Trace` (site ``"uoe"``, id :attr:`name`,
        times as int64 ms on the round's axis, ``startTime`` 0), for ilc's sample builder.

        ``wifi_records="scans"``: one Wi-Fi scan per distinct scan, at its first record's
        time; ``"all"``: every record (the cached repeats too). ``last_seen_ms`` = the scan
        time (no age is logged), ``freq`` from the channel, no SSID; no rotation vector."""
        ilc._choice("wifi_records", wifi_records, ("scans", "all"))

        def sensor(df: pd.DataFrame, names: tuple[str, str, str]) -> pd.DataFrame:
            out = pd.DataFrame({"t_ms": np.round(df["t_ms"].to_numpy()).astype(np.int64)})
            for src, dst in zip(("x", "y", "z"), names, strict=True):
                out[dst] = df[src].to_numpy(np.float64)
            return out

        imu, unmatched = ilc._join_imu(
            sensor(self.acc, ("ax", "ay", "az")),
            sensor(self.gyro, ("gx", "gy", "gz")),
            sensor(self.mag, ("mx", "my", "mz")),
        )
        w = self.wifi
        if wifi_records == "scans":
            firsts = self.records.loc[self.records["first_of_scan"], "record"].to_numpy()
            w = w[np.isin(w["record"].to_numpy(), firsts)]
        t = np.round(w["t_ms"].to_numpy(np.float64)).astype(np.int64)
        wifi = pd.DataFrame({
            "t_ms": t,
            "bssid": pd.array(w["bssid"].to_numpy(object), dtype=object),
            "rssi": w["rssi"].to_numpy(np.int64),
            "freq": _freq_mhz(w["channel"].to_numpy()),
            "last_seen_ms": t,
            "ssid": pd.array([""] * len(w), dtype=object),
        }).sort_values("t_ms", kind="stable").reset_index(drop=True)
        wp = pd.DataFrame({
            "t_ms": np.round(self.waypoints["t_ms"].to_numpy(np.float64)).astype(np.int64),
            "x": self.waypoints["x"].to_numpy(np.float64),
            "y": self.waypoints["y"].to_numpy(np.float64),
        })
        header: dict[str, Any] = {"startTime": 0, **{f"xml_{k}": v for k, v in self.header.items()}}
        return ilc.Trace(
            site="uoe",
            trace_id=self.name,
            header=header,
            waypoints=wp,
            imu=imu,
            rotvec=pd.DataFrame({"t_ms": pd.Series([], dtype=np.int64),
                                 **{c: pd.Series([], dtype=np.float64) for c in ("qx", "qy", "qz")}}),
            wifi=wifi,
            skipped=dict(self.skipped),
            source=self.source,
            imu_unmatched=unmatched,
        )

    def __repr__(self) -> str:
        return (
            f"Round({self.name}: {self.duration_s:.1f} s, {len(self.acc)}/{len(self.gyro)}/"
            f"{len(self.mag)} acc/gyro/mag, {len(self.records)} Wi-Fi records = {self.n_scans} "
            f"scans, {len(self.waypoints)} waypoints)"
        )


def parse_round(
    xml: bytes | str | os.PathLike[str] | IO[bytes],
    waypoints_csv: str | bytes,
    *,
    round_id: int,
    source_name: str | None = None,
    csv_name: str | None = None,
) -> Round:
    """A :class:`Round` from its log (see :func:`parse_round_xml`) and waypoint CSV content."""
    log = parse_round_xml(xml, source_name)
    wp = parse_waypoints(waypoints_csv, csv_name or f"round{round_id}.csv")
    return Round(
        round_id=int(round_id),
        acc=log.acc,
        gyro=log.gyro,
        mag=log.mag,
        records=log.records,
        wifi=log.wifi,
        waypoints=wp,
        header=log.header,
        skipped=log.skipped,
        source=source_name or (str(xml) if isinstance(xml, (str, os.PathLike)) else ""),
        st0_ns=log.st0_ns,
        clock_offset_ns=log.clock_offset_ns,
    )


def _check_round(round_id: Any) -> int:
    if isinstance(round_id, bool) or not isinstance(round_id, (int, np.integer)) \
            or int(round_id) not in ROUNDS:
        raise ValueError(
            f"round={round_id!r} is not valid; allowed values: {', '.join(map(str, ROUNDS))}"
        )
    return int(round_id)


def read_round(round_id: int) -> Round:
    """Read and parse a registered round (both files verified against their sha256; the log is
    streamed from the verified file)."""
    n = _check_round(round_id)
    path: Path = fetch(UOE_DATASET, f"round{n}.xml")
    csv_bytes = read_bytes(UOE_DATASET, f"round{n}.csv")
    return parse_round(path, csv_bytes, round_id=n, source_name=str(path),
                       csv_name=f"{UOE_DATASET}/round{n}.csv")


@functools.lru_cache(maxsize=2)
def _load_rounds(ids: tuple[int, ...]) -> tuple[Round, ...]:
    return tuple(read_round(n) for n in ids)


def load_rounds(rounds: Sequence[int] = ROUNDS) -> list[Round]:
    """The registered rounds ``rounds`` (default all five), parsed once per process (cached:
    callers share the :class:`Round` objects, so do not modify their tables)."""
    ids = tuple(_check_round(r) for r in rounds)
    if len(set(ids)) != len(ids):
        raise ValueError(f"rounds={list(rounds)!r} has duplicates; each round once")
    return list(_load_rounds(ids))


# --- vocabulary, samples, summary ------------------------------------------------------------------


def _check_rounds(rounds: Any) -> list[Round]:
    rounds = [rounds] if isinstance(rounds, Round) else list(rounds)
    if not rounds:
        raise ValueError("rounds is empty; pass at least one Round")
    bad = [type(r).__name__ for r in rounds if not isinstance(r, Round)]
    if bad:
        raise TypeError(f"rounds must hold Round objects, got {bad[0]}")
    names = [r.name for r in rounds]
    if len(set(names)) != len(names):
        raise ValueError(f"rounds has duplicate round ids ({names}); each round once")
    return rounds


def wifi_vocabulary(rounds: Round | Sequence[Round], min_scans: int = 1) -> list[str]:
    """BSSIDs heard in at least ``min_scans`` distinct scans of ``rounds`` (pass the training
    rounds only), sorted (:func:`ipsbook.data.ilc.ap_vocabulary` on the distinct scans)."""
    rounds = _check_rounds(rounds)
    return ilc.ap_vocabulary([r.to_trace("scans") for r in rounds], min_scans=min_scans,
                             max_age_s=None)


def build_samples(
    rounds: Round | Sequence[Round],
    vocabulary: Sequence[str],
    *,
    wifi_records: str = "scans",
    max_imu_gap_s: float | None = 0.5,
    **kwargs: Any,
) -> ilc.MultimodalSamples:
    """Paper E's samples from rounds: :func:`ipsbook.data.ilc.build_samples` of
    :meth:`Round.to_trace` (module notes; its defaults: 100 ms steps, 1 s windows of 10
    picks, |acc| |gyro| and |B|, the newest scan, -110 dBm for "not heard"). ``kwargs`` go to
    ilc's builder; ``max_age_s`` defaults to None (no reading age is logged). The samples'
    ``trace_ids`` are the round names (``"round1"``), ``t_s`` is on the round's axis.

    ``max_imu_gap_s`` (default 0.5 s; None: keep all): drop the samples whose window overlaps
    a gap longer than this between joined IMU readings. ilc's builder already skips steps
    inside a gap, but the first second after one would pick the reading from before it (round
    9 has no gyroscope reading for 144 s; the 11 windows overlapping that gap are dropped). The
    number dropped is ``settings["imu_gap_dropped"]``."""
    rounds = _check_rounds(rounds)
    kwargs.setdefault("max_age_s", None)
    if max_imu_gap_s is not None:
        ilc._check_number("max_imu_gap_s", max_imu_gap_s, "a number > 0 (s), or None",
                          low=0.0, strict=True)
    traces = [r.to_trace(wifi_records) for r in rounds]
    s = ilc.build_samples(traces, vocabulary, **kwargs)
    keep = np.ones(len(s), bool)
    if max_imu_gap_s is not None:
        window_ms = float(s.settings["window_s"]) * 1000.0
        for i, tr in enumerate(traces):
            it = tr.imu["t_ms"].to_numpy(np.float64)
            rows = np.flatnonzero(s.trace == i)
            t = s.t_s[rows] * 1000.0
            bad = np.zeros(len(rows), bool)
            for j in np.flatnonzero(np.diff(it) > max_imu_gap_s * 1000.0):
                bad |= (it[j] < t) & (it[j + 1] > t - window_ms)
            keep[rows[bad]] = False
    settings = {**s.settings, "wifi_records": wifi_records, "max_imu_gap_s": max_imu_gap_s,
                "imu_gap_dropped": int((~keep).sum())}
    return replace(s.subset(keep) if not keep.all() else s, settings=settings)


SUMMARY_COLUMNS = (
    "round", "duration_s", "acc_samples", "gyro_samples", "mag_samples", "wifi_records",
    "readings", "distinct_scans", "distinct_bssids", "waypoints", "walk_s", "route_length_m",
    "imu_joined", "imu_unmatched",
)


def round_summary(rounds: Round | Sequence[Round] | None = None) -> pd.DataFrame:
    """One row per round (paper E's Table II/III quantities for this set): ``duration_s``
    (first to last sensor sample), samples per sensor, ``wifi_records`` (``<wr>``),
    ``readings`` (``<r>``), ``distinct_scans`` (runs of identical consecutive records),
    ``distinct_bssids``, ``waypoints``, ``walk_s`` (first to last waypoint),
    ``route_length_m`` (the waypoint polyline), ``imu_joined`` / ``imu_unmatched``
    (accelerometer rows with / without a gyroscope and magnetometer reading within 10 ms).
    ``None``: all registered rounds."""
    rounds = load_rounds() if rounds is None else _check_rounds(rounds)
    rows = []
    for r in rounds:
        tr = r.to_trace()
        rows.append({
            "round": r.round_id,
            "duration_s": r.duration_s,
            "acc_samples": len(r.acc),
            "gyro_samples": len(r.gyro),
            "mag_samples": len(r.mag),
            "wifi_records": len(r.records),
            "readings": len(r.wifi),
            "distinct_scans": r.n_scans,
            "distinct_bssids": int(r.wifi["bssid"].nunique()),
            "waypoints": len(r.waypoints),
            "walk_s": float(r.waypoints["time_s"].iloc[-1] - r.waypoints["time_s"].iloc[0]),
            "route_length_m": r.route_length_m,
            "imu_joined": len(tr.imu),
            "imu_unmatched": tr.imu_unmatched,
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

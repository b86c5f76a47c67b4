"""Tests of ipsbook.data.uoe (the authors' rounds) and ipsbook.methods.mtloc.rounds.

Fixture: tests/fixtures/uoe_round1_head.xml.gz, the first 40 s of the real round 1 cut by
tests/fixtures/uoe_make_fixture.py, with uoe_round1_head.csv (round 1's first waypoint and a
point interpolated on its first edge). Malformed logs are built here. Tests marked
``needs_data`` read the real rounds and skip when they are absent.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipsbook.data as D
from ipsbook.data import uoe

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOG = FIXTURES / "uoe_round1_head.xml.gz"
WAYPOINTS = FIXTURES / "uoe_round1_head.csv"
COMMIT = "d4fdcf0b76671acf481cb3680ff7c84e8b387546"


def _have_real_data() -> bool:
    return any((d / "uoe-rounds" / "round1.xml.gz").is_file() for d in D.data_dirs())


needs_data = pytest.mark.skipif(
    not _have_real_data(),
    reason="uoe-rounds not found under $IPSBOOK_DATA_DIR (the real rounds are needed)",
)


@pytest.fixture(scope="module")
def head() -> uoe.Round:
    return uoe.parse_round(LOG, WAYPOINTS.read_text("utf-8"), round_id=1)


# --- registry ------------------------------------------------------------------------------------


def test_registry_entry() -> None:
    ds = D.REGISTRY["uoe-rounds"]
    assert ds.licence == "MIT" and ds.chapters == ("mtloc",) and ds.available
    assert "IPIN 2019" in ds.citation and "Calibrating Recurrent Neural Networks" in ds.citation
    assert "github.com/weixijia/ipin2019-weixijia" in ds.citation
    names = {f.name for f in ds.files}
    assert names == {"LICENSE"} | {f"round{n}.{e}" for n in uoe.ROUNDS for e in ("xml", "csv")}
    raw = f"https://raw.githubusercontent.com/weixijia/ipin2019-weixijia/{COMMIT}/"
    for f in ds.files:
        assert f.sha256 and f.size and f.member is None
        if f.name == "LICENSE":
            assert f.url == raw + "LICENSE"
        else:
            n, ext = re.fullmatch(r"round(\d+)\.(xml|csv)", f.name).groups()
            assert f.url == raw + f"data%20processing/Smartisan/{n}.{ext}"
            assert f.relpath == f"uoe-rounds/{f.name}" + (".gz" if ext == "xml" else "")


@needs_data
def test_registry_matches_manifest() -> None:
    root = next(d for d in D.data_dirs() if (d / "uoe-rounds").is_dir())
    text = (root / "uoe-rounds" / "MANIFEST.md").read_text("utf-8")
    manifest = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| (\S+) \| ([0-9a-f]{64}) \|", text, flags=re.MULTILINE)
    }
    assert manifest == {f.name: f.sha256 for f in D.REGISTRY["uoe-rounds"].files}


# --- the loader on the fixture -----------------------------------------------------------------------


def test_fixture_is_small() -> None:
    assert LOG.stat().st_size < 300_000 and LOG.read_bytes()[:2] == b"\x1f\x8b"


def test_parse_fixture(head: uoe.Round) -> None:
    assert (len(head.acc), len(head.gyro), len(head.mag)) == (2003, 1999, 2002)
    assert len(head.records) == 87 and len(head.wifi) == head.records["n_readings"].sum()
    # cached repeats: three distinct scans, the third repeated 85 times
    assert head.records.groupby("scan").size().tolist() == [1, 1, 85] and head.n_scans == 3
    assert head.header["phone"] == "6169b50559d0c09" and head.skipped == {}
    for df in (head.acc, head.gyro, head.mag, head.records):
        assert df["t_ms"].is_monotonic_increasing
    # the axis starts at the first sensor element (an <m>), on the sensor clock
    assert head.mag["t_ms"].iloc[0] == 0.0 and head.acc["t_ms"].iloc[0] > 0
    assert head.acc["t_ms"].iloc[-1] <= 40_000
    # the wall clock stalls while readings were buffered: t is not a usable time
    assert (np.diff(head.acc["t_wall_ms"]) == 0).mean() > 0.5
    assert np.diff(head.acc["st_ns"]).min() > 0
    # Wi-Fi records mapped onto the sensor axis: the first at 2.6 s of the walk
    assert head.records["t_ms"].iloc[0] == pytest.approx(2645, abs=2)
    first = head.wifi[head.wifi["record"] == 0].iloc[0]
    assert (first["bssid"], first["rssi"], first["channel"]) == ("08:1f:f3:b2:d4:2e", -85, 40)
    assert list(head.waypoints.columns) == [
        "time_s", "t_ms", "x", "y", "lat", "lng", "utm_x", "utm_y"]
    assert head.waypoints[["x", "y"]].iloc[0].tolist() == [33.19, 32.63]


def test_sources_give_the_same_round(head: uoe.Round) -> None:
    raw = gzip.decompress(LOG.read_bytes())
    for src in (LOG.read_bytes(), raw, io.BytesIO(raw), io.BytesIO(LOG.read_bytes()), str(LOG)):
        log = uoe.parse_round_xml(src, "x")
        pd.testing.assert_frame_equal(log.acc, head.acc)
        pd.testing.assert_frame_equal(log.wifi, head.wifi)
        assert log.clock_offset_ns == head.clock_offset_ns


def test_samples_from_fixture(head: uoe.Round) -> None:
    vocab = uoe.wifi_vocabulary([head])
    assert vocab == sorted(head.wifi["bssid"].unique())
    s = uoe.build_samples(head, vocab)
    n = len(s)
    assert n == 131 and s.trace_ids == ("round1",) and s.site == "uoe"
    assert s.imu.shape == (n, 10, 2) and s.mag.shape == (n, 10, 1) and s.wifi.shape == (n, 78)
    assert s.t_s[0] == 25.0 and s.t_s[-1] == 38.0  # first to last waypoint, every 100 ms
    np.testing.assert_allclose(np.diff(s.t_s), 0.1, atol=1e-9)
    np.testing.assert_allclose(s.pos, head.positions(s.t_s * 1000), atol=1e-5)
    assert s.wifi.min() == -110.0 and s.wifi_valid.all() and s.settings["imu_gap_dropped"] == 0
    # the last tick of each window is the newest joined IMU reading at or before t (pick)
    tr = head.to_trace()
    it = tr.imu["t_ms"].to_numpy()
    k = np.searchsorted(it, s.t_s * 1000, side="right") - 1
    acc = np.linalg.norm(tr.imu[["ax", "ay", "az"]].to_numpy()[k], axis=1)
    mag = np.linalg.norm(tr.imu[["mx", "my", "mz"]].to_numpy()[k], axis=1)
    np.testing.assert_allclose(s.imu[:, -1, 0], acc, rtol=1e-6)
    np.testing.assert_allclose(s.mag[:, -1, 0], mag, rtol=1e-6)
    # one vector per distinct scan: the newest scan (at 7.9 s) is the only one in the walk
    assert np.all(s.wifi == s.wifi[0])
    assert s.wifi_age_s[0] == pytest.approx(25.0 - 7.884, abs=0.01)
    every = uoe.build_samples(head, vocab, wifi_records="all")
    assert (every.wifi_age_s < s.wifi_age_s).all()  # cached repeats look fresher


def test_summary_of_fixture(head: uoe.Round) -> None:
    row = uoe.round_summary([head]).iloc[0]
    assert list(uoe.round_summary([head]).columns) == list(uoe.SUMMARY_COLUMNS)
    assert (row["acc_samples"], row["wifi_records"], row["distinct_scans"]) == (2003, 87, 3)
    assert row["walk_s"] == 13.0 and row["route_length_m"] == pytest.approx(7.70, abs=0.01)
    assert row["imu_joined"] + row["imu_unmatched"] == row["acc_samples"]


# --- malformed files ---------------------------------------------------------------------------------

GOOD_A = '<a t="1000" x="0.1" y="0.2" z="9.8" st="5000000" />'
GOOD_G = '<g t="1000" x="0.0" y="0.0" z="0.1" st="5000000" />'
GOOD_M = '<m t="1002" x="10" y="20" z="-30" st="7000000" />'


def _xml(*lines: str) -> str:
    return "\n".join(['<data phone="p" building="b" t="x">', *lines, "</data>"]) + "\n"


@pytest.mark.parametrize(
    ("lines", "where", "what"),
    [
        ([GOOD_A, '<a t="1020" x="abc" y="0" z="9" st="25000000" />', GOOD_G, GOOD_M],
         "line 3, column 1: <a> #2", "attribute 'x' = 'abc' is not a finite number"),
        ([GOOD_A, GOOD_G, GOOD_M, '<m t="1" x="1" y="2" z="nan" st="9" />'],
         "line 5, column 1: <m> #2", "attribute 'z' = 'nan' is not a finite number"),
        ([GOOD_A, '<g t="1000" x="0" y="0" z="0" />', GOOD_M],
         "line 3, column 1: <g> #1", "attribute 'st' is missing"),
        ([GOOD_A, GOOD_G, GOOD_M, '<wr t="1.5">', "</wr>"],
         "line 5, column 1: <wr> #1", "attribute 't' = '1.5' is not an integer"),
        ([GOOD_A, GOOD_G, GOOD_M, '<wr t="1">', '  <r b="aa" s="-70" c="x" />', "</wr>"],
         "line 6, column 3: <r> #1", "attribute 'c' = 'x' is not an integer"),
        ([GOOD_A, GOOD_G, GOOD_M, '<wr t="1">', '<r s="-70" c="1" />', "</wr>"],
         "line 6, column 1: <r> #1", "attribute 'b' (BSSID) is missing or empty"),
        ([GOOD_A, GOOD_G, GOOD_M, '<r b="aa" s="-70" c="1" />'],
         "line 5, column 1: <r> #1", "a Wi-Fi reading must be a child of <wr>"),
        ([GOOD_A, GOOD_G, '<wr t="1">', GOOD_M, "</wr>"],
         "line 5, column 1: <m> #1", "a sensor reading must be a child of <data>"),
    ],
)
def test_malformed_record_names_file_and_position(
    tmp_path: Path, lines: list[str], where: str, what: str
) -> None:
    path = tmp_path / "round7.xml.gz"
    path.write_bytes(gzip.compress(_xml(*lines).encode()))
    with pytest.raises(uoe.RoundFormatError) as info:
        uoe.parse_round_xml(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and where in msg and what in msg, msg
    assert isinstance(info.value, D.DataError) and isinstance(info.value, ValueError)


def test_broken_xml_gzip_and_structure(tmp_path: Path) -> None:
    bad = r"^f\.xml: line 4, column 1: not well-formed XML"  # expat: where the token breaks
    with pytest.raises(uoe.RoundFormatError, match=bad):
        uoe.parse_round_xml(_xml(GOOD_A, "<g t='1' x='0'", GOOD_M).encode(), "f.xml")
    cut = LOG.read_bytes()[:20_000]  # a truncated gzip of the real fixture
    with pytest.raises(uoe.RoundFormatError, match=r"^cut\.xml\.gz: the gzip stream is damaged"):
        uoe.parse_round_xml(cut, "cut.xml.gz")
    with pytest.raises(uoe.RoundFormatError, match=r"line 1, column 1: <log> #1: the root"):
        uoe.parse_round_xml(b"<log></log>", "f.xml")
    with pytest.raises(uoe.RoundFormatError, match=r"^f\.xml: no <g> \(gyroscope\) element"):
        uoe.parse_round_xml(_xml(GOOD_A, GOOD_M).encode(), "f.xml")
    # unknown elements are counted, not fatal
    log = uoe.parse_round_xml(_xml(GOOD_A, GOOD_G, GOOD_M, '<b t="1" />').encode(), "f.xml")
    assert log.skipped == {"b": 1} and log.mag["t_ms"].tolist() == [2.0]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Time,lat,Lng\n1,0,0\n2,x,1\n", r"^w\.csv: line 3, column 'lat': 'x' is not a finite"),
        ("Time,lat,Lng\n1,0,0\n2,1\n", r"^w\.csv: line 3: 2 fields, the header has 3"),
        ("Time,lat,Lng\n5,0,0\n5,1,1\n", r"^w\.csv: line 3, column 'Time': 5 s is not after"),
        ("Time,lat\n1,0\n2,1\n", r"^w\.csv: line 1: the header lacks column\(s\) 'Lng'"),
        ("Time,lat,Lng\n1,0,0\n", r"^w\.csv: 1 waypoint\(s\); at least 2"),
    ],
)
def test_malformed_waypoints(text: str, match: str) -> None:
    with pytest.raises(uoe.RoundFormatError, match=match):
        uoe.parse_waypoints(text, "w.csv")


# --- positions along the route ---------------------------------------------------------------------


def test_positions_exact_at_waypoints(head: uoe.Round) -> None:
    wp = uoe.parse_waypoints(
        "Time,lat,Lng\n25,33.19,32.63\n83,0,23.76\n119,6.36,0\n173,39.76,8.92\n210,33.19,32.63\n",
        "w.csv")
    xy = wp[["x", "y"]].to_numpy()
    np.testing.assert_array_equal(uoe.route_positions(wp, wp["t_ms"]), xy)
    mid = uoe.route_positions(wp, [54_000])[0]  # half-way along the first edge
    np.testing.assert_allclose(mid, (xy[0] + xy[1]) / 2)
    assert np.isnan(uoe.route_positions(wp, [24_999, 210_001])).all()  # never extrapolated
    np.testing.assert_array_equal(head.positions(head.waypoints["t_ms"]),
                                  head.waypoints[["x", "y"]].to_numpy())


coord = st.floats(-100, 100, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(st.tuples(coord, coord), min_size=2, max_size=6),
    gaps=st.lists(st.floats(0.5, 100.0), min_size=5, max_size=5),
    edge=st.integers(0, 4),
    frac=st.floats(0.0, 1.0),
)
def test_positions_between_waypoints_lie_on_the_segment(
    pts: list[tuple[float, float]], gaps: list[float], edge: int, frac: float
) -> None:
    n = len(pts)
    times = np.concatenate([[0.0], np.cumsum(gaps[: n - 1])])
    wp = pd.DataFrame({"t_ms": times * 1000, "x": [p[0] for p in pts], "y": [p[1] for p in pts]})
    i = edge % (n - 1)
    t = times[i] + frac * (times[i + 1] - times[i])
    p = uoe.route_positions(wp, [t * 1000])[0]
    a, b = np.array(pts[i]), np.array(pts[i + 1])
    ab, ap = b - a, p - a
    scale = max(1.0, float(np.abs(np.r_[a, b]).max()))
    assert abs(ab[0] * ap[1] - ab[1] * ap[0]) <= 1e-9 * scale * scale  # collinear
    assert -1e-9 * scale * scale <= float(ab @ ap) <= float(ab @ ab) + 1e-9 * scale * scale
    np.testing.assert_allclose(p, a + frac * ab, atol=1e-9 * scale)  # proportional to time


# --- the real rounds -------------------------------------------------------------------------------


@needs_data
def test_real_rounds_summary() -> None:
    """The MANIFEST's table: samples per sensor, Wi-Fi records, readings, BSSIDs, duration;
    the distinct scans (byte-identical consecutive records once): 5/5/5/4/8."""
    summary = uoe.round_summary().set_index("round")
    assert list(summary.index) == list(uoe.ROUNDS)
    assert summary["distinct_scans"].tolist() == [5, 5, 5, 4, 8]
    assert summary[["acc_samples", "gyro_samples", "mag_samples"]].values.tolist() == [
        [11347, 11343, 11337], [12213, 12209, 12201], [9761, 6755, 7343],
        [11291, 11279, 11280], [12542, 12538, 12529]]
    assert summary["wifi_records"].tolist() == [363, 300, 134, 252, 301]
    assert summary["readings"].tolist() == [25244, 19939, 8360, 18633, 18643]
    assert summary["distinct_bssids"].tolist() == [80, 84, 97, 102, 78]
    assert summary["duration_s"].round(1).tolist() == [226.6, 243.9, 278.8, 225.5, 250.4]
    assert summary["waypoints"].eq(5).all()
    np.testing.assert_allclose(summary["route_length_m"], 118.125, atol=0.01)
    # one clock offset for all rounds (the phone's boot time): the mapping is consistent
    offsets = [r.clock_offset_ns for r in uoe.load_rounds()]
    assert np.ptp(offsets) < 1_000_000
    assert summary.loc[9, "imu_unmatched"] > 3000  # round 9's gaps


@needs_data
def test_real_samples_skip_the_gap_of_round9() -> None:
    r9 = uoe.load_rounds([9])[0]
    s = uoe.build_samples(r9, uoe.wifi_vocabulary(r9))
    assert s.settings["imu_gap_dropped"] == 11 and len(s) == 1043
    with pytest.raises(ValueError, match=r"round=2 is not valid; allowed values: 1, 5, 9"):
        uoe.read_round(2)


# --- the leave-one-round-out experiment -------------------------------------------------------------


def test_folds() -> None:
    from ipsbook.methods.mtloc.rounds import folds

    f = folds([1, 5, 9, 11, 12])
    assert [(x["test"], x["val"]) for x in f] == [(1, 5), (5, 9), (9, 11), (11, 12), (12, 1)]
    assert f[4]["train"] == [5, 9, 11]
    with pytest.raises(ValueError, match="at least 3 rounds"):
        folds([1, 5])


def _tiny(rounds: list[uoe.Round], **kw):
    from ipsbook.methods.mtloc.rounds import leave_one_round_out

    return leave_one_round_out(rounds, epochs=1, batch_size=64, seeds=(0,), num_threads=1,
                               n_boot=200, **kw)


def test_rounds_experiment_tiny_and_deterministic(head: uoe.Round) -> None:
    from ipsbook.methods.mtloc import rounds as R

    rounds = [replace(head, round_id=i) for i in (1, 2, 3)]  # three copies of the fixture
    a = _tiny(rounds, block_s=2.0)
    assert list(a.comparison.columns) == list(R.COMPARISON_COLUMNS)
    assert a.comparison["test_round"].tolist() == [1, 2, 3]
    assert a.comparison["val_round"].tolist() == [2, 3, 1]
    assert set(a.comparison["verdict"]) <= {"beats", "does not beat", "unresolved"}
    assert list(a.errors.columns) == ["test_round", "val_round", "seed", "model", "t_s", "error_m"]
    assert set(a.errors["model"]) == set(R.MODELS)
    assert a.errors.groupby(["test_round", "model"]).size().eq(131).all()
    assert list(a.overall["verdict"]) and len(a.training) == 3 and a.training["epochs"].eq(1).all()
    assert (a.comparison["diff_lo_m"] <= a.comparison["diff_mean_m"] + 1e-12).all()
    b = _tiny(rounds, block_s=2.0)
    pd.testing.assert_frame_equal(a.errors, b.errors)
    pd.testing.assert_frame_equal(a.comparison, b.comparison)
    timing = ["epoch_s", "samples_per_s", "seconds"]
    pd.testing.assert_frame_equal(a.training.drop(columns=timing), b.training.drop(columns=timing))


@needs_data
def test_rounds_experiment_on_real_rounds() -> None:
    rounds = uoe.load_rounds([1, 5, 11])
    res = _tiny(rounds, step_s=2.0)
    c = res.comparison.set_index("test_round")
    assert list(c.index) == [1, 5, 11] and (c["n_windows"] > 80).all()
    # the mean position errs by ~17 m on this loop; kNN and LSTM are finite numbers
    assert c["mean_position_mean_m"].between(12, 22).all()
    assert np.isfinite(c[["imu_lstm_mean_m", "wifi_knn_mean_m"]].to_numpy()).all()
    assert list(res.summary["round"]) == [1, 5, 11]

"""Tests of ipsbook.data.ilc: ILC 2.0 trace parsing and paper E's multimodal samples.

Fixtures (tests/data/ilc/, see its README.md): a cut of the real site1 trace
5dd9e7cf9191710006b5706f and a copy with malformed lines; small synthetic traces are built
here. Tests marked ``needs_data`` read the real traces and skip when they are absent.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipsbook.data as D
from ipsbook.data import ilc

HERE = Path(__file__).resolve().parent / "data" / "ilc"
CUT = HERE / "site1_F1_5dd9e7cf9191710006b5706f_cut.txt"
MALFORMED = HERE / "malformed.txt"
REAL_ID = "5dd9e7cf9191710006b5706f"
FLOOR = -110.0


def _have_real_data() -> bool:
    return any((d / "ms-ilc2020" / "site1").is_dir() for d in [*D.data_dirs(), D.download_dir()])


needs_data = pytest.mark.skipif(
    not _have_real_data(), reason="ms-ilc2020 traces not found under $IPSBOOK_DATA_DIR"
)


@pytest.fixture(scope="module")
def cut() -> ilc.Trace:
    return ilc.parse_trace(CUT.read_bytes(), str(CUT))


def synth(
    *,
    start: int = 1_000_000,
    duration_ms: int = 5000,
    imu_dt: int = 20,
    imu_offset: int = 100,
    waypoints: tuple[tuple[int, float, float], ...] = ((0, 0.0, 0.0), (5000, 10.0, 5.0)),
    scans: tuple[tuple[int, tuple[tuple[str, int, int], ...]], ...] = (),
    gyro_shift: int = 0,
    extra: tuple[str, ...] = (),
) -> str:
    """A trace text: IMU every ``imu_dt`` ms from ``imu_offset`` (acc x = time in s, acc y =
    1, gyro = (0, 0, 2), mag = (30, 40, 0)), ``waypoints`` and ``scans`` as (ms after start,
    ...); a scan is (time, ((bssid, rssi, age_ms), ...)). Lines come in a shuffled order."""
    lines = [f"#\tstartTime:{start}", "#\tSiteID:5dd3d7732a57a34356595932\tFloorName:F1"]
    body = []
    for t in range(imu_offset, duration_ms + 1, imu_dt):
        ts = start + t
        body.append(f"{ts}\tTYPE_ACCELEROMETER\t{t / 1000}\t1.0\t0.0\t3")
        body.append(f"{ts + gyro_shift}\tTYPE_GYROSCOPE\t0.0\t0.0\t2.0\t3")
        body.append(f"{ts}\tTYPE_MAGNETIC_FIELD\t30.0\t40.0\t0.0\t3")
        body.append(f"{ts}\tTYPE_ROTATION_VECTOR\t0.0\t0.0\t0.1\t3")
        body.append(f"{ts}\tTYPE_ACCELEROMETER_UNCALIBRATED\t0\t0\t0\t0\t0\t0\t3")
    for t, x, y in waypoints:
        body.append(f"{start + t}\tTYPE_WAYPOINT\t{x}\t{y}")
    for t, aps in scans:
        for bssid, rssi, age in aps:
            body.append(f"{start + t}\tTYPE_WIFI\tssid\t{bssid}\t{rssi}\t2412\t{start + t - age}")
    body.extend(extra)
    order = np.random.default_rng(1).permutation(len(body))
    lines += [body[i] for i in order] + [f"#\tendTime:{start + duration_ms}"]
    return "\n".join(lines) + "\n"


def trace_of(**kw: object) -> ilc.Trace:
    return ilc.parse_trace(synth(**kw), "synthetic.txt")  # type: ignore[arg-type]


# --- parsing -----------------------------------------------------------------------------------


def test_fixture_counts_and_header(cut: ilc.Trace) -> None:
    assert cut.site == "site1"
    assert cut.trace_id == "site1_F1_5dd9e7cf9191710006b5706f_cut"
    assert cut.header["startTime"] == 1574561136050
    assert cut.header["endTime"] == 1574561142121
    assert cut.header["FloorName"] == "F1" and cut.header["Model"] == "PBCM10"
    assert len(cut.header["sensors"]) == 6
    assert len(cut.waypoints) == 3
    assert len(cut.imu) == len(cut.rotvec) == 299
    assert cut.imu_unmatched == 0
    assert len(cut.wifi) == 80 and cut.n_scans == 2
    assert list(cut.imu.columns) == ["t_ms", "ax", "ay", "az", "gx", "gy", "gz", "mx", "my", "mz"]
    assert list(cut.rotvec.columns) == ["t_ms", "qx", "qy", "qz"]
    assert list(cut.waypoints.columns) == ["t_ms", "x", "y"]
    assert list(cut.wifi.columns)[:5] == ["t_ms", "bssid", "rssi", "freq", "last_seen_ms"]
    assert cut.skipped == {
        "TYPE_ACCELEROMETER_UNCALIBRATED": 26,
        "TYPE_BEACON": 4,
        "TYPE_BLU4": 4,
        "TYPE_BLUE": 4,
        "TYPE_DIST1": 1,
        "TYPE_DIST2": 1,
        "TYPE_GYROSCOPE_UNCALIBRATED": 26,
        "TYPE_MAGNETIC_FIELD_UNCALIBRATED": 26,
        "TYPE_SENSOR_MAGNETIC_FIELD_ACCURACY_CHANGED": 1,
    }
    # values as in the file
    assert cut.waypoints.iloc[-1].tolist() == [1574561141172, 189.56085, 46.950844]
    w = cut.wifi[cut.wifi["bssid"] == "06:74:9c:a7:b2:c0"].iloc[0]
    assert (w["rssi"], w["freq"], w["last_seen_ms"], w["ssid"]) == (
        -44,  # file line 556
        5805,
        1574561137411,
        "intime_pos",
    )
    assert (cut.wifi["ssid"] == "").any()  # empty SSIDs are kept as ""


def test_tables_sorted_although_file_is_not(cut: ilc.Trace) -> None:
    raw_t = [int(line.split("\t")[0]) for line in CUT.read_text().splitlines() if line[0] != "#"]
    assert np.any(np.diff(raw_t) < 0)  # the file is not time-ordered (last waypoint line)
    for df in (cut.waypoints, cut.imu, cut.rotvec, cut.wifi):
        assert df["t_ms"].is_monotonic_increasing
        assert df["t_ms"].dtype == np.int64


def test_imu_rows_match_file_lines(cut: ilc.Trace) -> None:
    lines = [line.split("\t") for line in CUT.read_text().splitlines() if line[0] != "#"]
    first = {}
    for f in lines:
        first.setdefault(f[1], f)
    row = cut.imu.iloc[0]
    assert row["t_ms"] == int(first["TYPE_ACCELEROMETER"][0])
    for cols, kind in (
        ("ax ay az", "TYPE_ACCELEROMETER"),
        ("gx gy gz", "TYPE_GYROSCOPE"),
        ("mx my mz", "TYPE_MAGNETIC_FIELD"),
    ):
        assert row[cols.split()].tolist() == [float(v) for v in first[kind][2:5]]


def test_str_bytes_crlf_and_blank_lines_parse_alike() -> None:
    text = synth(scans=((1000, (("aa", -50, 100),)),))
    a = ilc.parse_trace(text, "a.txt")
    for variant in (text.encode(), text.replace("\n", "\r\n"), text.replace("\n", "\n\n", 3)):
        b = ilc.parse_trace(variant, "a.txt")
        for name in ("waypoints", "imu", "rotvec", "wifi"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        assert b.skipped == a.skipped


def test_malformed_line_error_names_file_and_line() -> None:
    with pytest.raises(ilc.TraceFormatError) as err:
        ilc.parse_trace(MALFORMED.read_bytes(), "tests/data/ilc/malformed.txt")
    msg = str(err.value)
    assert "malformed.txt: line 23:" in msg
    assert "TYPE_ACCELEROMETER line has 5 fields, expected 6" in msg
    assert "2 malformed lines in all" in msg
    assert isinstance(err.value, D.DataError) and isinstance(err.value, ValueError)

    lines = MALFORMED.read_text().split("\n")
    lines[22] = ""  # blank: ignored, line numbers unchanged
    with pytest.raises(
        ilc.TraceFormatError,
        match=r"malformed\.txt: line 36: TYPE_WIFI line: "
        r"field 5 \('-7x'\)",
    ):
        ilc.parse_trace("\n".join(lines), "malformed.txt")

    lines[35] = ""
    tr = ilc.parse_trace("\n".join(lines), "malformed.txt")
    assert tr.skipped["TYPE_FOO"] == 1 and tr.skipped["TYPE_BEACON"] == 1  # not validated
    assert len(tr.wifi) == 2


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("1000200\tTYPE_WAYPOINT\t1.0", "TYPE_WAYPOINT line has 3 fields, expected 4"),
        ("1000200\tTYPE_WAYPOINT\t1.0\t2.0\t", "TYPE_WAYPOINT line has 5 fields, expected 4"),
        ("1000200\tTYPE_GYROSCOPE\t0.1\tx\t0.3\t3", "TYPE_GYROSCOPE line: field 4 ('x')"),
        ("1000200\tTYPE_MAGNETIC_FIELD\t0.1\tNaN\t0.3\t3", "field 4 ('NaN') is not a finite"),
        ("1000200.5\tTYPE_ROTATION_VECTOR\t0.1\t0.2\t0.3\t3", "field 1 ('1000200.5')"),
        ("abc\tTYPE_ACCELEROMETER\t0.1\t0.2\t0.3\t3", "field 1 ('abc') is not an integer"),
        ("1000200\tTYPE_WIFI\ts\t\t-50\t2412\t1000100", "empty BSSID"),
        ("1000200\tTYPE_WIFI\ts\tb\t-50.5\t2412\t1000100", "field 5 ('-50.5')"),
        ("1000200", "data line without a type field"),
    ],
)
def test_malformed_variants(line: str, what: str) -> None:
    text = "#\tstartTime:1000000\n\n" + line + "\n1000300\tTYPE_WAYPOINT\t1\t2\n"
    with pytest.raises(ilc.TraceFormatError) as err:
        ilc.parse_trace(text, "x.txt")
    assert "x.txt: line 3: " in str(err.value) and what in str(err.value)


def test_unknown_types_are_counted_not_validated() -> None:
    extra = (
        "1000050\tTYPE_NEW_SENSOR\tgarbage",
        "1000060\tTYPE_BEACON\tonly-one",
        "1000070\tTYPE_DIST1\t1\t2\t3",
    )
    tr = trace_of(extra=extra)
    assert tr.skipped["TYPE_NEW_SENSOR"] == 1 and tr.skipped["TYPE_BEACON"] == 1
    assert tr.skipped["TYPE_DIST1"] == 1
    assert tr.skipped["TYPE_ACCELEROMETER_UNCALIBRATED"] == len(tr.imu)


def test_imu_join_tolerance() -> None:
    near = trace_of(gyro_shift=3)  # within 10 ms: joined
    assert near.imu_unmatched == 0 and len(near.imu) == len(near.rotvec)
    assert (near.imu["gz"] == 2.0).all()
    far = trace_of(gyro_shift=50, imu_dt=200)  # 50 ms off, readings 200 ms apart: dropped
    assert len(far.imu) == 0 and far.imu_unmatched == len(far.rotvec)


# --- windows, positions, Wi-Fi -----------------------------------------------------------------


def _truncate(tr: ilc.Trace, t_ms: float) -> ilc.Trace:
    """``tr`` with every sensor and Wi-Fi row after ``t_ms`` deleted (waypoints kept)."""
    cut_ = {
        k: getattr(tr, k)[getattr(tr, k)["t_ms"] <= t_ms].reset_index(drop=True)
        for k in ("imu", "rotvec", "wifi")
    }
    return ilc.Trace(tr.site, tr.trace_id, tr.header, tr.waypoints, skipped=tr.skipped, **cut_)


@pytest.mark.parametrize("resample", ["linear", "pick"])
@pytest.mark.parametrize("wifi_mode", ["latest", "at_scan"])
def test_windows_never_look_into_the_future(cut: ilc.Trace, resample: str, wifi_mode: str) -> None:
    vocab = ilc.ap_vocabulary(cut, min_scans=1)
    kw = {
        "resample": resample,
        "wifi_mode": wifi_mode,
        "imu_channels": "6axis",
        "mag_channels": "3axis",
    }
    full = ilc.build_samples(cut, vocab, **kw)
    scan_t = (cut.wifi["t_ms"].unique() - cut.start_ms) / 1000
    # every 5th sample, plus the ones right at/after each scan
    picks = set(range(0, len(full), 5)) | {int(np.searchsorted(full.t_s, s)) for s in scan_t}
    picks = sorted(p for p in picks if p < len(full))
    assert full.wifi_valid.any()
    for k in picks:
        t_ms = cut.start_ms + full.t_s[k] * 1000
        part = ilc.build_samples(_truncate(cut, t_ms), vocab, **kw)
        j = int(np.flatnonzero(np.isclose(part.t_s, full.t_s[k], atol=1e-9, rtol=0))[0])
        for name in ("imu", "mag", "wifi", "wifi_valid", "pos"):
            np.testing.assert_array_equal(getattr(part, name)[j], getattr(full, name)[k], name)
        np.testing.assert_array_equal(part.wifi_age_s[j], full.wifi_age_s[k])


@settings(max_examples=60, deadline=None)
@given(
    dts=st.lists(st.integers(1, 60), min_size=5, max_size=80),
    n_steps=st.integers(1, 12),
    window=st.integers(50, 600),
    method=st.sampled_from(["linear", "pick"]),
    data=st.data(),
)
def test_window_values_depend_only_on_the_past(dts, n_steps, window, method, data) -> None:
    times = np.cumsum(dts).astype(np.int64)
    vals = np.random.default_rng(len(dts)).normal(size=(len(times), 2))
    lo_t, hi_t = times[0] + window, times[-1]
    if lo_t > hi_t:
        return
    t = data.draw(st.floats(float(lo_t), float(hi_t)))
    s = np.array([t])
    got = ilc._window_values(times, vals, s, float(window), n_steps, method)
    changed = vals.copy()
    changed[times > t] = 1e6  # rewrite the future
    again = ilc._window_values(times, changed, s, float(window), n_steps, method)
    np.testing.assert_array_equal(got, again)
    keep = times <= t
    past = ilc._window_values(times[keep], vals[keep], s, float(window), n_steps, method)
    np.testing.assert_array_equal(got, past)


def test_resampling_linear_vs_pick() -> None:
    tr = trace_of()  # acc x = time in s, readings every 20 ms from 100 ms
    s = ilc.build_samples(tr, [], imu_channels="6axis", step_s=0.1, resample="linear")
    ticks = s.t_s[:, None] - 1.0 + 0.1 * np.arange(1, 11)  # in s since startTime, like acc x
    np.testing.assert_allclose(s.imu[..., 0], ticks, atol=2e-6)  # linear is exact on a ramp
    np.testing.assert_allclose(s.imu[:, -1, 0], s.t_s, atol=2e-6)  # last tick = the sample time
    p = ilc.build_samples(tr, [], imu_channels="6axis", step_s=0.1)  # default: the paper's pick
    assert p.settings["resample"] == "pick"
    # readings at 100, 120, ... ms: "pick" takes the newest at or before each tick
    expect = np.floor((ticks * 1000 - 100) / 20 + 1e-9) * 20 / 1000 + 0.1
    np.testing.assert_allclose(p.imu[..., 0], expect, atol=2e-6)
    np.testing.assert_allclose(p.imu[..., 5], 2.0)
    # magnitudes per reading, then resampled
    m = ilc.build_samples(tr, [], resample="linear")
    assert m.imu.shape[1:] == (10, 2) and m.mag.shape[1:] == (10, 1)
    np.testing.assert_allclose(m.imu[..., 1], 2.0)
    np.testing.assert_allclose(m.mag[..., 0], 50.0)
    np.testing.assert_allclose(m.imu[..., 0], np.sqrt(ticks**2 + 1), rtol=1e-3)
    assert m.imu_names == ("acc_norm", "gyro_norm") and s.imu_names[0] == "ax"


def test_sample_grid() -> None:
    tr = trace_of()  # IMU from 100 ms, waypoints 0..5000 ms
    s = ilc.build_samples(tr, [])
    # grid from the first waypoint every 100 ms; first sample >= first IMU + 1 s
    np.testing.assert_allclose(s.t_s, np.arange(11, 51) / 10)
    s2 = ilc.build_samples(tr, [], window_s=0.5, step_s=0.25)
    np.testing.assert_allclose(s2.t_s, np.arange(3, 21) / 4)
    assert s2.settings["step_s"] == 0.25


def test_positions_hit_waypoints_exactly() -> None:
    wps = ((0, 1.5, 2.25), (1300, 10.1, 5.3), (2700, 7.77, 9.99), (4100, 3.3, 0.123))
    tr = trace_of(waypoints=wps, duration_ms=4100)
    s = ilc.build_samples(tr, [])
    for t, x, y in wps[1:]:
        k = int(np.flatnonzero(np.isclose(s.t_s, t / 1000))[0])
        assert s.pos[k].tolist() == [np.float32(x), np.float32(y)]
    # half-way in time is half-way in space
    k = int(np.flatnonzero(np.isclose(s.t_s, 2.0))[0])
    np.testing.assert_allclose(s.pos[k], [(10.1 + 7.77) / 2, (5.3 + 9.99) / 2], rtol=1e-6)
    # nothing outside [first, last waypoint]
    assert s.t_s.max() <= 4.1 + 1e-9


def test_positions_hit_real_waypoints(cut: ilc.Trace) -> None:
    wp = cut.waypoints
    got = ilc._positions(wp, wp["t_ms"].to_numpy(np.float64))
    np.testing.assert_array_equal(got, wp[["x", "y"]].to_numpy())
    s = ilc.build_samples(cut, [])
    lo = wp[["x", "y"]].min().to_numpy() - 1e-4
    hi = wp[["x", "y"]].max().to_numpy() + 1e-4
    assert ((s.pos >= lo) & (s.pos <= hi)).all()


SCANS = (
    (1500, (("aa", -50, 200), ("bb", -60, 300), ("cc", -70, 6000), ("zz", -40, 100))),
    (1500, (("aa", -55, 900),)),  # a second, older reading of aa in the same scan
    (3333, (("bb", -65, 100),)),
)


def test_wifi_latest() -> None:
    tr = trace_of(scans=SCANS)
    s = ilc.build_samples(tr, ["aa", "bb", "cc"], max_age_s=2.5)
    t = s.t_s  # s since startTime; the scans are at 1.5 and 3.333 s
    before, first, second = t < 1.5 - 1e-9, (t >= 1.5 - 1e-9) & (t < 3.333), t >= 3.333
    assert not s.wifi_valid[before].any() and np.isnan(s.wifi_age_s[before]).all()
    assert (s.wifi[before] == FLOOR).all()
    # freshest reading per AP; cc is 6 s old (dropped); zz not in the vocabulary
    np.testing.assert_array_equal(s.wifi[first], np.tile([-50, -60, FLOOR], (first.sum(), 1)))
    np.testing.assert_array_equal(s.wifi[second], np.tile([FLOOR, -65, FLOOR], (second.sum(), 1)))
    assert s.wifi_valid[first | second].all()
    np.testing.assert_allclose(s.wifi_age_s[first], t[first] - 1.5, atol=1e-9)
    np.testing.assert_allclose(s.wifi_age_s[second], t[second] - 3.333, atol=1e-9)
    # no freshness limit: cc counts too
    s_all = ilc.build_samples(tr, ["aa", "bb", "cc"], max_age_s=None)
    assert (s_all.wifi[first][:, 2] == -70).all()
    # a scan without any vocabulary AP is not valid
    s_zz = ilc.build_samples(tr, ["zz"])
    assert s_zz.wifi_valid[first].all() and not s_zz.wifi_valid[second].any()
    assert (s_zz.wifi[second] == FLOOR).all() and s_zz.wifi.dtype == np.float32
    # a scan older than max_scan_age_s at the step counts as none; the age is still reported
    s_lim = ilc.build_samples(tr, ["aa", "bb", "cc"], max_age_s=2.5, max_scan_age_s=0.5)
    stale = (first | second) & (s.wifi_age_s > 0.5)
    assert stale.any() and (~stale & (first | second)).any()
    assert not s_lim.wifi_valid[stale].any() and (s_lim.wifi[stale] == FLOOR).all()
    assert s_lim.wifi_valid[(first | second) & ~stale].all()
    np.testing.assert_array_equal(s_lim.wifi[~stale], s.wifi[~stale])
    np.testing.assert_allclose(s_lim.wifi_age_s, s.wifi_age_s, equal_nan=True)


def test_wifi_at_scan_is_table_ii_literally() -> None:
    tr = trace_of(scans=SCANS)
    latest = ilc.build_samples(tr, ["aa", "bb", "cc"], rss_floor_dbm=-100.0)
    at = ilc.build_samples(tr, ["aa", "bb", "cc"], wifi_mode="at_scan", rss_floor_dbm=-100.0)
    t_ms = np.round(at.t_s * 1000)  # since startTime; the scans are at 1500 and 3333 ms
    k = np.flatnonzero(at.wifi_valid)
    # one step per scan: the first sample time at or after the scan
    assert t_ms[k].tolist() == [1500.0, 3400.0]
    np.testing.assert_array_equal(at.wifi[k], latest.wifi[k])
    assert (at.wifi[~at.wifi_valid] == -100.0).all()
    np.testing.assert_allclose(at.wifi_age_s, latest.wifi_age_s, equal_nan=True)
    assert at.counts()["rss_samples"] == 2


def test_real_fixture_wifi(cut: ilc.Trace) -> None:
    vocab = ilc.ap_vocabulary(cut, min_scans=1, max_age_s=None)
    s = ilc.build_samples(cut, vocab, max_age_s=None)
    scans = np.sort(cut.wifi["t_ms"].unique())
    t_abs = cut.start_ms + s.t_s * 1000
    assert (s.wifi_valid == (t_abs >= scans[0])).all()
    k = int(np.flatnonzero(s.wifi_valid)[0])
    row = dict(zip(vocab, s.wifi[k], strict=True))
    first = cut.wifi[cut.wifi["t_ms"] == scans[0]]
    assert all(row[b] == r for b, r in zip(first["bssid"], first["rssi"], strict=True))
    assert (s.wifi[k] > FLOOR).sum() == first["bssid"].nunique() == 40


# --- vocabulary, split, samples container --------------------------------------------------------


def test_ap_vocabulary_min_scans_and_freshness() -> None:
    # "aa" fresh in 3 scans, "bb" in 2, "cc" in 3 but stale (9 s old) in one of them,
    # "dd" twice in one scan (counts once)
    scans = (
        (
            1000,
            (
                ("aa", -50, 100),
                ("bb", -50, 100),
                ("cc", -50, 100),
                ("dd", -50, 100),
                ("dd", -51, 200),
            ),
        ),
        (2000, (("aa", -50, 100), ("bb", -50, 100), ("cc", -50, 9000))),
        (3000, (("aa", -50, 100), ("cc", -50, 100))),
    )
    tr = trace_of(scans=scans)
    assert ilc.ap_vocabulary(tr, min_scans=1) == ["aa", "bb", "cc", "dd"]
    assert ilc.ap_vocabulary(tr, min_scans=2) == ["aa", "bb", "cc"]
    assert ilc.ap_vocabulary(tr, min_scans=3) == ["aa"]
    assert ilc.ap_vocabulary(tr, min_scans=3, max_age_s=None) == ["aa", "cc"]  # stale counts
    assert ilc.ap_vocabulary(tr, min_scans=4) == []
    # scans of different traces are different scans, even at the same time
    assert ilc.ap_vocabulary([tr, tr], min_scans=4) == ["aa", "bb", "cc"]
    assert ilc.ap_vocabulary([tr, tr], min_scans=6) == ["aa"]
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match=r"min_scans=.* allowed: an integer >= 1"):
            ilc.ap_vocabulary(tr, min_scans=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_age_s=0"):
        ilc.ap_vocabulary(tr, max_age_s=0)
    with pytest.raises(ValueError, match="traces is empty"):
        ilc.ap_vocabulary([])


IDS = [f"trace{i:02d}" for i in range(47)]


def test_split_by_trace_never_leaks_and_ratios_hold() -> None:
    sp = ilc.split_traces(IDS)
    assert list(sp) == ["train", "validation", "test"]
    assert [len(v) for v in sp.values()] == [27, 17, 3]  # 47 x (8, 5, 1) / 14, rounded
    union = [t for v in sp.values() for t in v]
    assert sorted(union) == IDS and len(set(union)) == len(union)
    assert ilc.split_traces(list(reversed(IDS))) == sp  # the set matters, not the order
    assert ilc.split_traces(IDS, seed=0) == sp and ilc.split_traces(IDS, seed=1) != sp
    assert [len(v) for v in ilc.split_traces(IDS[:14]).values()] == [8, 5, 1]  # the paper's 14
    for n in range(3, 30):
        sizes = [len(v) for v in ilc.split_traces(IDS[:n], seed=n).values()]
        assert min(sizes) >= 1 and sum(sizes) == n
        assert all(abs(sz - n * r / 14) < 1.5 for sz, r in zip(sizes, (8, 5, 1), strict=True))
    assert [len(v) for v in ilc.split_traces(IDS[:10], ratios=(1, 1, 0)).values()] == [5, 5, 0]


@pytest.mark.parametrize(
    "ratios", [(8, 5), (8, 5, 1, 1), (8, -5, 1), (0, 0, 0), (1, float("nan"), 1)]
)
def test_split_bad_ratios(ratios: tuple) -> None:
    with pytest.raises(ValueError, match=r"ratios=.*allowed: three finite numbers >= 0"):
        ilc.split_traces(IDS, ratios=ratios)


def test_split_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="duplicates.*'a'"):
        ilc.split_traces(["a", "b", "a"])


def test_samples_container(cut: ilc.Trace) -> None:
    other = trace_of(scans=SCANS)
    vocab = ilc.ap_vocabulary(cut, min_scans=1)
    s = ilc.build_samples([cut, other], vocab)
    n = len(s)
    assert s.imu.shape == (n, 10, 2) and s.imu.dtype == np.float32
    assert s.mag.shape == (n, 10, 1) and s.mag.dtype == np.float32
    assert s.wifi.shape == (n, len(vocab)) and s.wifi.dtype == np.float32
    assert s.pos.shape == (n, 2) and s.pos.dtype == np.float32
    assert s.wifi_valid.dtype == bool and s.t_s.shape == s.wifi_age_s.shape == s.trace.shape == (n,)
    assert s.trace_ids == (cut.trace_id, "synthetic") and s.vocabulary == tuple(vocab)
    assert set(s.trace_id) == {cut.trace_id, "synthetic"}
    assert s.site == "site1"
    sub = s.subset(s.trace == 1)
    assert len(sub) == (s.trace == 1).sum() and (sub.trace_id == "synthetic").all()
    assert sub.vocabulary == s.vocabulary and sub.trace_ids == s.trace_ids
    idx = s.subset(np.array([0, 2, 4]))
    np.testing.assert_array_equal(idx.imu, s.imu[[0, 2, 4]])
    with pytest.raises(ValueError, match="mask_or_index"):
        s.subset(np.ones(n + 1, bool))
    c = s.counts()
    assert c["samples"] == c["imu_samples"] == n and c["traces"] == 2 and c["aps"] == len(vocab)
    assert c["imu_shape"] == f"{n} * (10 * 2)" and c["mag_shape"] == f"{n} * (10 * 1)"
    assert c["imu_rows"] == len(cut.imu) + len(other.imu) and c["scans"] == 4
    assert math.isclose(c["minutes"], n * 0.1 / 60)
    assert "samples" in repr(s)
    wide = ilc.build_samples(cut, vocab, imu_channels="6axis", mag_channels="3axis", n_steps=5)
    assert wide.imu.shape[1:] == (5, 6) and wide.mag.shape[1:] == (5, 3)
    assert wide.mag_names == ("mx", "my", "mz")


def test_short_traces_are_listed_and_too_long_window_raises(cut: ilc.Trace) -> None:
    short = trace_of(duration_ms=1000, waypoints=((0, 0.0, 0.0), (1000, 1.0, 1.0)))
    s = ilc.build_samples([cut, short], [])
    assert s.no_sample_traces == ("synthetic",) and set(s.trace.tolist()) == {0}
    with pytest.raises(ValueError, match=r"window_s=3\.0 leaves no sample .* window_s <= 0\.900"):
        ilc.build_samples(short, [], window_s=3.0)
    with pytest.raises(ValueError, match=r"window_s=60 leaves no sample"):
        ilc.build_samples(cut, [], window_s=60)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"step_s": 0}, r"step_s=0 is not valid; allowed: a finite number > 0"),
        ({"step_s": -0.1}, r"step_s=-0\.1 is not valid"),
        ({"window_s": 0.0}, r"window_s=0\.0 is not valid"),
        ({"window_s": float("inf")}, r"window_s=inf is not valid"),
        ({"n_steps": 0}, r"n_steps=0 is not valid; allowed: an integer >= 1"),
        ({"n_steps": 2.5}, r"n_steps=2\.5 is not valid"),
        (
            {"imu_channels": "9axis"},
            r"imu_channels='9axis' is not valid; allowed values: 'magnitude', '6axis'",
        ),
        (
            {"mag_channels": "xyz"},
            r"mag_channels='xyz' is not valid; allowed values: 'magnitude', '3axis'",
        ),
        (
            {"wifi_mode": "mean"},
            r"wifi_mode='mean' is not valid; allowed values: 'latest', 'at_scan'",
        ),
        ({"resample": "cubic"}, r"resample='cubic' is not valid; allowed values: 'linear', 'pick'"),
        ({"max_age_s": -1}, r"max_age_s=-1 is not valid"),
        ({"rss_floor_dbm": float("nan")}, r"rss_floor_dbm=nan is not valid"),
        ({"max_scan_age_s": 0}, r"max_scan_age_s=0 is not valid"),
    ],
)
def test_build_samples_bad_input(cut: ilc.Trace, kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        ilc.build_samples(cut, [], **kwargs)


def test_build_samples_bad_vocabulary_and_traces(cut: ilc.Trace) -> None:
    with pytest.raises(ValueError, match="vocabulary has duplicates"):
        ilc.build_samples(cut, ["a", "a"])
    with pytest.raises(TypeError, match="not one string"):
        ilc.build_samples(cut, "aa:bb")
    with pytest.raises(ValueError, match="traces is empty"):
        ilc.build_samples([], [])
    with pytest.raises(TypeError, match="Trace objects"):
        ilc.build_samples(["x"], [])  # type: ignore[list-item]


def test_unknown_site_and_floor() -> None:
    for fn in (ilc.trace_ids, ilc.load_site, ilc.floor_info, ilc.floor_image_path):
        with pytest.raises(
            ValueError, match=r"site='site9' is not valid; allowed values: 'site1', 'site2'"
        ):
            fn("site9")
    with pytest.raises(ValueError, match=r"floor='F9' is not valid; allowed values: 'F1'"):
        ilc.trace_ids("site1", floor="F9")
    with pytest.raises(ValueError, match=r"site='site3'"):
        ilc.read_trace("site3", REAL_ID)


def test_trace_ids_from_registry() -> None:
    ids = {site: ilc.trace_ids(site) for site in ilc.SITES}
    assert len(ids["site1"]) == 47 and len(ids["site2"]) == 37
    assert REAL_ID in ids["site1"] and ids["site1"] == sorted(ids["site1"])
    assert not set(ids["site1"]) & set(ids["site2"])


# --- real data ---------------------------------------------------------------------------------


@needs_data
def test_fixture_matches_the_real_trace(cut: ilc.Trace) -> None:
    real = ilc.read_trace("site1", REAL_ID)
    for name in ("waypoints", "imu", "rotvec"):
        pd.testing.assert_frame_equal(getattr(real, name), getattr(cut, name))
    assert real.header == cut.header and real.n_scans == 2 and len(real.wifi) == 503 + 494
    assert real.skipped["TYPE_BLUE"] == 154


@needs_data
def test_real_sites(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    sites = {site: ilc.load_site(site) for site in ilc.SITES}
    parse_s = time.perf_counter() - t0
    expected = {  # MANIFEST.md, per-site summary
        "site1": (47, 75578, 620, 217894, 288, 25.2),
        "site2": (37, 69565, 491, 194709, 278, 23.1),
    }
    lines = [f"parsed 84 traces in {parse_s:.1f} s (cached after the first call)"]
    for site, traces in sites.items():
        n, imu, scans, wifi, wps, minutes = expected[site]
        assert len(traces) == n and {t.site for t in traces} == {site}
        assert sum(len(t.imu) for t in traces) == sum(len(t.rotvec) for t in traces) == imu
        assert sum(t.n_scans for t in traces) == scans
        assert sum(len(t.wifi) for t in traces) == wifi
        assert sum(len(t.waypoints) for t in traces) == wps
        assert sum(t.imu_unmatched for t in traces) == 0
        assert all(t.header["FloorName"] == "F1" for t in traces)
        split = ilc.split_traces([t.trace_id for t in traces])
        train = [t for t in traces if t.trace_id in split["train"]]
        vocab = ilc.ap_vocabulary(train, min_scans=10)
        s = ilc.build_samples(traces, vocab)
        # ~25 min of walking at 10 samples/s, less the first second of each trace
        assert 0.8 * minutes * 600 - 1500 < len(s) <= minutes * 600
        assert s.no_sample_traces == () and s.counts()["traces"] == n
        assert 300 < len(vocab) < 2300  # MANIFEST: 2,056 / 1,955 BSSIDs in >= 10 scans, unfiltered
        assert s.wifi_valid.mean() > 0.9
        info = ilc.floor_info(site)
        assert (s.pos >= 0).all() and (s.pos[:, 0] <= info["width"]).all()
        assert (s.pos[:, 1] <= info["height"]).all()
        assert ilc.floor_image_path(site).is_file()
        lines.append(
            f"{site}: {len(s)} samples, {len(vocab)} APs (min_scans=10, "
            f"max_age_s={ilc.DEFAULT_MAX_AGE_S}, {len(train)} training traces)"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines))

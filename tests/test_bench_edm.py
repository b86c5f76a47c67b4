"""A tiny run of benchmarks/bench_edm.py (8 and 12 APs, R = 1): the shape of its results.

No timing is asserted: the 2 s target is the benchmark's own verdict (``make bench``), never a
timed unit test. What is checked is that every method and size has a finite time or a skip
reason, that the files on disk carry the same results, and the target record's structure.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import pytest
from conftest import load_benchmark

from ipsbook.book import benchio

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_edm.py"
SIZES = (8, 12)


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_edm.py")


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_edm")
    doc = bench.run(sizes=SIZES, repeats=1, out=out, verbose=False)
    return doc, out


def test_json_has_the_expected_keys(bench, tiny):
    doc, out = tiny
    for key in ("schema", "benchmark", "machine", "load_average_before", "sizes", "network",
                "methods", "settings", "timing", "rows", "growth", "targets", "elapsed_seconds"):
        assert key in doc, key
    on_disk = json.loads((out / "edm_scaling.json").read_text())
    assert on_disk["benchmark"] == "edm_scaling"
    assert on_disk["sizes"] == list(SIZES) == doc["sizes"]
    assert on_disk["rows"] == json.loads(json.dumps(doc["rows"]))
    assert set(doc["methods"]) >= {"mds", "smacof_sklearn", "smacof_weighted", "wall_remover",
                                   "iag", "wr_iag"}
    for key in ("cores", "cpu_model", "versions", "threads"):
        assert key in doc["machine"], key
    for n in SIZES:
        assert doc["network"]["by_size"][str(n)]["n_aps"] == n
        s = doc["settings"]["by_size"][str(n)]
        assert s["repeats"] == 1
        assert "max_quadruples" in s["wall_remover"] and "tolerance" in s["wall_remover"]


def test_every_method_and_size_has_a_finite_time_or_a_skip_reason(tiny):
    doc, out = tiny
    rows = {(r["method"], r["n_aps"]): r for r in doc["rows"]}
    assert set(rows) == {(m, n) for m in doc["methods"] for n in SIZES}
    for (m, n), r in rows.items():
        if r["seconds"] is None:
            assert isinstance(r["skipped"], str) and r["skipped"], (m, n)
        else:
            assert r["skipped"] is None, (m, n)
            assert math.isfinite(r["seconds"]) and r["seconds"] > 0, (m, n)
            assert len(r["times"]) == r["repeats"] == 1
            assert r["seconds"] == min(r["times"])
    with (out / "edm_scaling.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows)
    for row in table:
        assert row["seconds_best"] or row["skipped"], row
    for m, g in doc["growth"].items():
        assert set(g) >= {"sizes", "exponent", "prefactor_s", "exponent_largest_two"}, m
        timed = [n for n in SIZES if rows[(m, n)]["seconds"] is not None]
        assert g["sizes"] == timed
        assert (g["exponent"] is None) == (len(timed) < 2)


def test_target_record_structure(tiny):
    doc, _ = tiny
    t = doc["targets"]["wr_iag_100_aps_within_2s"]
    for key in ("what", "method", "n_aps", "required", "required_seconds", "seconds",
                "measured_over_required", "met", "reason"):
        assert key in t, key
    assert (t["method"], t["n_aps"], t["required_seconds"]) == ("wr_iag", 100, 2.0)
    # 100 APs is not in this tiny run: not measured, and said why
    assert t["seconds"] is None and t["met"] is None and "100" in t["reason"]


def test_target_verdict_follows_the_recorded_time(bench):
    rows = [{"method": "wr_iag", "n_aps": 100, "seconds": 1.5, "skipped": None}]
    assert bench._target(rows, [100])["met"] is True
    rows[0]["seconds"] = 2.5
    t = bench._target(rows, [100])
    assert t["met"] is False and t["measured_over_required"] == pytest.approx(1.25)
    rows[0].update(seconds=None, skipped="time limit: ...")
    t = bench._target(rows, [100])
    assert t["met"] is None and "skipped" in t["reason"]


def test_a_call_past_the_limit_is_skipped_with_its_reason(bench):
    done = []

    def slow():
        for i in range(1000):  # 10 s if never interrupted
            time.sleep(0.01)
            done.append(i)
        return "finished"

    c = benchio.call(slow, limit=0.1)  # the shared helper every benchmark times through
    assert c.result is None and c.skipped.startswith("time limit")
    assert len(done) < 1000  # interrupted, not waited for


def test_loglog_fit_and_prediction(bench):
    pts = [(10, 0.01), (30, 0.09), (100, 1.0)]
    g = bench.loglog_fit(pts)
    assert g["exponent"] == pytest.approx(2.0) and g["exponent_largest_two"] == pytest.approx(2.0)
    pred, k = bench._predict(pts, 300)
    assert k == pytest.approx(2.0) and pred == pytest.approx(9.0)
    assert bench.loglog_fit([(10, 0.01)])["exponent"] is None

"""The benchmarks' shared helper (``ipsbook.book.benchio``): the interleaved timing loop, the
skip rules, the row summary, the output files and the machine record, on toy jobs."""

from __future__ import annotations

import csv
import json
import math

import pytest

from ipsbook.book import benchio


def _row(**extra):
    return {"times": [], "warmup_seconds": None, "skipped": None, "info": {},
            "seconds": None, "seconds_median": None, **extra}


def test_repeats_are_interleaved_after_one_warm_up_each():
    order = []
    jobs = {k: {"row": _row(), "run": lambda k=k: order.append(k) or k} for k in "abc"}
    benchio.time_interleaved(jobs, 2, verbose=False, pause_s=0.0)
    assert order == list("abc") + list("abc") + list("abc")  # warm-ups, round 1, round 2
    for job in jobs.values():
        r = job["row"]
        assert len(r["times"]) == 2 and r["seconds"] == min(r["times"])
        assert r["seconds_median"] == pytest.approx(sum(r["times"]) / 2)
        assert r["warmup_seconds"] is not None and r["skipped"] is None


def test_a_failing_method_is_skipped_with_its_reason_and_keeps_no_times():
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 3:  # warm-up, repeat 1, then repeat 2 fails
            raise ValueError("singular")

    jobs = {"ok": {"row": _row(), "run": lambda: None},
            "flaky": {"row": _row(), "run": flaky},
            "dead": {"row": _row(), "run": lambda: 1 / 0, "errors": (ZeroDivisionError,)},
            "pre": {"row": _row(skipped="not installed"), "run": lambda: pytest.fail("ran")}}
    benchio.time_interleaved(jobs, 3, verbose=False, pause_s=0.0)
    assert jobs["flaky"]["row"]["skipped"] == "error: ValueError: singular (repeat 2)"
    assert jobs["flaky"]["row"]["times"] == [] and jobs["flaky"]["row"]["seconds"] is None
    assert jobs["dead"]["row"]["skipped"].endswith("(warm-up)")
    assert jobs["pre"]["row"]["skipped"] == "not installed"
    assert len(jobs["ok"]["row"]["times"]) == 3
    # an error outside the job's errors ends the run
    with pytest.raises(KeyError):
        benchio.time_interleaved({"x": {"row": _row(), "run": lambda: {}["k"]}}, 1, False)


def test_measure_fit_check_and_no_warm_up():
    fits = []
    jobs = {
        "epoch": {"row": _row(n_items=10, per_second=None), "run": lambda: 0.25,
                  "measure": lambda res, wall: res, "warmup": False},
        "knn": {"row": _row(fit_seconds=None), "fit": lambda: fits.append(1) or 7,
                "run": lambda fitted: fitted * 2, "check": lambda res: {"warm": res}},
    }
    benchio.time_interleaved(jobs, 2, verbose=False, pause_s=0.0)
    e, k = jobs["epoch"]["row"], jobs["knn"]["row"]
    assert e["times"] == [0.25, 0.25] and e["warmup_seconds"] is None
    assert e["per_second"] == pytest.approx(10 / 0.25)
    assert len(fits) == 3 and len(k["fit_times"]) == 2 and k["fit_seconds"] == min(k["fit_times"])
    assert k["info"] == {"warm": 14}


def test_call_limit_and_trace():
    c = benchio.call(lambda: [0] * 100_000, trace=True)
    assert c.skipped is None and len(c.result) == 100_000 and c.peak >= 8 * 100_000

    def forever():
        while True:
            pass

    c = benchio.call(forever, limit=0.05)
    assert c.result is None and c.skipped.startswith("time limit") and c.seconds < 5


def test_write_results_json_and_csv(tmp_path):
    doc = {"a": float("nan"), "b": [1, 2.5]}
    j, c = benchio.write_results(doc, tmp_path / "out", "toy", ["x", "y"], [[1, "p"], [2, ""]])
    assert json.loads(j.read_text()) == {"a": None, "b": [1, 2.5]}  # NaN is not JSON
    with c.open() as fh:
        assert list(csv.reader(fh)) == [["x", "y"], ["1", "p"], ["2", ""]]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["toy.csv", "toy.json"]


def test_machine_record():
    m = benchio.machine()
    assert m["cores"] == benchio.cores() >= 1 and m["cpu_model"]
    assert "faiss" not in m["versions"] and "faiss_omp" not in m["threads"]
    assert "torch" not in m["versions"]
    with_none = benchio.machine(faiss=None, torch=True, versions=("no_such_package_xyz",))
    assert with_none["versions"]["faiss"] is None and with_none["threads"]["faiss_omp"] is None
    assert with_none["versions"]["no_such_package_xyz"] is None
    assert with_none["threads"]["torch"] >= 1 and with_none["versions"]["torch"]
    assert isinstance(m["all_pools_use_all_cores"], bool)
    la = benchio.load_average()
    assert la is None or all(math.isfinite(x) for x in la)

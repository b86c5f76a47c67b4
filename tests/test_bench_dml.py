"""A tiny run of benchmarks/bench_dml.py: the shape of its results, never their speed.

300 fingerprints of UJIIndoorLoc building 0, 2,000 study pairs, a 100-fingerprint subset for the
comparison with scipy, 50 validation queries against 300 training fingerprints, 3 metrics (one of
them, LGD, without a scipy peer), R = 1. Checked: the JSON keys, a finite positive time (or a
skip reason) for every timed thing, the files on disk, the cross-checks' structure.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest
from conftest import load_benchmark

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dml.py"
METRICS = ("euclidean", "cosine", "lgd")
_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)

pytestmark = pytest.mark.skipif(not (DATA_ROOT / "ujiindoorloc").is_dir(),
                                reason=f"UJIIndoorLoc not found under {DATA_ROOT}")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_dml.py")


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_dml")
    doc = bench.run(repeats=1, out=out, metrics=METRICS, max_pairs=2_000, subset=100,
                    queries=50, scenario_size=300, db_size=300, verbose=False)
    return doc, out


def test_json_has_the_expected_keys(bench, tiny):
    doc, out = tiny
    for key in ("schema", "benchmark", "created", "quick", "machine", "load_average_before",
                "data", "settings", "memory", "timing", "rows", "pairs_vs_scipy", "checks",
                "elapsed_seconds"):
        assert key in doc, key
    on_disk = json.loads((out / "dml_speed.json").read_text())
    assert on_disk["benchmark"] == "dml_speed"
    assert on_disk["rows"] == json.loads(json.dumps(doc["rows"]))
    assert on_disk["settings"]["metrics"] == list(METRICS)
    for key in ("cores", "cpu_model", "versions", "threads"):
        assert key in doc["machine"], key
    assert "torch" in doc["machine"]["versions"] and "faiss" not in doc["machine"]["versions"]
    sc = doc["data"]["scenario"]
    assert sc["name"] == "ujiindoorloc/b0" and sc["fingerprints"] == 300
    assert sc["pairs"] == 2_000 and sc["subset"] == {"size": 100, "pairs": 4_950, "seed": [0, 1]}
    kn = doc["data"]["knn"]
    assert kn["queries"]["used"] == 50 and kn["database"]["used"] == 300
    assert kn["database"]["dropped_empty"] == 76  # UJIIndoorLoc training's empty fingerprints
    mem = doc["memory"]
    assert mem["max_memory_bytes"] == bench.distances.MAX_MEMORY
    assert mem["knn_rows_per_block"] >= 1 and mem["database_fingerprints"] == 300
    assert doc["settings"]["meta_metric"]["population"] == 30
    assert doc["settings"]["meta_metric"]["generations"] == 2
    assert doc["settings"]["embedding"]["settings"]["steps_per_epoch"] == 5


def test_every_timing_is_finite_or_skipped_with_a_reason(tiny):
    doc, out = tiny
    rows = {r["method"]: r for r in doc["rows"]}
    expected = {"correlation_study", "knn/meta_metric", "knn/embedding", "knn/sklearn_brute"}
    for m in METRICS:
        expected |= {f"ours_sampled/{m}", f"ours_allpairs/{m}", f"knn/{m}"}
    expected |= {"scipy_pdist/euclidean", "scipy_pdist/cosine"}  # LGD: no scipy peer
    assert set(rows) == expected
    for key, r in rows.items():
        if r["seconds"] is None:
            assert isinstance(r["skipped"], str) and r["skipped"], key
            continue
        assert r["skipped"] is None, key
        assert math.isfinite(r["seconds"]) and r["seconds"] > 0, key
        assert len(r["times"]) == r["repeats"] == 1 and r["seconds"] == min(r["times"]), key
        assert math.isfinite(r["per_second"]) and r["per_second"] > 0, key
        assert r["unit"] == ("queries" if r["section"] == "knn" else "pairs"), key
        if r["section"] == "knn":
            assert r["n_items"] == 50
            assert math.isfinite(r["fit_seconds"]) and r["fit_seconds"] > 0, key
            assert r["peak_traced_bytes"] is not None and r["peak_traced_bytes"] > 0, key
            assert math.isfinite(r["info"]["mean_error_m"]), key
    assert rows["correlation_study"]["info"]["rows"] == len(METRICS) * 4
    with (out / "dml_speed.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [t["method"] for t in table] == [r["method"] for r in doc["rows"]]
    for t in table:
        assert t["seconds_best"] or t["skipped"], t


def test_scipy_comparison_and_checks(tiny):
    doc, _ = tiny
    table = {p["metric"]: p for p in doc["pairs_vs_scipy"]}
    assert list(table) == list(METRICS)
    assert table["lgd"]["scipy_metric"] is None and table["lgd"]["scipy_pdist_pairs_per_s"] is None
    for m in ("euclidean", "cosine"):
        p = table[m]
        assert p["scipy_metric"] == m
        assert p["ours_allpairs_over_scipy"] > 0
        assert p["agrees_with_scipy"] is True, p  # the same distances, to float32 precision
        assert p["study_seconds_scipy_all_pairs_estimate"] > 0
    c = doc["checks"]
    assert 0.0 <= c["euclidean_vs_sklearn_positions_agree_share"] <= 1.0
    assert c["euclidean_vs_sklearn_max_neighbour_distance_diff"] < 1e-6


def test_report_prints_both_parts(bench, tiny):
    doc, _ = tiny
    text = bench.report(doc)
    assert "(1) correlation study" in text and "(2) kNN" in text
    for name in ("sklearn_brute", "meta_metric", "embedding", *METRICS):
        assert name in text
    assert "MAX_MEMORY = 256 MiB" in text

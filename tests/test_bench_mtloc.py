"""A tiny run of benchmarks/bench_mtloc.py: the shape of its results, never their speed.

300 of site2's training samples, batch size 32 only, 1 torch thread, growth at 100 and 200
samples, R = 1 (both sites are still parsed: their load time is part of the results). Checked:
the JSON keys, a finite positive time (or a skip reason) for every timed thing, the files on disk,
the throughput table and the paper-profile estimate's structure.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest
from conftest import load_benchmark

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mtloc.py"
MODELS = ("mtloc_scratch", "mtloc_transfer", "imu_pretrain")
TRAIN_SIZE, GROWTH = 300, (100, 200)
_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)

pytestmark = pytest.mark.skipif(not (DATA_ROOT / "ms-ilc2020").is_dir(),
                                reason=f"ms-ilc2020 not found under {DATA_ROOT}")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_mtloc.py")


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_mtloc")
    doc = bench.run(repeats=1, out=out, batch_sizes=(32,), threads=(1,), train_size=TRAIN_SIZE,
                    growth_sizes=GROWTH, verbose=False)
    return doc, out


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_json_has_the_expected_keys(tiny):
    doc, out = tiny
    for key in ("schema", "benchmark", "created", "quick", "machine", "load_average_before",
                "data", "settings", "timing", "rows", "throughput", "growth",
                "paper_profile_estimate_hours", "paper_profile_estimate", "checks",
                "elapsed_seconds"):
        assert key in doc, key
    on_disk = json.loads((out / "mtloc_training.json").read_text())
    assert on_disk["benchmark"] == "mtloc_training"
    assert on_disk["rows"] == json.loads(json.dumps(doc["rows"]))
    for key in ("cores", "cpu_model", "versions", "threads"):
        assert key in doc["machine"], key
    assert "torch" in doc["machine"]["versions"] and "faiss" not in doc["machine"]["versions"]
    d = doc["data"]
    assert d["source"] == "site1" and d["target"] == "site2"
    assert d["timed_train_samples"] == TRAIN_SIZE < d["target_train_samples"]
    assert d["traces"]["site1"] > 0 and d["traces"]["site2"] > 0 and d["target_aps"] > 0
    st = doc["settings"]
    assert st["batch_sizes"] == [32] and st["threads"] == [1] and st["device"] == "cpu"
    assert list(st["models"]) == list(MODELS) and st["epochs_per_timing"] == 1
    assert doc["checks"]["estimate_counts_match_built_samples"] is True


def test_every_timing_is_finite_or_skipped_with_a_reason(tiny):
    doc, out = tiny
    rows = {r["method"]: r for r in doc["rows"]}
    expected = {"data/load_site/site1", "data/load_site/site2", "data/ap_vocabulary",
                "data/build_samples", "predict/mtloc/t1", "baseline/wifi_knn"}
    expected |= {f"train/{m}/b32/t1" for m in MODELS}
    expected |= {f"growth/mtloc_scratch/n{n}" for n in GROWTH}
    assert set(rows) == expected
    for key, r in rows.items():
        if r["seconds"] is None:
            assert isinstance(r["skipped"], str) and r["skipped"], key
            continue
        assert r["skipped"] is None, key
        assert _positive(r["seconds"]) and r["seconds"] == min(r["times"]), key
        assert len(r["times"]) == r["repeats"] == 1, key
        assert _positive(r["per_second"]), key
        if r["section"] in ("train", "growth"):
            assert r["unit"] == "samples" and r["batch_size"] == 32 and r["threads"] == 1, key
            # the timed epoch is inside the fit call
            assert _positive(r["call_seconds"]) and r["call_seconds"] >= r["seconds"], key
            assert r["info"]["steps_per_epoch"] == -(-r["n_items"] // 32), key
            assert r["info"]["trainable_parameters"] > 0, key
    for m in MODELS:
        assert rows[f"train/{m}/b32/t1"]["n_items"] == TRAIN_SIZE
    # the transferred model trains fewer weights than the one from scratch
    assert (rows["train/mtloc_transfer/b32/t1"]["info"]["trainable_parameters"]
            < rows["train/mtloc_scratch/b32/t1"]["info"]["trainable_parameters"])
    assert rows["data/build_samples"]["n_items"] == doc["data"]["target_train_samples"]
    knn = rows["baseline/wifi_knn"]
    assert knn["info"]["k"] in doc["settings"]["data_settings"]["knn_k"]
    assert math.isfinite(knn["info"]["mean_error_m_test"])
    with (out / "mtloc_training.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [t["method"] for t in table] == [r["method"] for r in doc["rows"]]
    for t in table:
        assert t["seconds_best"] or t["skipped"], t


def test_throughput_growth_and_estimate(tiny):
    doc, _ = tiny
    sps = doc["throughput"]["samples_per_s"]
    assert set(sps) == {*MODELS, "mtloc_predict"}
    for m in MODELS:
        assert _positive(sps[m]["b32"]["t1"]), m
    assert doc["throughput"]["most_threads_over_one"] == {}  # one thread count only
    g = doc["growth"]
    assert g["sizes"] == list(GROWTH) and math.isfinite(g["exponent"])
    assert _positive(g["prefactor_s"]) and g["model"] == "mtloc_scratch"
    e = doc["paper_profile_estimate"]
    assert _positive(doc["paper_profile_estimate_hours"])
    assert e["paper_profile_estimate_hours"] == doc["paper_profile_estimate_hours"]
    assert "2 + sum(rates)" in e["formula"]
    p = e["profile"]
    assert len(e["runs"]) == len(p["seeds"]) * len(p["directions"])
    assert math.isclose(p["sum_rates"], 4.5)
    # the headline: sample-epochs / the measured batch-32, 1-thread MTLoc rate
    assert math.isclose(doc["paper_profile_estimate_hours"],
                        e["sample_epochs"] / sps["mtloc_scratch"]["b32"]["t1"] / 3600)
    assert _positive(e["by_model"]["hours"])
    assert _positive(e["validation"]["hours"]) and _positive(e["validation"]["predictions"])


def test_report_prints_every_part(bench, tiny):
    doc, _ = tiny
    text = bench.report(doc)
    for s in ("(1) data", "(2) training", "(3) growth", "(4) the paper profile", "wifi_knn",
              *MODELS):
        assert s in text, s

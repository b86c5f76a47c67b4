"""A tiny run of benchmarks/bench_mst.py: the shape of its results, never their speed.

``run(quick=True)``: 64 fingerprints per set, all four networks, all four phases on UJI, Tampere
and UJI-LIB, 1 torch thread, R = 1, the bf16 check with 2 epochs (about 20 s). Checked: the JSON keys, a finite positive time
(or a skip reason) for every timing, the files on disk, that the profiles' estimates are
``experiment.estimate`` of the measured table, the targets, the performance page's renderer, and
the argument checks (which fail before any data is read).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest
import torch
from conftest import load_benchmark

from ipsbook.book import performance
from ipsbook.book.performance import write_performance_page
from ipsbook.methods.mst.experiment import EPOCH_MS, Settings, estimate

MODELS = ("dnn", "cnnloc", "bayescnn", "baat")
DATASETS = ("ujiindoorloc", "tampere", "uji-lib")
PHASES = ("standalone", "teacher", "distill", "eval")
_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)

needs_data = pytest.mark.skipif(
    not all((DATA_ROOT / d).is_dir() for d in ("ujiindoorloc", "tut3", "uji-lib")),
    reason=f"paper C's datasets not found under {DATA_ROOT}",
)


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_mst.py")


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_mst")
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("IPSBOOK_DATA_DIR"):
            mp.setenv("IPSBOOK_DATA_DIR", str(DATA_ROOT))
        doc = bench.run(quick=True, out=out, threads=(1,), cuda=False, verbose=False)
    return doc, out


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@needs_data
def test_json_has_the_expected_keys(tiny):
    doc, out = tiny
    for key in ("schema", "benchmark", "created", "quick", "machine", "load_average_before",
                "load_average_after", "data", "settings", "timing", "cuda", "stored_epoch_ms",
                "rows", "tables", "ratio_summary", "precision", "estimates", "targets",
                "elapsed_seconds"):
        assert key in doc, key
    assert doc["benchmark"] == "mst_training" and doc["quick"] is True
    on_disk = json.loads((out / "mst_training.json").read_text())
    assert on_disk["benchmark"] == "mst_training"
    assert on_disk["rows"] == json.loads(json.dumps(doc["rows"]))
    for key in ("cores", "cpu_model", "versions", "threads"):
        assert key in doc["machine"], key
    assert "torch" in doc["machine"]["versions"]
    st = doc["settings"]
    assert st["threads"] == [1] and st["devices"] == ["cpu"] and st["repeats"] == 1
    assert list(st["models"]) == list(MODELS) and list(st["phases"]) == list(PHASES)
    assert st["sizes"] == dict.fromkeys(MODELS, 64)
    assert st["epochs_per_timing"] == 2 and st["distill_ablations"]["baat"] == "++"
    assert st["distill_ablations"]["dnn"] == "+++"
    d = doc["data"]["datasets"]
    assert set(d) == set(DATASETS)
    for info in d.values():
        assert info["train"] > 64 and info["test"] > 64 and info["anchors"] > 0
        assert set(info["timed_train"].values()) == {64}
    assert doc["data"]["teacher_sources"]["tampere"] == ["ujiindoorloc", "uji-lib"]
    assert doc["cuda"]["timed"] is False and doc["cuda"]["note"]


@needs_data
def test_every_timing_is_finite_or_skipped_with_a_reason(tiny):
    doc, out = tiny
    rows = {r["method"]: r for r in doc["rows"]}
    assert set(rows) == {f"{p}/{m}/{d}/t1" for p in PHASES for m in MODELS for d in DATASETS}
    for key, r in rows.items():
        if r["seconds"] is None:
            assert isinstance(r["skipped"], str) and r["skipped"], key
            continue
        assert r["skipped"] is None and r["n_items"] == 64 and r["threads"] == 1, key
        assert _positive(r["seconds"]) and r["seconds"] == min(r["times"]), key
        assert len(r["times"]) == r["repeats"] == 1, key
        for k in ("ms_per_fingerprint", "per_second", "stored_ms", "ratio_to_stored"):
            assert _positive(r[k]), (key, k)
        assert math.isclose(r["ms_per_fingerprint"], 1e3 * r["seconds"] / 64)
        assert r["stored_ms"] == EPOCH_MS[r["phase"]][r["model"]][r["dataset"]]
        if r["phase"] == "eval":
            assert _positive(r["warmup_seconds"]), key
        else:  # the timed epoch is the second of the call
            assert _positive(r["info"]["first_epoch_seconds"]), key
            assert r["call_seconds"] >= r["seconds"] + r["info"]["first_epoch_seconds"], key
            assert r["info"]["samples_per_epoch"] == 64 and r["info"]["trainable_parameters"] > 0
    with (out / "mst_training.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [t["method"] for t in table] == [r["method"] for r in doc["rows"]]
    for t in table:
        assert t["ms_per_fingerprint"] or t["skipped"], t


@needs_data
def test_tables_estimates_and_targets(bench, tiny):
    doc, _ = tiny
    ms = doc["tables"]["ms_per_fingerprint"]
    assert list(ms) == ["t1"]
    assert set(ms["t1"]) == set(PHASES)
    assert all(set(ms["t1"][p]) == set(MODELS) for p in PHASES)
    rs = doc["ratio_summary"]
    assert rs["cells"] == 48 and rs["min"] <= rs["median"] <= rs["max"]
    for name in ("quick", "paper"):
        e = doc["estimates"][name]
        assert e["workers"] == 2 and e["runs"] > 0
        # every cell of the four timed phases was measured; others (CNNLoc's "sae") are stored
        assert all(c.split("/")[0] not in PHASES for c in e["cells_from_stored_epoch_ms"])
        assert len(e["cells_from_stored_epoch_ms"]) == sum(
            len(by_d) for p, per in EPOCH_MS.items() if p not in PHASES for by_d in per.values())
        for k in ("cpu_seconds", "cpu_hours", "wall_minutes", "wall_hours", "stored_cpu_seconds",
                  "measured_over_stored"):
            assert _positive(e[k]), (name, k)
        # the estimate is the experiment's own, fed with the measured 1-thread table
        table, filled = bench.epoch_ms_table(ms["t1"])
        assert filled == e["cells_from_stored_epoch_ms"]
        again = estimate(Settings.from_profile(name), epoch_ms=table).seconds.sum()
        assert math.isclose(e["cpu_seconds"], float(again), rel_tol=1e-9)
        assert math.isclose(e["wall_minutes"], e["cpu_seconds"] / 2 / 60)
        assert e["gpu"] is None
    assert doc["estimates"]["paper"]["cpu_seconds"] > doc["estimates"]["quick"]["cpu_seconds"]
    t = doc["targets"]
    q = t["quick_profile_compute_within_25_min_on_2_workers"]
    assert q["met"] is (q["measured"] <= 25) and q["measured"] == doc["estimates"]["quick"][
        "wall_minutes"]
    g = t["paper_profile_on_one_gpu_within_24_h"]
    assert g["met"] is None and g["measured"] is None and g["reason"]


@needs_data
def test_flops_per_sample_and_the_fraction_of_sgemm(tiny):
    doc, _ = tiny
    fl = doc["flops"]
    sg = fl["sgemm"]
    assert sg["threads"] == 1 and _positive(sg["gflop_per_s"]) and _positive(sg["gflop_per_s_median"])
    assert sg["gflop_per_s"] >= sg["gflop_per_s_median"]  # best >= median
    assert set(fl["by_model"]) == set(MODELS)
    for m, by_d in fl["by_model"].items():
        assert set(by_d) == set(DATASETS)
        for d, r in by_d.items():
            assert r["fingerprints"] == 64 and r["batch_size"] == 128
            assert _positive(r["forward_flops_per_sample"]) and _positive(r["samples_per_s_t1"])
            # backward costs more than forward and at most about twice
            assert r["forward_flops_per_sample"] < r["backward_flops_per_sample"] \
                <= 2 * r["forward_flops_per_sample"], (m, d)
            assert math.isclose(r["achieved_gflop_per_s"],
                                r["flops_per_sample"] * r["samples_per_s_t1"] / 1e9)
            assert math.isclose(r["fraction_of_sgemm"], r["achieved_gflop_per_s"] / sg["gflop_per_s"])
    # the counter is exact where we can count by hand: DNN's linear layers 520-512-256-128-2,
    # forward 2*in*out per layer, backward the same twice (weights and inputs) except the
    # first layer's input gradient, which nothing needs
    body = 512 * 256 + 256 * 128 + 128 * 2
    assert fl["by_model"]["dnn"]["ujiindoorloc"]["flops_per_sample"] == 2 * (3 * body + 2 * 520 * 512)


def test_training_flops_counts_every_batch(bench):
    # 200 fingerprints = a batch of 128 and one of 72: per fingerprint the same as one batch
    import numpy as np

    from ipsbook.methods.mst.data import FingerprintSet

    rng = np.random.default_rng(0)
    rss = np.where(rng.random((200, 40)) < 0.3, rng.uniform(-100, -30, (200, 40)), 100.0)
    fs = FingerprintSet("toy", "train", rss, rng.normal(size=(200, 2)) * 10)
    r = bench.training_flops("dnn", fs, 128)
    body = 512 * 256 + 256 * 128 + 128 * 2
    assert r["fingerprints"] == 200
    assert r["flops_per_sample"] == 2 * (3 * body + 2 * 40 * 512)


@needs_data
def test_report_and_the_performance_page(bench, tiny, tmp_path):
    doc, out = tiny
    text = bench.report(doc)
    for s in ("ms per fingerprint", "profiles", "targets", "quick", "paper", *MODELS, *PHASES):
        assert s in text, s
    view = performance.VIEWS["mst_training"](json.loads((out / "mst_training.json").read_text()))
    assert "paper C" in view.title and "EPOCH_MS" in view.summary
    captions = [c for c, _ in view.tables]
    assert any("Milliseconds per fingerprint" in c for c in captions)
    assert any("profiles' cost" in c for c in captions)
    flops = next(t for c, t in view.tables if c.startswith("FLOPs of one"))
    assert any(line.startswith("| `dnn` | ujiindoorloc |") for line in flops)
    ms_table = "\n".join(view.tables[0][1])
    assert "| standalone | `dnn` | ujiindoorloc | 64 |" in ms_table
    assert "t1 [samples/s]" in ms_table and "EPOCH_MS [ms]" in ms_table
    assert len(view.targets) == 2
    bf16 = next(t for c, t in view.tables if c.startswith("bf16 autocast"))
    assert any(line.startswith("| `bayescnn` | tampere |") for line in bf16)
    assert not any("`dnn`" in line for line in bf16)
    assert "bf16 autocast" in text and "seed dev" in text
    dest = tmp_path / "book" / "performance.md"
    write_performance_page(out, tmp_path / "no-runs", "quick", dest)
    page = dest.read_text()
    assert "(mst_training-bench)=" in page and "No renderer knows" not in page
    assert "`quick_profile_compute_within_25_min_on_2_workers`" in page


@needs_data
def test_the_precision_section_times_bayescnn_and_baat_in_both_precisions(tiny):
    doc, _ = tiny
    pr = doc["precision"]
    assert pr["models"] == ["bayescnn", "baat"] and pr["epochs"] == 2
    methods = {r["method"] for r in pr["rows"]}
    assert methods == {f"precision/{m}/{d}/{p}" for m in ("bayescnn", "baat")
                       for d in DATASETS for p in ("fp32", "bf16")}
    # the precision rows stay out of the main table and its estimates
    assert not any(r["method"].startswith("precision/") for r in doc["rows"])
    for m in ("bayescnn", "baat"):
        for d in DATASETS:
            c = pr["by_model"][m][d]
            assert _positive(c["fp32_ms"]) and _positive(c["bf16_ms"]) and _positive(c["speedup"])
            assert set(c["curves"]) == {"fp32_seed0", "fp32_seed1", "bf16_seed0"}
            assert all(len(v) == 2 for v in c["curves"].values())
            assert set(c["test_mae_m"]) == set(c["curves"])
            assert all(_positive(v) for v in c["test_mae_m"].values())
            assert isinstance(c["within_tolerance"], bool)


def test_curve_check_passes_a_curve_closer_than_another_seed_and_fails_a_farther_one(bench):
    fp32_0, fp32_1 = [10.0, 8.0, 7.0], [10.5, 8.5, 7.5]  # seed to seed: 0.5 m
    near = bench.curve_check(fp32_0, fp32_1, [10.2, 7.9, 7.1])
    assert near["bf16_vs_fp32_m"] == pytest.approx(0.4 / 3)
    assert near["seed_vs_seed_m"] == pytest.approx(0.5) and near["within_tolerance"] is True
    assert near["last_m"] == {"fp32_seed0": 7.0, "fp32_seed1": 7.5, "bf16_seed0": 7.1}
    far = bench.curve_check(fp32_0, fp32_1, [11.0, 9.0, 8.0])
    assert far["bf16_vs_fp32_m"] == pytest.approx(1.0) and far["within_tolerance"] is False
    with pytest.raises(ValueError, match="same, non-zero length"):
        bench.curve_check([1.0], [1.0, 2.0], [1.0])


def test_the_precision_names_map_to_the_package_switch(bench):
    assert bench._bf16("bf16") is True and bench._bf16("fp32") is False
    with pytest.raises(ValueError, match="precision='fp16'"):
        bench._bf16("fp16")
    assert bench._train_cfg(2, 1, "cpu", cpu_bf16=True).cpu_bf16 is True


def test_bad_arguments_fail_before_any_work(bench):
    with pytest.raises(ValueError, match="repeats"):
        bench.run(repeats=0, verbose=False)
    with pytest.raises(ValueError, match="models"):
        bench.run(models=("resnet",), verbose=False)
    with pytest.raises(ValueError, match="datasets"):
        bench.run(datasets=("uts",), verbose=False)
    with pytest.raises(ValueError, match="phases"):
        bench.run(phases=("pretrain",), verbose=False)
    with pytest.raises(ValueError, match="size of 'dnn'"):
        bench.run(size=1, models=("dnn",), verbose=False)
    with pytest.raises(ValueError, match="threads"):
        bench.run(threads=(0,), verbose=False)
    with pytest.raises(ValueError, match="precision_epochs"):
        bench.run(precision_epochs=-1, verbose=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda=True"):
            bench.run(cuda=True, verbose=False)

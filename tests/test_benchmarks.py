"""A tiny run of benchmarks/run.py: its correctness cross-checks and the shape of its results.

No timing is asserted here: the speed targets are the benchmark's own verdicts (``make bench``),
never a timed unit test. What is checked is that the targets are computed on the package's
kernels, from the recorded times, with the right verdict.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark

from ipsbook.book import benchio

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("run.py")


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    doc = bench.run(cells=2000, beacons=64, queries=200, repeats=1, out=out,
                    growth_cells=(500, 1000), diagnose=False, verbose=False)
    return doc, out


def test_tiny_run_cross_checks_pass(tiny):
    doc, _ = tiny
    checks = doc["checks"]
    assert checks["all_ok"], checks
    for key in ("packed_nearest_vs_numpy_popcount", "packed_search_ties_vs_numpy_popcount"):
        assert checks[key]["ok"], key
    faiss_present = doc["methods"]["faiss_binary_flat"]["seconds"] is not None
    if faiss_present:
        assert checks["packed_vs_faiss_binary"]["distances_equal"]
        assert checks["numpy_vs_faiss_l2_float"]["ok"]
    else:
        assert doc["methods"]["faiss_binary_flat"]["skipped"]
    assert checks["numpy_vs_sklearn_float"]["ok"]


def test_json_and_csv_have_the_expected_keys(tiny):
    doc, out = tiny
    on_disk = json.loads((out / "bfp_search.json").read_text())
    assert on_disk["sizes"] == doc["sizes"]
    for key in ("machine", "sizes", "methods", "ratios", "targets", "memory", "checks", "growth",
                "timing", "load_average_before"):
        assert key in on_disk, key
    mc = on_disk["machine"]
    for key in ("cores", "cpu_model", "versions", "threads", "all_pools_use_all_cores"):
        assert key in mc, key
    for key in ("python", "numpy", "numba", "faiss", "sklearn"):
        assert key in mc["versions"], key
    assert "numba" in mc["threads"] and "faiss_omp" in mc["threads"]
    for name in ("packed_nearest", "packed_search_ties", "numpy_float_nn", "sklearn_brute",
                 "faiss_binary_flat", "faiss_flat_l2"):
        row = on_disk["methods"][name]
        assert row["seconds"] is None and row["skipped"] or row["seconds"] > 0, name
        if row["seconds"] is not None:
            assert row["queries_per_s"] > 0
    for key in ("float_nn_over_packed", "sklearn_over_packed", "packed_over_faiss_binary"):
        assert key in on_disk["ratios"], key
    for key in ("packed_10x_faster_than_float_nn", "packed_within_2x_of_faiss_binary"):
        assert set(on_disk["targets"][key]) >= {"required", "measured", "met"}
    mem = on_disk["memory"]
    assert mem["float32_map_bytes"] == 2000 * 64 * 4
    assert mem["packed_map_bytes"] == 2000 * 8
    g = on_disk["growth"]
    assert g["cells"] == [500, 1000]
    assert {"packed_nearest", "numpy_float_nn"} <= set(g["loglog_fit"])
    assert np.isfinite(g["loglog_fit"]["packed_nearest"]["exponent"])

    with open(out / "bfp_search.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows if r["section"] == "search"} >= {
        "packed_nearest", "packed_search_ties", "numpy_float_nn"}
    assert sum(r["section"] == "growth" for r in rows) >= 4


def test_float_nn_numpy_matches_brute_force(bench):
    rng = np.random.default_rng(1)
    base = rng.normal(size=(300, 8)).astype(np.float32)
    q = rng.normal(size=(50, 8)).astype(np.float32)
    # a block budget that forces several chunks
    idx, d = bench.float_nn_numpy(base, q, block_bytes=300 * 4 * 7)
    full = ((q[:, None, :].astype(np.float64) - base[None]) ** 2).sum(-1)
    assert np.array_equal(idx, full.argmin(axis=1))
    np.testing.assert_allclose(d, full.min(axis=1), rtol=1e-4, atol=1e-4)


def test_bad_sizes_are_refused(bench):
    with pytest.raises(ValueError, match="cells"):
        bench.make_map(0, 64, 10)
    with pytest.raises(ValueError, match="repeats"):
        bench.run(cells=100, beacons=8, queries=10, repeats=0, verbose=False)


def test_binary_cross_check_accepts_ties_and_catches_wrong_answers(bench):
    from ipsbook.methods.hamming import nearest, pack_bits

    bits = np.zeros((4, 64), dtype=np.uint8)
    bits[2, :3] = 1
    bits[3, :3] = 1  # codes 2 and 3 are identical: a tie for a query near them
    bits[1, :40] = 1
    codes, q = pack_bits(bits), pack_bits(bits[[2, 1]])
    p_idx, p_d = nearest(codes, q)
    assert p_idx.tolist() == [2, 1]
    ok = bench._binary_agreement(codes, q, p_idx, p_d, np.array([3, 1]), p_d)  # 3: equal tie
    assert ok["ok"] and ok["n_differ"] == 1 and ok["differ_all_ties"]
    bad = bench._binary_agreement(codes, q, p_idx, p_d, np.array([0, 1]), p_d)  # 0: farther
    assert not bad["ok"] and not bad["differ_all_ties"]
    bad = bench._binary_agreement(codes, q, p_idx, p_d, p_idx, p_d + 1)
    assert not bad["ok"] and not bad["distances_equal"]


def test_float_cross_check_accepts_near_ties_only(bench):
    base = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    q = np.array([[1.0, 0.0]], dtype=np.float32)  # exactly between cells 0 and 1
    assert bench._float_agreement(base, q, np.array([0]), np.array([1]))["ok"]
    assert not bench._float_agreement(base, q, np.array([0]), np.array([2]))["ok"]


def test_no_prototype_is_left(tiny):
    # the blocked kernel now lives in ipsbook.methods.hamming; benchmarks time only the package
    _, out = tiny
    assert not (BENCH.parent / "proto_hamming.py").exists()
    for path in (out / "bfp_search.json", out / "bfp_search.csv"):
        assert "proto" not in path.read_text().lower(), path.name
    src = BENCH.read_text()
    assert "proto_" not in src and "sys.path" not in src


def test_targets_are_judged_on_the_package_kernels(tiny, bench):
    doc, _ = tiny
    sec = {k: r["seconds"] for k, r in doc["methods"].items()}
    cases = (("packed_10x_faster_than_float_nn", "numpy_float_nn", "packed_nearest",
              lambda r: r >= bench.TARGET_FLOAT_OVER_PACKED),
             ("packed_within_2x_of_faiss_binary", "packed_nearest", "faiss_binary_flat",
              lambda r: r <= bench.TARGET_PACKED_OVER_FAISS))
    for key, num, den, verdict in cases:
        t = doc["targets"][key]
        assert t["numerator"] == {"method": num, "seconds": sec[num]}, key
        assert t["denominator"] == {"method": den, "seconds": sec[den]}, key
        if sec[den] is None:  # faiss missing: not measured, not failed
            assert t["measured"] is None and t["met"] is None
            continue
        assert t["measured"] == pytest.approx(sec[num] / sec[den])
        assert t["met"] is verdict(t["measured"])
    assert doc["targets"]["packed_10x_faster_than_float_nn"]["required"] == ">= 10"
    assert doc["targets"]["packed_within_2x_of_faiss_binary"]["required"] == "<= 2"
    text = bench.report(doc)
    assert "target packed_10x_faster_than_float_nn:" in text
    assert "target packed_within_2x_of_faiss_binary:" in text


def test_diagnosis_counts_the_package_kernels(bench):
    diag = bench.vectorisation_report()
    assert set(diag) == {"hamming._nearest1", "hamming._search_ties1",
                         "hamming._search_ties (multi-word)"}
    for counts in diag.values():
        assert set(counts) == {"vpopcntq", "popcnt_scalar", "vpminsq", "zmm", "ymm"}
        assert all(isinstance(v, int) and v >= 0 for v in counts.values())
    flags = benchio.cpuinfo()["flags"]
    if "avx512_vpopcntdq" in flags and not os.environ.get("NUMBA_CPU_NAME"):
        # the blocked one-word kernels are branch-free per block: vector popcount + vector min
        for key in ("hamming._nearest1", "hamming._search_ties1"):
            assert diag[key]["vpopcntq"] > 0 and diag[key]["vpminsq"] > 0, (key, diag[key])

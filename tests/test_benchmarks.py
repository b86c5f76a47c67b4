"""A tiny run of benchmarks/run.py: its correctness cross-checks and the shape of its results.

No timing is asserted here: the speed targets are the benchmark's own verdicts (``make bench``),
never a timed unit test.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ipsbook_bench_run", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


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
    for key in ("packed_nearest_vs_numpy_popcount", "packed_search_ties_vs_numpy_popcount",
                "proto_nearest_equals_package", "proto_search_ties_equals_package"):
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

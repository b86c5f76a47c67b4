"""The generated performance page (ipsbook.book.performance), with and without benchmark results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from ipsbook.book import performance
from ipsbook.book.performance import PerformanceError, write_performance_page

MACHINE = {
    "cores": 2, "os_cpu_count": 4, "cpu_model": "Test CPU 9000", "llvm_host_cpu": "znver5",
    "cpu_mhz_reported": 2596.1, "memory_bytes": 8 * 2**30, "platform": "Linux-test",
    "versions": {"python": "3.11.7", "numpy": "2.4.6", "faiss": "1.15.1"},
    "threads": {"numba": 2}, "all_pools_use_all_cores": True, "cpu_flags": ["avx2"],
}


def _bfp_search() -> dict:
    def method(label, kind, seconds):
        return {"label": label, "kind": kind, "seconds": seconds, "seconds_median": seconds,
                "queries_per_s": 1000 / seconds, "ns_per_distance": seconds}
    return {
        "schema": 2, "benchmark": "bfp_search", "created": "2026-01-01T00:00:00+0000",
        "quick": False, "machine": MACHINE, "load_average_before": [0.5, 0.5, 0.5],
        "sizes": {"cells": 100_000, "beacons": 64, "queries": 1000, "repeats": 3},
        "methods": {
            "packed_nearest": method("packed (ipsbook nearest)", "binary", 0.1),
            "numpy_float_nn": method("NumPy float NN", "float", 2.0),
            "faiss_binary_flat": method("faiss binary", "binary", 0.05),
            "sklearn_brute": {"label": "scikit-learn", "kind": "float", "seconds": None,
                              "skipped": "scikit-learn is not installed"},
        },
        "memory": {"float32_map_bytes": 25_600_000, "packed_map_bytes": 800_000,
                   "float_over_packed": 32.0},
        "growth": {
            "queries": 1000,
            "rows": [{"method": "packed_nearest", "cells": n, "seconds": 1e-6 * n}
                     for n in (1000, 10_000, 100_000)],
            "loglog_fit": {"packed_nearest": {"exponent": 1.0, "prefactor_s": 1e-6}},
        },
        "targets": {
            "packed_10x_faster_than_float_nn": {"required": ">= 10", "measured": 20.0,
                                                "met": True},
            "informational": {"within_2x_of_faiss": {"required": "<= 2", "measured": 2.5,
                                                     "met": False}},
        },
        "elapsed_seconds": 12.0,
    }


def _edm_scaling() -> dict:
    sizes = (10, 30, 100)
    rows = [{"method": m, "n_aps": n, "seconds": a * n ** k, "skipped": None}
            for m, a, k in (("mds", 1e-4, 1.0), ("smacof_sklearn", 1e-4, 1.5),
                            ("smacof_weighted", 2e-4, 1.5), ("wr_iag", 1e-5, 2.0))
            for n in sizes]
    rows.append({"method": "wr_iag", "n_aps": 300, "seconds": None, "skipped": "time limit"})
    return {
        "schema": 1, "benchmark": "edm_scaling", "machine": MACHINE, "sizes": [*sizes, 300],
        "methods": {m: {"label": m.upper()} for m in
                    ("mds", "smacof_sklearn", "smacof_weighted", "wr_iag")},
        "rows": rows,
        "growth": {"wr_iag": {"exponent": 2.0, "prefactor_s": 1e-5}},
        "targets": {"wr_iag_100_aps_within_2s": {"required": "<= 2 s", "seconds": 0.1,
                                                 "met": None, "reason": "test"}},
    }


def _dml_speed() -> dict:
    return {
        "schema": 1, "benchmark": "dml_speed", "machine": MACHINE,
        "data": {"scenario": {"name": "ujiindoorloc/b0", "pairs": 2000}},
        "rows": [
            {"section": "study", "method": "correlation_study", "what": "study(b0)",
             "seconds": 1.5, "per_second": 1333.0, "unit": "pairs"},
            {"section": "knn", "method": "knn/euclidean", "n_items": 50, "seconds": 0.4,
             "info": {"mean_error_m": 8.0, "predict_over_sklearn": 4.0}},
            {"section": "knn", "method": "knn/sklearn_brute", "n_items": 50, "seconds": 0.1,
             "info": {"predict_over_sklearn": 1.0}},
        ],
        "pairs_vs_scipy": [{"metric": "euclidean", "ours_allpairs_pairs_per_s": 2e6,
                            "scipy_pdist_pairs_per_s": 1e6, "ours_allpairs_over_scipy": 2.0,
                            "agrees_with_scipy": True}],
    }


def _write_results(folder: Path, *records: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rec in records:
        (folder / f"{rec['benchmark']}.json").write_text(json.dumps(rec))
    (folder / "bfp_search.csv").write_text("section,method,seconds_best\nsearch,x,0.1\n")
    return folder


def _runs(root: Path) -> Path:
    for name, wall in (("bfp", 20.165), ("ftm", 29.0)):
        folder = root / "smoke" / name
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({
            "name": name, "profile": "smoke", "wall_s": wall, "git_commit": "abcdef0123456789",
            "git_dirty": False, "started": "2026-01-01T00:00:00+00:00", "executed_on": "local",
            "host": "vm"}))
    return root


def test_page_without_results_says_how_to_make_them(tmp_path: Path) -> None:
    dest = tmp_path / "book" / "performance.md"
    write_performance_page(tmp_path / "no-results", _runs(tmp_path / "runs"), "smoke", dest,
                           linked=["bfp"])
    text = dest.read_text()
    assert "`make bench` has not been run on this machine" in text and "    make bench" in text
    assert "## Chapter run times (profile `smoke`)" in text
    assert "| {doc}`bfp <chapters/bfp>` | 20.16 |" in text  # a book page: linked
    assert "| `ftm` | 29 |" in text  # not a page of the book: not linked (no dead link)
    assert "Total: 49.16 s over 2 chapter(s)." in text
    assert not (tmp_path / "book" / performance.ASSETS).exists()
    empty = tmp_path / "book2" / "performance.md"
    write_performance_page(tmp_path / "no-results", tmp_path / "no-runs", "quick", empty)
    assert "No chapter has run under `quick` yet" in empty.read_text()


def test_page_with_results(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "results", _bfp_search(), _edm_scaling(), _dml_speed(),
                             {"benchmark": "new_thing", "machine": MACHINE,
                              "rows": [{"method": "a", "seconds": 0.5}]})
    dest = tmp_path / "book" / "performance.md"
    write_performance_page(results, _runs(tmp_path / "runs"), "smoke", dest)
    text = dest.read_text()
    assets = tmp_path / "book" / performance.ASSETS
    for name in ("bfp_search", "edm_scaling", "dml_speed", "new_thing"):
        assert f"({name}-bench)=" in text, name
        assert (assets / f"{name}.json").is_file()
    assert "has not been run" not in text
    # the machine, as the JSON records it
    assert "Test CPU 9000" in text and "2 usable of 4" in text and "faiss 1.15.1" in text
    # tables: numbers, a skipped method, targets (a missed one in bold)
    assert "| `packed_nearest` | packed (ipsbook nearest) | binary | 0.1 |" in text
    assert "skipped: scikit-learn is not installed" in text
    assert "| `packed_10x_faster_than_float_nn` | \\>= 10 | 20 | met |" in text
    assert "| `informational: within_2x_of_faiss` | \\<= 2 | 2.5 | **missed** |" in text
    assert "not judged (test)" in text
    assert "| `wr_iag` | WR\\_IAG | 0.001 | 0.009 | 0.1 | skipped | 2 |" in text
    # growth: the stored exponent, or one fitted here when the JSON has none
    assert "| `packed_nearest` | 1.00 | 1e-06 |" in text
    assert "| `wr_iag` | 2.00 | 1e-05 |" in text
    assert "This benchmark sweeps no size" in text  # dml_speed
    assert "No renderer knows this benchmark yet" in text
    # figures: PNG files the page points to; data copies for download
    figures = sorted(p.name for p in assets.glob("*.png"))
    assert figures == ["bfp_search_growth.png", "bfp_search_speedup1.png",
                       "dml_speed_speedup1.png", "dml_speed_speedup2.png",
                       "edm_scaling_growth.png", "edm_scaling_speedup1.png"]
    for png in figures:
        assert f"{performance.ASSETS.as_posix()}/{png}" in text
        assert (assets / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "{download}`bfp_search.csv <_generated/performance/bfp_search.csv>`" in text
    # the same inputs give the same files; a result that went away takes its assets along
    before = {p.name: p.read_bytes() for p in assets.iterdir()}
    write_performance_page(results, tmp_path / "runs", "smoke", dest)
    assert {p.name: p.read_bytes() for p in assets.iterdir()} == before and \
        dest.read_text() == text
    (results / "dml_speed.json").unlink()
    write_performance_page(results, tmp_path / "runs", "smoke", dest)
    assert not list(assets.glob("dml_speed*"))


def test_speedups_are_peer_over_ipsbook() -> None:
    view = performance.VIEWS["bfp_search"](_bfp_search())
    assert dict(view.speedups[0].bars) == pytest.approx(
        {"numpy_float_nn": 20.0, "faiss_binary_flat": 0.5})
    dml = performance.VIEWS["dml_speed"](_dml_speed())
    assert dict(dml.speedups[1].bars) == {"euclidean": 0.25}  # 4x slower than scikit-learn
    edm = performance.VIEWS["edm_scaling"](_edm_scaling())
    xs, ys = edm.speedups[0].lines["mds / wr_iag"]
    assert xs == [10, 30, 100] and ys == pytest.approx([1e-4 * n / (1e-5 * n**2) for n in xs])


def test_fit_recovers_a_power_law() -> None:
    k, a = performance._fit([10, 100, 1000], [3e-3 * n**1.5 for n in (10, 100, 1000)])
    assert k == pytest.approx(1.5) and a == pytest.approx(3e-3)
    assert performance._fit([10], [1.0]) is None


def test_unreadable_result_is_named(tmp_path: Path) -> None:
    (tmp_path / "bfp_search.json").write_text("{not json")
    with pytest.raises(PerformanceError, match=r"bfp_search\.json is not valid JSON.*make bench"):
        performance.load_results(tmp_path)
    (tmp_path / "bfp_search.json").write_text("[1, 2]")
    with pytest.raises(PerformanceError, match="JSON object expected"):
        performance.load_results(tmp_path)


def test_the_projects_own_results_render(tmp_path: Path) -> None:
    results = REPO / "benchmarks" / "results"
    found = performance.load_results(results)
    if not found:
        pytest.skip("benchmarks/results is empty (`make bench` has not been run)")
    dest = tmp_path / "performance.md"
    write_performance_page(results, tmp_path / "no-runs", "quick", dest)
    text = dest.read_text()
    for res in found:
        assert f"({res.name}-bench)=" in text
        assert str((res.data.get("machine") or {}).get("cores", "")) in text


def _mtloc_training() -> dict:
    def row(section, model, b, t, n, secs, **kw):
        return {"section": section, "method": f"{section}/{model}/b{b}/t{t}", "model": model,
                "batch_size": b, "threads": t, "n_items": n, "unit": "samples",
                "seconds": secs, "per_second": n / secs, **kw}

    rows = [row("train", "mtloc_scratch", 32, 1, 1000, 0.2), row("train", "mtloc_scratch", 128, 1,
            1000, 0.1), row("train", "imu_pretrain", 32, 1, 1000, 0.05),
            row("predict", "mtloc_scratch", None, 1, 500, 0.01, what="predict"),
            row("growth", "mtloc_scratch", 32, 1, 100, 0.02),
            row("growth", "mtloc_scratch", 32, 1, 400, 0.08)]
    return {"benchmark": "mtloc_training", "machine": MACHINE, "rows": rows,
            "growth": {"model": "mtloc_scratch", "exponent": 1.0, "prefactor_s": 2e-4},
            "paper_profile_estimate": {"paper_profile_estimate_hours": 2.5, "formula": "f"}}


def test_mtloc_training_view() -> None:
    view = performance.VIEWS["mtloc_training"](_mtloc_training())
    caption, lines = view.tables[0]
    assert "Training samples per second" in caption
    text = "\n".join(lines)
    assert "| `mtloc_scratch` | 5,000 | 10,000 |" in text  # b32 t1, b128 t1
    assert "| `imu_pretrain` | 20,000 | — |" in text
    assert dict(view.speedups[0].bars)["mtloc_scratch b128 t1"] == pytest.approx(2.0)
    assert view.growth is not None and view.growth.fits["mtloc_scratch"] == (1.0, 2e-4)
    assert view.growth.series["mtloc_scratch"] == ([100, 400], [0.02, 0.08])
    assert any("`paper` profile" in c for c, _ in view.tables)


def test_frozen_reference_results_render_beside_local_ones(tmp_path: Path) -> None:
    from ipsbook.book import freeze, runner

    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    bench = _write_results(root / "benchmarks" / "results", _bfp_search())
    project = runner.open_project(root)
    dest_dir = freeze.freeze_bench(project=project)
    assert (dest_dir / "bfp_search.json").is_file() and freeze.verify(project) == []
    # a fresh checkout: no local results, the frozen ones are shown, labelled
    for f in bench.glob("*"):
        f.unlink()
    dest = tmp_path / "book" / "performance.md"
    write_performance_page(bench, tmp_path / "no-runs", "quick", dest, reference_dir=dest_dir)
    text = dest.read_text()
    assert "no local benchmark tables or plots here. The reference machine's results are " \
           "below (frozen)." in text
    assert "## Reference machine (frozen)" in text and "(bfp_search-bench-ref)=" in text
    assert "Test CPU 9000, 2 cores, run on 2026-01-01" in text
    assert "MANIFEST" not in text  # the bundle's checksums are no benchmark
    with pytest.raises(freeze.FreezeError, match="run `make bench` first"):
        freeze.freeze_bench(project=project)

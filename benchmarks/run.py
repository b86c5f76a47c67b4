"""Speed and memory of paper D's packed Hamming search against the tools a user would pick instead.

One synthetic radio map (log-distance path loss + log-normal shadowing, float32 RSSI), binarised
per beacon at its median, and noisy queries drawn from random cells. Every method runs on the
same map and the same queries, in one process, after one warm-up call each; the R timed repeats
are *interleaved* (repeat 1 of every method, then repeat 2, ...) so that a burst of load from
other processes hits every method alike, and the best of R wall times (``time.perf_counter``)
is kept. Correctness is cross-checked on every run. See ``benchmarks/README.md``.

    python benchmarks/run.py                       # 100k cells x 64 beacons, 10k queries, R=3
    python benchmarks/run.py --quick               # a smaller, faster run
    python benchmarks/run.py --cells 300000 --repeats 5 --out /tmp/bench

Results: ``<out>/bfp_search.json`` (everything), ``<out>/bfp_search.csv`` (one row per timing),
and a table on stdout. ``run(...)`` is the same thing as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ipsbook.book import benchio
from ipsbook.book.benchio import csv_number as _fmt
from ipsbook.book.benchio import log, loglog_fit
from ipsbook.methods import hamming

HERE = Path(__file__).resolve().parent
SCHEMA = 2  # 2: the prototype kernel and its rows, ratios and checks are gone (now the package's)
DEFAULT_OUT = HERE / "results"
DEFAULT_GROWTH = (10_000, 30_000, 100_000, 300_000)
QUICK = {"cells": 20_000, "queries": 2_000, "repeats": 2, "growth_cells": (5_000, 10_000, 20_000,
                                                                           40_000)}
TARGET_FLOAT_OVER_PACKED = 10.0  # the issue: packed search >= 10x faster than the float NN
TARGET_PACKED_OVER_FAISS = 2.0  # the issue: packed search within 2x of faiss IndexBinaryFlat
FLOAT_BLOCK_BYTES = 256 * 2**20  # numpy float NN: (chunk x cells) float32 block, well under 2 GB


# --------------------------------------------------------------------------------------------
# the synthetic radio map
# --------------------------------------------------------------------------------------------

def make_map(cells: int, beacons: int, queries: int, *, seed: int = 0, sigma_w: float = 4.0,
             erase_frac: float = 0.10) -> dict[str, Any]:
    """A radio map of ``cells`` grid points x ``beacons`` beacons and its binary codebook.

    RSSI = -40 dBm - 10 * 2.5 * log10(d) + N(0, 6 dB) shadowing (independent per link), float32.
    Codes: bit b of a cell is 1 iff its RSSI from beacon b exceeds that beacon's median over the
    map. Queries: the RSSI of a random cell plus N(0, sigma_w) measurement noise, binarised with
    the same medians; the ``erase_frac`` of query bits closest to their threshold are erased
    (mask bit 0: paper D's neutral value), as ``search_ties`` expects.
    """
    for name, value, low in (("cells", cells, 1), ("beacons", beacons, 1), ("queries", queries, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not 0.0 <= erase_frac < 1.0:
        raise ValueError(f"erase_frac must be in [0, 1), got {erase_frac!r}")
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(cells)))
    ij = np.stack(np.divmod(np.arange(cells), side), axis=1).astype(np.float64)
    centres = ij + 0.5  # 1 m cells
    bxy = rng.uniform(0.0, side, size=(beacons, 2))
    rssi = np.empty((cells, beacons), dtype=np.float32)
    for s in range(0, cells, 65_536):  # float64 temporaries stay small
        c = centres[s:s + 65_536]
        d = np.sqrt(((c[:, None, :] - bxy[None, :, :]) ** 2).sum(-1) + 1.5**2)  # beacons 1.5 m up
        rssi[s:s + len(c)] = -40.0 - 25.0 * np.log10(d) + rng.normal(0.0, 6.0, size=d.shape)
    med = np.median(rssi, axis=0).astype(np.float32)
    truth = rng.integers(0, cells, size=queries)
    q_rssi = (rssi[truth] + rng.normal(0.0, sigma_w, size=(queries, beacons))).astype(np.float32)
    margin = np.abs(q_rssi - med)
    delta = float(np.quantile(margin, erase_frac)) if erase_frac > 0 else -1.0
    q_mask = margin > delta
    return {
        "rssi": rssi, "centres": centres, "truth": truth, "q_rssi": q_rssi,
        "codes": hamming.pack_bits(rssi > med),
        "q_codes": hamming.pack_bits(q_rssi > med),
        "q_mask": hamming.pack_bits(q_mask),
        "erased_fraction": float(1.0 - q_mask.mean()),
        "erase_delta_db": delta,
    }


# --------------------------------------------------------------------------------------------
# the methods (each a zero-argument callable on prepared data; building is not timed)
# --------------------------------------------------------------------------------------------

def float_nn_numpy(base: np.ndarray, queries: np.ndarray,
                   block_bytes: int = FLOAT_BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean 1-NN in float32 with NumPy/BLAS: ``||q||^2 - 2 q.c + ||c||^2``, argmin.

    Queries go in chunks so the ``(chunk, cells)`` block stays under ``block_bytes``.
    Returns ``(index, squared distance)``.
    """
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    cc = np.einsum("ij,ij->i", base, base)
    qq = np.einsum("ij,ij->i", queries, queries)
    chunk = max(1, min(len(queries), block_bytes // (4 * len(base))))
    idx = np.empty(len(queries), dtype=np.int64)
    dist = np.empty(len(queries), dtype=np.float32)
    # One block reused for every chunk: fresh 256 MB blocks cost ~20% in page faults. The
    # (chunk, cells) block is written by GEMM, updated, then scanned by argmin: with 64 beacons
    # this baseline is bound by memory traffic on that block more than by FLOPs.
    block = np.empty((chunk, len(base)), dtype=np.float32)
    base_t = base.T
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk] * np.float32(-2.0)  # -2 folded into the queries: one pass fewer
        g = block[:len(q)]
        np.matmul(q, base_t, out=g)
        g += cc
        a = np.argmin(g, axis=1)
        idx[s:s + chunk] = a
        dist[s:s + chunk] = g[np.arange(len(a)), a] + qq[s:s + chunk]
    return idx, dist


def _import_optional(name: str) -> tuple[Any, str | None]:
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # noqa: BLE001 - any import failure means "skipped, with why"
        return None, f"{type(exc).__name__}: {exc}"


def _methods(m: dict[str, Any], faiss: Any, faiss_err: str | None, sklearn_nn: Any,
             sklearn_err: str | None) -> tuple[dict[str, dict], dict[str, float]]:
    """Method table and the (untimed) build times of the indexes."""
    codes, q_codes, q_mask = m["codes"], m["q_codes"], m["q_mask"]
    rssi, q_rssi, centres = m["rssi"], m["q_rssi"], m["centres"]
    build: dict[str, float] = {}
    methods: dict[str, dict] = {
        "packed_nearest": {
            "label": "packed Hamming 1-NN (ipsbook nearest)", "kind": "binary",
            "fn": lambda: hamming.nearest(codes, q_codes)},
        "packed_search_ties": {
            "label": "packed Hamming + erasures + tie mean (ipsbook search_ties)", "kind": "binary",
            "fn": lambda: hamming.search_ties(codes, q_codes, q_mask, centres)},
        "numpy_float_nn": {
            "label": "NumPy float32 Euclidean 1-NN (BLAS, chunked)", "kind": "float",
            "fn": lambda: float_nn_numpy(rssi, q_rssi)},
    }
    if sklearn_nn is not None:
        t = time.perf_counter()
        nn = sklearn_nn(n_neighbors=1, algorithm="brute").fit(rssi)
        build["sklearn_brute"] = time.perf_counter() - t
        methods["sklearn_brute"] = {
            "label": "scikit-learn NearestNeighbors brute 1-NN", "kind": "float",
            "fn": lambda: nn.kneighbors(q_rssi, n_neighbors=1, return_distance=True)}
    else:
        methods["sklearn_brute"] = {"label": "scikit-learn NearestNeighbors brute 1-NN",
                                    "kind": "float", "skipped": sklearn_err}
    if faiss is not None:
        codes_u8 = codes.view(np.uint8)  # little-endian words -> bytes in bit order 0..63
        q_u8 = q_codes.view(np.uint8)
        t = time.perf_counter()
        ib = faiss.IndexBinaryFlat(8 * codes_u8.shape[1])
        ib.add(codes_u8)
        build["faiss_binary_flat"] = time.perf_counter() - t
        t = time.perf_counter()
        il2 = faiss.IndexFlatL2(rssi.shape[1])
        il2.add(rssi)
        build["faiss_flat_l2"] = time.perf_counter() - t
        methods["faiss_binary_flat"] = {
            "label": "faiss IndexBinaryFlat 1-NN", "kind": "binary",
            "fn": lambda: ib.search(q_u8, 1)}
        methods["faiss_flat_l2"] = {
            "label": "faiss IndexFlatL2 1-NN (float peer)", "kind": "float",
            "fn": lambda: il2.search(q_rssi, 1)}
    else:
        for key, label in (("faiss_binary_flat", "faiss IndexBinaryFlat 1-NN"),
                           ("faiss_flat_l2", "faiss IndexFlatL2 1-NN (float peer)")):
            methods[key] = {"label": label, "kind": "binary" if "binary" in key else "float",
                            "skipped": faiss_err}
    return methods, build


def _time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int,
                      verbose: bool) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """One untimed warm-up call each (numba compile or cache load, BLAS/OpenMP thread start),
    then ``repeats`` rounds over all methods in turn (:func:`benchio.time_interleaved`): the
    warm-ups' results and every method's times. A method that fails ends the run."""
    results: dict[str, Any] = {}
    jobs = {name: {"row": {"times": [], "warmup_seconds": None, "skipped": None, "info": {}},
                   "run": fn, "errors": (),
                   "check": lambda res, name=name: results.__setitem__(name, res) or {}}
            for name, fn in fns.items()}
    benchio.time_interleaved(jobs, repeats, verbose, pause_s=0.05)
    failed = {k: j["row"]["skipped"] for k, j in jobs.items() if j["row"]["skipped"]}
    if failed:
        raise RuntimeError(f"methods failed: {failed}")
    return results, {name: job["row"]["times"] for name, job in jobs.items()}


def _traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated through tracemalloc-visible allocators (NumPy arrays) during fn."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return int(peak - base)


# --------------------------------------------------------------------------------------------
# correctness cross-checks
# --------------------------------------------------------------------------------------------

def _exact_sq(base: np.ndarray, queries: np.ndarray, idx: np.ndarray) -> np.ndarray:
    diff = queries.astype(np.float64) - base[idx].astype(np.float64)
    return np.einsum("ij,ij->i", diff, diff)


def _float_agreement(base: np.ndarray, queries: np.ndarray, ia: np.ndarray, ib: np.ndarray,
                     rtol: float = 1e-4) -> dict[str, Any]:
    """Indices may differ only where the two candidates are equally near (float32 near-ties)."""
    differ = np.flatnonzero(ia != ib)
    da = _exact_sq(base, queries[differ], ia[differ])
    db = _exact_sq(base, queries[differ], ib[differ])
    near_tie = np.abs(da - db) <= rtol * np.maximum(np.maximum(da, db), 1e-12)
    return {"index_agree_fraction": float(1.0 - len(differ) / max(1, len(ia))),
            "n_differ": len(differ), "differ_all_near_ties": bool(near_tie.all()),
            "ok": bool(near_tie.all())}


def _binary_agreement(codes: np.ndarray, q_codes: np.ndarray, p_idx: np.ndarray,
                      p_d: np.ndarray, f_idx: np.ndarray, f_d: np.ndarray) -> dict[str, Any]:
    """Packed 1-NN vs another binary 1-NN: equal distances; other indices only on ties."""
    f_idx, f_d = np.asarray(f_idx, dtype=np.int64), np.asarray(f_d, dtype=np.int64)
    differ = np.flatnonzero(f_idx != p_idx)
    # the other index must be at the same distance (an equally good tie), by an independent count
    tie_d = np.bitwise_count(q_codes[differ] ^ codes[f_idx[differ]]).sum(axis=1, dtype=np.int64)
    same_d = bool(np.array_equal(f_d, p_d))
    ties = bool(np.array_equal(tie_d, p_d[differ]))
    return {"distances_equal": same_d,
            "index_agree_fraction": float(1.0 - len(differ) / max(1, len(f_idx))),
            "n_differ": len(differ), "differ_all_ties": ties,
            "bit_order": "uint64 words viewed as little-endian uint8 bytes: same distances"
            if same_d else "MISMATCH",
            "ok": same_d and ties}


def _hamming_ref(codes: np.ndarray, q: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(n_q, n_codes) Hamming distances with NumPy's own popcount (independent of the kernels)."""
    x = q[:, None, :] ^ codes[None, :, :]
    if mask is not None:
        x &= mask[:, None, :]
    return np.bitwise_count(x).sum(axis=2, dtype=np.int64)


def _checks(m: dict[str, Any], res: dict[str, Any], n_ref: int = 64) -> dict[str, Any]:
    codes, q_codes, q_mask = m["codes"], m["q_codes"], m["q_mask"]
    rssi, q_rssi, centres = m["rssi"], m["q_rssi"], m["centres"]
    out: dict[str, Any] = {}
    p_idx, p_d = res["packed_nearest"]
    sub = np.linspace(0, len(q_codes) - 1, min(n_ref, len(q_codes))).astype(np.int64)

    ref = _hamming_ref(codes, q_codes[sub])
    out["packed_nearest_vs_numpy_popcount"] = {
        "n_queries": len(sub),
        "ok": bool(np.array_equal(p_d[sub], ref.min(axis=1))
                   and np.array_equal(p_idx[sub], ref.argmin(axis=1)))}

    est, t_d, n_t = res["packed_search_ties"]
    ref = _hamming_ref(codes, q_codes[sub], q_mask[sub])
    mins = ref.min(axis=1)
    ok = bool(np.array_equal(t_d[sub], mins))
    for r, i in enumerate(sub):
        sel = ref[r] == mins[r]
        ok = ok and bool(n_t[i] == sel.sum()) and bool(np.allclose(est[i],
                                                                  centres[sel].mean(axis=0)))
    out["packed_search_ties_vs_numpy_popcount"] = {"n_queries": len(sub), "ok": bool(ok)}

    if "faiss_binary_flat" in res:
        fd, fi = res["faiss_binary_flat"]
        out["packed_vs_faiss_binary"] = _binary_agreement(codes, q_codes, p_idx, p_d,
                                                          fi[:, 0], fd[:, 0])

    n_idx, _ = res["numpy_float_nn"]
    if "sklearn_brute" in res:
        _, s_idx = res["sklearn_brute"]
        out["numpy_vs_sklearn_float"] = _float_agreement(rssi, q_rssi, n_idx, s_idx[:, 0])
    if "faiss_flat_l2" in res:
        _, f_idx = res["faiss_flat_l2"]
        out["numpy_vs_faiss_l2_float"] = _float_agreement(rssi, q_rssi, n_idx,
                                                          f_idx[:, 0].astype(np.int64))

    truth = m["truth"]
    out["hit_rate_true_cell"] = {  # information, not a check: how often 1-NN returns the cell
        "packed_nearest": float(np.mean(p_idx == truth)),
        "numpy_float_nn": float(np.mean(n_idx == truth)),
    }
    out["all_ok"] = all(v["ok"] for k, v in out.items() if isinstance(v, dict) and "ok" in v)
    return out


# --------------------------------------------------------------------------------------------
# machine, threads, diagnosis
# --------------------------------------------------------------------------------------------

def vectorisation_report() -> dict[str, dict[str, int]]:
    """Count vector vs scalar popcount (and vector min) instructions in the package's kernels.

    ``_nearest1`` and ``_search_ties1`` are the blocked one-word kernels (<= 64 bits), whose
    branch-free per-block min-reduction should compile to vector popcounts; ``_search_ties`` is
    the plain multi-word kernel (> 64 bits), counted for contrast. The package's kernels are
    cached (numba refuses to disassemble cached code), so uncached copies of the same Python
    functions are compiled here, for the host CPU, on tiny inputs.
    """
    import numba

    def count(pyfunc: Callable, args: tuple) -> dict[str, int]:
        f = numba.njit(parallel=True, nogil=True)(pyfunc)
        f(*args)
        asm = "\n".join(f.inspect_asm().values())
        names = {"vpopcntq": "vpopcntq", "popcnt_scalar": "\tpopcnt", "vpminsq": "vpminsq",
                 "zmm": "zmm", "ymm": "ymm"}
        return {k: asm.count(w) for k, w in names.items()}

    n, q = 64, 8

    def args_nearest(words: int) -> tuple:
        return (np.zeros((n, words), np.uint64), np.zeros((q, words), np.uint64),
                np.empty(q, np.int64), np.empty(q, np.int64))

    def args_ties(words: int) -> tuple:
        codes, qq = np.zeros((n, words), np.uint64), np.zeros((q, words), np.uint64)
        return (codes, qq, qq, np.zeros((n, 2)), np.empty((q, 2)), np.empty(q, np.int64),
                np.empty(q, np.int64))

    return {
        "hamming._nearest1": count(hamming._nearest1.py_func, args_nearest(1)),
        "hamming._search_ties1": count(hamming._search_ties1.py_func, args_ties(1)),
        "hamming._search_ties (multi-word)": count(hamming._search_ties.py_func, args_ties(2)),
    }


# --------------------------------------------------------------------------------------------
# growth with the number of cells
# --------------------------------------------------------------------------------------------

def growth(cells_list: Sequence[int], beacons: int, queries: int, repeats: int, seed: int,
           verbose: bool) -> dict[str, Any]:
    """Best-of-R time of the package's packed 1-NN and the NumPy float NN vs number of cells."""
    cells_list = sorted({int(c) for c in cells_list})
    rows: list[dict[str, Any]] = []
    for n in cells_list:
        m = make_map(int(n), beacons, queries, seed=seed)
        fns: dict[str, Callable[[], Any]] = {
            "packed_nearest": lambda m=m: hamming.nearest(m["codes"], m["q_codes"]),
            "numpy_float_nn": lambda m=m: float_nn_numpy(m["rssi"], m["q_rssi"]),
        }
        log(verbose, f"growth: {n} cells x {queries} queries")
        _, times = _time_interleaved(fns, repeats, verbose)
        for name, ts in times.items():
            rows.append({"method": name, "cells": int(n), "queries": queries,
                         "seconds": min(ts), "times": ts})
    fits = {}
    for name in dict.fromkeys(r["method"] for r in rows):
        pts = [(r["cells"], r["seconds"]) for r in rows if r["method"] == name]
        if len(pts) >= 2:
            fit = loglog_fit(pts)  # exponent_largest_two: where fixed costs matter least
            fits[name] = {k: fit[k] for k in ("exponent", "prefactor_s", "exponent_largest_two")}
    return {"queries": queries, "beacons": beacons, "cells": cells_list,
            "rows": rows, "loglog_fit": fits,
            "note": "seconds = a * cells^exponent fitted by least squares on log-log; "
                    "exponent 1 = linear scan"}


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else float(a / b)


def run(cells: int = 100_000, beacons: int = 64, queries: int = 10_000, repeats: int = 3, *,
        out: str | Path | None = None, growth_cells: Sequence[int] | None = DEFAULT_GROWTH,
        growth_queries: int | None = None, seed: int = 0, sigma_w: float = 4.0,
        erase_frac: float = 0.10, memory: bool = True, diagnose: bool = True,
        verbose: bool = True, quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; return the results dict and, when ``out`` is given, write
    ``bfp_search.json`` and ``bfp_search.csv`` there (atomically: a failed run leaves the last
    good files alone)."""
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    t_start = time.perf_counter()
    load_before = benchio.load_average()
    faiss, faiss_err = _import_optional("faiss")
    sk, sk_err = _import_optional("sklearn.neighbors")
    sklearn_nn = getattr(sk, "NearestNeighbors", None) if sk is not None else None

    log(verbose, f"map: {cells} cells x {beacons} beacons, {queries} queries (seed {seed})")
    t = time.perf_counter()
    m = make_map(cells, beacons, queries, seed=seed, sigma_w=sigma_w, erase_frac=erase_frac)
    t_map = time.perf_counter() - t
    t = time.perf_counter()
    hamming.pack_bits(m["rssi"] > np.median(m["rssi"], axis=0))
    t_pack = time.perf_counter() - t

    methods, build = _methods(m, faiss, faiss_err, sklearn_nn, sk_err)
    build["pack_bits_with_median"] = t_pack
    fns = {k: v["fn"] for k, v in methods.items() if "fn" in v}
    results, times = _time_interleaved(fns, repeats, verbose)
    checks = _checks(m, results)

    peaks: dict[str, int | None] = {}
    if memory:
        for k, fn in fns.items():
            # faiss (C++) and scikit-learn's OpenMP backend allocate outside Python's tracer
            peaks[k] = None if k.startswith(("faiss", "sklearn")) else _traced_peak(fn)

    n_pairs = cells * queries
    table: dict[str, dict[str, Any]] = {}
    for k, meta in methods.items():
        row: dict[str, Any] = {"label": meta["label"], "kind": meta["kind"]}
        if "skipped" in meta:
            row.update(skipped=meta["skipped"], seconds=None)
        else:
            ts = times[k]
            best = min(ts)
            row.update(seconds=best, seconds_median=statistics.median(ts), times=ts,
                       queries_per_s=queries / best, ns_per_distance=1e9 * best / n_pairs,
                       core_ns_per_distance=1e9 * best * benchio.cores() / n_pairs,
                       peak_traced_bytes=peaks.get(k))
        table[k] = row

    sec = {k: v["seconds"] for k, v in table.items()}
    fastest_float_key = min((k for k in sec if table[k]["kind"] == "float"
                             and sec[k] is not None), key=lambda k: sec[k], default=None)
    fastest_float = sec[fastest_float_key] if fastest_float_key else None
    ratios = {
        "float_nn_over_packed": _ratio(sec["numpy_float_nn"], sec["packed_nearest"]),
        "sklearn_over_packed": _ratio(sec["sklearn_brute"], sec["packed_nearest"]),
        "faiss_l2_over_packed": _ratio(sec["faiss_flat_l2"], sec["packed_nearest"]),
        "fastest_float_over_packed": _ratio(fastest_float, sec["packed_nearest"]),
        "packed_over_faiss_binary": _ratio(sec["packed_nearest"], sec["faiss_binary_flat"]),
        "search_ties_over_nearest": _ratio(sec["packed_search_ties"], sec["packed_nearest"]),
        "float_nn_over_search_ties": _ratio(sec["numpy_float_nn"], sec["packed_search_ties"]),
    }

    def target(num: str | None, den: str | None, need: float, higher_is_better: bool,
               what: str) -> dict[str, Any]:
        """``measured = t(num) / t(den)``, judged against ``need``; both times are recorded."""
        t_num = sec.get(num) if num else None
        t_den = sec.get(den) if den else None
        measured = _ratio(t_num, t_den)
        met = None if measured is None else (measured >= need if higher_is_better
                                             else measured <= need)
        return {"what": what, "required": (">= " if higher_is_better else "<= ") + f"{need:g}",
                "numerator": {"method": num, "seconds": t_num},
                "denominator": {"method": den, "seconds": t_den},
                "measured": measured, "met": met}

    targets = {  # the two targets, judged on the package's own kernels
        "packed_10x_faster_than_float_nn": target(
            "numpy_float_nn", "packed_nearest", TARGET_FLOAT_OVER_PACKED, True,
            "t(NumPy float32 1-NN) / t(ipsbook nearest)"),
        "packed_within_2x_of_faiss_binary": target(
            "packed_nearest", "faiss_binary_flat", TARGET_PACKED_OVER_FAISS, False,
            "t(ipsbook nearest) / t(faiss IndexBinaryFlat)"),
        "informational": {
            "packed_10x_faster_than_fastest_float_peer": target(
                fastest_float_key, "packed_nearest", TARGET_FLOAT_OVER_PACKED, True,
                "t(fastest of NumPy / sklearn / faiss-L2) / t(ipsbook nearest)"),
            "search_ties_10x_faster_than_float_nn": target(
                "numpy_float_nn", "packed_search_ties", TARGET_FLOAT_OVER_PACKED, True,
                "t(NumPy float32 1-NN) / t(ipsbook search_ties)"),
        },
    }

    mem = {
        "float32_map_bytes": int(m["rssi"].nbytes),
        "packed_map_bytes": int(m["codes"].nbytes),
        "float_over_packed": m["rssi"].nbytes / m["codes"].nbytes,
        "faiss_binary_index_bytes": int(cells * m["codes"].shape[1] * 8) if faiss else None,
        "faiss_l2_index_bytes": int(cells * beacons * 4) if faiss else None,
        "peak_traced_bytes": peaks,
        "note": "peak_traced_bytes: tracemalloc peak above baseline during one extra call "
                "(NumPy arrays and Python objects; allocations inside numba kernels are a few "
                "bytes per thread); faiss and scikit-learn allocate outside the tracer: null",
    }

    g = None
    if growth_cells:
        gq = int(growth_queries or queries)
        g = growth(growth_cells, beacons, gq, repeats, seed, verbose)

    diag = None
    if diagnose:
        log(verbose, "diagnosis: compiling uncached kernel copies to count vector instructions")
        diag = {"machine_code": vectorisation_report()}

    doc: dict[str, Any] = {
        "schema": SCHEMA, "benchmark": "bfp_search",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": bool(quick),
        "machine": benchio.machine(faiss=faiss),
        "load_average_before": load_before,
        "load_average_after": benchio.load_average(),
        "sizes": {"cells": cells, "beacons": beacons, "queries": queries, "repeats": repeats,
                  "words_per_code": int(m["codes"].shape[1]), "distances_per_search": n_pairs,
                  "sigma_w_db": sigma_w, "erased_fraction": m["erased_fraction"],
                  "erase_delta_db": m["erase_delta_db"], "seed": seed},
        "timing": {"method": "one warm-up call each, then best of R perf_counter wall times; "
                             "repeats interleaved across methods",
                   "map_seconds": t_map, "build_seconds": build},
        "methods": table, "ratios": ratios, "targets": targets, "memory": mem,
        "checks": checks, "growth": g, "diagnosis": diag,
        "elapsed_seconds": time.perf_counter() - t_start,
    }
    if out is not None:
        write(doc, Path(out))
    if verbose:
        print(report(doc))
    return doc



def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``bfp_search.json`` (everything) and ``bfp_search.csv`` (one row per timing)."""
    sz = doc["sizes"]
    rows = [["search", k, r["kind"], sz["cells"], sz["beacons"], sz["queries"],
             _fmt(r.get("seconds")), _fmt(r.get("seconds_median")), _fmt(r.get("queries_per_s")),
             _fmt(r.get("ns_per_distance")),
             r.get("peak_traced_bytes") if r.get("peak_traced_bytes") is not None else "",
             r.get("skipped") or ""] for k, r in doc["methods"].items()]
    if doc.get("growth"):
        g = doc["growth"]
        rows += [["growth", r["method"], "", r["cells"], g["beacons"], r["queries"],
                  _fmt(r["seconds"]), _fmt(statistics.median(r["times"])),
                  _fmt(r["queries"] / r["seconds"]),
                  _fmt(1e9 * r["seconds"] / (r["cells"] * r["queries"])), "", ""]
                 for r in g["rows"]]
    return benchio.write_results(
        doc, out, "bfp_search",
        ["section", "method", "kind", "cells", "beacons", "queries", "seconds_best",
         "seconds_median", "queries_per_s", "ns_per_distance", "peak_traced_bytes", "skipped"],
        rows)


def _sec(side: dict[str, Any]) -> str:
    return "n/a" if side["seconds"] is None else f"{side['seconds']:.4f} s"


def report(doc: dict[str, Any]) -> str:
    """The readable table printed at the end of a run."""
    s, mc = doc["sizes"], doc["machine"]
    lines = [
        f"bfp_search: {s['cells']:,} cells x {s['beacons']} beacons ({s['words_per_code']} word(s) "
        f"per code), {s['queries']:,} queries, best of {s['repeats']}"
        + ("  [QUICK]" if doc["quick"] else ""),
        (f"machine: {mc['cpu_model']}, {mc['cores']} cores ({mc['llvm_host_cpu']}); threads: numba "
        f"{mc['threads']['numba']}, faiss {mc['threads']['faiss_omp']}, BLAS/OpenMP pools "
        f"{[p['num_threads'] for p in mc['threads']['threadpoolctl_pools']]}; load avg before "
        f"{doc['load_average_before']}"),
        "",
        (f"{'method':<28}{'seconds':>10}{'median':>10}{'queries/s':>13}{'ns/dist':>9}"
        f"{'x packed':>10}"),
    ]
    packed = doc["methods"]["packed_nearest"]["seconds"]
    for k, r in doc["methods"].items():
        if r.get("seconds") is None:
            lines.append(f"{k:<28}  skipped: {r['skipped']}")
            continue
        lines.append(f"{k:<28}{r['seconds']:>10.4f}{r['seconds_median']:>10.4f}"
                     f"{r['queries_per_s']:>13,.0f}{r['ns_per_distance']:>9.3f}"
                     f"{r['seconds'] / packed:>10.2f}")
    lines.append("  ('x packed' = time / time of packed_nearest; packed_* are the package's "
                 "kernels, ipsbook.methods.hamming)")
    mem = doc["memory"]
    lines += ["", (f"memory: float32 map {mem['float32_map_bytes']:,} B, packed map "
                  f"{mem['packed_map_bytes']:,} B ({mem['float_over_packed']:.0f}x smaller)")]
    rt = doc["ratios"]
    lines.append("ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in rt.items()
                                        if isinstance(v, float)))
    lines.append("")
    for k, t in doc["targets"].items():
        if k == "informational":
            continue
        verdict = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
        meas = "n/a" if t["measured"] is None else f"{t['measured']:.2f}"
        lines.append(f"target {k}: {t['what']} = {_sec(t['numerator'])} / "
                     f"{_sec(t['denominator'])} = {meas} (need {t['required']}): {verdict}")
    for k, t in doc["targets"]["informational"].items():
        verdict = {True: "yes", False: "no", None: "n/a"}[t["met"]]
        meas = "n/a" if t["measured"] is None else f"{t['measured']:.2f}"
        lines.append(f"  (info) {k}: {meas} (need {t['required']}): {verdict}")
    ck = doc["checks"]
    lines.append("")
    lines.append("checks: " + ", ".join(f"{k} {'ok' if v['ok'] else 'FAILED'}"
                                        for k, v in ck.items()
                                        if isinstance(v, dict) and "ok" in v)
                 + f"  => {'ALL OK' if ck['all_ok'] else 'SOME FAILED'}")
    if doc.get("growth"):
        g = doc["growth"]
        lines += ["", f"growth ({g['queries']:,} queries): seconds by cells"]
        methods = list(dict.fromkeys(r["method"] for r in g["rows"]))
        lines.append(f"{'cells':>10}" + "".join(f"{mth:>24}" for mth in methods))
        for c in g["cells"]:
            vals = {r["method"]: r["seconds"] for r in g["rows"] if r["cells"] == c}
            lines.append(f"{c:>10,}" + "".join(f"{vals.get(mth, float('nan')):>24.4f}"
                                               for mth in methods))
        for key, name in (("exponent", "exponent"), ("exponent_largest_two", "exp. top 2")):
            lines.append(f"{name:>10}" + "".join(
                f"{g['loglog_fit'].get(mth, {}).get(key, float('nan')):>24.2f}"
                for mth in methods))
    if doc.get("diagnosis"):
        lines += ["", "machine code (vector popcount / scalar popcount / vector min / zmm / ymm):"]
        for k, v in doc["diagnosis"]["machine_code"].items():
            lines.append(f"  {k:<34} vpopcntq {v['vpopcntq']:>3}  popcnt {v['popcnt_scalar']:>3}  "
                         f"vpminsq {v['vpminsq']:>3}  zmm {v['zmm']:>4}  ymm {v['ymm']:>4}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, default=None, help="cells in the map (default 100000)")
    p.add_argument("--beacons", type=int, default=64, help="beacons = bits per code (default 64)")
    p.add_argument("--queries", type=int, default=None, help="queries (default 10000)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats, best kept (default 3)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help=f"small sizes for a fast look: {QUICK} (explicit options win)")
    p.add_argument("--growth-cells", type=str, default=None,
                   help="comma-separated cell counts for the growth curve "
                        "(default 10000,30000,100000,300000); 'none' to skip")
    p.add_argument("--growth-queries", type=int, default=None, help="queries for the growth curve")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    base = QUICK if a.quick else {"cells": 100_000, "queries": 10_000, "repeats": 3,
                                  "growth_cells": DEFAULT_GROWTH}
    if a.growth_cells is None:
        gc_list = base["growth_cells"]
    elif a.growth_cells.strip().lower() in ("", "none", "0"):
        gc_list = ()
    else:
        gc_list = tuple(int(x) for x in a.growth_cells.split(","))
    doc = run(cells=a.cells or base["cells"], beacons=a.beacons,
              queries=a.queries or base["queries"], repeats=a.repeats or base["repeats"],
              out=a.out, growth_cells=gc_list, growth_queries=a.growth_queries, seed=a.seed,
              quick=a.quick)
    print(f"\nwrote {a.out / 'bfp_search.json'} and {a.out / 'bfp_search.csv'}")
    return 0 if doc["checks"]["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

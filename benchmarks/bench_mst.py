"""Training speed of paper C's chapter (multi-surrogate teachers, ``ipsbook.methods.mst``).

Milliseconds per training fingerprint per epoch, and samples per second, of every network
(DNN, CNNLoc, BayesCNN, bAaT) in every phase the chapter runs, on real data (UJI, Tampere and
UJI-LIB through ``ipsbook.methods.mst.data``), at torch 1 thread (the chapter's
``num_threads=1`` per worker) and at all cores, next to the stored ``experiment.EPOCH_MS`` that
``experiment.estimate`` uses. Phases, each through the package's own function:

* ``standalone``: ``train.train_specialised`` (J_MAE, Adam, batch 128);
* ``teacher``: ``teachers.train_teacher`` (WGAN-GP surrogate teacher of a trained model);
* ``distill``: ``distill.distill`` with two teachers, the sources of the target
  (``experiment.sources_of``), every constraint (bAaT: ``"++"``, no J_FI);
* ``eval``: ``train.evaluate`` (one forward pass in eval mode, batches of 4096) on the test set.

A training timing is one call with ``epochs=2`` on a seeded subset (1,024 fingerprints for
DNN/CNNLoc, 512 for BayesCNN/bAaT, or the whole set when smaller) and its timed quantity is the
*second* epoch's own time (``TrainHistory.epoch_s[-1]``), as ``EPOCH_MS`` was measured: the first
epoch is the warm-up. An evaluation timing is one call after one untimed warm-up call. R timed
repeats run *interleaved* within each phase, and the best of R is kept (the median beside it).

**bf16 autocast** (section ``precision``, BayesCNN and bAaT: the two convolution / attention
networks): the same stand-alone epoch timed in float32 and under the package's own switch,
``TrainConfig(cpu_bf16=True)`` (``torch.autocast("cpu", dtype=torch.bfloat16)`` around each
forward pass; interleaved, 1 thread), and a loss-curve check:
``--precision-epochs`` epochs on the timed subset, float32 with seeds 0 and 1 and bf16 with seed 0, each then evaluated
on the test subset in float32. The tolerance: bf16's loss curve (training J_MAE per epoch, in
metres) lies no farther from float32's (seed 0; mean absolute difference over the epochs) than
float32 with another seed does. The profiles switch it on for BayesCNN
(``Settings.cpu_bf16``); this measures what it gives and checks that it keeps the curve.

The measured 1-thread table then replaces ``EPOCH_MS`` in ``experiment.estimate`` for the
``quick`` and ``paper`` profiles (``Settings.from_profile``): CPU-hours, and wall time on the
``quick`` profile's 2 workers. With CUDA (``torch.cuda.is_available()``) every phase is timed
again with ``device="cuda"`` and the paper profile's time on one GPU is estimated from it;
without, the JSON says that no GPU was available. See ``benchmarks/README.md``.

    python benchmarks/bench_mst.py                  # all models, 3 datasets, R = 3
    python benchmarks/bench_mst.py --quick          # 64 fingerprints, R = 1: about 20 s
    python benchmarks/bench_mst.py --models dnn cnnloc --threads 1 --repeats 5 --out /tmp/b

Results: ``<out>/mst_training.json`` (everything), ``<out>/mst_training.csv`` (one row per
timing), and a table on stdout. ``run(...)`` is the same thing as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ipsbook import profiles
from ipsbook.book import benchio
from ipsbook.book.benchio import csv_number as _fmt
from ipsbook.book.benchio import log
from ipsbook.methods.mst import data
from ipsbook.methods.mst.distill import distill
from ipsbook.methods.mst.experiment import (
    EPOCH_MS,
    MODEL_LABELS,
    Settings,
    estimate,
    full_variant,
    sources_of,
)
from ipsbook.methods.mst.losses import mae_loss
from ipsbook.methods.mst.teachers import TeacherConfig, train_teacher
from ipsbook.methods.mst.train import (
    TrainConfig,
    evaluate,
    model_inputs,
    representations,
    standardise_positions,
    standardised_targets,
    train_specialised,
)
from ipsbook.models.fingerprint import MODELS, build
from ipsbook.torchutil import torch_session

HERE = Path(__file__).resolve().parent
SCHEMA = 1
BENCHMARK = "mst_training"
DEFAULT_OUT = HERE / "results"
DEFAULT_REPEATS = 3
DEFAULT_SIZES = {"dnn": 1024, "cnnloc": 1024, "bayescnn": 512, "baat": 512}  # as EPOCH_MS
QUICK = {"size": 64, "repeats": 1}
DATASETS = tuple(data.DATASETS)  # ujiindoorloc, tampere, uji-lib
PHASES = ("standalone", "teacher", "distill", "eval")
PHASE_LABELS = {"standalone": "stand-alone training (train_specialised)",
                "teacher": "teacher training (train_teacher, WGAN-GP)",
                "distill": "Expert Distilling, two teachers (distill)",
                "eval": "evaluation (evaluate, batches of 4096)"}
EPOCHS_PER_TIMING = 2  # the second epoch is timed; the first is the warm-up
LR = 1e-3  # the paper's rate on UJI, Tampere (and UJI-LIB); the cost does not depend on it
SEED = 0
ESTIMATE_PROFILES = ("quick", "paper")
QUICK_TARGET_MIN = 25.0  # the issue: the whole chapter under quick within 25 min on 2 cores
GPU_TARGET_H = 24.0  # the issue: a paper profile that a GPU finishes in hours, not days
PRECISION_MODELS = ("bayescnn", "baat")  # the networks the issue asks to make 2x faster
PRECISION_EPOCHS = 20  # loss-curve check: epochs of each of the three trainings (quick: 2)
SGEMM_N = 1024  # torch.mm of two n x n float32 matrices: this machine's reference rate
SGEMM_REPEATS = 10


def default_threads() -> tuple[int, ...]:
    """1 and all cores (``os.cpu_count()``), once each."""
    return tuple(sorted({1, os.cpu_count() or 1}))


# --------------------------------------------------------------------------------------------
# data and the experts the phases need
# --------------------------------------------------------------------------------------------

def _subset(fs: data.FingerprintSet, size: int, seed: Sequence[int]) -> data.FingerprintSet:
    """A seeded subset of ``size`` fingerprints (rows kept in order; all when size >= n)."""
    n = len(fs)
    if size >= n:
        return fs
    keep = np.sort(np.random.default_rng(list(seed)).choice(n, size=int(size), replace=False))
    return fs.subset(keep)


def load_sets(datasets: Sequence[str], models: Sequence[str], sizes: Mapping[str, int],
              seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train and test sets of every dataset (timed: first call after ``data.clear_cache()``),
    and per (model, dataset) the seeded training and test subsets the timings use."""
    data.clear_cache()
    full: dict[str, dict[str, data.FingerprintSet]] = {}
    info: dict[str, Any] = {}
    for d in datasets:
        t = time.perf_counter()
        full[d] = {"train": data.load(d, "train"), "test": data.load(d, "test")}
        info[d] = {"label": data.label(d), "anchors": full[d]["train"].n_anchors,
                   "train": len(full[d]["train"]), "test": len(full[d]["test"]),
                   "load_seconds": time.perf_counter() - t, "timed_train": {}, "timed_test": {}}
    subsets: dict[tuple[str, str], dict[str, data.FingerprintSet]] = {}
    for m in models:
        for d in datasets:
            k = DATASETS.index(d)  # the same subset whichever datasets are timed
            tr = _subset(full[d]["train"], sizes[m], (seed, k, 0))
            te = _subset(full[d]["test"], sizes[m], (seed, k, 1))
            subsets[(m, d)] = {"train": tr, "test": te}
            info[d]["timed_train"][m], info[d]["timed_test"][m] = len(tr), len(te)
    return subsets, info


def _model(name: str, n_anchors: int, seed: int = SEED) -> torch.nn.Module:
    """A fresh network, seeded as the experiment builds it (outside any timing)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(name, n_anchors)


def _train_cfg(epochs: int, threads: int, device: str, cpu_bf16: bool = False) -> TrainConfig:
    return TrainConfig(epochs=epochs, lr=LR, restore_best=False, num_threads=threads,
                       device=device, cpu_bf16=cpu_bf16)


def _teacher_cfg(epochs: int, threads: int, device: str) -> TeacherConfig:
    return TeacherConfig(epochs=epochs, num_threads=threads, device=device)


def make_experts(subsets: Mapping[tuple[str, str], Any], threads: int,
                 verbose: bool) -> tuple[dict[tuple[str, str], Any], float]:
    """Per (model, dataset): a model trained one stand-alone epoch on its subset and a teacher
    trained one epoch on it (the teachers of the distilling timings, the model of the teacher
    and evaluation timings; the weights do not change an epoch's cost). Untimed set-up."""
    t0 = time.perf_counter()
    experts = {}
    for (m, d), s in subsets.items():
        model = _model(m, s["train"].n_anchors)
        train_specialised(model, s["train"], config=_train_cfg(1, threads, "cpu"), seed=SEED)
        teacher = train_teacher(model, s["train"], config=_teacher_cfg(1, threads, "cpu"),
                                seed=SEED)
        experts[(m, d)] = {"model": model, "teacher": teacher}
    seconds = time.perf_counter() - t0
    log(verbose, f"set-up: {len(experts)} experts (1 stand-alone + 1 teacher epoch) "
         f"in {seconds:.1f} s")
    return experts, seconds


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------

def _row(phase: str, model: str, dataset: str, device: str, threads: int, n: int,
         repeats: int, what: str) -> dict[str, Any]:
    col = "cuda" if device == "cuda" else f"t{threads}"
    return {"section": phase, "method": f"{phase}/{model}/{dataset}/{col}", "what": what,
            "phase": phase, "model": model, "dataset": dataset, "device": device,
            "threads": threads, "n_items": int(n), "unit": "fingerprints", "repeats": repeats,
            "seconds": None, "seconds_median": None, "times": [], "first_epoch_times": [],
            "call_times": [], "warmup_seconds": None, "call_seconds": None,
            "per_second": None, "ms_per_fingerprint": None,
            "stored_ms": EPOCH_MS.get(phase, {}).get(model, {}).get(dataset),
            "ratio_to_stored": None, "skipped": None, "info": {}}


def _finish(row: dict) -> None:
    """:func:`benchio.finish_row`, then milliseconds per fingerprint and the stored ratio."""
    benchio.finish_row(row)
    if row["seconds"] and row["seconds"] > 0:
        row["ms_per_fingerprint"] = 1e3 * row["seconds"] / row["n_items"]
        if row["stored_ms"]:
            row["ratio_to_stored"] = row["ms_per_fingerprint"] / row["stored_ms"]


def _history(res: Any) -> Any:
    return res.history if hasattr(res, "history") else res  # a Teacher carries its history


def time_interleaved(jobs: dict[str, dict[str, Any]], repeats: int, verbose: bool) -> None:
    """``repeats`` interleaved rounds over ``jobs`` (:func:`benchio.time_interleaved`); results
    go into ``job["row"]``. A job is ``{"row", "run": fn(), "timer"}``: ``"epoch"`` (``run``
    returns a history, or a Teacher with one: the last epoch is timed, the first recorded
    beside it; no separate warm-up call, the call's first epoch is the warm-up) or ``"wall"``
    (the call's wall time, after one untimed warm-up call)."""
    for job in jobs.values():
        job["warmup"] = job["timer"] == "wall"
        if job["timer"] == "epoch":
            job["measure"] = lambda res, wall, row=job["row"]: _epoch_time(row, res, wall)
    benchio.time_interleaved(jobs, repeats, verbose, label=lambda k: k.split("/", 1)[1])
    for job in jobs.values():
        _finish(job["row"])
        if job["row"]["first_epoch_times"]:
            job["row"]["info"]["first_epoch_seconds"] = min(job["row"]["first_epoch_times"])


def _epoch_time(row: dict[str, Any], res: Any, wall: float) -> float:
    """A training call's timed quantity, its last epoch's own time; the first epoch and the
    call's wall time are recorded beside it."""
    h = _history(res)
    row["first_epoch_times"].append(float(h.epoch_s[0]))
    row["call_times"].append(wall)
    row["info"].update(samples_per_epoch=int(h.samples_per_epoch),
                       trainable_parameters=int(h.trainable_parameters),
                       history_device=str(h.device))
    return float(h.epoch_s[-1])


# --------------------------------------------------------------------------------------------
# the jobs: each phase through the package's function
# --------------------------------------------------------------------------------------------

def _job(phase: str, m: str, d: str, device: str, threads: int, subsets: Mapping, experts:
         Mapping, third: str, repeats: int) -> dict[str, Any]:
    s = subsets[(m, d)]
    train, test = s["train"], s["test"]
    e = experts[(m, d)]
    where = f"threads={threads}, device={device!r}"
    if phase == "standalone":
        def run() -> Any:
            model = _model(m, train.n_anchors)  # fresh, outside the timed epoch
            return train_specialised(model, train, seed=SEED,
                                     config=_train_cfg(EPOCHS_PER_TIMING, threads, device))
        what = f"train_specialised(build({m!r}), train, epochs=2, {where}); epoch 2"
        n, timer = len(train), "epoch"
    elif phase == "teacher":
        def run() -> Any:
            return train_teacher(e["model"], train, seed=SEED,
                                 config=_teacher_cfg(EPOCHS_PER_TIMING, threads, device))
        what = f"train_teacher(trained {m}, train, epochs=2, {where}); epoch 2"
        n, timer = len(train), "epoch"
    elif phase == "distill":
        srcs = sources_of(d, third)
        teachers = [experts[(m, x)]["teacher"] for x in srcs]
        ablation = full_variant(m)

        def run() -> Any:
            model = _model(m, train.n_anchors)
            return distill(model, train, teachers, seed=SEED, ablation=ablation,
                           config=_train_cfg(EPOCHS_PER_TIMING, threads, device))
        what = (f"distill(build({m!r}), train, teachers of {' & '.join(map(data.label, srcs))}, "
                f"ablation={ablation!r}, epochs=2, {where}); epoch 2")
        n, timer = len(train), "epoch"
    elif phase == "eval":
        model = e["model"] if device == "cpu" else copy.deepcopy(e["model"]).to(device)

        def run() -> Any:
            with torch_session(SEED, torch.device(device), threads):
                return evaluate(model, test)
        what = f"evaluate(trained {m}, test subset, batch_size=4096), {where}"
        n, timer = len(test), "wall"
    else:
        raise ValueError(f"unknown phase {phase!r}; allowed: {', '.join(PHASES)}")
    return {"row": _row(phase, m, d, device, threads, n, repeats, what), "run": run,
            "timer": timer}


def time_phases(phases: Sequence[str], models: Sequence[str], datasets: Sequence[str],
                threads: Sequence[int], device: str, subsets: Mapping, experts: Mapping,
                third: str, repeats: int, verbose: bool) -> list[dict[str, Any]]:
    rows = []
    for phase in phases:
        log(verbose, f"{phase} on {device}: models {list(models)}, datasets {list(datasets)}, "
             f"threads {list(threads)}")
        jobs = {}
        for m in models:
            for d in datasets:
                for nt in threads:
                    job = _job(phase, m, d, device, nt, subsets, experts, third, repeats)
                    jobs[job["row"]["method"]] = job
        time_interleaved(jobs, repeats, verbose)
        rows += [j["row"] for j in jobs.values()]
    return rows


# --------------------------------------------------------------------------------------------
# tables and the profiles' estimates
# --------------------------------------------------------------------------------------------

def _column(row: Mapping[str, Any]) -> str:
    return "cuda" if row["device"] == "cuda" else f"t{row['threads']}"


def tables(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{quantity: {column: {phase: {model: {dataset: value}}}}}`` with column ``t1``, ``t2``,
    ... or ``cuda``; quantities ``ms_per_fingerprint``, ``samples_per_s``, ``ratio_to_stored``."""
    out: dict[str, Any] = {"ms_per_fingerprint": {}, "samples_per_s": {}, "ratio_to_stored": {}}
    for r in rows:
        if r["ms_per_fingerprint"] is None:
            continue
        for q, key in (("ms_per_fingerprint", "ms_per_fingerprint"),
                       ("samples_per_s", "per_second"), ("ratio_to_stored", "ratio_to_stored")):
            if r[key] is not None:
                out[q].setdefault(_column(r), {}).setdefault(r["phase"], {}).setdefault(
                    r["model"], {})[r["dataset"]] = r[key]
    return out


def ratio_summary(rows: Sequence[Mapping[str, Any]], column: str = "t1") -> dict[str, Any]:
    """Measured / stored ms per fingerprint over the cells of ``column``: median, range, and
    per phase the median."""
    got = [r for r in rows if _column(r) == column and r["ratio_to_stored"] is not None]
    vals = [r["ratio_to_stored"] for r in got]
    out: dict[str, Any] = {"column": column, "cells": len(vals),
                           "median": statistics.median(vals) if vals else None,
                           "min": min(vals) if vals else None, "max": max(vals) if vals else None,
                           "by_phase": {}}
    for p in PHASES:
        v = [r["ratio_to_stored"] for r in got if r["phase"] == p]
        if v:
            out["by_phase"][p] = statistics.median(v)
    return out


def epoch_ms_table(measured: Mapping[str, Any] | None) -> tuple[dict, list[str]]:
    """``EPOCH_MS`` with every measured cell replaced; the cells left at the stored value."""
    table = {p: {m: dict(v) for m, v in per.items()} for p, per in EPOCH_MS.items()}
    filled = []
    for p, per in EPOCH_MS.items():
        for m, by_d in per.items():
            for d in by_d:
                got = ((measured or {}).get(p) or {}).get(m, {}).get(d)
                if got is None:
                    filled.append(f"{p}/{m}/{d}")
                else:
                    table[p][m][d] = float(got)
    return table, filled


def profile_estimates(tabs: Mapping[str, Any], workers: int) -> dict[str, Any]:
    """``experiment.estimate`` of each profile of :data:`ESTIMATE_PROFILES` (all tables) with the
    measured 1-thread table, the stored ``EPOCH_MS`` beside it, and the CUDA table when there is
    one (runs one after the other on one GPU)."""
    ms = tabs["ms_per_fingerprint"]
    measured, filled = epoch_ms_table(ms.get("t1"))
    cuda_table, cuda_filled = epoch_ms_table(ms.get("cuda")) if ms.get("cuda") else (None, None)
    out: dict[str, Any] = {}
    for name in ESTIMATE_PROFILES:
        settings = Settings.from_profile(name)
        df = estimate(settings, epoch_ms=measured)
        stored = estimate(settings)
        cpu_s, stored_s = float(df.seconds.sum()), float(stored.seconds.sum())
        e: dict[str, Any] = {
            "profile": name, "runs": len(df), "workers": int(workers),
            "profile_workers": int(profiles.resolve("mst", name).workers),
            "cpu_seconds": cpu_s, "cpu_hours": cpu_s / 3600,
            "wall_seconds": cpu_s / workers, "wall_minutes": cpu_s / workers / 60,
            "wall_hours": cpu_s / workers / 3600,
            "by_kind_seconds": {k: float(v) for k, v in df.groupby("kind").seconds.sum().items()},
            "by_model_seconds": {k: float(v) for k, v in df.groupby("model").seconds.sum().items()},
            "stored_cpu_seconds": stored_s, "stored_cpu_hours": stored_s / 3600,
            "stored_wall_seconds": stored_s / workers,
            "measured_over_stored": cpu_s / stored_s if stored_s > 0 else None,
            "cells_from_stored_epoch_ms": filled,
            "gpu": None,
        }
        if cuda_table is not None:
            g = float(estimate(settings, epoch_ms=cuda_table).seconds.sum())
            e["gpu"] = {"seconds": g, "hours": g / 3600, "cells_from_stored_epoch_ms":
                        cuda_filled, "what": "every run one after the other on one GPU, the "
                        "measured CUDA table (kNN at the stored CPU rate)"}
        out[name] = e
    return out


def targets(est: Mapping[str, Any], cuda: Mapping[str, Any]) -> dict[str, Any]:
    q, p = est["quick"], est["paper"]
    quick_t = {
        "what": (f"the quick profile's estimated compute (experiment.estimate with the measured "
                 f"1-thread table) on {q['workers']} workers, in minutes"),
        "measured": q["wall_minutes"], "required": f"<= {QUICK_TARGET_MIN:g} min",
        "met": bool(q["wall_minutes"] <= QUICK_TARGET_MIN),
    }
    gpu_t: dict[str, Any] = {
        "what": "the paper profile's estimated time on one GPU (measured CUDA epochs), in hours",
        "required": f"<= {GPU_TARGET_H:g} h (hours, not days)",
    }
    if p["gpu"] is None:
        gpu_t.update(measured=None, met=None, reason=cuda["note"])
    else:
        gpu_t.update(measured=p["gpu"]["hours"], met=bool(p["gpu"]["hours"] <= GPU_TARGET_H))
    return {"quick_profile_compute_within_25_min_on_2_workers": quick_t,
            "paper_profile_on_one_gpu_within_24_h": gpu_t}


# --------------------------------------------------------------------------------------------
# machine info (benchio.machine, plus torch)
# --------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    return benchio.machine(torch=True)


def cuda_info(use: bool | None) -> dict[str, Any]:
    available = bool(torch.cuda.is_available())
    if use is None:
        use = available
    if use and not available:
        raise ValueError("cuda=True asked for, but torch.cuda.is_available() is False")
    if use:
        note = f"CUDA timed: {torch.cuda.get_device_name(0)}"
    elif available:
        note = "a GPU is available but cuda=False: not timed"
    else:
        note = ("no GPU was available (torch.cuda.is_available() is False): nothing was timed "
                "with device='cuda', so the paper profile's GPU time is not estimated")
    return {"available": available, "timed": bool(use), "note": note,
            "device_name": torch.cuda.get_device_name(0) if available else None,
            "torch_cuda": torch.version.cuda}


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def _check_names(what: str, values: Sequence[str], allowed: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out = list(dict.fromkeys(values))
    if not out or any(v not in allowed for v in out):
        raise ValueError(f"{what} must be some of {list(allowed)}, got {list(values)!r}")
    return out


def _sizes(size: int | Mapping[str, int] | None, models: Sequence[str]) -> dict[str, int]:
    given = DEFAULT_SIZES if size is None else (
        size if isinstance(size, Mapping) else dict.fromkeys(models, size))
    out = {}
    for m in models:
        v = given.get(m)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise ValueError(f"size of {m!r} must be an integer >= 2, got {v!r}")
        out[m] = int(v)
    return out


def run(repeats: int | None = None, *, out: str | Path | None = None,
        models: Sequence[str] = MODELS, datasets: Sequence[str] = DATASETS,
        phases: Sequence[str] = PHASES, size: int | Mapping[str, int] | None = None,
        threads: Sequence[int] | None = None, cuda: bool | None = None, seed: int = 0,
        verbose: bool = True, quick: bool = False,
        precision_epochs: int | None = None) -> dict[str, Any]:
    """Run the benchmark; return the results dict and, when ``out`` is given, write
    ``mst_training.json`` and ``mst_training.csv`` there (atomically). ``size``: training
    fingerprints per timing, one number or per model (None: :data:`DEFAULT_SIZES`, or 64 with
    ``quick``); ``threads=None``: 1 and ``os.cpu_count()``; ``cuda=None``: time on CUDA too
    when available. ``repeats=None``: :data:`DEFAULT_REPEATS`, or 1 with ``quick``.
    ``precision_epochs``: epochs of the bf16 loss-curve check (None: :data:`PRECISION_EPOCHS`,
    or 2 with ``quick``; 0 times the two precisions without the curves); the precision section
    runs when the stand-alone phase is timed at 1 thread."""
    if repeats is None:
        repeats = QUICK["repeats"] if quick else DEFAULT_REPEATS
    if isinstance(repeats, bool) or int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    repeats = int(repeats)
    if precision_epochs is None:
        precision_epochs = 2 if quick else PRECISION_EPOCHS
    if isinstance(precision_epochs, bool) or int(precision_epochs) != precision_epochs \
            or precision_epochs < 0:
        raise ValueError(f"precision_epochs must be an integer >= 0, got {precision_epochs!r}")
    precision_epochs = int(precision_epochs)
    models = _check_names("models", models, MODELS)
    datasets = _check_names("datasets", datasets, DATASETS)
    phases = _check_names("phases", phases, PHASES)
    sizes = _sizes(QUICK["size"] if size is None and quick else size, models)
    threads = sorted({int(t) for t in (default_threads() if threads is None else threads)})
    if not threads or any(t < 1 for t in threads):
        raise ValueError(f"threads must be integers >= 1, got {threads!r}")
    cuda_rec = cuda_info(cuda)
    third = "uji-lib"
    t_start = time.perf_counter()
    load_before = benchio.load_average()

    # every source of a distilling target needs its experts: their datasets are loaded too
    need = list(datasets)
    if "distill" in phases:
        need = [d for d in DATASETS if d in datasets or any(
            d in sources_of(t, third) for t in datasets)]
    subsets, data_info = load_sets(need, models, sizes, seed)
    experts, setup_s = make_experts(subsets, max(threads), verbose)
    rows = time_phases(phases, models, datasets, threads, "cpu", subsets, experts, third,
                       repeats, verbose)
    if cuda_rec["timed"]:
        rows += time_phases(phases, models, datasets, [1], "cuda", subsets, experts, third,
                            repeats, verbose)
    tabs = tables(rows)
    precision = (precision_check(models, datasets, subsets, repeats, precision_epochs, verbose)
                 if "standalone" in phases and 1 in threads else {})
    sgemm = sgemm_rate()
    flops = {"sgemm": sgemm, "phase": "standalone", "threads": 1,
             "by_model": flops_table(models, datasets, subsets, rows, sgemm)
             if "standalone" in phases and 1 in threads else {},
             "method": (
                 "FLOPs per training fingerprint: torch.utils.flop_counter.FlopCounterMode over "
                 "one stand-alone pass (forward, J_MAE, backward; batch 128) of a fresh network "
                 "on the timed subset; achieved GFLOP/s = FLOPs per fingerprint x the 1-thread "
                 "stand-alone samples/s of the same cell; fraction = achieved / the 1-thread "
                 f"sgemm rate (torch.mm, {SGEMM_N} x {SGEMM_N} float32, best of "
                 f"{SGEMM_REPEATS})")}
    workers = int(profiles.resolve("mst", "quick").workers)
    est = profile_estimates(tabs, workers)
    doc: dict[str, Any] = {
        "schema": SCHEMA, "benchmark": BENCHMARK,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": bool(quick),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": benchio.load_average(),
        "data": {"datasets": {d: data_info[d] for d in need}, "timed_datasets": datasets,
                 "third": third, "subset_seed": [seed, "dataset index", "0 train / 1 test"],
                 "teacher_sources": {d: list(sources_of(d, third)) for d in datasets}},
        "settings": {
            "repeats": repeats, "models": {m: MODEL_LABELS[m] for m in models},
            "phases": {p: PHASE_LABELS[p] for p in phases}, "sizes": sizes,
            "threads": threads, "devices": ["cpu"] + (["cuda"] if cuda_rec["timed"] else []),
            "epochs_per_timing": EPOCHS_PER_TIMING, "timed_epoch": EPOCHS_PER_TIMING,
            "batch_size": TrainConfig(epochs=1, lr=LR).batch_size, "lr": LR,
            "teacher": {"lr": TeacherConfig(epochs=1).lr, "n_critic": TeacherConfig(epochs=1).n_critic},
            "distill_ablations": {m: full_variant(m) for m in models},
            "estimate_column": "t1", "estimate_workers": workers,
        },
        "timing": {"method": (
            "training phases: one call of the package's function with epochs=2 per timing on a "
            "fresh model (built outside the call, seed 0), the timed quantity the second epoch's "
            "own time (TrainHistory.epoch_s[-1], forward + backward + step of every batch; the "
            "first epoch is the warm-up, recorded as info.first_epoch_seconds), the call's wall "
            "time in call_seconds; evaluation: one untimed warm-up call, then the call's wall "
            "time; best of R perf_counter times, repeats interleaved within each phase"),
            "setup_seconds": setup_s},
        "cuda": cuda_rec,
        "stored_epoch_ms": EPOCH_MS,
        "rows": rows,
        "tables": tabs,
        "ratio_summary": ratio_summary(rows),
        "flops": flops,
        "precision": precision,
        "estimates": est,
        "targets": {},
        "elapsed_seconds": None,
    }
    doc["targets"] = targets(est, cuda_rec)
    doc["elapsed_seconds"] = time.perf_counter() - t_start
    if out is not None:
        write(doc, Path(out))
    if verbose:
        print(report(doc))
    return doc


# --------------------------------------------------------------------------------------------
# bf16 autocast: speed and loss curve
# --------------------------------------------------------------------------------------------

def _bf16(name: str) -> bool:
    """``TrainConfig.cpu_bf16`` for a precision ``name``: ``"bf16"`` (CPU autocast to bfloat16
    around each forward pass: matrix products and convolutions in bf16, the losses, the weights
    and the optimiser in float32) or ``"fp32"``."""
    if name not in ("fp32", "bf16"):
        raise ValueError(f"precision={name!r}; allowed: 'fp32', 'bf16'")
    return name == "bf16"


def _curve(m: str, train: data.FingerprintSet, test: data.FingerprintSet, precision: str,
           seed: int, epochs: int) -> tuple[list[float], float]:
    """The loss curve of ``epochs`` stand-alone epochs at 1 thread under ``precision`` — each
    epoch's mean training J_MAE in metres (J_MAE x the model's ``pos_scale``) — and the trained
    model's mean error on ``test`` (m), evaluated in float32 outside the autocast: the
    de-standardised positions (UJI's are millions of metres from the origin) need float32, which
    a bf16 switch would keep."""
    model = _model(m, train.n_anchors, seed)
    h = train_specialised(model, train, seed=seed, config=TrainConfig(
        epochs=epochs, lr=LR, num_threads=1, cpu_bf16=_bf16(precision)))
    scale = float(model.pos_scale.reshape(-1)[0])  # isotropic: one value on every axis
    return ([float(v) * scale for v in h.metrics["J_MAE"]],
            float(np.mean(evaluate(model.float(), test))))


def curve_check(fp32_0: Sequence[float], fp32_1: Sequence[float],
                bf16_0: Sequence[float]) -> dict[str, Any]:
    """bf16's loss curve against float32's (same seed) and float32's against another seed: the
    mean absolute difference over the epochs (m) of each, and whether bf16's is within the
    seed's (the tolerance: bf16 changes the loss curve no more than a change of seed does)."""
    a, b, c = (np.asarray(v, dtype=float) for v in (fp32_0, fp32_1, bf16_0))
    if not (len(a) == len(b) == len(c)) or len(a) == 0:
        raise ValueError(f"curves must have the same, non-zero length; got {len(a)}, {len(b)}, "
                         f"{len(c)}")
    bf16_dev, seed_dev = float(np.mean(np.abs(c - a))), float(np.mean(np.abs(b - a)))
    return {"bf16_vs_fp32_m": bf16_dev, "seed_vs_seed_m": seed_dev,
            "within_tolerance": bool(bf16_dev <= seed_dev),
            "last_m": {"fp32_seed0": float(a[-1]), "fp32_seed1": float(b[-1]),
                       "bf16_seed0": float(c[-1])}}


def precision_check(models: Sequence[str], datasets: Sequence[str], subsets: Mapping,
                    repeats: int, epochs: int, verbose: bool) -> dict[str, Any]:
    """Per (model, dataset) of :data:`PRECISION_MODELS`: the stand-alone epoch (epoch 2 of 2,
    1 thread, interleaved) in float32 and under bf16 autocast, their ratio, and with
    ``epochs`` > 0 the loss-curve check (:func:`curve_check`)."""
    models = [m for m in models if m in PRECISION_MODELS]
    jobs: dict[str, dict[str, Any]] = {}
    for m in models:
        for d in datasets:
            train = subsets[(m, d)]["train"]
            for prec in ("fp32", "bf16"):
                def run(m: str = m, train: Any = train, prec: str = prec) -> Any:
                    model = _model(m, train.n_anchors)
                    cfg = _train_cfg(EPOCHS_PER_TIMING, 1, "cpu", cpu_bf16=_bf16(prec))
                    return train_specialised(model, train, seed=SEED, config=cfg)
                row = _row("standalone", m, d, "cpu", 1, len(train), repeats,
                           f"train_specialised(build({m!r}), train, epochs=2, threads=1) "
                           f"under {prec}; epoch 2")
                row.update(section="precision", method=f"precision/{m}/{d}/{prec}",
                           precision=prec, stored_ms=None)
                jobs[row["method"]] = {"row": row, "run": run, "timer": "epoch"}
    if jobs:
        log(verbose, f"precision: fp32 vs bf16 autocast, models {models}, datasets "
             f"{list(datasets)}")
        time_interleaved(jobs, repeats, verbose)
    cells: dict[str, Any] = {}
    for m in models:
        for d in datasets:
            f32, b16 = (jobs[f"precision/{m}/{d}/{p}"]["row"] for p in ("fp32", "bf16"))
            ok = f32["skipped"] is None and b16["skipped"] is None
            cell: dict[str, Any] = {
                "fp32_ms": f32["ms_per_fingerprint"], "bf16_ms": b16["ms_per_fingerprint"],
                "speedup": f32["seconds"] / b16["seconds"] if ok else None}
            if epochs > 0:
                s = subsets[(m, d)]
                got = {k: _curve(m, s["train"], s["test"], p, seed, epochs)
                       for k, p, seed in (("fp32_seed0", "fp32", 0), ("fp32_seed1", "fp32", 1),
                                          ("bf16_seed0", "bf16", 0))}
                curves = {k: v[0] for k, v in got.items()}
                cell.update(curves=curves, test_mae_m={k: v[1] for k, v in got.items()},
                            **curve_check(*curves.values()))
                log(verbose, f"  {m} {d}: bf16 {cell['speedup'] or float('nan'):.2f}x, curve "
                     f"{cell['bf16_vs_fp32_m']:.3f} m from fp32 (seed to seed "
                     f"{cell['seed_vs_seed_m']:.3f} m)")
            cells.setdefault(m, {})[d] = cell
    return {"models": models, "epochs": epochs, "rows": [j["row"] for j in jobs.values()],
            "by_model": cells,
            "tolerance": ("bf16's loss curve (seed 0; training J_MAE per epoch, in metres) no "
                          "farther from float32's (seed 0) than float32 with seed 1 is: mean "
                          "absolute difference over the epochs"),
            "method": ("train_specialised with TrainConfig(cpu_bf16=True): torch.autocast('cpu', "
                       "dtype=torch.bfloat16) around each forward pass; "
                       "timing as the standalone phase (epoch 2 of 2, 1 thread, best of R "
                       "interleaved); curves: train_specialised on the timed subset, lr 1e-3, "
                       "batch 128, then evaluate on the timed test subset in float32")}


# --------------------------------------------------------------------------------------------
# FLOPs of a training sample, against this machine's single-thread sgemm
# --------------------------------------------------------------------------------------------

def sgemm_rate(n: int = SGEMM_N, repeats: int = SGEMM_REPEATS) -> dict[str, Any]:
    """GFLOP/s of ``torch.mm`` on two ``n x n`` float32 matrices on one thread (2 n^3 FLOPs per
    call): best and median of ``repeats`` calls after one warm-up call."""
    with torch_session(SEED, torch.device("cpu"), 1):
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            torch.mm(a, b)
            times.append(time.perf_counter() - t)
    flop = 2.0 * n ** 3
    return {"n": n, "threads": 1, "repeats": repeats, "dtype": "float32",
            "gflop_per_s": flop / min(times) / 1e9,
            "gflop_per_s_median": flop / statistics.median(times) / 1e9}


def training_flops(model_name: str, fs: data.FingerprintSet, batch_size: int) -> dict[str, Any]:
    """FLOPs per training fingerprint of one stand-alone step (forward, J_MAE, backward) of a
    fresh network on ``fs`` in batches of ``batch_size``, counted by
    ``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and attention;
    elementwise operations and the optimiser step are not counted). Counted on the timed
    subset itself: bAaT's cost depends on how many words a fingerprint fills."""
    from torch.utils.flop_counter import FlopCounterMode

    model = _model(model_name, fs.n_anchors)
    with torch_session(SEED, torch.device("cpu"), 1):
        standardise_positions(model, fs.pos)
        x = torch.as_tensor(model_inputs(model, fs))
        y = standardised_targets(model, fs.pos, torch.device("cpu"))
        model.train()
        f = b = 0
        for i in range(0, len(fs), batch_size):
            # a FlopCounterMode starts from zero each time it is entered: sum batch by batch
            with FlopCounterMode(display=False) as fwd:
                loss = mae_loss(representations(model, x[i:i + batch_size])[2], y[i:i + batch_size])
            with FlopCounterMode(display=False) as bwd:
                loss.backward()
            f, b = f + fwd.get_total_flops(), b + bwd.get_total_flops()
            model.zero_grad(set_to_none=True)
    n = len(fs)
    return {"fingerprints": n, "batch_size": batch_size, "forward_flops_per_sample": f / n,
            "backward_flops_per_sample": b / n, "flops_per_sample": (f + b) / n}


def flops_table(models: Sequence[str], datasets: Sequence[str], subsets: Mapping,
                rows: Sequence[Mapping[str, Any]], sgemm: Mapping[str, Any]) -> dict[str, Any]:
    """Per model and dataset: FLOPs per training fingerprint (:func:`training_flops`) and the
    rate the timed 1-thread stand-alone epoch achieved, in GFLOP/s and as a fraction of
    ``sgemm`` (the achieved rate counts the optimiser step's time but not its FLOPs)."""
    t1 = {(r["model"], r["dataset"]): r for r in rows
          if r["phase"] == "standalone" and r["device"] == "cpu" and r["threads"] == 1}
    out: dict[str, Any] = {}
    for m in models:
        for d in datasets:
            rec = training_flops(m, subsets[(m, d)]["train"],
                                 TrainConfig(epochs=1, lr=LR).batch_size)
            r = t1.get((m, d))
            rate = r["per_second"] if r and r["skipped"] is None else None
            achieved = None if rate is None else rec["flops_per_sample"] * rate / 1e9
            rec.update(samples_per_s_t1=rate, achieved_gflop_per_s=achieved,
                       fraction_of_sgemm=None if achieved is None
                       else achieved / sgemm["gflop_per_s"])
            out.setdefault(m, {})[d] = rec
    return out


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------

def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``mst_training.json`` (everything) and ``mst_training.csv`` (one row per timing)."""
    return benchio.write_results(
        doc, out, BENCHMARK,
        ["section", "method", "model", "dataset", "device", "threads", "n_items", "unit",
         "repeats", "seconds_best", "seconds_median", "first_epoch_seconds", "call_seconds",
         "ms_per_fingerprint", "stored_ms", "ratio_to_stored", "per_second", "skipped"],
        ([r["section"], r["method"], r["model"], r["dataset"], r["device"], r["threads"],
          r["n_items"], r["unit"], r["repeats"], _fmt(r["seconds"]), _fmt(r["seconds_median"]),
          _fmt(r["info"].get("first_epoch_seconds")), _fmt(r["call_seconds"]),
          _fmt(r["ms_per_fingerprint"]), _fmt(r["stored_ms"]), _fmt(r["ratio_to_stored"]),
          _fmt(r["per_second"]), r["skipped"] or ""] for r in doc["rows"]))


def _cell(x: float | None, spec: str, width: int, suffix: str = "") -> str:
    ok = x is not None and math.isfinite(x)
    return f"{format(x, spec) + suffix if ok else 'n/a':>{width}}"


def report(doc: dict[str, Any]) -> str:
    """The readable tables printed at the end of a run."""
    mc, st = doc["machine"], doc["settings"]
    cols = [f"t{t}" for t in st["threads"]] + (["cuda"] if "cuda" in st["devices"] else [])
    lines = [
        f"mst_training: best of R = {st['repeats']}, sizes {st['sizes']}"
        + ("  [QUICK]" if doc["quick"] else ""),
        (f"machine: {mc['cpu_model']}, {mc['cores']} cores; torch {mc['versions']['torch']} "
         f"(default threads {mc['threads']['torch']}); load avg before "
         f"{doc['load_average_before']}, after {doc['load_average_after']}"),
        f"cuda: {doc['cuda']['note']}",
        "",
        ("ms per fingerprint per epoch (training: epoch 2 of 2; eval: one pass), stored = "
         "experiment.EPOCH_MS, ratio = measured t1 / stored; samples/s at t1"),
        (f"    {'phase':<11}{'model':<9}{'dataset':<13}{'n':>6}"
         + "".join(f"{c + ' ms':>10}" for c in cols)
         + f"{'stored':>9}{'ratio':>7}{'samples/s':>11}"),
    ]
    by = {(r["phase"], r["model"], r["dataset"], _column(r)): r for r in doc["rows"]}
    seen = list(dict.fromkeys((r["phase"], r["model"], r["dataset"]) for r in doc["rows"]))
    for p, m, d in seen:
        first = by.get((p, m, d, cols[0]))
        line = f"    {p:<11}{m:<9}{d:<13}{first['n_items'] if first else 0:>6}"
        for c in cols:
            r = by.get((p, m, d, c))
            line += _cell(r["ms_per_fingerprint"] if r else None, ".3f", 10)
        t1 = by.get((p, m, d, "t1"))
        line += _cell(t1["stored_ms"] if t1 else None, ".3f", 9)
        line += _cell(t1["ratio_to_stored"] if t1 else None, ".2f", 7)
        line += _cell(t1["per_second"] if t1 else None, ",.0f", 11)
        lines.append(line)
        if t1 and t1["skipped"]:
            lines.append(f"        skipped: {t1['skipped']}")
    rs = doc["ratio_summary"]
    if rs["cells"]:
        lines.append(f"    measured / stored over {rs['cells']} cells: median {rs['median']:.2f} "
                     f"(range {rs['min']:.2f}-{rs['max']:.2f}); by phase "
                     + ", ".join(f"{k} {v:.2f}" for k, v in rs["by_phase"].items()))
    fl = doc.get("flops") or {}
    if fl.get("by_model"):
        sg = fl["sgemm"]
        lines += ["", (f"FLOPs per training fingerprint (stand-alone, forward + backward) and the "
                       f"1-thread rate achieved; sgemm {sg['gflop_per_s']:.1f} GFLOP/s "
                       f"(n = {sg['n']}, 1 thread)"),
                  f"    {'model':<9}{'dataset':<13}{'MFLOP':>9}{'GFLOP/s':>9}{'of sgemm':>10}"]
        for m, by_d in fl["by_model"].items():
            for d, r in by_d.items():
                lines.append(f"    {m:<9}{d:<13}{r['flops_per_sample'] / 1e6:>9.2f}"
                             + _cell(r["achieved_gflop_per_s"], ".1f", 9)
                             + _cell(None if r["fraction_of_sgemm"] is None
                                     else 100 * r["fraction_of_sgemm"], ".0f", 9, "%"))
    pr = doc.get("precision") or {}
    if pr.get("by_model"):
        lines += ["", (f"bf16 autocast against float32, stand-alone epoch at 1 thread; curve: "
                       f"{pr['epochs']} epochs, mean |difference| of the training J_MAE curves "
                       "(m); test MAE in fp32"),
                  (f"    {'model':<9}{'dataset':<13}{'fp32 ms':>9}{'bf16 ms':>9}{'speed-up':>9}"
                   f"{'bf16 dev':>10}{'seed dev':>10}{'MAE fp32':>10}{'MAE bf16':>10}  within")]
        for m, by_d in pr["by_model"].items():
            for d, c in by_d.items():
                lines.append(f"    {m:<9}{d:<13}" + _cell(c["fp32_ms"], ".3f", 9)
                             + _cell(c["bf16_ms"], ".3f", 9) + _cell(c["speedup"], ".2f", 8, "x")
                             + _cell(c.get("bf16_vs_fp32_m"), ".3f", 10)
                             + _cell(c.get("seed_vs_seed_m"), ".3f", 10)
                             + _cell((c.get("test_mae_m") or {}).get("fp32_seed0"), ".2f", 10)
                             + _cell((c.get("test_mae_m") or {}).get("bf16_seed0"), ".2f", 10)
                             + ("  " + ("yes" if c["within_tolerance"] else "no")
                                if "within_tolerance" in c else ""))
    lines += ["", ("profiles (experiment.estimate with the measured 1-thread table; stored = "
              "with EPOCH_MS):")]
    for name, e in doc["estimates"].items():
        lines.append(
            f"    {name:<6} {e['runs']} runs: {e['cpu_seconds']:,.0f} CPU-s = "
            f"{e['cpu_hours']:.2f} CPU-h; on {e['workers']} workers {e['wall_minutes']:,.1f} min "
            f"= {e['wall_hours']:.2f} h (stored: {e['stored_cpu_seconds']:,.0f} CPU-s, "
            f"measured/stored {e['measured_over_stored']:.2f})"
            + (f"; one GPU {e['gpu']['hours']:.2f} h" if e["gpu"] else ""))
        if e["cells_from_stored_epoch_ms"]:
            lines.append(f"           {len(e['cells_from_stored_epoch_ms'])} cells not measured: "
                         "stored EPOCH_MS used")
    lines += ["", "targets:"]
    for k, t in doc["targets"].items():
        verdict = {True: "met", False: "MISSED"}.get(t["met"], f"not judged ({t.get('reason')})")
        lines.append(f"    {k}: measured "
                     + ("n/a" if t["measured"] is None else f"{t['measured']:.2f}")
                     + f", required {t['required']}: {verdict}")
    lines.append(f"\nelapsed {doc['elapsed_seconds']:.0f} s "
                 f"(set-up {doc['timing']['setup_seconds']:.0f} s)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=None,
                   help=f"timed repeats, best kept (default {DEFAULT_REPEATS}; --quick: 1)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help=f"a fast look: {QUICK} (explicit options win)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    p.add_argument("--size", type=int, default=None,
                   help=f"training fingerprints per timing, every model (default {DEFAULT_SIZES})")
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="torch thread counts (default 1 and os.cpu_count())")
    p.add_argument("--no-cuda", action="store_true", help="do not time on CUDA even if available")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision-epochs", type=int, default=None,
                   help=f"epochs of the bf16 loss-curve check (default {PRECISION_EPOCHS}; "
                        "--quick: 2; 0: timing only)")
    a = p.parse_args(argv)
    run(repeats=a.repeats, out=a.out, models=a.models, datasets=a.datasets, phases=a.phases,
        size=a.size, threads=a.threads, cuda=False if a.no_cuda else None, seed=a.seed,
        quick=a.quick, precision_epochs=a.precision_epochs)
    print(f"\nwrote {a.out / (BENCHMARK + '.json')} and {a.out / (BENCHMARK + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

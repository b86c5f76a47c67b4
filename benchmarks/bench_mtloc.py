"""Training speed of paper E's MTLoc chapter (issue 8, "Speed"): samples per second on real data.

Everything runs on the CPU (``device="cpu"``) on the ms-ilc2020 traces, with the chapter's
settings (``experiment.Settings()``: 8:5:1 split by trace, AP vocabulary from the training
traces with ``min_scans=10``, magnitude IMU and magnetometer channels,
``wifi_mode="at_scan"`` (Table II's "null" when no new scan arrived), floor -110 dBm). Four
parts:

1. **Data**: wall time of ``ilc.load_site`` for both sites (first call: parse and checksum, the
   cache cleared before), of ``ap_vocabulary`` and of ``build_samples`` for site2's training
   traces (split seed 0).
2. **Training throughput** on site2's training samples: one epoch of ``train.fit`` (shuffled
   mini-batches, forward + backward + optimizer step, RMSprop, no validation) per timing, for
   MTLoc from scratch, MTLoc transferred (IMU-LSTM frozen) and the IMU-LSTM pre-training model
   (``IMURegressor``), at batch sizes 32 (``paper`` profile) and 128 (``quick``), each with torch
   at 1 thread and at all cores (``os.cpu_count()``). The time is the epoch's own
   (``FitHistory.epoch_s``: what ``samples_per_s`` divides by); the whole ``fit`` call's wall
   time is kept beside it. Also MTLoc's inference (``train.predict`` on site2's validation
   samples, at both thread counts) and, as the non-deep reference, the Wi-Fi kNN baseline
   (``baselines.wifi_knn``: fit, representation x metric x k chosen on validation, query the
   test set).
3. **Growth**: MTLoc from scratch, batch 32, 1 thread: epoch seconds against the number of
   training samples (seeded subsets of all of site2's samples), with a log-log fit.
4. **The ``paper`` profile's cost**, estimated from the measured batch-32 single-thread MTLoc
   throughput (``paper_profile_estimate_hours``; the formula is written beside it).

Each timed thing gets one untimed warm-up call, then R timed repeats *interleaved* within its
part (repeat 1 of every method, then repeat 2, ...), and the best of R is kept (the median beside
it). See ``benchmarks/README.md``.

    python benchmarks/bench_mtloc.py                  # all site2 training samples, R = 3
    python benchmarks/bench_mtloc.py --quick          # 1,000 training samples, R = 1: < 1 min
    python benchmarks/bench_mtloc.py --repeats 5 --threads 1 4 --out /tmp/bench

Results: ``<out>/mtloc_training.json`` (everything), ``<out>/mtloc_training.csv`` (one row per
timing), and a table on stdout. ``run(...)`` is the same thing as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ipsbook import profiles
from ipsbook.book import benchio
from ipsbook.book.benchio import csv_number as _fmt
from ipsbook.book.benchio import log, loglog_fit
from ipsbook.data import ilc
from ipsbook.methods.mtloc import FitConfig, baselines, fit, make_mtloc, predict
from ipsbook.methods.mtloc.experiment import Settings, training_subset
from ipsbook.models.mtloc import IMURegressor, set_position_scaling

HERE = Path(__file__).resolve().parent
SCHEMA = 1
BENCHMARK = "mtloc_training"
DEFAULT_OUT = HERE / "results"
DEFAULT_REPEATS = 3
DEFAULT_BATCH_SIZES = (32, 128)  # the paper and quick profiles' batch sizes
DEFAULT_GROWTH = (1_000, 2_000, 4_000, 8_000)
QUICK = {"train_size": 1_000, "growth_sizes": (250, 500, 1_000), "repeats": 1}

SOURCE, TARGET = "site1", "site2"  # the benchmark's data: site2's samples (source: site1)
SPLIT_SEED = 0
SETTINGS = Settings()  # the chapter's data settings (the profile only changes epochs and sizes)
DEVICE = "cpu"
LR = {"mtloc": SETTINGS.target.lr, "imu": SETTINGS.pretrain.lr}
GROWTH_MODEL, GROWTH_BATCH, GROWTH_THREADS = "mtloc_scratch", 32, 1
ESTIMATE_BATCH, ESTIMATE_THREADS = 32, 1

MODELS: dict[str, dict[str, str]] = {
    "mtloc_scratch": {"label": "MTLoc from scratch (every weight trained)",
                      "call": 'make_mtloc(train, mode="scratch")'},
    "mtloc_transfer": {"label": "MTLoc transferred (IMU-LSTM frozen)",
                       "call": 'make_mtloc(train, mode="transfer", imu_model=imu)'},
    "imu_pretrain": {"label": "IMU-LSTM pre-training model (IMURegressor)",
                     "call": "IMURegressor(imu_channels) + scalings, as pretrain_imu"},
}


def default_threads() -> tuple[int, ...]:
    """1 and all cores (``os.cpu_count()``), once each."""
    return tuple(sorted({1, os.cpu_count() or 1}))


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def _samples(traces: Sequence[Any], vocab: Sequence[str]) -> Any:
    s = SETTINGS
    return ilc.build_samples(list(traces), vocab, imu_channels=s.imu_channels,
                             mag_channels=s.mag_channels, wifi_mode=s.wifi_mode,
                             max_age_s=s.max_age_s, rss_floor_dbm=s.rss_floor_dbm)


def _subset(samples: Any, size: int | None, seed: Sequence[int]) -> Any:
    """A seeded subset of ``size`` samples (rows kept in order; all when None or >= n)."""
    n = len(samples)
    if size is None or size >= n:
        return samples
    keep = np.sort(np.random.default_rng(list(seed)).choice(n, size=int(size), replace=False))
    return samples.subset(keep)


def load_data(repeats: int, verbose: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Both sites parsed (timed, first call), site2's split, vocabulary and samples (timed,
    best of R); per-trace sample counts of both sites for the paper estimate."""
    rows: list[dict[str, Any]] = []
    traces: dict[str, list[Any]] = {}
    ilc._load_site.cache_clear()  # documented by load_site: the timed call parses
    for site in (SOURCE, TARGET):
        row = _row("data", f"data/load_site/{site}", f"ilc.load_site({site!r}) (first call: "
                   "read, sha256-verify and parse every trace)", 0, "traces", 1)
        gc.collect()
        t = time.perf_counter()
        traces[site] = ilc.load_site(site)
        row["times"].append(time.perf_counter() - t)
        row["n_items"] = len(traces[site])
        t = time.perf_counter()
        ilc.load_site(site)
        row["info"]["cached_call_seconds"] = time.perf_counter() - t
        benchio.finish_row(row)
        rows.append(row)
        log(verbose, f"data: load_site({site}) {row['seconds']:.2f} s, {len(traces[site])} traces")

    by_id = {site: {t.trace_id: t for t in traces[site]} for site in traces}
    split = ilc.split_traces(list(by_id[TARGET]), SETTINGS.ratios, seed=SPLIT_SEED)
    train_traces = [by_id[TARGET][i] for i in split["train"]]
    holder: dict[str, Any] = {}

    def vocab() -> list[str]:
        holder["vocab"] = ilc.ap_vocabulary(train_traces, min_scans=SETTINGS.min_scans,
                                            max_age_s=SETTINGS.max_age_s)
        return holder["vocab"]

    def build() -> Any:
        holder["train"] = _samples(train_traces, holder["vocab"])
        return holder["train"]

    jobs = {
        "data/ap_vocabulary": {
            "row": _row("data", "data/ap_vocabulary", f"ilc.ap_vocabulary({TARGET} train traces, "
                        f"min_scans={SETTINGS.min_scans})", len(train_traces), "traces", repeats),
            "run": vocab},
        "data/build_samples": {
            "row": _row("data", "data/build_samples", f"ilc.build_samples({TARGET} train "
                        "traces, vocabulary)", 0, "samples", repeats),
            "run": build, "check": lambda s: {"n_samples": len(s)}},
    }
    time_interleaved(jobs, repeats, verbose)
    b = jobs["data/build_samples"]["row"]
    b["n_items"] = len(holder["train"])
    benchio.finish_row(b)
    rows += [j["row"] for j in jobs.values()]

    vocab_t = holder["vocab"]
    val = _samples([by_id[TARGET][i] for i in split["validation"]], vocab_t)
    test = _samples([by_id[TARGET][i] for i in split["test"]], vocab_t)
    # all of each site's samples (any vocabulary: the sample times do not depend on it), for the
    # growth pool (site2, train vocabulary) and the per-trace counts of the paper estimate
    every = {TARGET: _samples(traces[TARGET], vocab_t)}
    vocab_s = ilc.ap_vocabulary([by_id[SOURCE][i] for i in ilc.split_traces(
        list(by_id[SOURCE]), SETTINGS.ratios, seed=SPLIT_SEED)["train"]],
        min_scans=SETTINGS.min_scans, max_age_s=SETTINGS.max_age_s)
    every[SOURCE] = _samples(traces[SOURCE], vocab_s)
    counts = {site: dict(zip(*np.unique(every[site].trace_id, return_counts=True)))
              for site in every}
    counts = {site: {str(k): int(v) for k, v in c.items()} for site, c in counts.items()}
    for site in counts:  # traces without any sample
        for tid in by_id[site]:
            counts[site].setdefault(tid, 0)
    data = {"traces": traces, "split": split, "vocab": vocab_t, "train": holder["train"],
            "val": val, "test": test, "pool": every[TARGET], "counts": counts,
            "source_vocab": vocab_s}
    return data, rows


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------

def _row(section: str, key: str, what: str, n_items: int, unit: str, repeats: int,
         **extra: Any) -> dict:
    return {"section": section, "method": key, "what": what, "model": extra.get("model"),
            "batch_size": extra.get("batch_size"), "threads": extra.get("threads"),
            "n_items": int(n_items), "unit": unit, "repeats": repeats, "seconds": None,
            "seconds_median": None, "times": [], "warmup_seconds": None, "per_second": None,
            "call_seconds": None, "call_times": [], "skipped": None, "info": {}}


def time_interleaved(jobs: dict[str, dict[str, Any]], repeats: int, verbose: bool) -> None:
    """Warm-up each job, then ``repeats`` interleaved rounds (:func:`benchio.time_interleaved`);
    results go into ``job["row"]``. A job is ``{"row", "run": fn()}``, optionally ``"timer":
    "epoch"`` (``run`` returns a :class:`FitHistory`, whose epoch time is the timed quantity,
    the call's wall time beside it) and ``"check": f(result)`` (information from the warm-up's
    result added to the row)."""
    for job in jobs.values():
        if job.get("timer") == "epoch":
            job["measure"] = lambda res, wall, row=job["row"]: _epoch_time(row, res, wall)
    benchio.time_interleaved(jobs, repeats, verbose)


def _epoch_time(row: dict[str, Any], res: Any, wall: float) -> float:
    """A training job's timed seconds: its epochs' own (``FitHistory.epoch_s``)."""
    row["call_times"].append(wall)
    return float(np.sum(res.epoch_s))


def _with_threads(n: int, fn: Callable[[], Any]) -> Any:
    """``fn()`` with torch at ``n`` intra-op threads, restored afterwards."""
    was = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(was)


# --------------------------------------------------------------------------------------------
# the models
# --------------------------------------------------------------------------------------------

def imu_model(source_train: Any) -> IMURegressor:
    """An IMURegressor set up as ``pretrain_imu`` sets it up (scalings from the source site's
    samples), untrained: the cost of an epoch does not depend on the weights."""
    imu = np.asarray(source_train.imu)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = IMURegressor(imu_channels=imu.shape[-1])
    model.imu.fit_scaling(imu)
    set_position_scaling(model, np.asarray(source_train.pos))
    return model


def new_model(kind: str, train: Any, imu: IMURegressor) -> torch.nn.Module:
    if kind == "mtloc_scratch":
        return make_mtloc(train, mode="scratch", rss_floor_dbm=SETTINGS.rss_floor_dbm, seed=0)
    if kind == "mtloc_transfer":
        return make_mtloc(train, mode="transfer", imu_model=imu,
                          rss_floor_dbm=SETTINGS.rss_floor_dbm, seed=0)
    if kind == "imu_pretrain":
        m = imu_model(train)
        m.load_state_dict(imu.state_dict())
        return m
    raise ValueError(f"unknown model {kind!r}; allowed: {', '.join(MODELS)}")


def _config(kind: str, batch_size: int, threads: int) -> FitConfig:
    return FitConfig(epochs=1, lr=LR["imu" if kind == "imu_pretrain" else "mtloc"],
                     batch_size=batch_size, num_threads=threads, device=DEVICE)


def _train_job(kind: str, train: Any, imu: IMURegressor, batch_size: int, threads: int,
               section: str, key: str) -> dict[str, Any]:
    n = len(train)

    def run() -> Any:
        model = new_model(kind, train, imu)  # a fresh model each call: built outside the epoch
        return fit(model, train, None, config=_config(kind, batch_size, threads), seed=0)

    def check(h: Any) -> dict[str, Any]:
        return {"trainable_parameters": h.trainable_parameters,
                "steps_per_epoch": -(-n // batch_size), "device": h.device}

    return {"row": _row(section, key, f"fit({MODELS[kind]['call']}, train, epochs=1, "
                        f"batch_size={batch_size}, num_threads={threads}, device={DEVICE!r})",
                        n, "samples", 0, model=kind, batch_size=batch_size, threads=threads),
            "run": run, "timer": "epoch", "check": check}


# --------------------------------------------------------------------------------------------
# part 2: training and inference throughput, the kNN reference
# --------------------------------------------------------------------------------------------

def part_training(train: Any, imu: IMURegressor, models: Sequence[str],
                  batch_sizes: Sequence[int], threads: Sequence[int], repeats: int,
                  verbose: bool) -> list[dict[str, Any]]:
    log(verbose, f"training: {len(train)} samples; models {list(models)}, batch sizes "
         f"{list(batch_sizes)}, threads {list(threads)}")
    jobs = {}
    for kind in models:
        for bs in batch_sizes:
            for nt in threads:
                key = f"train/{kind}/b{bs}/t{nt}"
                jobs[key] = _train_job(kind, train, imu, bs, nt, "train", key)
                jobs[key]["row"]["repeats"] = repeats
    time_interleaved(jobs, repeats, verbose)
    return [j["row"] for j in jobs.values()]


def part_inference(train: Any, val: Any, test: Any, imu: IMURegressor, threads: Sequence[int],
                   repeats: int, verbose: bool) -> list[dict[str, Any]]:
    log(verbose, f"inference: MTLoc predict on {len(val)} validation samples; Wi-Fi kNN")
    model = new_model("mtloc_scratch", train, imu)
    model.eval()
    jobs: dict[str, dict[str, Any]] = {}
    for nt in threads:
        key = f"predict/mtloc/t{nt}"
        jobs[key] = {
            "row": _row("predict", key, f"predict(MTLoc, {TARGET} validation samples, "
                        f"batch_size=8192), torch at {nt} thread(s)", len(val), "samples",
                        repeats, model="mtloc_scratch", threads=nt),
            "run": lambda nt=nt: _with_threads(nt, lambda: predict(model, val))}
    ks = SETTINGS.knn_k

    def knn_check(res: baselines.WifiKNN) -> dict[str, Any]:
        return {"k": int(res.k), "representation": res.representation, "metric": res.metric,
                "mean_error_m_test": float(np.mean(res.errors)),
                "train_samples": len(train), "validation_samples": len(val),
                "test_samples": len(test)}

    jobs["baseline/wifi_knn"] = {
        "row": _row("baseline", "baseline/wifi_knn",
                    f"baselines.wifi_knn(train, test, val, k_values={ks}): fit a "
                    "NearestNeighbors index on the training Wi-Fi per (representation, "
                    f"metric) pair ({len(SETTINGS.knn_configs)}), choose the pair and k on "
                    "validation, query the test set", len(val) + len(test), "queries", repeats),
        "run": lambda: baselines.wifi_knn(train, test, val, ks, configs=SETTINGS.knn_configs),
        "check": knn_check}
    time_interleaved(jobs, repeats, verbose)
    return [j["row"] for j in jobs.values()]


# --------------------------------------------------------------------------------------------
# part 3: growth
# --------------------------------------------------------------------------------------------


def part_growth(pool: Any, imu: IMURegressor, sizes: Sequence[int], repeats: int, seed: int,
                verbose: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    log(verbose, f"growth: {GROWTH_MODEL}, batch {GROWTH_BATCH}, {GROWTH_THREADS} thread; "
         f"sizes {list(sizes)} of {len(pool)} samples")
    jobs = {}
    for n in sorted({min(int(n), len(pool)) for n in sizes}):
        sub = _subset(pool, n, (seed, 7, n))
        key = f"growth/{GROWTH_MODEL}/n{len(sub)}"
        jobs[key] = _train_job(GROWTH_MODEL, sub, imu, GROWTH_BATCH, GROWTH_THREADS,
                               "growth", key)
        jobs[key]["row"]["repeats"] = repeats
    time_interleaved(jobs, repeats, verbose)
    rows = [j["row"] for j in jobs.values()]
    fit_ = loglog_fit([(r["n_items"], r["seconds"]) for r in rows])
    fit_.update(model=GROWTH_MODEL, batch_size=GROWTH_BATCH, threads=GROWTH_THREADS,
                pool_samples=len(pool),
                what="epoch seconds = prefactor_s * samples^exponent (least squares on log-log "
                     "axes over the sizes); exponent_largest_two: the slope between the two "
                     "largest sizes; a fixed cost per epoch shows as an exponent below 1")
    return rows, fit_


# --------------------------------------------------------------------------------------------
# part 4: the paper profile's cost
# --------------------------------------------------------------------------------------------

def paper_estimate(counts: dict[str, dict[str, int]], rows: list[dict[str, Any]],
                   ) -> dict[str, Any]:
    """Hours of training the ``paper`` profile takes at the measured batch-32, 1-thread rates.

    Per (seed, direction): the split of that seed (as ``run_direction`` draws it), its training
    sample counts from the per-trace counts. The headline uses MTLoc-from-scratch's rate for
    every sample-epoch and ``(2 + sum(rates))`` full target training sets (scratch, transfer and
    the fine-tuning shares); the breakdown uses each model's own rate and the fine-tuning subsets'
    exact sizes (the first ceil(rate x traces) traces of the seeded order).
    """
    cfg = profiles.resolve("mtloc", "paper")
    by = {(r["model"], r["batch_size"], r["threads"]): r for r in rows if r["section"] == "train"}

    def rate(kind: str) -> float | None:
        r = by.get((kind, ESTIMATE_BATCH, ESTIMATE_THREADS))
        return r["per_second"] if r and r["per_second"] else None

    r_scratch, r_transfer, r_imu = rate("mtloc_scratch"), rate("mtloc_transfer"), rate("imu_pretrain")
    pre_e, tgt_e = int(cfg.pretrain["epochs"]), int(cfg.target["epochs"])
    rates = [float(x) for x in cfg.rates]
    sum_rates = float(sum(rates))
    runs, formula_se, pre_se, scratch_se, transfer_se, finetune_se = [], 0.0, 0.0, 0.0, 0.0, 0.0
    val_pred = 0.0  # validation predictions: every epoch of every fit predicts its val set
    n_fits = 2 + sum(1 for r in rates if r > 0)  # scratch, transfer, one per fine-tuning rate
    for seed in cfg.seeds:
        for source, target in cfg.directions:
            sp = {site: ilc.split_traces(list(counts[site]), SETTINGS.ratios, seed=int(seed))
                  for site in (source, target)}
            n_src = sum(counts[source][t] for t in sp[source]["train"])
            n_tgt = sum(counts[target][t] for t in sp[target]["train"])
            order = [str(i) for i in np.random.default_rng(int(seed)).permutation(
                sorted(sp[target]["train"]))]
            n_ft = {r: sum(counts[target][t] for t in training_subset(order, r))
                    for r in rates if r > 0}
            formula_se += pre_e * n_src + tgt_e * (2 + sum_rates) * n_tgt
            pre_se += pre_e * n_src
            scratch_se += tgt_e * n_tgt
            transfer_se += tgt_e * n_tgt
            finetune_se += tgt_e * sum(n_ft.values())
            n_val = {site: sum(counts[site][t] for t in sp[site]["validation"])
                     for site in (source, target)}
            val_pred += pre_e * n_val[source] + tgt_e * n_fits * n_val[target]
            runs.append({"seed": int(seed), "direction": f"{source}→{target}",
                         "source_train_samples": n_src, "target_train_samples": n_tgt,
                         "finetune_train_samples": {f"{100 * r:g}%": n for r, n in n_ft.items()}})
    hours = formula_se / r_scratch / 3600 if r_scratch else None
    exact = None
    if r_scratch and r_transfer and r_imu:
        parts = {"pretrain": pre_se / r_imu, "scratch": scratch_se / r_scratch,
                 "transfer": transfer_se / r_transfer, "finetune": finetune_se / r_scratch}
        exact = {"hours": sum(parts.values()) / 3600,
                 "hours_by_model": {k: v / 3600 for k, v in parts.items()},
                 "sample_epochs": {"pretrain": pre_se, "scratch": scratch_se,
                                   "transfer": transfer_se, "finetune": finetune_se},
                 "what": "pre-training at the IMU model's rate, scratch and fine-tuning at "
                         "MTLoc-from-scratch's (the fine-tuned LSTM trains), transfer at "
                         "MTLoc-transferred's; fine-tuning subsets by trace as run_direction "
                         "takes them"}
    pr = next((r for r in rows if r["method"] == f"predict/mtloc/t{ESTIMATE_THREADS}"), None)
    r_pred = pr["per_second"] if pr and pr["per_second"] else None
    validation = {
        "predictions": val_pred,
        "hours": val_pred / r_pred / 3600 if r_pred else None,
        "predict_samples_per_s": r_pred,
        "what": "not in the headline: pretrain_epochs x source validation samples + "
                f"target_epochs x {n_fits} fits x target validation samples, per seed and "
                f"direction, at MTLoc's measured predict rate ({ESTIMATE_THREADS} thread; the "
                "IMU model predicts faster, so its share is an upper bound)"}
    return {
        "paper_profile_estimate_hours": hours,
        "formula": ("hours = sum over seeds x directions of [pretrain_epochs x source_train_samples"
                    " + target_epochs x (2 + sum(rates)) x target_train_samples] / "
                    "samples_per_s / 3600, samples_per_s = MTLoc from scratch, batch "
                    f"{ESTIMATE_BATCH}, {ESTIMATE_THREADS} thread (measured here); training only "
                    "(validation after every epoch, evaluation, wiping and baselines excluded)"),
        "profile": {"seeds": list(cfg.seeds), "directions": [list(d) for d in cfg.directions],
                    "pretrain_epochs": pre_e, "target_epochs": tgt_e, "rates": rates,
                    "sum_rates": sum_rates, "batch_size": int(cfg.target["batch_size"])},
        "samples_per_s": {"mtloc_scratch": r_scratch, "mtloc_transfer": r_transfer,
                          "imu_pretrain": r_imu},
        "sample_epochs": formula_se,
        "runs": runs,
        "by_model": exact,
        "validation": validation,
    }


# --------------------------------------------------------------------------------------------
# machine info (benchio.machine, plus torch)
# --------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    return benchio.machine(torch=True)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def _check_sizes(name: str, values: Sequence[int], low: int) -> list[int]:
    out = sorted({int(v) for v in values})
    if not out or any(int(v) != v or v < low for v in values):
        raise ValueError(f"{name} must be integers >= {low}, got {list(values)!r}")
    return out


def run(repeats: int = DEFAULT_REPEATS, *, out: str | Path | None = None,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, threads: Sequence[int] | None = None,
        models: Sequence[str] = tuple(MODELS), train_size: int | None = None,
        growth_sizes: Sequence[int] = DEFAULT_GROWTH, seed: int = 0, verbose: bool = True,
        quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; return the results dict and, when ``out`` is given, write
    ``mtloc_training.json`` and ``mtloc_training.csv`` there (atomically: a failed run leaves the
    last good files alone). ``train_size``: a seeded subset of site2's training samples for the
    throughput timings (None = all); ``threads=None``: 1 and ``os.cpu_count()``."""
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    models = list(models)
    if not models or any(m not in MODELS for m in models):
        raise ValueError(f"models must be some of {list(MODELS)}, got {models!r}")
    batch_sizes = _check_sizes("batch_sizes", batch_sizes, 1)
    threads = _check_sizes("threads", default_threads() if threads is None else threads, 1)
    growth_sizes = _check_sizes("growth_sizes", growth_sizes, 1) if growth_sizes else []
    if train_size is not None and (int(train_size) != train_size or train_size < 1):
        raise ValueError(f"train_size must be an integer >= 1 or None, got {train_size!r}")
    t_start = time.perf_counter()
    load_before = benchio.load_average()

    data, data_rows = load_data(repeats, verbose)
    train = _subset(data["train"], train_size, (seed, 3))
    source_train = _samples([t for t in data["traces"][SOURCE] if t.trace_id in set(
        ilc.split_traces([t.trace_id for t in data["traces"][SOURCE]], SETTINGS.ratios,
                         seed=SPLIT_SEED)["train"])], data["source_vocab"])
    imu = imu_model(source_train)

    train_rows = part_training(train, imu, models, batch_sizes, threads, repeats, verbose)
    inf_rows = part_inference(train, data["val"], data["test"], imu, threads, repeats, verbose)
    growth_rows, growth = (part_growth(data["pool"], imu, growth_sizes, repeats, seed, verbose)
                           if growth_sizes else ([], loglog_fit([])))
    rows = data_rows + train_rows + inf_rows + growth_rows
    estimate = paper_estimate(data["counts"], rows)
    n_train_all = len(data["train"])
    seed0 = {r["direction"]: r for r in estimate["runs"] if r["seed"] == SPLIT_SEED}
    checks = {
        # the estimate's per-trace counts give the samples build_samples gave for split seed 0
        "estimate_counts_match_built_samples": (
            seed0.get(f"{SOURCE}→{TARGET}", {}).get("target_train_samples") == n_train_all
            and seed0.get(f"{SOURCE}→{TARGET}", {}).get("source_train_samples")
            == len(source_train)),
    }

    doc: dict[str, Any] = {
        "schema": SCHEMA, "benchmark": BENCHMARK,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": bool(quick),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": benchio.load_average(),
        "data": {
            "dataset": ilc.ILC_DATASET, "source": SOURCE, "target": TARGET,
            "split_seed": SPLIT_SEED, "ratios": list(SETTINGS.ratios),
            "traces": {s: len(t) for s, t in data["traces"].items()},
            "target_split_traces": {k: len(v) for k, v in data["split"].items()},
            "target_aps": len(data["vocab"]), "source_aps": len(data["source_vocab"]),
            "target_train_samples": n_train_all, "timed_train_samples": len(train),
            "train_subset_seed": None if len(train) == n_train_all else [seed, 3],
            "validation_samples": len(data["val"]), "test_samples": len(data["test"]),
            "source_train_samples": len(source_train),
            "growth_pool_samples": len(data["pool"]),
            "shapes": {"wifi": list(train.wifi.shape[1:]), "imu": list(train.imu.shape[1:]),
                       "mag": list(train.mag.shape[1:])},
        },
        "settings": {
            "repeats": int(repeats), "models": {k: MODELS[k] for k in models},
            "batch_sizes": batch_sizes, "threads": threads, "device": DEVICE,
            "lr": LR, "optimizer": "rmsprop", "epochs_per_timing": 1,
            "growth_sizes": growth_sizes,
            "data_settings": {k: getattr(SETTINGS, k) for k in (
                "min_scans", "max_age_s", "imu_channels", "mag_channels", "wifi_mode",
                "rss_floor_dbm", "knn_k")},
        },
        "timing": {"method": "one untimed warm-up call per timed thing, then best of R "
                             "perf_counter wall times, repeats interleaved within each part "
                             "(data, training, inference, growth); a training timing is one "
                             "full epoch of train.fit (ceil(n / batch) shuffled mini-batches, "
                             "forward + backward + RMSprop step, no validation), its seconds "
                             "the epoch's own (FitHistory.epoch_s), the fit call's wall time "
                             "in call_seconds (model construction excluded: it happens before "
                             "the call); load_site is one call (the first, after clearing its "
                             "cache)"},
        "rows": rows,
        "throughput": throughput_table(train_rows, inf_rows),
        "growth": growth,
        "paper_profile_estimate_hours": estimate["paper_profile_estimate_hours"],
        "paper_profile_estimate": estimate,
        "checks": checks,
        "elapsed_seconds": None,
    }
    doc["elapsed_seconds"] = time.perf_counter() - t_start
    if out is not None:
        write(doc, Path(out))
    if verbose:
        print(report(doc))
    return doc


def throughput_table(train_rows: list[dict], inf_rows: list[dict]) -> dict[str, Any]:
    """Samples/s per model, batch size and thread count (``b32``/``t1`` keys), and the speed-up
    of the most threads over 1 thread."""
    out: dict[str, Any] = {}
    for r in train_rows:
        out.setdefault(r["model"], {}).setdefault(f"b{r['batch_size']}", {})[
            f"t{r['threads']}"] = r["per_second"]
    for r in inf_rows:
        if r["section"] == "predict":
            out.setdefault("mtloc_predict", {}).setdefault("b8192", {})[
                f"t{r['threads']}"] = r["per_second"]
    speedup: dict[str, Any] = {}
    for model, per_b in out.items():
        for b, per_t in per_b.items():
            ts = sorted(per_t, key=lambda k: int(k[1:]))
            if len(ts) > 1 and per_t[ts[0]] and per_t[ts[-1]]:
                speedup.setdefault(model, {})[b] = per_t[ts[-1]] / per_t[ts[0]]
    return {"samples_per_s": out, "most_threads_over_one": speedup}


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``mtloc_training.json`` (everything) and ``mtloc_training.csv`` (one row per timing)."""
    return benchio.write_results(
        doc, out, BENCHMARK,
        ["section", "method", "model", "batch_size", "threads", "n_items", "unit", "repeats",
         "seconds_best", "seconds_median", "warmup_seconds", "per_second", "call_seconds",
         "skipped"],
        ([r["section"], r["method"], r["model"] or "", r["batch_size"] or "", r["threads"] or "",
          r["n_items"], r["unit"], r["repeats"], _fmt(r["seconds"]), _fmt(r["seconds_median"]),
          _fmt(r["warmup_seconds"]), _fmt(r["per_second"]), _fmt(r["call_seconds"]),
          r["skipped"] or ""] for r in doc["rows"]))


def _cell(x: float | None, spec: str, width: int, suffix: str = "") -> str:
    return f"{'n/a' if x is None else format(x, spec) + suffix:>{width}}"


def report(doc: dict[str, Any]) -> str:
    """The readable tables printed at the end of a run."""
    mc, st, d = doc["machine"], doc["settings"], doc["data"]
    threads = st["threads"]
    lines = [
        f"mtloc_training: best of R = {st['repeats']}, device {st['device']}"
        + ("  [QUICK]" if doc["quick"] else ""),
        (f"machine: {mc['cpu_model']}, {mc['cores']} cores; torch {mc['versions']['torch']} "
         f"(default threads {mc['threads']['torch']}); numpy {mc['versions']['numpy']}, "
         f"sklearn {mc['versions']['sklearn']}; load avg before {doc['load_average_before']}"),
        "",
        "(1) data",
    ]
    for r in doc["rows"]:
        if r["section"] != "data":
            continue
        extra = (f" (cached call {r['info']['cached_call_seconds'] * 1e3:.2f} ms)"
                 if "cached_call_seconds" in r["info"] else "")
        lines.append(f"    {r['method']:<26}" + _cell(r["seconds"], ".3f", 8, " s")
                     + f"  {r['n_items']:,} {r['unit']}{extra}")
    lines += [
        "",
        (f"(2) training, samples/s (one epoch of fit on {d['timed_train_samples']:,} {d['target']} "
         f"training samples, {d['target_aps']} APs; forward + backward + step, no validation)"),
        f"    {'model':<16}{'batch':>6}" + "".join(f"{f'{t} thr':>11}" for t in threads)
        + (f"{'x':>7}" if len(threads) > 1 else "") + f"{'epoch s':>9}{'median s':>10}",
    ]
    for r in doc["rows"]:
        if r["section"] != "train" or r["threads"] != threads[0]:
            continue
        line = f"    {r['model']:<16}{r['batch_size']:>6}"
        per = {}
        for t in threads:
            rt = next((x for x in doc["rows"] if x["section"] == "train" and x["model"] ==
                       r["model"] and x["batch_size"] == r["batch_size"] and x["threads"] == t),
                      None)
            per[t] = rt["per_second"] if rt else None
            line += _cell(per[t], ".0f", 11)
        if len(threads) > 1:
            line += _cell(per[threads[-1]] / per[threads[0]] if per[threads[0]] and
                          per[threads[-1]] else None, ".2f", 7, "x")
        line += _cell(r["seconds"], ".3f", 9) + _cell(r["seconds_median"], ".3f", 10)
        lines.append(line)
    lines.append(f"    (x: {threads[-1]} threads over 1; epoch s, median s: at {threads[0]} "
                 "thread(s))")
    lines += ["", "    inference and the non-deep reference:"]
    for r in doc["rows"]:
        if r["section"] not in ("predict", "baseline"):
            continue
        if r["seconds"] is None:
            lines.append(f"    {r['method']:<26}skipped: {r['skipped']}")
            continue
        info = (f", k={r['info']['k']}, mean test error {r['info']['mean_error_m_test']:.2f} m "
                f"(train {r['info']['train_samples']:,})" if "k" in r["info"] else "")
        lines.append(f"    {r['method']:<26}" + _cell(r["seconds"], ".3f", 8, " s")
                     + f"  {r['per_second']:,.0f} {r['unit']}/s ({r['n_items']:,}){info}")
    g = doc["growth"]
    if g["sizes"]:
        lines += ["", (f"(3) growth: {g['model']}, batch {g['batch_size']}, {g['threads']} thread;"
                       " epoch seconds by training samples")]
        grows = [r for r in doc["rows"] if r["section"] == "growth"]
        lines.append("    " + "".join(f"{r['n_items']:>10,}" for r in grows))
        lines.append("    " + "".join(_cell(r["seconds"], ".3f", 10) for r in grows))
        lines.append("    " + "".join(_cell(r["per_second"], ".0f", 10) for r in grows)
                     + "  samples/s")
        lines.append("    exponent " + ("n/a" if g["exponent"] is None else f"{g['exponent']:.2f}")
                     + ", between the two largest " + ("n/a" if g["exponent_largest_two"] is None
                                                       else f"{g['exponent_largest_two']:.2f}"))
    e = doc["paper_profile_estimate"]
    p = e["profile"]
    h = e["paper_profile_estimate_hours"]
    lines += [
        "",
        (f"(4) the paper profile ({len(p['seeds'])} seeds x {len(p['directions'])} directions, "
         f"{p['pretrain_epochs']} + {p['target_epochs']} epochs, batch {p['batch_size']}, "
         f"sum(rates) = {p['sum_rates']:g}): {e['sample_epochs']:.3g} sample-epochs at "
         + ("n/a" if e["samples_per_s"]["mtloc_scratch"] is None else
            f"{e['samples_per_s']['mtloc_scratch']:.0f}") + " samples/s = "
         + ("n/a" if h is None else f"{h:.1f} hours") + " of training on 1 thread"),
    ]
    if e["by_model"]:
        bm = e["by_model"]["hours_by_model"]
        lines.append(f"    per model, at its own rate: {e['by_model']['hours']:.1f} hours ("
                     + ", ".join(f"{k} {v:.1f}" for k, v in bm.items()) + ")")
    v = e["validation"]
    if v["hours"] is not None:
        lines.append(f"    validation after every epoch (not included): {v['predictions']:.3g} "
                     f"predictions = {v['hours']:.1f} hours more")
    lines.append(f"    {e['formula']}")
    lines.append(f"\nelapsed {doc['elapsed_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=None,
                   help=f"timed repeats, best kept (default {DEFAULT_REPEATS})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help=f"a fast look: {QUICK} (explicit options win)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                   help=f"batch sizes (default {' '.join(map(str, DEFAULT_BATCH_SIZES))})")
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="torch thread counts (default 1 and os.cpu_count())")
    p.add_argument("--train-size", type=int, default=None,
                   help="training samples of the throughput timings (default all of site2's)")
    p.add_argument("--growth-sizes", type=int, nargs="*", default=None,
                   help=f"training samples of the growth sweep (default "
                        f"{' '.join(map(str, DEFAULT_GROWTH))}; none: skip it)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    def pick(value: Any, key: str, default: Any) -> Any:
        return value if value is not None else (QUICK[key] if a.quick else default)

    run(repeats=pick(a.repeats, "repeats", DEFAULT_REPEATS), out=a.out,
        batch_sizes=a.batch_sizes or DEFAULT_BATCH_SIZES, threads=a.threads,
        train_size=pick(a.train_size, "train_size", None),
        growth_sizes=pick(a.growth_sizes, "growth_sizes", DEFAULT_GROWTH), seed=a.seed,
        quick=a.quick)
    print(f"\nwrote {a.out / (BENCHMARK + '.json')} and {a.out / (BENCHMARK + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

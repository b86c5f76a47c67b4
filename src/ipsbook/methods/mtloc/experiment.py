"""Paper E's experiments on the two-mall traces: one call per (source → target, seed).

For a direction and a seed, :func:`run_direction`

1. splits each site's traces 8:5:1 into train / validation / test (the paper's "rounds" are our
   traces; the seed draws the split, so seeds differ in data *and* initial weights);
2. chooses the target's access-point vocabulary from its training traces;
3. pre-trains the IMU-LSTM on the source site;
4. trains on the target: from scratch, transferred (LSTM frozen; the paper's "0 %"), and
   fine-tuned (LSTM trainable) on the first 1/8, 2/8, … 8/8 of the target's training traces
   (nested; the paper's fine-tuning rates 12.5 % … 100 %);
5. evaluates every model on the target's validation and test traces (Fig. 4, Table V);
6. wipes 0–100 % of each modality of the test set for the model fine-tuned at ``wipe_rate``
   (Fig. 5) and 40 % for the transferred, fine-tuned and from-scratch models (Table VI, Fig. 6);
7. runs the Wi-Fi kNN and PDR baselines on the same split, and records each evaluated
   position's distance to the nearest training position (model ``"coverage"``: not a method, a
   measure of how well the training walks cover the test walks).

Everything returned is a tidy DataFrame, so the chapter pools seeds and directions with
``pandas.concat`` and shows the spread across seeds.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ...data import ilc
from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from .baselines import KNN_CONFIGS, fit_pdr, pdr_positions, wifi_knn
from .train import FitConfig, FitHistory, errors_m, fit, make_mtloc, pretrain_imu
from .wipe import MODALITIES, wipe

__all__ = [
    "DirectionResult",
    "Settings",
    "rate_label",
    "run_all",
    "run_direction",
    "training_subset",
]

EIGHTHS: tuple[float, ...] = tuple(k / 8 for k in range(9))


def rate_label(rate: float) -> str:
    """``0.625`` → ``"62.5%"``."""
    return f"{100 * rate:g}%"


@dataclass(frozen=True)
class Settings:
    """What one direction × seed run does (the chapter's parameters and profile sizes).

    ``pretrain`` / ``target``: the :class:`~.train.FitConfig` of the IMU-LSTM's pre-training and
    of every target training. Their ``stop`` (the ``full`` profile's
    :class:`ipsbook.training.StopRule`, None otherwise) makes every fit converged training:
    pre-training stops on a plateau of the error on the source's validation traces, each target
    model on the target's validation traces (never the test traces), the profile's epochs being
    the cap. :meth:`fit_configs` builds both from a profile.
    """

    pretrain: FitConfig = field(default_factory=lambda: FitConfig(epochs=100, lr=0.005, batch_size=32))
    target: FitConfig = field(default_factory=lambda: FitConfig(epochs=100, lr=0.001, batch_size=32))
    rates: tuple[float, ...] = EIGHTHS
    wipe_rate: float = 0.625
    wipe_fractions: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(11))
    wipe_at: float = 0.4
    ratios: tuple[int, int, int] = (8, 5, 1)
    min_scans: int = 10
    max_age_s: float | None = ilc.DEFAULT_MAX_AGE_S
    imu_channels: str = "magnitude"
    mag_channels: str = "magnitude"
    wifi_mode: str = "latest"
    max_scan_age_s: float | None = None  # "latest": an older newest scan counts as none
    rss_floor_dbm: float = -110.0
    knn_k: tuple[int, ...] = (1, 3, 5, 7, 9)
    # (representation, metric) pairs of the Wi-Fi kNN; must hold ("raw", "euclidean"), reported
    # on its own as "wifi-knn-raw"
    knn_configs: tuple[tuple[str, str], ...] = KNN_CONFIGS

    def __post_init__(self) -> None:
        for name in ("wipe_rate", "wipe_at"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}={v!r} must be in [0, 1]")
        bad = [r for r in self.rates if not 0.0 <= r <= 1.0]
        if bad:
            raise ValueError(f"rates={self.rates!r}: every rate must be in [0, 1] (got {bad})")
        if 0.0 not in self.rates:
            raise ValueError("rates must include 0 (the transferred model)")
        if self.wipe_rate not in self.rates or self.wipe_rate == 0.0:
            raise ValueError(f"wipe_rate={self.wipe_rate!r} must be one of the non-zero rates {self.rates}")
        if ("raw", "euclidean") not in self.knn_configs:
            raise ValueError(f"knn_configs={self.knn_configs!r} must include ('raw', 'euclidean'), "
                             "the plain kNN reported beside the chosen one")
        if any(not 0.0 <= f <= 1.0 for f in self.wipe_fractions):
            raise ValueError(f"wipe_fractions={self.wipe_fractions!r} must lie in [0, 1]")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def fit_configs(cfg: Mapping[str, Any], *, epochs: int = 0,
                    num_threads: int | None = None) -> dict[str, FitConfig]:
        """``{"pretrain": ..., "target": ...}``: the :class:`~.train.FitConfig` of both phases
        from a resolved ``profiles.resolve("mtloc", ...)`` (its ``pretrain`` / ``target`` sizes
        and its ``stop`` rule, which goes to every fit); ``epochs`` > 0 overrides the profile's
        epochs (the cap, under a stop rule)."""
        return {
            phase: FitConfig(epochs=epochs or cfg[phase]["epochs"], lr=cfg[phase]["lr"],
                             batch_size=cfg[phase]["batch_size"], num_threads=num_threads,
                             stop=cfg.get("stop"))
            for phase in ("pretrain", "target")
        }


@dataclass
class DirectionResult:
    """The tidy tables of one (source → target, seed) run."""

    # direction, seed, model, rate, split, error_m (one row per sample); split "train" (MTLoc
    # models only) holds the samples the model was fitted on
    errors: pd.DataFrame
    wipe_curve: pd.DataFrame  # direction, seed, model, modality, fraction, mean_error_m
    wipe_errors: pd.DataFrame  # direction, seed, model, modality, error_m at wipe_at
    training: pd.DataFrame  # one row per trained model: epochs, seconds, samples/s, ...
    info: dict[str, Any] = field(default_factory=dict)  # vocabulary, sample and trace counts
    # the Wi-Fi kNN's validation grid: representation, metric, k, validation_mean_m, direction, seed
    knn_grid: pd.DataFrame = field(default_factory=pd.DataFrame)


def training_subset(train_ids: Sequence[str], rate: float) -> list[str]:
    """The first ``ceil(rate × n)`` training traces (at least one): nested across rates."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate={rate!r} must be in (0, 1]")
    n = max(1, math.ceil(round(rate * len(train_ids), 9)))
    return list(train_ids[:n])


def _samples(traces: list[Any], ids: Sequence[str], vocab: list[str], s: Settings) -> Any:
    chosen = [t for t in traces if t.trace_id in set(ids)]
    return ilc.build_samples(
        chosen, vocab, imu_channels=s.imu_channels, mag_channels=s.mag_channels,
        wifi_mode=s.wifi_mode, max_age_s=s.max_age_s, rss_floor_dbm=s.rss_floor_dbm,
        max_scan_age_s=s.max_scan_age_s,
    )


def _train_row(direction: str, seed: int, model: str, rate: float, h: FitHistory) -> dict[str, Any]:
    return {"direction": direction, "seed": seed, "model": model, "rate": rate, **h.summary()}


def run_direction(
    source: str,
    target: str,
    *,
    seed: int = 0,
    settings: Settings = Settings(),
    progress: bool = False,
) -> DirectionResult:
    """Run paper E's pipeline for ``source`` → ``target`` (site names) with one seed.

    The whole run — training *and* evaluation, whose errors pick each model's best epoch — runs
    in one :func:`ipsbook.torchutil.torch_session`: seeded, deterministic algorithms on CPU,
    ``settings.target.num_threads`` threads. The numbers then do not depend on the caller's
    global torch state, nor on whether :func:`run_all` runs it in this process or another."""
    if source == target:
        raise ValueError(f"source and target must be different sites (both {source!r})")
    dev = resolve_device(settings.target.device)
    with torch_session(int(seed), dev, settings.target.num_threads):
        return _run_direction(source, target, seed, settings, progress)


def _run_direction(source: str, target: str, seed: int, settings: Settings,
                   progress: bool) -> DirectionResult:
    s = settings
    direction = f"{source}→{target}"
    traces = {site: ilc.load_site(site) for site in (source, target)}
    split = {site: ilc.split_traces([t.trace_id for t in traces[site]], s.ratios, seed=seed)
             for site in (source, target)}
    by_id = {t.trace_id: t for t in traces[target]}
    vocab_t = ilc.ap_vocabulary([by_id[i] for i in split[target]["train"]],
                                min_scans=s.min_scans, max_age_s=s.max_age_s)
    src_by_id = {t.trace_id: t for t in traces[source]}
    vocab_s = ilc.ap_vocabulary([src_by_id[i] for i in split[source]["train"]],
                                min_scans=s.min_scans, max_age_s=s.max_age_s)
    src = {k: _samples(traces[source], split[source][k], vocab_s, s) for k in ("train", "validation")}
    tgt = {k: _samples(traces[target], split[target][k], vocab_t, s)
           for k in ("train", "validation", "test")}
    info = {
        "direction": direction, "seed": seed, "source": source, "target": target,
        "target_aps": len(vocab_t), "source_aps": len(vocab_s),
        **{f"target_{k}_traces": len(split[target][k]) for k in split[target]},
        **{f"target_{k}_samples": len(v.pos) for k, v in tgt.items()},
        **{f"source_{k}_samples": len(v.pos) for k, v in src.items()},
    }

    errors: list[pd.DataFrame] = []
    training: list[dict[str, Any]] = []

    def record(model_name: str, rate: float, model: Any, trained_on: Any) -> None:
        # "train": the samples this model was fitted on (its generalisation gap beside val/test)
        for split_name, samples in (("train", trained_on), ("validation", tgt["validation"]),
                                    ("test", tgt["test"])):
            e = errors_m(model, samples)
            errors.append(pd.DataFrame({"direction": direction, "seed": seed, "model": model_name,
                                        "rate": rate, "split": split_name, "error_m": e}))

    imu_model, h = pretrain_imu(src["train"], src["validation"], config=s.pretrain, seed=seed,
                                progress=progress)
    training.append(_train_row(direction, seed, "IMU-LSTM pre-training", 1.0, h))
    # the reference a position regressor must beat: always the source's mean training position
    const = np.asarray(src["train"].pos, np.float64).mean(axis=0)
    info["pretrain_constant_val_m"] = float(np.mean(np.linalg.norm(
        np.asarray(src["validation"].pos, np.float64) - const, axis=1)))

    models: dict[tuple[str, float], Any] = {}
    plan = [("scratch", 1.0), ("transfer", 0.0)] + [("finetune", r) for r in s.rates if r > 0]
    # the fine-tuning shares take the target's training traces in a seeded order
    order = [str(i) for i in np.random.default_rng(seed).permutation(sorted(split[target]["train"]))]
    info["finetune_traces"] = {rate_label(r): len(training_subset(order, r)) for r in s.rates if r > 0}
    for mode, rate in plan:
        if mode == "finetune":
            train = tgt["train"].subset(np.isin(tgt["train"].trace_id, training_subset(order, rate)))
        else:
            train = tgt["train"]
        model = make_mtloc(train, mode=mode, imu_model=imu_model, rss_floor_dbm=s.rss_floor_dbm,
                           seed=seed)
        h = fit(model, train, tgt["validation"], config=s.target, seed=seed, progress=progress,
                desc=f"{direction} {mode} {rate_label(rate)}")
        training.append(_train_row(direction, seed, mode, rate, h))
        record(mode, rate, model, train)
        models[(mode, rate)] = model

    # Fig. 5: the fine-tuned model with growing shares of one modality wiped from the test set
    tuned = models[("finetune", s.wipe_rate)]
    curve = [
        {"direction": direction, "seed": seed, "model": "finetune", "modality": m,
         "fraction": f, "mean_error_m": float(np.mean(errors_m(
             tuned, wipe(tgt["test"], m, f, seed=seed, rss_floor_dbm=s.rss_floor_dbm))))}
        for m in MODALITIES for f in s.wipe_fractions
    ]
    # Table VI / Fig. 6: 40 % of each modality wiped, transferred vs fine-tuned vs raw model
    wiped = []
    for name, key in (("transfer", ("transfer", 0.0)), ("finetune", ("finetune", s.wipe_rate)),
                      ("scratch", ("scratch", 1.0))):
        for m in MODALITIES:
            e = errors_m(models[key], wipe(tgt["test"], m, s.wipe_at, seed=seed,
                                           rss_floor_dbm=s.rss_floor_dbm))
            wiped.append(pd.DataFrame({"direction": direction, "seed": seed, "model": name,
                                       "modality": m, "error_m": e}))

    # baselines on the same split
    # Wi-Fi kNN: representation x distance x k chosen on validation ("wifi-knn"), and raw dBm
    # with the Euclidean distance, its k chosen on validation ("wifi-knn-raw")
    knn = wifi_knn(tgt["train"], tgt["test"], tgt["validation"], s.knn_k,
                   configs=s.knn_configs, rss_floor_dbm=s.rss_floor_dbm)
    raw_k, raw_val, raw_test = knn.by_config[("raw", "euclidean")]
    for name, on_val, on_test in (("wifi-knn", knn.val_errors, knn.errors),
                                  ("wifi-knn-raw", raw_val, raw_test)):
        for split_name, e in (("validation", on_val), ("test", on_test)):
            errors.append(pd.DataFrame({"direction": direction, "seed": seed, "model": name,
                                        "rate": 1.0, "split": split_name, "error_m": e}))
    info.update(knn_k=knn.k, knn_representation=knn.representation, knn_metric=knn.metric,
                knn_raw_k=raw_k)
    knn_grid = knn.grid.assign(direction=direction, seed=seed)
    pdr = fit_pdr([by_id[i] for i in split[target]["train"]])
    info.update(pdr_step_length_m=pdr.step_length_m, pdr_heading_offset_deg=np.degrees(pdr.heading_offset_rad))
    for split_name in ("validation", "test"):
        smp = tgt[split_name]
        pred = np.zeros_like(np.asarray(smp.pos, np.float64))
        ids = smp.trace_id
        for tid in np.unique(ids):
            rows = np.flatnonzero(ids == tid)
            t_ms = by_id[tid].start_ms + 1000.0 * np.asarray(smp.t_s)[rows]
            pred[rows] = pdr_positions(pdr, by_id[tid], t_ms)
        e = np.linalg.norm(pred - np.asarray(smp.pos, np.float64), axis=1)
        errors.append(pd.DataFrame({"direction": direction, "seed": seed, "model": "pdr",
                                    "rate": 1.0, "split": split_name, "error_m": e}))

    # not a method: how far each evaluated position is from the nearest training position
    tree = cKDTree(np.asarray(tgt["train"].pos, np.float64))
    for split_name in ("validation", "test"):
        e = tree.query(np.asarray(tgt[split_name].pos, np.float64))[0]
        errors.append(pd.DataFrame({"direction": direction, "seed": seed, "model": "coverage",
                                    "rate": 1.0, "split": split_name, "error_m": e}))

    return DirectionResult(
        errors=pd.concat(errors, ignore_index=True),
        wipe_curve=pd.DataFrame(curve),
        wipe_errors=pd.concat(wiped, ignore_index=True),
        training=pd.DataFrame(training),
        info=info,
        knn_grid=knn_grid,
    )


def _run_one(args: tuple[str, str, int, Settings]) -> DirectionResult:
    source, target, seed, settings = args
    return run_direction(source, target, seed=seed, settings=settings)


def run_all(
    directions: Sequence[tuple[str, str]],
    seeds: Sequence[int],
    *,
    settings: Settings = Settings(),
    workers: int = 1,
    progress: bool = True,
) -> list[DirectionResult]:
    """:func:`run_direction` for every (direction, seed), in that order. ``workers`` > 1 runs
    them in that many processes (spawned, each with ``settings``' torch threads); every run is
    seeded on its own, so the results do not depend on ``workers``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be a positive integer")
    jobs = [(src, tgt, int(s), settings) for src, tgt in directions for s in seeds]
    if not jobs:
        raise ValueError("no (direction, seed) to run: directions and seeds must not be empty")
    bar = tqdm(total=len(jobs), desc="MTLoc runs", disable=not progress)
    results: list[DirectionResult | None] = [None] * len(jobs)
    if workers == 1 or len(jobs) == 1:
        for i, job in enumerate(jobs):
            results[i] = _run_one(job)
            bar.update(1)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            futures = {pool.submit(_run_one, job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(1)
    bar.close()
    return [r for r in results if r is not None]

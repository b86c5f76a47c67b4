"""Paper E's experiments on the two-mall traces: one call per (source → target, protocol, seed).

For a direction, a protocol (``split``) and a seed, :func:`run_direction`

1. splits each site's samples 8:5:1 into train / validation / test: by trace (``"trace"``:
   the paper's "rounds" are our traces) or by walked corridor (``"blocks"``: contiguous time
   blocks within traces, a gap of at least one input window between blocks of different
   splits, :mod:`.splits`); the seed draws the split, so seeds differ in data *and* weights;
2. chooses the target's access-point vocabulary from its training samples' scans;
3. pre-trains the IMU-LSTM on the source (a mall under the same protocol, or the authors'
   own rounds, ``source="rounds"``: the round ``seed mod 5`` validates, the others train) and
   records its validation errors beside the mean-position predictor's (the transfer gate,
   :mod:`.transfer`);
4. trains on the target: from scratch, transferred (LSTM frozen; the paper's "0 %"), and
   fine-tuned (LSTM trainable) on the first 1/8, 2/8, … 8/8 of the target's training units
   (traces or blocks; nested; the paper's fine-tuning rates); MTLoc reads Wi-Fi as the paper's
   Table II does (``wifi_mode="at_scan"``: "null" when no new scan arrived in the step), and a
   from-scratch model on the held latest scan (``variant_wifi_mode``) shows that choice's effect;
5. evaluates every model on the target's validation and test samples (Fig. 4, Table V);
6. wipes 0–100 % of each modality of the test set for the model fine-tuned at ``wipe_rate``
   (Fig. 5) and 40 % for the transferred, fine-tuned and from-scratch models (Table VI, Fig. 6);
7. runs the baselines on the same split — the Wi-Fi kNN (reading the held latest scan, as a
   fingerprinting system holds its last fix), PDR started at the true position (the trace's
   first waypoint) and a Kalman filter over the PDR steps with Wi-Fi kNN fixes (:mod:`.fusion`)
   — and records each evaluated position's distance to the nearest training position (column
   ``dist_m``; model ``"coverage"``: not a method).

Everything returned is a tidy DataFrame, so the chapter pools seeds and directions with
``pandas.concat`` and shows the spread across seeds.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ...data import ilc, uoe
from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from .baselines import KNN_CONFIGS, fit_pdr, pdr_positions, pdr_steps, wifi_knn
from .fusion import FusionConfig, kalman_track
from .splits import GAP, SPLITS, block_ids, block_split
from .train import FitConfig, FitHistory, errors_m, fit, make_mtloc, pretrain_imu
from .wipe import MODALITIES, wipe

__all__ = [
    "ROUNDS_SOURCE",
    "DirectionResult",
    "Settings",
    "direction_label",
    "rate_label",
    "run_all",
    "run_direction",
    "training_subset",
]

EIGHTHS: tuple[float, ...] = tuple(k / 8 for k in range(9))
#: The source name of the authors' own rounds (:mod:`ipsbook.data.uoe`), pre-training only.
ROUNDS_SOURCE = "rounds"
PROTOCOL_LABELS = {"trace": "by trace", "blocks": "walked"}


def direction_label(source: str, target: str, split: str) -> str:
    """``"site1→site2, walked"``: the direction and the protocol, one label for the tables."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; allowed: {', '.join(SPLITS)}")
    return f"{source}→{target}, {PROTOCOL_LABELS[split]}"


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
    # MTLoc's Wi-Fi input: "at_scan" = Table II's "null" when no new scan arrived in the step;
    # variant_wifi_mode: one more from-scratch MTLoc on the other reading (None: none)
    wifi_mode: str = "at_scan"
    variant_wifi_mode: str | None = "latest"
    max_scan_age_s: float | None = None  # "latest": an older newest scan counts as none
    # the protocol: "trace" (whole traces) or "blocks" (walked corridors, .splits)
    split: str = "trace"
    step_s: float = 0.1  # the sample step (paper: 100 ms); smoke takes 1 s for speed
    block_s: float = 10.0
    gap_s: float = 1.0
    # the Kalman filter's step noise (1-sigma per axis per step, m): about half a ~0.7 m step,
    # for the step-length and heading errors of a PDR whose two constants are fitted per site;
    # its fix noise is the Wi-Fi kNN's validation RMS error per axis (fitted, not set)
    fusion_step_sigma_m: float = 0.3
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
        if self.split not in SPLITS:
            raise ValueError(f"split={self.split!r}; allowed: {', '.join(SPLITS)}")
        for name in ("wifi_mode", "variant_wifi_mode"):
            v = getattr(self, name)
            if v not in ("latest", "at_scan") and not (name == "variant_wifi_mode" and v is None):
                raise ValueError(f"{name}={v!r}; allowed: 'latest', 'at_scan'"
                                 + (", None" if name == "variant_wifi_mode" else ""))

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
    # the pre-trained IMU-LSTM on its own validation samples: direction, seed, group (a 10 s
    # block of a walk), lstm_m, mean_position_m (the transfer gate, .transfer.gate)
    pretrain_errors: pd.DataFrame = field(default_factory=pd.DataFrame)


def training_subset(train_ids: Sequence[str], rate: float) -> list[str]:
    """The first ``ceil(rate × n)`` training traces (at least one): nested across rates."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate={rate!r} must be in (0, 1]")
    n = max(1, math.ceil(round(rate * len(train_ids), 9)))
    return list(train_ids[:n])


def _build(traces: list[Any], vocab: Sequence[str], s: Settings, wifi_mode: str) -> Any:
    return ilc.build_samples(
        traces, vocab, step_s=s.step_s, imu_channels=s.imu_channels, mag_channels=s.mag_channels,
        wifi_mode=wifi_mode, max_age_s=s.max_age_s, rss_floor_dbm=s.rss_floor_dbm,
        max_scan_age_s=s.max_scan_age_s,
    )


def _labels(samples: Any, traces: list[Any], s: Settings, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(split label, unit) per sample: the unit is the trace (``"trace"``) or the block of a
    walk (``"blocks"``); fine-tuning shares and the interval groups count units."""
    tid = samples.trace_id
    if s.split == "trace":
        split = ilc.split_traces([t.trace_id for t in traces], s.ratios, seed=seed)
        where = {i: k for k, ids in split.items() for i in ids}
        return np.array([where[t] for t in tid], dtype=object), np.asarray(tid, dtype=object)
    window_s = float(samples.settings.get("window_s", 1.0))
    lab = block_split(tid, samples.t_s, block_s=s.block_s, gap_s=s.gap_s, window_s=window_s,
                      ratios=s.ratios, seed=seed)
    return lab, block_ids(tid, samples.t_s, s.block_s)


def _train_scans(traces: list[Any], samples: Any, train: np.ndarray) -> list[Any]:
    """The traces with only the Wi-Fi scans that training samples read (a scan counts when a
    training sample lies within one step after it): the vocabulary sees no held-out scan."""
    step_ms = 1000.0 * float(samples.settings.get("step_s", 0.1))
    out = []
    for i, tr in enumerate(traces):
        t_ms = np.sort(tr.start_ms + 1000.0 * samples.t_s[(samples.trace == i) & train])
        if len(t_ms) == 0:
            continue
        scan_t = tr.wifi["t_ms"].to_numpy(np.float64)
        j = np.searchsorted(t_ms, scan_t, side="left")
        ok = (j < len(t_ms)) & (t_ms[np.minimum(j, len(t_ms) - 1)] - scan_t < step_ms)
        out.append(replace(tr, wifi=tr.wifi[ok]))
    return out


def _source_samples(source: str, seed: int, s: Settings) -> tuple[dict[str, Any], str]:
    """Pre-training samples (``train``, ``validation``) of the source and how they were split."""
    if source == ROUNDS_SOURCE:
        rounds = uoe.load_rounds()
        val = rounds[seed % len(rounds)]
        smp = uoe.build_samples(rounds, [], step_s=s.step_s, imu_channels=s.imu_channels,
                                mag_channels=s.mag_channels, rss_floor_dbm=s.rss_floor_dbm)
        is_val = smp.trace_id == val.name
        return ({"train": smp.subset(~is_val), "validation": smp.subset(is_val)},
                f"rounds: {val.name} validates, the other {len(rounds) - 1} train")
    traces = ilc.load_site(source)
    smp = _build(traces, [], s, "at_scan")  # the LSTM reads no Wi-Fi
    lab, _ = _labels(smp, traces, s, seed)
    return ({k: smp.subset(lab == k) for k in ("train", "validation")},
            f"{source}: {PROTOCOL_LABELS[s.split]}")


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
    """Run paper E's pipeline for ``source`` → ``target`` with one seed under
    ``settings.split``. ``target``: a site of :data:`ipsbook.data.ilc.SITES`; ``source``: the
    other site or :data:`ROUNDS_SOURCE` (the authors' rounds, pre-training only).

    The whole run — training *and* evaluation, whose errors pick each model's best epoch — runs
    in one :func:`ipsbook.torchutil.torch_session`: seeded, deterministic algorithms on CPU,
    ``settings.target.num_threads`` threads. The numbers then do not depend on the caller's
    global torch state, nor on whether :func:`run_all` runs it in this process or another."""
    if source == target:
        raise ValueError(f"source and target must be different sites (both {source!r})")
    if target not in ilc.SITES:
        raise ValueError(f"target={target!r}; allowed: {', '.join(ilc.SITES)}")
    if source not in (*ilc.SITES, ROUNDS_SOURCE):
        raise ValueError(f"source={source!r}; allowed: {', '.join((*ilc.SITES, ROUNDS_SOURCE))}")
    dev = resolve_device(settings.target.device)
    with torch_session(int(seed), dev, settings.target.num_threads):
        return _run_direction(source, target, seed, settings, progress)


def _frame(direction: str, seed: int, model: str, rate: float, split: str, e: np.ndarray,
           dist: np.ndarray | None) -> pd.DataFrame:
    return pd.DataFrame({"direction": direction, "seed": seed, "model": model, "rate": rate,
                         "split": split, "error_m": e,
                         "dist_m": np.nan if dist is None else dist})


def _run_direction(source: str, target: str, seed: int, settings: Settings,
                   progress: bool) -> DirectionResult:
    s = settings
    direction = direction_label(source, target, s.split)
    traces = ilc.load_site(target)
    by_id = {t.trace_id: t for t in traces}
    probe = _build(traces, [], s, "at_scan")
    lab, unit = _labels(probe, traces, s, seed)
    # by trace: every scan of the training traces; walked: the scans training samples read
    vocab_traces = ([by_id[i] for i in sorted(set(probe.trace_id[lab == "train"]))]
                    if s.split == "trace" else _train_scans(traces, probe, lab == "train"))
    vocab_t = ilc.ap_vocabulary(vocab_traces, min_scans=s.min_scans, max_age_s=s.max_age_s)
    full = _build(traces, vocab_t, s, s.wifi_mode)
    held = full if s.wifi_mode == "latest" else _build(traces, vocab_t, s, "latest")
    if not (np.array_equal(full.t_s, probe.t_s) and np.array_equal(full.trace, probe.trace)):
        raise RuntimeError("the samples changed with the vocabulary; the split would not hold")
    names = ("train", "validation", "test")
    tgt = {k: full.subset(lab == k) for k in names}
    tgt_held = {k: held.subset(lab == k) for k in names}
    units = {k: unit[lab == k] for k in names}
    src, src_note = _source_samples(source, seed, s)
    info = {
        "direction": direction, "seed": seed, "source": source, "target": target,
        "protocol": PROTOCOL_LABELS[s.split], "source_split": src_note,
        "target_aps": len(vocab_t), "target_gap_samples": int(np.sum(lab == GAP)),
        **{f"target_{k}_units": len(np.unique(units[k])) for k in names},
        **{f"target_{k}_samples": len(v.pos) for k, v in tgt.items()},
        **{f"source_{k}_samples": len(v.pos) for k, v in src.items()},
    }
    # how far each evaluated position is from the nearest training position
    tree = cKDTree(np.asarray(tgt["train"].pos, np.float64))
    dist = {k: tree.query(np.asarray(tgt[k].pos, np.float64))[0] for k in ("validation", "test")}

    errors: list[pd.DataFrame] = []
    training: list[dict[str, Any]] = []
    # the reference every position regressor on the target must beat: its mean training
    # position (report.position_gate judges MTLoc against it on the validation samples)
    const_t = np.asarray(tgt["train"].pos, np.float64).mean(axis=0)
    for k in ("validation", "test"):
        e_k = np.linalg.norm(np.asarray(tgt[k].pos, np.float64) - const_t, axis=1)
        errors.append(_frame(direction, seed, "mean-position", 1.0, k, e_k, dist[k]))

    def record(model_name: str, rate: float, model: Any, trained_on: Any,
               sets: dict[str, Any] = tgt) -> None:
        # "train": the samples this model was fitted on (its generalisation gap beside val/test)
        errors.append(_frame(direction, seed, model_name, rate, "train",
                             errors_m(model, trained_on), None))
        for k in ("validation", "test"):
            errors.append(_frame(direction, seed, model_name, rate, k,
                                 errors_m(model, sets[k]), dist[k]))

    imu_model, h = pretrain_imu(src["train"], src["validation"], config=s.pretrain, seed=seed,
                                progress=progress)
    training.append(_train_row(direction, seed, "IMU-LSTM pre-training", 1.0, h))
    # the reference a position regressor must beat: always the source's mean training position
    const = np.asarray(src["train"].pos, np.float64).mean(axis=0)
    sv = src["validation"]
    e_const = np.linalg.norm(np.asarray(sv.pos, np.float64) - const, axis=1)
    info["pretrain_constant_val_m"] = float(np.mean(e_const))
    pre_err = pd.DataFrame({
        "direction": direction, "seed": seed,
        "group": [f"{seed}|{b}" for b in block_ids(sv.trace_id, sv.t_s, 10.0)],
        "lstm_m": errors_m(imu_model, sv), "mean_position_m": e_const})

    models: dict[tuple[str, float], Any] = {}
    plan = [("scratch", 1.0), ("transfer", 0.0)] + [("finetune", r) for r in s.rates if r > 0]
    # the fine-tuning shares take the target's training units in a seeded order
    order = [str(i) for i in np.random.default_rng(seed).permutation(sorted(set(units["train"])))]
    info["finetune_units"] = {rate_label(r): len(training_subset(order, r)) for r in s.rates if r > 0}
    for mode, rate in plan:
        if mode == "finetune":
            train = tgt["train"].subset(np.isin(units["train"], training_subset(order, rate)))
        else:
            train = tgt["train"]
        model = make_mtloc(train, mode=mode, imu_model=imu_model, rss_floor_dbm=s.rss_floor_dbm,
                           seed=seed)
        h = fit(model, train, tgt["validation"], config=s.target, seed=seed, progress=progress,
                desc=f"{direction} {mode} {rate_label(rate)}")
        training.append(_train_row(direction, seed, mode, rate, h))
        record(mode, rate, model, train)
        models[(mode, rate)] = model
    if s.variant_wifi_mode not in (None, s.wifi_mode):
        var_all = held if s.variant_wifi_mode == "latest" else _build(
            traces, vocab_t, s, s.variant_wifi_mode)
        var = {k: var_all.subset(lab == k) for k in names}
        model = make_mtloc(var["train"], mode="scratch", rss_floor_dbm=s.rss_floor_dbm, seed=seed)
        h = fit(model, var["train"], var["validation"], config=s.target, seed=seed,
                progress=progress, desc=f"{direction} scratch, {s.variant_wifi_mode}")
        name = f"scratch-{s.variant_wifi_mode}"
        training.append(_train_row(direction, seed, name, 1.0, h))
        record(name, 1.0, model, var["train"], var)

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
                                       "modality": m, "error_m": e, "dist_m": dist["test"]}))

    # baselines on the same split
    # Wi-Fi kNN on the held latest scan: representation x distance x k chosen on validation
    # ("wifi-knn"), and raw dBm with the Euclidean distance, its k chosen on validation
    # ("wifi-knn-raw")
    knn = wifi_knn(tgt_held["train"], tgt_held["test"], tgt_held["validation"], s.knn_k,
                   configs=s.knn_configs, rss_floor_dbm=s.rss_floor_dbm)
    raw_k, raw_val, raw_test = knn.by_config[("raw", "euclidean")]
    for name, on_val, on_test in (("wifi-knn", knn.val_errors, knn.errors),
                                  ("wifi-knn-raw", raw_val, raw_test)):
        for k, e in (("validation", on_val), ("test", on_test)):
            errors.append(_frame(direction, seed, name, 1.0, k, e, dist[k]))
    info.update(knn_k=knn.k, knn_representation=knn.representation, knn_metric=knn.metric,
                knn_raw_k=raw_k)
    knn_grid = knn.grid.assign(direction=direction, seed=seed)
    # PDR and the Wi-Fi + PDR filter, both started at the trace's first waypoint (the true
    # position); PDR's two constants from the traces holding training samples
    train_traces = sorted(set(tgt["train"].trace_id))
    pdr = fit_pdr([by_id[i] for i in train_traces])
    fix_sigma = float(np.sqrt(np.mean(np.asarray(knn.val_errors) ** 2) / 2.0))
    fcfg = FusionConfig(step_sigma_m=s.fusion_step_sigma_m, fix_sigma_m=fix_sigma)
    info.update(pdr_step_length_m=pdr.step_length_m,
                pdr_heading_offset_deg=np.degrees(pdr.heading_offset_rad),
                fusion_step_sigma_m=s.fusion_step_sigma_m, fusion_fix_sigma_m=fix_sigma)
    step_ms = 1000.0 * float(held.settings.get("step_s", 0.1))
    # Wi-Fi fixes: the kNN positions at the steps where a new scan arrived, on held-out samples
    fixes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, where in (("validation", knn.val_positions), ("test", knn.positions)):
        smp = tgt_held[k]
        new = np.asarray(smp.wifi_valid) & (np.asarray(smp.wifi_age_s) * 1000.0 < step_ms)
        for tid in np.unique(smp.trace_id[new]):
            rows = np.flatnonzero(new & (smp.trace_id == tid))
            t_ms = by_id[tid].start_ms + 1000.0 * np.asarray(smp.t_s)[rows]
            old_t, old_xy = fixes.get(tid, (np.empty(0), np.empty((0, 2))))
            fixes[tid] = (np.concatenate([old_t, t_ms]), np.vstack([old_xy, where[rows]]))
    for k in ("validation", "test"):
        smp = tgt[k]
        pred_pdr = np.zeros((len(smp.pos), 2))
        pred_kf = np.zeros((len(smp.pos), 2))
        ids = smp.trace_id
        for tid in np.unique(ids):
            rows = np.flatnonzero(ids == tid)
            t_ms = by_id[tid].start_ms + 1000.0 * np.asarray(smp.t_s)[rows]
            pred_pdr[rows] = pdr_positions(pdr, by_id[tid], t_ms)
            t0, start, st, mv = pdr_steps(pdr, by_id[tid])
            ft, fxy = fixes.get(tid, (np.empty(0), np.empty((0, 2))))
            pred_kf[rows] = kalman_track(t0, start, st, mv, ft, fxy, t_ms, fcfg)
        truth = np.asarray(smp.pos, np.float64)
        for name, pred in (("pdr", pred_pdr), ("wifi-pdr-kf", pred_kf)):
            errors.append(_frame(direction, seed, name, 1.0, k,
                                 np.linalg.norm(pred - truth, axis=1), dist[k]))

    # not a method: how far each evaluated position is from the nearest training position
    for k in ("validation", "test"):
        errors.append(_frame(direction, seed, "coverage", 1.0, k, dist[k], dist[k]))

    return DirectionResult(
        errors=pd.concat(errors, ignore_index=True),
        wipe_curve=pd.DataFrame(curve),
        wipe_errors=pd.concat(wiped, ignore_index=True),
        training=pd.DataFrame(training),
        info=info,
        knn_grid=knn_grid,
        pretrain_errors=pre_err,
    )


def _run_one(args: tuple[str, str, int, Settings]) -> DirectionResult:
    source, target, seed, settings = args
    return run_direction(source, target, seed=seed, settings=settings)


def run_all(
    directions: Sequence[tuple[str, str] | tuple[str, str, str]],
    seeds: Sequence[int],
    *,
    settings: Settings = Settings(),
    workers: int = 1,
    progress: bool = True,
) -> list[DirectionResult]:
    """:func:`run_direction` for every (direction, seed), in that order. A direction is
    ``(source, target)`` (under ``settings.split``) or ``(source, target, split)``.
    ``workers`` > 1 runs them in that many processes (spawned, each with ``settings``' torch
    threads); every run is seeded on its own, so the results do not depend on ``workers``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be a positive integer")
    jobs = []
    for d in directions:
        src, tgt, *rest = d
        st = replace(settings, split=rest[0]) if rest else settings
        jobs += [(src, tgt, int(s), st) for s in seeds]
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

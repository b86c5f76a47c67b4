"""Training MTLoc and its IMU-LSTM: pre-training, transfer (frozen), fine-tuning, from scratch.

Paper E (Wei & Radu) in four steps, each a function here:

1. :func:`pretrain_imu` — the IMU-LSTM with a 2-unit regression layer, trained on the *source*
   site to predict position from the 1 s IMU window alone (Sect. IV.B; Table IV: 100 epochs,
   RMSprop, learning rate 0.005).
2. :func:`make_mtloc` with ``mode="transfer"`` — a fresh MTLoc for the *target* site whose IMU
   branch is the pre-trained LSTM, frozen (``requires_grad=False``); the Wi-Fi DNN, the MAG-LSTM
   and the fusion layers train from scratch (Sect. III.B).
3. ``mode="finetune"`` — the same, with the transferred LSTM trainable: its weights only
   initialise the branch (Sect. III.C).
4. ``mode="scratch"`` — the reference: every weight trained on the target from random.

:func:`fit` trains any of them on samples already in memory: shuffled mini-batches by index
arithmetic on tensors (no DataLoader, no per-sample Python), mean-squared error on standardised
coordinates, and the weights of the epoch with the lowest validation error restored at the end
(the paper keeps a validation set of 5/14 of the rounds but does not say how it is used; early
model selection is the common Keras practice, ``ModelCheckpoint(save_best_only=True)``).

Choices the paper leaves open: the optimiser and learning rate of the MTLoc training itself
(we use RMSprop as for pre-training, with Keras' default rate 0.001 and Keras' ``rho`` = 0.9),
the loss (MSE), the batch size (profile: 32 under ``paper``, as Keras' default; larger under
``quick`` to fit the time budget), and the epochs of the target training (100 under ``paper``,
as for pre-training).

**Converged training** (``FitConfig.stop``, a :class:`ipsbook.training.StopRule`; the ``full``
profile): :func:`fit` then trains until the mean validation error stops improving, ``epochs``
being the cap, lowers the learning rate on plateaus and keeps the best epoch's weights
(:class:`ipsbook.training.Plateau`). It watches ``val`` when given -- the experiments always give
it: the source's validation traces for pre-training, the target's for target training, the
paper's 5/14 validation rounds -- and otherwise a split carved from the *training* samples by
:func:`stop_split`: whole traces (``trace_id`` / ``trace``, when the samples carry them) go to one
side, since the 100 ms steps of one walk overlap by 90 % of their 1 s windows and a random
sample-level split would validate on near-copies of training samples; samples without trace ids
are split into contiguous blocks for the same reason. ``stop=None``: the fixed ``epochs``.

Reproducible: seeded inside :func:`ipsbook.torchutil.torch_session` (deterministic algorithms
on CPU); the same arguments on the same machine give the same weights on CPU.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ...models.mtloc import IMURegressor, MTLoc, set_position_scaling
from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from ...training import Plateau, StopRule, validation_split

__all__ = [
    "MODES",
    "FitConfig",
    "FitHistory",
    "SampleArrays",
    "errors_m",
    "fit",
    "make_mtloc",
    "predict",
    "pretrain_imu",
    "stop_split",
]

MODES: tuple[str, ...] = ("scratch", "transfer", "finetune")
OPTIMIZERS: tuple[str, ...] = ("rmsprop", "adam")


class SampleArrays(Protocol):
    """What training needs from a sample set (``ipsbook.data.ilc.MultimodalSamples`` has it):
    ``wifi`` [n, n_aps] dBm, ``imu`` [n, steps, c], ``mag`` [n, steps, c], ``pos`` [n, 2] m.
    Optional: ``trace_id`` or ``trace`` [n], each sample's trace (:func:`stop_split` keeps a
    trace's samples on one side)."""

    wifi: np.ndarray
    imu: np.ndarray
    mag: np.ndarray
    pos: np.ndarray


@dataclass(frozen=True)
class FitConfig:
    """How to train. ``lr`` and ``optimizer`` as in Keras (RMSprop with rho 0.9).

    ``stop``: converged training (a :class:`ipsbook.training.StopRule` or its fields as a
    mapping; module notes): ``epochs`` is the cap, and the best validation epoch's weights are
    always restored (``restore_best`` only matters without it). None: ``epochs`` epochs.
    """

    epochs: int = 100
    lr: float = 0.001
    batch_size: int = 32
    optimizer: str = "rmsprop"
    restore_best: bool = True
    num_threads: int | None = None
    device: str | None = None
    stop: StopRule | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr={self.lr!r} must be a positive number")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise ValueError(f"num_threads={self.num_threads!r} must be None or a positive integer")
        object.__setattr__(self, "stop", StopRule.of(self.stop))


@dataclass
class FitHistory:
    """Per-epoch record of one :func:`fit`. With a stop rule, ``stopping`` is what the plateau
    rule did (:meth:`ipsbook.training.Plateau.summary`) and ``n_val`` the validation samples
    watched; without one they are None and 0."""

    train_loss: list[float] = field(default_factory=list)  # MSE on standardised coordinates
    val_mean_error_m: list[float] = field(default_factory=list)
    epoch_s: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 0-based; None without validation data
    n_train: int = 0
    trainable_parameters: int = 0
    device: str = "cpu"
    stopping: dict[str, Any] | None = None
    n_val: int = 0

    @property
    def samples_per_s(self) -> float:
        """Training throughput (forward + backward + step), excluding validation."""
        t = float(np.sum(self.epoch_s))
        return self.n_train * len(self.epoch_s) / t if t > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """One flat record; with a stop rule also ``epochs_cap``, ``stopped`` (``"plateau"`` or
        ``"cap"``), ``still_improving``, ``lr_drops`` (how often the rate fell) and ``n_val``
        (absent without one, so fixed-epoch records keep their columns)."""
        out = {
            "epochs": len(self.epoch_s),
            "best_epoch": self.best_epoch,
            "final_train_loss": self.train_loss[-1] if self.train_loss else None,
            "best_val_mean_error_m": min(self.val_mean_error_m) if self.val_mean_error_m else None,
            "epoch_s": float(np.mean(self.epoch_s)) if self.epoch_s else None,
            "samples_per_s": self.samples_per_s,
            "n_train": self.n_train,
            "trainable_parameters": self.trainable_parameters,
        }
        if self.stopping is not None:
            s = self.stopping
            out.update({"epochs_cap": s["cap"], "stopped": s["stopped"],
                        "still_improving": s["still_improving"], "lr_drops": len(s["lr_drops"]),
                        "n_val": self.n_val})
        return out


@dataclass(frozen=True)
class _Rows:
    """Some rows of a sample set: the arrays training and evaluation read."""

    wifi: np.ndarray
    imu: np.ndarray
    mag: np.ndarray
    pos: np.ndarray
    trace: np.ndarray | None = None


def _traces(s: SampleArrays) -> np.ndarray | None:
    for attr in ("trace_id", "trace"):
        v = getattr(s, attr, None)
        if v is not None:
            v = np.asarray(v)
            if v.shape == (len(s.pos),):
                return v
    return None


def stop_split(
    samples: SampleArrays, stop: StopRule | Mapping[str, Any], seed: int
) -> tuple[_Rows, _Rows]:
    """``(fit, held_out)``: the validation split :func:`fit` carves from its training samples
    under a stop rule when no ``val`` is given (module notes).

    About ``stop.val_fraction`` of the samples, drawn by :func:`ipsbook.training.validation_split`
    with ``seed``: whole traces at a time when the samples carry their trace (``trace_id`` or
    ``trace``) and hold at least two; otherwise whole contiguous blocks (``ceil(10 /
    val_fraction)`` blocks of consecutive samples, about 10 of them held out). Both parts are
    non-empty and keep the samples' order.
    """
    rule = StopRule.of(stop)
    if rule is None:
        raise ValueError("stop_split needs a stop rule (StopRule or its fields), not None")
    n = _check_samples("samples", samples)
    if n < 2:
        raise ValueError(f"samples has {n} sample(s): a stop rule needs at least 2, to hold "
                         "some out for validation")
    groups = _traces(samples)
    if groups is None or len(np.unique(groups)) < 2:
        blocks = min(n, max(2, math.ceil(10 / rule.val_fraction)))
        groups = np.arange(n) * blocks // n
    fit_idx, val_idx = validation_split(n, rule.val_fraction, int(seed), groups)

    def rows(idx: np.ndarray) -> _Rows:
        trace = _traces(samples)
        return _Rows(*(np.asarray(getattr(samples, k))[idx] for k in ("wifi", "imu", "mag", "pos")),
                     trace=None if trace is None else trace[idx])

    return rows(fit_idx), rows(val_idx)


def _check_samples(name: str, s: SampleArrays) -> int:
    for attr in ("wifi", "imu", "mag", "pos"):
        if not hasattr(s, attr):
            raise TypeError(f"{name} has no attribute {attr!r}; pass ipsbook.data.ilc samples")
    n = len(s.pos)
    if n == 0:
        raise ValueError(f"{name} has no samples")
    for attr in ("wifi", "imu", "mag"):
        if len(getattr(s, attr)) != n:
            raise ValueError(f"{name}.{attr} has {len(getattr(s, attr))} rows, {name}.pos has {n}")
    return n


def _tensors(s: SampleArrays, dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(getattr(s, k)), dtype=torch.float32, device=dev)
            for k in ("wifi", "imu", "mag")}


def predict(model: nn.Module, samples: SampleArrays, batch_size: int = 8192) -> np.ndarray:
    """Positions (m, [n, 2]) predicted for ``samples``, in evaluation mode, without gradients."""
    n = _check_samples("samples", samples)
    dev = next(model.parameters()).device
    x = _tensors(samples, dev)
    model.eval()
    out = []
    with torch.no_grad():
        for a in range(0, n, batch_size):
            out.append(model(**{k: v[a:a + batch_size] for k, v in x.items()}).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def errors_m(model: nn.Module, samples: SampleArrays) -> np.ndarray:
    """Euclidean error (m) of each sample's predicted position."""
    return np.linalg.norm(predict(model, samples) - np.asarray(samples.pos, np.float64), axis=1)


def fit(
    model: nn.Module,
    train: SampleArrays,
    val: SampleArrays | None = None,
    *,
    config: FitConfig = FitConfig(),
    seed: int = 0,
    progress: bool = False,
    desc: str = "MTLoc",
) -> FitHistory:
    """Train ``model`` (an :class:`MTLoc` or :class:`IMURegressor`, scalings already set) in
    place on ``train``; parameters with ``requires_grad=False`` stay untouched. Returns the
    history; with ``val`` and ``config.restore_best`` the best validation epoch's weights are
    loaded back into ``model``.

    With ``config.stop`` (module notes) training stops on a plateau of the mean error on
    ``val``, or, without ``val``, on the split :func:`stop_split` carves from ``train`` with
    ``seed`` (the model then trains on the rest only; its scalings stay as they were set);
    ``config.epochs`` is the cap, the learning rate falls on plateaus, the best epoch's weights
    are restored and ``history.stopping`` says what happened."""
    n = _check_samples("train", train)
    if val is not None:
        _check_samples("val", val)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    rule = config.stop
    if rule is not None and val is None:
        train, val = stop_split(train, rule, int(seed))
        n = len(train.pos)
    dev = resolve_device(config.device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    hist = FitHistory(n_train=n, trainable_parameters=sum(p.numel() for p in params),
                      device=str(dev))
    if rule is not None:
        hist.n_val = len(val.pos)
    rng = np.random.default_rng(seed)
    with torch_session(int(seed), dev, config.num_threads):
        model.to(dev)
        x = _tensors(train, dev)
        y = ((torch.as_tensor(np.asarray(train.pos), dtype=torch.float32, device=dev)
              - model.pos_mean) / model.pos_scale)
        if config.optimizer == "rmsprop":
            opt: torch.optim.Optimizer = torch.optim.RMSprop(params, lr=config.lr, alpha=0.9, eps=1e-7)
        else:
            opt = torch.optim.Adam(params, lr=config.lr, eps=1e-7)
        best_state, best = None, np.inf
        plateau = None if rule is None else Plateau(rule, optimizers=[opt], module=model)
        halted = False
        steps = -(-n // config.batch_size)
        bar = tqdm(total=config.epochs, desc=desc, disable=not progress, leave=False)
        for epoch in range(config.epochs):
            model.train()
            t0 = time.perf_counter()
            order = torch.as_tensor(rng.permutation(n), device=dev)
            total = torch.zeros((), device=dev)
            for s in range(steps):
                idx = order[s * config.batch_size:(s + 1) * config.batch_size]
                out = model.forward_normalised(**{k: v[idx] for k, v in x.items()})
                loss = torch.mean((out - y[idx]) ** 2)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
            hist.epoch_s.append(time.perf_counter() - t0)
            hist.train_loss.append(float(total) / n)
            post = {"loss": f"{hist.train_loss[-1]:.3g}"}
            if val is not None:
                err = float(np.mean(errors_m(model, val)))
                hist.val_mean_error_m.append(err)
                post["val_m"] = f"{err:.2f}"
                if plateau is not None:
                    halted = plateau.update(epoch, err)
                    hist.best_epoch = plateau.best_epoch
                elif err < best:
                    best, hist.best_epoch = err, epoch
                    if config.restore_best:
                        best_state = copy.deepcopy(model.state_dict())
            bar.set_postfix(post)
            bar.update(1)
            if halted:
                break
        bar.close()
        if plateau is not None:
            plateau.restore()
            hist.stopping = plateau.summary(config.epochs)
        elif best_state is not None:
            model.load_state_dict(best_state)
    model.eval()
    return hist


def pretrain_imu(
    source_train: SampleArrays,
    source_val: SampleArrays | None = None,
    *,
    config: FitConfig = FitConfig(lr=0.005),
    seed: int = 0,
    progress: bool = False,
) -> tuple[IMURegressor, FitHistory]:
    """Pre-train the IMU-LSTM on the source site (paper Sect. IV.B, Table IV)."""
    _check_samples("source_train", source_train)
    imu = np.asarray(source_train.imu)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = IMURegressor(imu_channels=imu.shape[-1])
    model.imu.fit_scaling(imu)
    set_position_scaling(model, np.asarray(source_train.pos))
    hist = fit(model, source_train, source_val, config=config, seed=seed, progress=progress,
               desc="IMU-LSTM pre-training")
    return model, hist


def make_mtloc(
    target_train: SampleArrays,
    *,
    mode: str,
    imu_model: IMURegressor | None = None,
    rss_floor_dbm: float = -110.0,
    seed: int = 0,
) -> MTLoc:
    """A new MTLoc for the target site, its scalings set from ``target_train``.

    ``mode``: ``"scratch"`` (all weights random), ``"transfer"`` (the IMU branch — weights and
    input scaling — copied from ``imu_model`` and frozen) or ``"finetune"`` (copied, trainable).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; allowed: {', '.join(MODES)}")
    _check_samples("target_train", target_train)
    wifi, imu, mag = (np.asarray(getattr(target_train, k)) for k in ("wifi", "imu", "mag"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MTLoc(wifi.shape[1], imu_channels=imu.shape[-1], mag_channels=mag.shape[-1],
                      rss_floor_dbm=rss_floor_dbm)
    model.mag.fit_scaling(mag)
    set_position_scaling(model, np.asarray(target_train.pos))
    if mode == "scratch":
        model.imu.fit_scaling(imu)
        return model
    if imu_model is None:
        raise ValueError(f"mode={mode!r} needs imu_model, the pre-trained IMURegressor")
    if imu_model.imu.channels != model.imu.channels or imu_model.imu.hidden != model.imu.hidden:
        raise ValueError(
            f"imu_model has {imu_model.imu.channels} channels × {imu_model.imu.hidden} units; "
            f"the target samples need {model.imu.channels} × {model.imu.hidden}"
        )
    model.imu.load_state_dict(imu_model.imu.state_dict())
    if mode == "transfer":
        model.imu.requires_grad_(False)
    return model

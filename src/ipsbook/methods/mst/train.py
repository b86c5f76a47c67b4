"""Stand-alone training of a specialised network S = {F, E, R} (paper C, Sect. 3 and 4.1).

Paper C (Nguyen et al., arXiv 2412.12189) trains every specialised model on its own dataset
before anything else: the source models whose representations the surrogate teachers learn
(Expert Training, :mod:`.teachers`), and the "stand-alone" rows of its Tables 1-4. Sect. 4.1
gives the recipe: J_MAE (the mean Euclidean error, eq. 2 / :func:`~.losses.mae_loss`), Adam,
batch B = 128, and per dataset 500 epochs at 1e-3 (UJIIndoorLoc), 2000 at 1e-3 (Tampere), 400
at 1e-4 (UTS). Those numbers are in :data:`PAPER_SCHEDULE`; which epochs and learning rate a run
uses is the profile's decision and arrives through :class:`TrainConfig`.

What this module adds, and the choices made where the paper is silent:

* **Inputs.** :func:`model_inputs` turns a :class:`~.data.FingerprintSet` (dBm, 100 = not
  heard) into the model's input with the scaling the model names in ``model.input_scaling``.
* **Positions** are standardised with *one* scale for both axes (:func:`standardise_positions`:
  mean per axis, scale = the root mean of the two axis variances), written into the model's
  ``pos_mean``/``pos_scale`` buffers, and J_MAE is computed on the standardised output
  (``regressor(z_e, standardised=True)``). One isotropic scale keeps the loss a Euclidean
  distance: J_MAE in standardised units is exactly the error in metres divided by the scale,
  which per-axis standardisation would not give (UJIIndoorLoc spans ~390 m by ~270 m).
* **Model selection.** With a ``val_set``, the weights of the epoch with the lowest mean error
  on it are restored at the end (``TrainConfig.restore_best``); the paper does not say how it
  selects its models. Pass a validation split, not the test set, for honest test numbers.
* **Converged training** (``TrainConfig.stop``, a :class:`ipsbook.training.StopRule`; the
  ``full`` profile): the phase runs until its validation error stops improving, ``epochs``
  being the cap; the learning rate falls on plateaus and the best epoch's weights are restored
  (:class:`ipsbook.training.Plateau`, kept in the checkpoints so that a resumed run stops at the
  same epoch). The monitored value is the mean error (m) on the validation data: the caller's
  ``val_set`` when given, else a split carved from the *training* fingerprints by
  :func:`stop_split` -- never the test set. Why that split: the experiments pass no validation
  set (the paper names none, and Table 4's 1 % partitions are too small to give one up for
  good), so the only honest source is the training set itself. A seeded ``stop.val_fraction``
  of it (seed = the run's seed, so a stand-alone model and its distilled counterpart hold out
  the same fingerprints) is held out *by reference point* (fingerprints recorded at the same
  place, building and floor go to one side together: UJIIndoorLoc has ~20 per point, and a
  near-duplicate on each side would make the validation error a training error); the phase
  trains on the rest only. ``stop=None``: the fixed ``epochs`` of before, nothing held out.
* **Checkpoints.** :class:`Checkpoint` saves the weights, the optimiser, the random-number
  states and the history atomically every ``every_epochs`` epochs, so that a long ``paper`` run
  continues where it stopped: on CPU the resumed run ends with bit-identical weights.
* **Devices.** CPU by default, CUDA when available (``TrainConfig.device``); on CUDA the
  network's forward pass runs under bfloat16 autocast (``TrainConfig.amp``), the losses in
  float32. Seeded and deterministic on CPU through :func:`ipsbook.torchutil.torch_session`.
* **Speed.** Everything in memory as tensors; shuffled mini-batches by index arithmetic; no
  per-sample Python. :attr:`TrainHistory.samples_per_s` reports the training throughput.

* **SAE pre-training** (CNNLoc only, :func:`pretrain_framer`): before its network is trained,
  CNNLoc's framer (its stacked auto-encoder's encoder) is pre-trained as an auto-encoder on the
  same training fingerprints, as the CNNLoc authors' code does; the caller (the experiments,
  :mod:`.experiment`) decides when.

The epoch loop, checkpointing and history are shared with :mod:`.teachers` and :mod:`.distill`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...progress import tqdm
from ...torchutil import resolve_device, torch_session
from ...training import Plateau, StopRule, validation_split
from .data import FingerprintSet
from .data import scale as scale_rss
from .losses import mae_loss

__all__ = [
    "PAPER_SCHEDULE",
    "SAE_BATCH_SIZE",
    "SAE_EPOCHS",
    "SAE_LR",
    "Checkpoint",
    "TrainConfig",
    "TrainHistory",
    "evaluate",
    "has_sae",
    "model_inputs",
    "predict",
    "pretrain_framer",
    "reference_points",
    "standardise_positions",
    "stop_split",
    "summary",
    "train_specialised",
]

PAPER_SCHEDULE: dict[str, tuple[int, float]] = {
    "ujiindoorloc": (500, 1e-3),
    "tampere": (2000, 1e-3),
    "uts": (400, 1e-4),
}
"""Paper C, Sect. 4.1: (epochs, Adam learning rate) per dataset, batch 128, for every phase.
UJI-LIB, our stand-in for UTS, is not in the paper; the profiles decide what it gets."""

PAPER_BATCH_SIZE = 128

SAE_EPOCHS = 40
"""CNNLoc's SAE pre-training epochs in its authors' code (``XudongSong/CNNLoc-Access``,
``main.py``: ``epoch_sae = 40``); see :func:`pretrain_framer`."""
SAE_LR = 1e-3
"""The authors' SAE learning rate: RMSprop at 1e-3, the first optimiser of ``main.py``'s sweep
(``OPT = [RMSprop, Adamax]``, ``LR_23 = [0.001, ...]`` for RMSprop)."""
SAE_BATCH_SIZE = 66
"""The authors' batch size in every ``fit`` of ``encoder_model.py`` (``batch_size=66``)."""


# --- configuration and history -----------------------------------------------------------------


def _check_pos_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _check_pos_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}={value!r} must be a positive number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive number")
    return float(value)


@dataclass(frozen=True)
class TrainConfig:
    """How to train a specialised network (stand-alone here, or in Expert Distilling).

    ``epochs`` and ``lr`` come from the profile (the paper's are in :data:`PAPER_SCHEDULE`);
    ``batch_size`` 128 and Adam (Keras' defaults otherwise: β = (0.9, 0.999), ε = 1e-7, as
    paper C used TensorFlow) are the paper's. ``num_threads``: torch intra-op threads (None:
    leave torch's setting). ``device``: None = CUDA when available, else CPU. ``amp``: bfloat16
    autocast of the network's forward pass on CUDA (ignored on CPU). ``cpu_bf16``: the same on
    CPU (off by default: float32 as the paper; the losses, the optimiser, the weights and every
    evaluation stay float32 either way; see :func:`autocast`).
    ``stop``: converged training (a :class:`ipsbook.training.StopRule` or its fields as a
    mapping; the module notes): ``epochs`` becomes the cap, the phase stops on a validation
    plateau and the best epoch's weights are always restored (``restore_best`` only matters
    without it). ``None`` (default): ``epochs`` epochs, as before.
    """

    epochs: int
    lr: float
    batch_size: int = PAPER_BATCH_SIZE
    restore_best: bool = True
    num_threads: int | None = None
    device: str | None = None
    amp: bool = True
    cpu_bf16: bool = False
    progress: bool = False
    eval_batch_size: int = 4096
    stop: StopRule | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            _check_pos_int(name, getattr(self, name))
        _check_pos_float("lr", self.lr)
        if self.num_threads is not None:
            _check_pos_int("num_threads", self.num_threads)
        object.__setattr__(self, "stop", StopRule.of(self.stop))


STOP_SUMMARY_KEYS: tuple[str, ...] = ("epochs_cap", "stopped", "still_improving", "lr_drops",
                                      "n_val")
"""What :meth:`TrainHistory.summary` adds under a stop rule: the cap (``epochs``), why the
phase ended (``"plateau"`` / ``"cap"``), whether it was still improving at the cap, how often
the learning rate fell, and the validation fingerprints monitored."""


@dataclass
class TrainHistory:
    """Per-epoch record of one training run (stand-alone, teacher or distilling).

    ``metrics[name]`` holds one float per epoch: the epoch means of the loss terms (``"loss"``
    the total that was minimised; ``"J_MAE"`` etc.), in the units the docstring of the training
    function states. ``val_mae_m`` the mean error (m) on the validation set after each epoch.
    ``epoch_s`` the wall time of each epoch's training steps (validation excluded).
    ``completed`` is False when a :class:`Checkpoint` stopped the run early (resume it by
    calling the same function again); ``resumed_at`` lists the epochs it was resumed from.
    With a stop rule (``TrainConfig.stop``): ``val_mae_m`` is the monitored validation error,
    ``n_val`` the number of validation fingerprints, ``stopping`` what the plateau rule did
    (:meth:`ipsbook.training.Plateau.summary`: cap, epochs run, best epoch, why it stopped,
    learning-rate drops); without one ``stopping`` is None and ``n_val`` 0.
    """

    kind: str = ""
    metrics: dict[str, list[float]] = field(default_factory=dict)
    val_mae_m: list[float] = field(default_factory=list)
    epoch_s: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 0-based; None without validation data
    n_train: int = 0
    samples_per_epoch: int = 0
    trainable_parameters: int = 0
    device: str = "cpu"
    completed: bool = False
    resumed_at: list[int] = field(default_factory=list)
    stopping: dict[str, Any] | None = None
    n_val: int = 0

    @property
    def epochs(self) -> int:
        return len(self.epoch_s)

    @property
    def samples_per_s(self) -> float:
        """Training throughput (forward + backward + step of everything trained), in samples
        of the training set per second, validation excluded."""
        t = float(np.sum(self.epoch_s))
        return self.samples_per_epoch * len(self.epoch_s) / t if t > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """One flat record of the run; with a stop rule also :data:`STOP_SUMMARY_KEYS`
        (without one they are absent, so the records of fixed-epoch runs stay as they were)."""
        last = {k: v[-1] for k, v in self.metrics.items() if v}
        out = {
            "kind": self.kind,
            "epochs": self.epochs,
            "completed": self.completed,
            "best_epoch": self.best_epoch,
            "best_val_mae_m": min(self.val_mae_m) if self.val_mae_m else None,
            "epoch_s": float(np.mean(self.epoch_s)) if self.epoch_s else None,
            "samples_per_s": self.samples_per_s,
            "n_train": self.n_train,
            "trainable_parameters": self.trainable_parameters,
            "device": self.device,
            **{f"final_{k}": v for k, v in last.items()},
        }
        if self.stopping is not None:
            s = self.stopping
            out.update({"epochs_cap": s["cap"], "stopped": s["stopped"],
                        "still_improving": s["still_improving"], "lr_drops": len(s["lr_drops"]),
                        "n_val": self.n_val})
        return out

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainHistory:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: copy.deepcopy(v) for k, v in d.items() if k in names})


# --- checkpoints --------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """Where and how often a training run saves its state, so that it can be resumed.

    Every ``every_epochs`` epochs (and after the last one) the run writes, atomically (to a
    temporary file in the same folder, then ``os.replace``): the state of every module and
    optimiser it trains, the torch and NumPy random-number states, the epoch, the history and
    the best-validation weights so far. Calling the same training function again with the same
    arguments and the same checkpoint path continues from the saved epoch; on CPU the result
    is bit-identical to an uninterrupted run. A finished run's checkpoint makes a repeated call
    return at once (its weights loaded). A checkpoint written by a run with other settings
    (seed, data, learning rate, batch size, model, teachers...) is refused with a ``ValueError``
    rather than silently mixed; raising ``epochs`` is allowed (training continues).

    ``stop_after_epochs``: train at most this many epochs in one call, then save and return with
    ``history.completed = False`` (for splitting a long run over sessions, and for tests).
    """

    path: str | os.PathLike[str]
    every_epochs: int = 1
    stop_after_epochs: int | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        _check_pos_int("every_epochs", self.every_epochs)
        if self.stop_after_epochs is not None:
            _check_pos_int("stop_after_epochs", self.stop_after_epochs)

    def exists(self) -> bool:
        return Path(self.path).is_file()

    def save(self, state: Mapping[str, Any]) -> None:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                torch.save(dict(state), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def load(self, map_location: torch.device | str | None = None) -> dict[str, Any] | None:
        if not self.exists():
            return None
        return torch.load(Path(self.path), map_location=map_location, weights_only=True)

    def clear(self) -> None:
        Path(self.path).unlink(missing_ok=True)


def data_digest(*arrays: np.ndarray) -> str:
    """A short SHA-1 of arrays' bytes (shapes included): which data a checkpoint was made on."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def module_digest(module: nn.Module) -> str:
    """A short SHA-1 of a module's state (parameters and buffers)."""
    h = hashlib.sha1()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _check_signature(saved: Mapping[str, Any], now: Mapping[str, Any], path: Path) -> None:
    diff = [k for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diff:
        detail = "; ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}" for k in diff)
        raise ValueError(
            f"checkpoint {path} was written by a different run ({detail}); delete it or use "
            "another path"
        )


# --- the shared epoch loop ---------------------------------------------------------------------


def autocast(
    dev: torch.device, amp: bool, cpu_bf16: bool = False
) -> AbstractContextManager[Any]:
    """bfloat16 autocast of one forward pass: on CUDA when ``amp``, on CPU when ``cpu_bf16``;
    otherwise a no-op. Matrix products and convolutions run in bf16, their weights stay float32
    (the optimiser updates the float32 copy). Enter it around each forward pass, never around a
    loop of steps: autocast keeps its bf16 copy of a weight until the outermost region ends, so
    a step inside a longer region would see the first step's weights."""
    if amp and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu_bf16 and dev.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def run_epochs(
    *,
    hist: TrainHistory,
    n: int,
    epochs: int,
    rng: np.random.Generator,
    dev: torch.device,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    run_epoch: Callable[[torch.Tensor], dict[str, float]],
    validate: Callable[[], float] | None = None,
    best_module: nn.Module | None = None,
    restore_best: bool = True,
    checkpoint: Checkpoint | None = None,
    signature: Mapping[str, Any] | None = None,
    extra_state: dict[str, Any] | None = None,
    progress: bool = False,
    desc: str = "",
    stop: StopRule | None = None,
) -> TrainHistory:
    """The epoch loop shared by stand-alone training, teacher training and distilling.

    Each epoch draws a permutation of ``range(n)`` from ``rng`` and hands it (on ``dev``) to
    ``run_epoch``, which runs the mini-batch steps and returns the epoch's mean metrics. Then
    ``validate()`` (mean error in m) picks the best epoch, whose ``best_module`` weights are
    restored at the end. ``checkpoint`` saves/restores ``modules``, ``optimizers``, the RNG states,
    ``extra_state`` (a dict of plain values the caller keeps between epochs) and the history.
    Must run inside :func:`ipsbook.torchutil.torch_session`.

    ``stop`` (a :class:`ipsbook.training.StopRule`; needs ``validate``): converged training.
    A :class:`ipsbook.training.Plateau` reads ``validate()`` after every epoch (lower is
    better): after ``stop.lr_patience`` epochs without an improvement of ``stop.min_delta``
    (relative) the learning rate of every optimiser falls by ``stop.lr_factor``; after
    ``stop.patience`` such epochs the loop ends (``epochs`` is the cap); ``best_module``'s
    weights of the plateau's best epoch are restored whatever ``restore_best`` says, and
    ``hist.stopping`` records :meth:`~ipsbook.training.Plateau.summary`. The plateau's state
    (counters, best weights, values) goes into the checkpoint and the rule into its signature,
    so a resumed run stops at the same epoch with the same weights as an uninterrupted one,
    and a run stopped on its plateau is finished (a repeated call returns at once). With
    ``stop=None`` nothing of this happens: the loop, its checkpoints and its random draws are
    those of fixed-epoch training.
    """
    if stop is not None and validate is None:
        raise ValueError("stop (early stopping) needs validate(): a validation value to watch")
    plateau = None
    if stop is not None:
        plateau = Plateau(stop, optimizers=list(optimizers.values()), module=best_module)
    start, best, best_state = 0, math.inf, None
    halted = False  # the plateau rule ended the phase (now or in the checkpointed run)
    sig = dict(signature or {})
    if stop is not None:
        sig["stop"] = stop.as_dict()
    ckpt_path = Path(checkpoint.path) if checkpoint is not None else None
    if checkpoint is not None:
        state = checkpoint.load(map_location=dev)
        if state is not None:
            _check_signature(state["signature"], sig, ckpt_path)
            if state["epoch"] > epochs:
                raise ValueError(
                    f"checkpoint {ckpt_path} is at epoch {state['epoch']}, beyond the "
                    f"{epochs} epochs asked for; delete it or ask for at least that many"
                )
            for k, m in modules.items():
                m.load_state_dict(state["modules"][k])
            for k, o in optimizers.items():
                o.load_state_dict(state["optimizers"][k])
            torch.set_rng_state(state["torch_rng"].cpu())
            if dev.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"].cpu(), dev)
            rng.bit_generator.state = _unpack_np_state(state["numpy_rng"])
            if extra_state is not None:
                extra_state.update(state.get("extra", {}))
            loaded = TrainHistory.from_dict(state["history"])
            for f in dataclasses.fields(TrainHistory):
                setattr(hist, f.name, getattr(loaded, f.name))
            start, best, best_state = state["epoch"], state["best"], state["best_state"]
            if plateau is not None:
                plateau.load_state_dict(state["plateau"])
                halted = plateau.stopped_epoch is not None
            if start < epochs and not halted:
                hist.resumed_at.append(start)

    def save(epoch_done: int) -> None:
        assert checkpoint is not None
        state = {
            "version": 1,
            "signature": sig,
            "epoch": epoch_done,
            "modules": {k: m.state_dict() for k, m in modules.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
            "numpy_rng": _pack_np_state(rng.bit_generator.state),
            "extra": dict(extra_state or {}),
            "history": hist.to_dict(),
            "best": best,
            "best_state": best_state,
        }
        if plateau is not None:
            state["plateau"] = plateau.state_dict()
        checkpoint.save(state)

    end = start if halted else epochs
    bar = tqdm(total=epochs, initial=start, desc=desc, disable=not progress, leave=False)
    for ran, epoch in enumerate(range(start, end), start=1):
        t0 = time.perf_counter()
        order = torch.as_tensor(rng.permutation(n), device=dev)
        metrics = run_epoch(order)
        hist.epoch_s.append(time.perf_counter() - t0)
        for k, v in metrics.items():
            hist.metrics.setdefault(k, []).append(float(v))
        post = {k: f"{v:.3g}" for k, v in list(metrics.items())[:3]}
        if validate is not None:
            err = float(validate())
            hist.val_mae_m.append(err)
            post["val_m"] = f"{err:.2f}"
            if plateau is not None:
                halted = plateau.update(epoch, err)
                hist.best_epoch = plateau.best_epoch
                hist.stopping = plateau.summary(epochs)
            elif err < best:
                best, hist.best_epoch = err, epoch
                if restore_best and best_module is not None:
                    best_state = copy.deepcopy(best_module.state_dict())
        bar.set_postfix(post)
        bar.update(1)
        done = epoch + 1
        finished = done == epochs or halted
        pause = (
            checkpoint is not None
            and checkpoint.stop_after_epochs is not None
            and ran >= checkpoint.stop_after_epochs
            and not finished
        )
        if checkpoint is not None and (
            done % checkpoint.every_epochs == 0 or finished or pause
        ):
            if finished:
                hist.completed = True
            save(done)
        if pause:
            bar.close()
            hist.completed = False
            return hist
        if halted:
            break
    bar.close()
    hist.completed = True
    if plateau is not None:
        plateau.restore()
        hist.best_epoch = plateau.best_epoch
        hist.stopping = plateau.summary(epochs)
    elif restore_best and best_state is not None and best_module is not None:
        best_module.load_state_dict(best_state)
    return hist


def _pack_np_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """NumPy bit-generator state with its big integers as strings (``weights_only`` loading)."""

    def conv(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return {"__int__": str(int(v))}
        return v

    return conv(state)


def _unpack_np_state(state: Mapping[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, Mapping):
            if set(v) == {"__int__"}:
                return int(v["__int__"])
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(state)


# --- inputs, positions, prediction --------------------------------------------------------------


CNNLOC_POWER = 2.8
"""The exponent b of CNNLoc's power scaling: 2.8, as the authors' ``main.py`` sets it for their
experiments (their ``data_helper.normalizeX_powed`` defaults to 2.71828)."""


def _cnnloc_powed(rss: np.ndarray, b: float = CNNLOC_POWER) -> np.ndarray:
    """The CNNLoc authors' ``normalizeX_powed`` (see ``ipsbook.models.fingerprint``)."""
    r = np.asarray(rss, np.float64)
    out = np.where(r >= 0, 1.0, np.power(np.clip((95.0 + r) / 95.0, 0.0, None), b))
    out = np.where((r > 50) | (r < -95), 0.0, out)
    return out.astype(np.float32)


def model_inputs(model: nn.Module, rss: np.ndarray | FingerprintSet) -> np.ndarray:
    """The fingerprints ``rss`` (dBm, 100 = not heard) scaled as ``model.input_scaling`` says.

    ``"linear01"``: not heard → 0, ``(r + 110) / 110`` clipped to [0, 1] (``data.scale``'s
    ``"positive"``, the same map); ``"cnnloc_powed"``: the CNNLoc authors' power scaling; any
    name in :data:`.data.SCALINGS` goes to :func:`.data.scale`. Stateless scalings only (a
    fitted one would need the training set's statistics).
    """
    if isinstance(rss, FingerprintSet):
        rss = rss.rss
    how = getattr(model, "input_scaling", None)
    if how in ("linear01", "positive"):
        return scale_rss(rss, "positive")
    if how == "cnnloc_powed":
        return _cnnloc_powed(rss)
    if how == "none":
        return scale_rss(rss, "none")
    raise ValueError(
        f"model.input_scaling={how!r} is not a stateless scaling this module knows; allowed: "
        "'linear01', 'cnnloc_powed', 'positive', 'none'"
    )


def check_model(model: nn.Module) -> None:
    """The interface every function here needs (``ipsbook.models.fingerprint`` has it)."""
    missing = [
        a
        for a in ("framer", "extractor", "regressor", "z_f_dim", "z_e_dim", "input_scaling")
        if not hasattr(model, a)
    ]
    if missing:
        raise TypeError(
            f"{type(model).__name__} lacks {', '.join(missing)}: pass a specialised network "
            "split into framer/extractor/regressor (ipsbook.models.fingerprint.build)"
        )
    for b in ("pos_mean", "pos_scale"):
        if not isinstance(getattr(model, b, None), torch.Tensor):
            raise TypeError(
                f"{type(model).__name__} has no {b!r} buffer: positions are standardised through "
                "the model's pos_mean/pos_scale buffers"
            )


def check_anchors(model: nn.Module, fs: FingerprintSet, what: str) -> None:
    """``ValueError`` unless ``fs`` has the number of anchors ``model`` was built for."""
    if not isinstance(fs, FingerprintSet):
        raise TypeError(f"{what} must be a FingerprintSet (ipsbook.methods.mst.data.load)")
    if len(fs) == 0:
        raise ValueError(f"{what} has no fingerprints")
    n = getattr(model, "n_anchors", None)
    if n is not None and int(n) != fs.n_anchors:
        raise ValueError(
            f"{what} ({fs.label} {fs.split}) has {fs.n_anchors} anchors per fingerprint, but the "
            f"model was built for n_anchors={int(n)}; build the model for this dataset "
            f"(ipsbook.models.fingerprint.build(name, {fs.n_anchors}))"
        )


def standardise_positions(model: nn.Module, pos: np.ndarray) -> None:
    """Set ``model.pos_mean`` (per-axis mean) and ``model.pos_scale`` (one isotropic scale,
    ``sqrt(mean of the axis variances)``, on every axis) from training positions (m)."""
    pos = np.asarray(pos, np.float64)
    s = float(np.sqrt(pos.var(axis=0).mean()))
    if not math.isfinite(s) or s <= 0:
        s = 1.0
    with torch.no_grad():
        model.pos_mean.copy_(torch.as_tensor(pos.mean(axis=0), dtype=model.pos_mean.dtype))
        model.pos_scale.fill_(s)


def standardised_targets(model: nn.Module, pos: np.ndarray, dev: torch.device) -> torch.Tensor:
    """Positions (m) as the standardised targets ``(pos - pos_mean) / pos_scale`` on ``dev``."""
    y = torch.tensor(np.asarray(pos, np.float32), device=dev)
    return (y - model.pos_mean.to(dev)) / model.pos_scale.to(dev)


def _accepts_standardised(model: nn.Module) -> bool:
    try:
        return "standardised" in inspect.signature(model.regressor).parameters
    except (TypeError, ValueError):
        return False


def regress_standardised(model: nn.Module, z_e: torch.Tensor) -> torch.Tensor:
    """R(Z^E) in standardised coordinates (``(y - pos_mean) / pos_scale``)."""
    if _accepts_standardised(model):
        return model.regressor(z_e, standardised=True)
    return (model.regressor(z_e) - model.pos_mean) / model.pos_scale


def representations(
    model: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Z^F, Z^E, Ŷ_standardised)`` of one pass (Algorithm 3, line 6)."""
    z_f = model.framer(x)
    z_e = model.extractor(z_f)
    return z_f, z_e, regress_standardised(model, z_e)


def _device_of(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    return model.pos_mean.device


def predict(
    model: nn.Module, fs: FingerprintSet | np.ndarray, batch_size: int = 4096
) -> np.ndarray:
    """Positions (m, ``(n, 2)`` float64) predicted for a set (or raw dBm rows), in eval mode."""
    check_model(model)
    if isinstance(fs, FingerprintSet):
        check_anchors(model, fs, "the set")
    x = torch.as_tensor(model_inputs(model, fs), device=_device_of(model))
    was = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for a in range(0, len(x), batch_size):
                z = model.extractor(model.framer(x[a : a + batch_size]))
                out.append(model.regressor(z).float().cpu().numpy())
    finally:
        model.train(was)
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2))


def evaluate(model: nn.Module, fs: FingerprintSet, batch_size: int = 4096) -> np.ndarray:
    """Euclidean error (m) of each fingerprint's predicted 2-D position."""
    return np.linalg.norm(predict(model, fs, batch_size) - fs.pos, axis=1)


def reference_points(fs: FingerprintSet, resolution_m: float = 1.0) -> np.ndarray:
    """One integer label per fingerprint: its reference point, i.e. building, floor and position
    rounded to ``resolution_m`` (UJIIndoorLoc's ~20 fingerprints per point jitter by
    centimetres). Fingerprints with the same label were recorded at the same place."""
    cols = [np.round(np.asarray(fs.pos, np.float64) / resolution_m)]
    for extra in (fs.building, fs.floor):
        if extra is not None:
            cols.append(np.asarray(extra, np.float64)[:, None])
    keys = np.concatenate(cols, axis=1)
    return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)


def stop_split(
    train_set: FingerprintSet, stop: StopRule | Mapping[str, Any], seed: int
) -> tuple[FingerprintSet, FingerprintSet]:
    """``(fit, held_out)``: the validation split of converged training (module notes), carved
    from ``train_set`` and never from a test set.

    About ``stop.val_fraction`` of the fingerprints, whole reference points at a time
    (:func:`reference_points`; a set with a single point is split by fingerprint), drawn by
    :func:`ipsbook.training.validation_split` with ``seed``: the same set, rule and seed always
    hold out the same fingerprints, whatever the network or the phase. Both parts are
    non-empty; fingerprints keep their order (and ``index``).
    """
    rule = StopRule.of(stop)
    if rule is None:
        raise ValueError("stop_split needs a stop rule (StopRule or its fields), not None")
    n = len(train_set)
    if n < 2:
        raise ValueError(
            f"{train_set.label} {train_set.split} has {n} fingerprint(s): a stop rule needs at "
            "least 2, to hold some out for validation"
        )
    groups = reference_points(train_set)
    if len(np.unique(groups)) < 2:
        groups = None
    fit_idx, val_idx = validation_split(n, rule.val_fraction, _check_seed(seed), groups)
    return train_set.subset(fit_idx), train_set.subset(val_idx)


def _stop_sets(
    train_set: FingerprintSet, val_set: FingerprintSet | None, stop: StopRule | None, seed: int
) -> tuple[FingerprintSet, FingerprintSet | None]:
    """What a phase trains on and what it validates on: with a stop rule and no ``val_set``,
    the two parts of :func:`stop_split`; otherwise the sets as given."""
    if stop is None or val_set is not None:
        return train_set, val_set
    return stop_split(train_set, stop, seed)


def summary(errors: np.ndarray) -> dict[str, float]:
    """Paper C's metrics of an error vector (m): MAE (the mean Euclidean error, as the paper
    defines it), the 75th and 95th percentiles, plus n and P(error < 10 m) (Fig. 2)."""
    e = np.asarray(errors, np.float64)
    if e.ndim != 1 or len(e) == 0:
        raise ValueError(f"errors must be a non-empty 1-D array; got shape {e.shape}")
    return {
        "MAE": float(e.mean()),
        "p75": float(np.percentile(e, 75)),
        "p95": float(np.percentile(e, 95)),
        "p_below_10m": float(np.mean(e < 10.0)),
        "n": len(e),
    }


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def trainable(modules: list[nn.Module]) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters() if p.requires_grad]


def make_adam(params: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with Keras' defaults (paper C used TensorFlow 2.11): β = (0.9, 0.999), ε = 1e-7."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)


# --- SAE pre-training of the framer (CNNLoc) ---------------------------------------------------


def has_sae(model: nn.Module) -> bool:
    """Whether ``model`` has a stacked auto-encoder framer to pre-train (a ``sae_decoder``)."""
    return callable(getattr(model, "sae_decoder", None))


def _start_history(kind: str, model: nn.Module, train_set: FingerprintSet,
                   params: Sequence[torch.Tensor], dev: torch.device,
                   seed: int) -> tuple[TrainHistory, np.ndarray, dict[str, Any]]:
    """What every training loop here starts with: its history, the model's scaled inputs
    (checked) and the head of its checkpoint signature."""
    n = len(train_set)
    hist = TrainHistory(kind=kind, n_train=n, samples_per_epoch=n,
                        trainable_parameters=sum(p.numel() for p in params), device=str(dev))
    x_np = model_inputs(model, train_set)
    if hasattr(model, "check_input"):
        model.check_input(x_np)
    signature = {"kind": kind, "seed": seed, "model": type(model).__name__,
                 "parameters": hist.trainable_parameters}
    return hist, x_np, signature


def pretrain_framer(
    model: nn.Module,
    train_set: FingerprintSet,
    *,
    epochs: int = SAE_EPOCHS,
    seed: int,
    lr: float = SAE_LR,
    batch_size: int = SAE_BATCH_SIZE,
    num_threads: int | None = None,
    device: str | None = None,
    amp: bool = True,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
) -> TrainHistory:
    """Pre-train ``model``'s framer as the encoder of a stacked auto-encoder, in place (CNNLoc).

    The recipe of the CNNLoc authors' code (``XudongSong/CNNLoc-Access``, ``encoder_model.py``:
    ``fnBuildAEModel`` and the ``Train_AE`` branch of ``EncoderDNN.fit``; the settings in
    ``main.py``): a decoder ``Linear(64, 128) - ELU - Linear(128, n) - ELU``
    (``model.sae_decoder()``, their ``de2``/``de-1``) is put behind the framer, and
    ``decoder(framer(x)) ~ x`` is trained with the mean squared error (Keras ``'mse'``) on the
    scaled training fingerprints ``x`` -- the same inputs, scaled as the model scales them
    (:func:`model_inputs`), that the network is trained on afterwards (their
    ``self.normalize_x``; their validation set only reports a loss, no early stopping) -- for
    ``epochs`` epochs (:data:`SAE_EPOCHS` = their ``epoch_sae``) of shuffled mini-batches of
    ``batch_size`` (:data:`SAE_BATCH_SIZE`) with RMSprop at ``lr`` (:data:`SAE_LR`; Keras'
    RMSprop: ρ = 0.9, ε = 1e-7). The decoder is then discarded; the pre-trained framer stays
    trainable (their ``layer.trainable = True``: it is fine-tuned with everything else).
    Only the framer's parameters change (nothing else is in the graph); the position buffers are
    not touched.

    Deterministic for a ``seed`` on CPU: the decoder's initial weights and the batch order come
    from two streams of ``numpy.random.SeedSequence(seed)``, so they are not the draws that built
    the network under the same seed. ``amp``: bfloat16 autocast on CUDA. ``checkpoint``: as in
    :func:`train_specialised` (a finished one returns at once, its framer loaded).
    Returns the history: ``metrics["MSE"]`` (= ``"loss"``) per epoch, on the scaled inputs. The
    model is left in eval mode on the training device.

    Raises:
        TypeError: a model without a ``sae_decoder`` (only CNNLoc has one) or without the
            framer/extractor/regressor interface.
        ValueError: a set with another number of anchors than the model's; ``epochs``,
            ``batch_size``, ``lr`` or ``seed`` out of range.
    """
    check_model(model)
    if not has_sae(model):
        raise TypeError(
            f"{type(model).__name__} has no sae_decoder: only a network whose framer is a "
            "stacked auto-encoder's encoder (CNNLoc) can be SAE-pre-trained"
        )
    check_anchors(model, train_set, "train_set")
    epochs = _check_pos_int("epochs", epochs)
    B = _check_pos_int("batch_size", batch_size)
    lr = _check_pos_float("lr", lr)
    seed = _check_seed(seed)
    if num_threads is not None:
        _check_pos_int("num_threads", num_threads)
    framer = model.framer_net
    dev = resolve_device(device)
    init_seed, order_seed = (int(s.generate_state(1)[0])
                             for s in np.random.SeedSequence(seed).spawn(2))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        decoder = model.sae_decoder()
    params = trainable([framer, decoder])
    n = len(train_set)
    hist, x_np, signature = _start_history("sae", model, train_set, params, dev, seed)
    signature.update({
        "lr": lr,
        "batch_size": B,
        "data": data_digest(x_np),
    })
    rng = np.random.default_rng(order_seed)
    with torch_session(seed, dev, num_threads):
        model.to(dev)
        decoder.to(dev)
        x = torch.as_tensor(x_np, device=dev)
        opt = torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
        steps = -(-n // B)

        def run_epoch(order: torch.Tensor) -> dict[str, float]:
            framer.train()
            decoder.train()
            total = torch.zeros((), device=dev)
            for s in range(steps):
                xb = x[order[s * B : (s + 1) * B]]
                with autocast(dev, amp):
                    x_hat = decoder(model.framer(xb))
                loss = nn.functional.mse_loss(x_hat.float(), xb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(xb)
            mse = float(total) / n
            return {"loss": mse, "MSE": mse}

        run_epochs(
            hist=hist,
            n=n,
            epochs=epochs,
            rng=rng,
            dev=dev,
            modules={"framer": framer, "decoder": decoder},
            optimizers={"rmsprop": opt},
            run_epoch=run_epoch,
            restore_best=False,
            checkpoint=checkpoint,
            signature=signature,
            progress=progress,
            desc=f"{type(model).__name__} SAE pre-training",
        )
    model.eval()
    return hist


# --- stand-alone training -----------------------------------------------------------------------


def train_specialised(
    model: nn.Module,
    train_set: FingerprintSet,
    val_set: FingerprintSet | None = None,
    *,
    config: TrainConfig,
    seed: int,
    checkpoint: Checkpoint | None = None,
) -> TrainHistory:
    """Train ``model`` alone on ``train_set`` with J_MAE, in place (paper C, Sect. 4.1).

    Sets the model's position buffers from ``train_set`` (:func:`standardise_positions`), then
    ``config.epochs`` epochs of Adam on J_MAE = mean Euclidean error of the standardised
    prediction (``metrics["J_MAE"]``, standardised units; times ``model.pos_scale`` it is
    metres). With ``val_set``, the best epoch's weights are restored. With ``config.stop``
    (converged training, module notes) the phase stops on a plateau of the mean error on
    ``val_set`` or, without one, on the split :func:`stop_split` carves from ``train_set`` with
    ``seed`` (the model then trains, and its positions are standardised, on the rest only).
    Returns the history; the model is left in eval mode on the training device.

    Raises:
        ValueError: a set with another number of anchors than the model's, a bad seed.
        TypeError: a model without the framer/extractor/regressor interface.
    """
    check_model(model)
    check_anchors(model, train_set, "train_set")
    if val_set is not None:
        check_anchors(model, val_set, "val_set")
    seed = _check_seed(seed)
    dev = resolve_device(config.device)
    train_set, val_set = _stop_sets(train_set, val_set, config.stop, seed)
    n = len(train_set)
    B = config.batch_size
    params = trainable([model])
    if not params:
        raise ValueError("model has no trainable parameters")
    hist, x_np, signature = _start_history("specialised", model, train_set, params, dev, seed)
    if config.stop is not None:
        hist.n_val = len(val_set)
    signature.update({
        "lr": config.lr,
        "batch_size": B,
        "data": data_digest(x_np, train_set.pos),
        "val": None if val_set is None else data_digest(val_set.rss, val_set.pos),
        "restore_best": config.restore_best,
    })
    rng = np.random.default_rng(seed)
    with torch_session(seed, dev, config.num_threads):
        model.to(dev)
        standardise_positions(model, train_set.pos)
        x = torch.as_tensor(x_np, device=dev)
        y = standardised_targets(model, train_set.pos, dev)
        opt = make_adam(params, config.lr)
        steps = -(-n // B)

        def run_epoch(order: torch.Tensor) -> dict[str, float]:
            model.train()
            total = torch.zeros((), device=dev)
            for s in range(steps):
                idx = order[s * B : (s + 1) * B]
                with autocast(dev, config.amp, config.cpu_bf16):
                    _, _, y_hat = representations(model, x[idx])
                loss = mae_loss(y_hat.float(), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
            j = float(total) / n
            return {"loss": j, "J_MAE": j}

        def validate() -> float:
            return float(np.mean(evaluate(model, val_set, config.eval_batch_size)))

        run_epochs(
            hist=hist,
            n=n,
            epochs=config.epochs,
            rng=rng,
            dev=dev,
            modules={"model": model},
            optimizers={"adam": opt},
            run_epoch=run_epoch,
            validate=None if val_set is None else validate,
            best_module=model,
            restore_best=config.restore_best,
            checkpoint=checkpoint,
            signature=signature,
            progress=config.progress,
            desc=f"{type(model).__name__} stand-alone",
            stop=config.stop,
        )
    model.eval()
    return hist

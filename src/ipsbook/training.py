"""Converged training: one home for early stopping, the learning-rate schedule and the
validation split that the ``full`` profile uses in every chapter that trains a network.

The ``full`` profile trains each phase until its validation value stops improving, instead of
for a fixed number of epochs (``quick``) or for the papers' own counts (``paper``):

* the validation data are carved from the *training* data (:func:`validation_split`, seeded;
  never the test set), optionally by group (a reference point, a trace) so that near-duplicate
  fingerprints do not sit on both sides;
* after ``lr_patience`` epochs without an improvement of at least ``min_delta`` (relative), the
  learning rate of every optimiser is multiplied by ``lr_factor`` (reduce-on-plateau, floored at
  ``min_lr``);
* after ``patience`` epochs without an improvement the phase stops; the caller's epoch count is
  the cap (the paper's epochs);
* the weights of the best validation epoch are kept (:meth:`Plateau.restore`).

A training loop does::

    plateau = Plateau(rule, optimizers=[opt], module=model)    # rule: StopRule or None
    for epoch in range(epochs):
        ...train one epoch...
        if plateau.update(epoch, validation_value):
            break
    plateau.restore()
    history.stopping = plateau.summary(epochs)

With ``rule=None`` the plateau only records (best epoch and value) and never stops nor changes
the learning rate: the ``smoke``/``quick``/``paper`` profiles train for their fixed epochs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Plateau", "StopRule", "validation_split"]

_MODES = ("min", "max")


@dataclass(frozen=True)
class StopRule:
    """When a training phase stops and how its learning rate falls (see the module notes)."""

    patience: int = 8
    min_delta: float = 1e-3
    lr_factor: float = 0.5
    lr_patience: int = 3
    min_lr: float = 1e-6
    val_fraction: float = 0.1

    def __post_init__(self) -> None:
        for name in ("patience", "lr_patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"StopRule {name}={value!r} must be an integer >= 1")
        checks = {
            "min_delta": (0.0, 1.0, "in [0, 1)"),
            "lr_factor": (0.0, 1.0, "in (0, 1] (1 = no schedule)"),
            "min_lr": (0.0, math.inf, ">= 0"),
            "val_fraction": (0.0, 0.5, "in (0, 0.5]"),
        }
        for name, (lo, hi, allowed) in checks.items():
            value = getattr(self, name)
            ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) \
                and math.isfinite(value)
            if ok:
                ok = {
                    "min_delta": lo <= value < hi,
                    "lr_factor": lo < value <= hi,
                    "min_lr": value >= lo,
                    "val_fraction": lo < value <= hi,
                }[name]
            if not ok:
                raise ValueError(f"StopRule {name}={value!r} must be a number {allowed}")
        if self.lr_patience > self.patience:
            raise ValueError(f"StopRule lr_patience={self.lr_patience} exceeds "
                             f"patience={self.patience}: the rate would never be lowered "
                             "before the phase stops")

    @classmethod
    def of(cls, value: StopRule | Mapping[str, Any] | None) -> StopRule | None:
        """A rule from a profile's mapping (or a rule, or None for 'no early stopping')."""
        if value is None or isinstance(value, StopRule):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"stop={value!r} must be a mapping of StopRule fields or None")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"stop has unknown field(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(sorted(known))}")
        return cls(**dict(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plateau:
    """Per-epoch bookkeeping of one training phase: best value and epoch, the best weights,
    the learning-rate schedule and the stop decision (see the module notes)."""

    rule: StopRule | None
    optimizers: Sequence[Any] = ()
    module: Any = None  # a torch module whose best weights are kept (None: keep nothing)
    mode: str = "min"
    best: float = math.nan
    best_epoch: int | None = None
    stopped_epoch: int | None = None  # 0-based epoch after which the phase stopped early
    epochs_run: int = 0
    lr_drops: list[int] = field(default_factory=list)  # epochs after which the rate fell
    values: list[float] = field(default_factory=list)
    _since_best: int = 0
    _since_drop: int = 0
    _best_state: Any = None

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode={self.mode!r} is not allowed; allowed: {', '.join(_MODES)}")
        self.rule = StopRule.of(self.rule)
        self.optimizers = list(self.optimizers)

    def _better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_epoch is None:
            return True
        delta = self.rule.min_delta if self.rule is not None else 0.0
        margin = delta * abs(self.best)
        return value < self.best - margin if self.mode == "min" else value > self.best + margin

    def update(self, epoch: int, value: float) -> bool:
        """Record epoch ``epoch``'s validation ``value``; True when the phase should stop."""
        value = float(value)
        self.values.append(value)
        self.epochs_run = epoch + 1
        if self._better(value):
            self.best, self.best_epoch = value, epoch
            self._since_best = self._since_drop = 0
            if self.module is not None:
                self._best_state = copy.deepcopy(self.module.state_dict())
            return False
        self._since_best += 1
        self._since_drop += 1
        if self.rule is None:
            return False
        if self._since_drop >= self.rule.lr_patience and self.rule.lr_factor < 1.0:
            if self._lower_rates():
                self.lr_drops.append(epoch)
            self._since_drop = 0
        if self._since_best >= self.rule.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def _lower_rates(self) -> bool:
        lowered = False
        for opt in self.optimizers:
            for group in opt.param_groups:
                new = max(group["lr"] * self.rule.lr_factor, self.rule.min_lr)
                if new < group["lr"]:
                    group["lr"] = new
                    lowered = True
        return lowered

    def restore(self) -> bool:
        """Load the best epoch's weights back into ``module`` (True when it did)."""
        if self.module is None or self._best_state is None:
            return False
        self.module.load_state_dict(self._best_state)
        return True

    def still_improving(self, cap: int) -> bool:
        """Ran to the cap with its best epoch among the last ``lr_patience`` (or 2) epochs:
        more epochs would likely have helped."""
        if self.stopped_epoch is not None or self.best_epoch is None or self.epochs_run < cap:
            return False
        window = self.rule.lr_patience if self.rule is not None else 2
        return self.best_epoch >= cap - window

    def summary(self, cap: int) -> dict[str, Any]:
        """What happened, for histories, tables and ``run.json``."""
        if self.stopped_epoch is not None:
            reason = "plateau"
        elif self.epochs_run >= cap:
            reason = "cap"
        else:
            reason = "interrupted"
        return {
            "rule": self.rule.as_dict() if self.rule is not None else None,
            "mode": self.mode,
            "cap": int(cap),
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_value": None if self.best_epoch is None else float(self.best),
            "stopped": reason,
            "still_improving": self.still_improving(cap),
            "lr_drops": list(self.lr_drops),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (for checkpointing loops)."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items()
                if k not in ("rule", "optimizers", "module")}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, copy.deepcopy(v))


def validation_split(
    n: int, fraction: float, seed: int, groups: Iterable[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train_idx, val_idx)`` of ``range(n)`` with about ``fraction`` in validation.

    With ``groups`` (one label per sample), whole groups go to one side, so that repeated
    measurements at one place (or windows of one trace) never straddle the split. Both sides
    are non-empty; indices come back sorted.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n={n!r}: a validation split needs at least 2 samples")
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction < 1.0):
        raise ValueError(f"fraction={fraction!r} must be in (0, 1)")
    rng = np.random.default_rng([int(seed), 0x5EA1])
    if groups is None:
        n_val = min(max(1, round(fraction * n)), n - 1)
        val = np.sort(rng.choice(n, size=n_val, replace=False))
    else:
        labels = np.asarray(list(groups))
        if len(labels) != n:
            raise ValueError(f"groups has {len(labels)} labels for {n} samples")
        uniq, inverse = np.unique(labels, return_inverse=True)
        if len(uniq) < 2:
            raise ValueError("groups: a grouped validation split needs at least 2 groups")
        order = rng.permutation(len(uniq))
        sizes = np.bincount(inverse, minlength=len(uniq))[order]
        take = np.searchsorted(np.cumsum(sizes), fraction * n) + 1
        take = int(min(max(take, 1), len(uniq) - 1))
        val = np.flatnonzero(np.isin(inverse, order[:take]))
    mask = np.zeros(n, bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)

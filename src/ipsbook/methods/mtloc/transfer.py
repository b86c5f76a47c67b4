"""When can paper E's transfer claims be judged? Only when the pre-trained IMU-LSTM learned
some position.

Paper E transfers an IMU-LSTM pre-trained to *regress the position* from a 1 s IMU window
(Sect. IV.B, Table IV). If that regressor is no better than always answering the mean
training position, its LSTM carried nothing positional, and "transferred vs from scratch" or
"fine-tuned vs transferred" compare two networks that differ only in noise. :func:`gate`
decides, on the pre-training's *own* validation data (never the target's), whether the
LSTM beats the mean-position predictor by :data:`TRANSFER_GATE_MARGIN`:

* per validation window the paired difference ``d = e_lstm - (1 - margin) * e_mean``;
* the windows overlap by 90 % and neighbours err alike, so ``d`` is averaged over contiguous
  groups (e.g. 10 s blocks of a walk) and the interval is a seeded percentile bootstrap over
  the group means (:func:`ipsbook.stats.mean_interval`);
* it **passes** when the whole interval lies below 0 (the LSTM's error is below
  ``(1 - margin)`` of the constant's), otherwise the transfer claims are *not comparable:
  the pre-trained LSTM learned no position* (:data:`NO_POSITION`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...stats import Interval, mean_interval

__all__ = ["NO_POSITION", "TRANSFER_GATE_MARGIN", "GateResult", "gate", "group_means"]

#: The pre-trained LSTM must err at least 10 % less than the mean-position predictor. Why
#: a margin at all: a regressor that only learned a bias toward the busier parts of a floor
#: (where more windows lie) beats the plain mean by a little without knowing where a walker
#: is; 10 % is the smallest gain we call "learned position", chosen before any run and the
#: same margin the rounds' Table IV verdict uses (:mod:`.rounds`).
TRANSFER_GATE_MARGIN: float = 0.10

#: The reason recorded on a transfer claim the gate does not let through.
NO_POSITION = ("not comparable: the pre-trained LSTM learned no position (on its own "
               "validation data it did not beat the mean-position predictor by the stated "
               "margin), so the transferred LSTM carried nothing to judge")


@dataclass(frozen=True)
class GateResult:
    """What :func:`gate` decided: ``passed``; the mean errors and their ``ratio`` (LSTM /
    mean position); the ``interval`` of ``e_lstm - (1 - margin) e_mean`` over groups."""

    passed: bool
    lstm_mean_m: float
    mean_position_m: float
    ratio: float
    margin: float
    interval: Interval

    def describe(self) -> str:
        word = "learned position" if self.passed else "learned no position"
        return (f"{word}: {self.lstm_mean_m:.2f} vs {self.mean_position_m:.2f} m "
                f"({100 * (1 - self.ratio):+.1f}% below the mean position; needs "
                f"{100 * self.margin:g}%), difference {self.interval.describe('m')}")


def group_means(values: Sequence[float], groups: Sequence) -> np.ndarray:
    """Means of ``values`` per group label (sorted by label)."""
    v = np.asarray(values, np.float64)
    g = np.asarray(groups)
    if v.shape != g.shape:
        raise ValueError(f"values and groups must have one length; got {v.shape}, {g.shape}")
    _, inv = np.unique(g, return_inverse=True)
    return np.bincount(inv, weights=v) / np.bincount(inv)


def gate(
    e_lstm: Sequence[float],
    e_mean: Sequence[float],
    groups: Sequence,
    *,
    margin: float = TRANSFER_GATE_MARGIN,
    level: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> GateResult:
    """Does the pre-trained LSTM beat the mean position by ``margin`` (module notes)?
    ``e_lstm``, ``e_mean``: per-window errors (m) on the pre-training's validation data;
    ``groups``: each window's contiguous group (block of a walk, and seed)."""
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin={margin!r} must be in [0, 1)")
    a = np.asarray(e_lstm, np.float64)
    b = np.asarray(e_mean, np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"e_lstm and e_mean must be paired 1-D errors; got {a.shape}, {b.shape}")
    d = group_means(a - (1.0 - margin) * b, groups)
    iv = mean_interval(d, "bootstrap", level=level, n_boot=n_boot, seed=seed)
    passed = iv.n > 1 and iv.side() == -1
    return GateResult(bool(passed), float(a.mean()), float(b.mean()),
                      float(a.mean() / b.mean()) if b.mean() > 0 else float("nan"), margin, iv)

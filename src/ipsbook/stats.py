"""Intervals that decide verdicts: the spread of a mean over seeds, Monte-Carlo realisations or
bootstrap resamples of paired test items.

A claim "A is better than B" is judged on the paired differences A − B (one per seed, per
realisation or per test query): it holds when the whole interval of their mean lies on the
claimed side of zero, fails when it lies wholly on the other side, and is *unresolved* when it
straddles zero (then the data cannot tell the two apart at this size, which is not a
reproduction of a claimed difference either).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

__all__ = ["METHODS", "Interval", "mean_interval", "paired_bootstrap", "paired_difference"]

#: How the interval is made: "seeds", "monte-carlo" and "partitions" (Student t over
#: independent repeats: seeds, realisations, training partitions), "bootstrap" (percentile
#: bootstrap of the mean over paired items, seeded).
METHODS = ("seeds", "monte-carlo", "partitions", "bootstrap")
_WHAT = {"seeds": "seeds", "monte-carlo": "Monte-Carlo realisations",
         "partitions": "training partitions", "bootstrap": "paired items, bootstrap"}


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values and its two-sided ``level`` interval."""

    mean: float
    lo: float
    hi: float
    n: int
    method: str
    level: float = 0.95
    stat: str = "mean"  # what ``mean`` holds: the mean, or e.g. "p75" (a percentile difference)

    def side(self, margin: float = 0.0) -> int:
        """+1: wholly above ``margin``; -1: wholly below ``-margin``; 0: straddles."""
        if self.lo > margin:
            return 1
        if self.hi < -margin:
            return -1
        return 0

    def describe(self, unit: str = "", digits: int = 3) -> str:
        u = f" {unit}" if unit else ""

        def f(x: float) -> str:
            return f"{x:+.{digits}g}"

        return (f"{self.stat} {f(self.mean)}{u}, {self.level:.0%} interval [{f(self.lo)}, "
                f"{f(self.hi)}]{u} over {self.n} {_WHAT.get(self.method, self.method)}")


def mean_interval(
    values, method: str, *, level: float = 0.95, n_boot: int = 4000, seed: int = 0,
) -> Interval:
    """The interval of the mean of ``values`` (finite entries only) by ``method``.

    With a single value (one seed) the interval is that value at both ends and says so by
    ``n == 1``: it decides nothing on its own (:meth:`Interval.side` is then the sign of the
    value, so callers must check ``n``)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; allowed: {', '.join(METHODS)}")
    if not 0.5 < level < 1.0:
        raise ValueError(f"level={level!r} must be in (0.5, 1)")
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("values: no finite value to take an interval of")
    mean = float(x.mean())
    if x.size == 1 or np.ptp(x) == 0.0:
        return Interval(mean, mean, mean, int(x.size), method, level)
    if method == "bootstrap":
        rng = np.random.default_rng([int(seed), 0xB007])
        idx = rng.integers(0, x.size, size=(int(n_boot), x.size))
        means = x[idx].mean(axis=1)
        lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
        return Interval(mean, float(lo), float(hi), int(x.size), method, level)
    half = float(_st.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(mean, mean - half, mean + half, int(x.size), method, level)


def paired_difference(a, b, method: str, **kw) -> Interval:
    """The interval of the mean of ``a - b`` (paired: same seeds, realisations or queries)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (same length); got {a.size} and {b.size}")
    return mean_interval(a - b, method, **kw)


def paired_bootstrap(
    a, b, *, statistic: str = "mean", level: float = 0.95, n_boot: int = 4000, seed: int = 0,
) -> Interval:
    """The interval of ``statistic(a) - statistic(b)`` over paired items (the same test
    fingerprints or queries for both), by a seeded percentile bootstrap that resamples the
    pairs. ``statistic``: ``"mean"`` or a percentile such as ``"p75"``, ``"p95"``."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (same length); got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size == 0:
        raise ValueError("a, b: no finite pair to take an interval of")
    if statistic == "mean":
        return mean_interval(a - b, "bootstrap", level=level, n_boot=n_boot, seed=seed)
    if not (statistic.startswith("p") and statistic[1:].isdigit()
            and 0 < int(statistic[1:]) < 100):
        raise ValueError(f"statistic={statistic!r} is not allowed; allowed: 'mean' or a "
                         "percentile 'p1' ... 'p99'")
    q = float(statistic[1:])
    point = float(np.percentile(a, q) - np.percentile(b, q))
    if a.size == 1:
        return Interval(point, point, point, 1, "bootstrap", level, statistic)
    rng = np.random.default_rng([int(seed), 0xB007])
    idx = rng.integers(0, a.size, size=(int(n_boot), a.size))
    diffs = np.percentile(a[idx], q, axis=1) - np.percentile(b[idx], q, axis=1)
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return Interval(point, float(lo), float(hi), int(a.size), "bootstrap", level, statistic)

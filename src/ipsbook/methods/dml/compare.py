"""Intervals behind paper A's "A is better than B" verdicts, and tie-aware ranks.

Two kinds of comparison decide the chapter's claims, both *paired* (the two methods are scored
on the very same items) and both by a percentile bootstrap (:class:`ipsbook.stats.Interval`):

* **correlations** (Studies 2 and 3): the Spearman (or Pearson) correlation of two fingerprint
  distances with the physical distance of the *same* sampled pairs. Pairs are resampled with
  replacement (within each scenario when there are several: a stratified bootstrap, each
  scenario keeping its size) and both correlations are recomputed on every resample, so the
  interval of their difference carries the pairing. A correlation is not a mean of per-pair
  values, so :func:`ipsbook.stats.mean_interval` does not apply; :func:`bootstrap_correlations`
  does the resampling and :func:`contrast_interval` turns any linear contrast of the
  correlations (a difference, a difference to a midpoint) into an ``Interval``. Spearman's rho
  of a resample is computed exactly (average ranks of the resampled values, ties included) from
  resample counts, without re-sorting: :func:`weighted_ranks`. Caveat, stated in the chapter:
  pairs that share a fingerprint are not independent, so the interval is somewhat narrower than
  one over independent pairs would be.
* **kNN errors** (the positioning table): per-query errors of two methods on the same queries;
  the interval of the mean paired difference is :func:`ipsbook.stats.paired_difference`'s
  bootstrap. :func:`tie_aware_ranks` ranks methods by those intervals: a method's rank is one
  plus the number of methods that are *significantly* better than it (their interval of the
  difference lies wholly on the better side of 0), so methods that the data cannot tell apart
  share a rank instead of being ordered by a floating-point tie-break. Per-query differences
  within ``atol`` (1e-6 m) are exact ties (the same neighbours; float noise only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ... import stats
from .distances import pair_features

__all__ = [
    "bootstrap_correlations",
    "contrast_interval",
    "correlation_difference",
    "correlation_table",
    "pair_correlations",
    "tie_aware_ranks",
    "weighted_ranks",
]

CORRELATIONS = ("spearman", "pearson")
# Interval names what its point value is (``stat``) in newer ipsbook.stats; else it says "mean"
_HAS_STAT = "stat" in {f.name for f in dataclasses.fields(stats.Interval)}


def _tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Sort order of ``x``, tie-group id per sorted position (None when there is no tie),
    group starts and ends."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(new)
    gid = None if starts.size == x.size else np.cumsum(new) - 1
    return order, gid, starts, np.r_[starts[1:], x.size]


def _ranks_from_groups(groups, W: np.ndarray) -> np.ndarray:
    """Average ranks under the counts ``W`` (``(B, n)``) from :func:`_tie_groups`: an item's
    rank is the summed count of the smaller values plus (its tie group's count + 1) / 2."""
    order, gid, starts, ends = groups
    Ws = W[:, order]
    cs = np.cumsum(Ws, axis=1)
    if gid is None:  # no ties: cumsum - (w - 1) / 2
        Ws *= 0.5
        cs -= Ws
        cs += 0.5
        Rs = cs
    else:
        before = cs[:, starts] - Ws[:, starts]
        Rs = (before + (cs[:, ends - 1] - before + 1.0) / 2.0)[:, gid]
    R = np.empty_like(Rs)
    R[:, order] = Rs
    return R


def weighted_ranks(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged, as ``scipy.stats.rankdata``) of the values ``x``
    in the multiset where item ``i`` appears ``counts[..., i]`` times; ``counts`` may be
    ``(n,)`` or ``(B, n)`` (one resample per row). Entries of items with count 0 are
    meaningless (they carry no weight). With all counts 1: ``rankdata(x)``."""
    x = np.asarray(x, dtype=float).ravel()
    W = np.asarray(counts, dtype=float)
    one = W.ndim == 1
    W = np.atleast_2d(W)
    if W.shape[1] != x.size:
        raise ValueError(f"counts must have {x.size} columns like x; got shape {W.shape}")
    R = _ranks_from_groups(_tie_groups(x), W)
    return R[0] if one else R


def _moments(V: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted values, their sums and sums of squares, row by row."""
    WV = W * V
    return WV, WV.sum(axis=1), np.einsum("bn,bn->b", WV, V)


def _corr_from_moments(n, a, t, sat) -> np.ndarray:
    """Weighted Pearson correlation from the moments of ``a`` and ``t`` (each ``(WV, sum,
    sum of squares)``) and their weighted cross sum ``sat``; ``n``: the summed weights."""
    cov = sat - a[1] * t[1] / n
    den = np.sqrt(np.maximum(a[2] - a[1] ** 2 / n, 0.0) * np.maximum(t[2] - t[1] ** 2 / n, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, cov / den, np.nan)


def _check(columns, target, groups):
    X = np.asarray(columns, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(target, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"columns must be (n_pairs, n_methods) with n_pairs = {y.size} like "
                         f"target; got shape {np.shape(columns)}")
    if y.size < 3:
        raise ValueError(f"target has {y.size} pairs; a correlation needs at least 3")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("columns and target must be finite")
    g = np.zeros(y.size, np.int64) if groups is None else np.asarray(groups)
    if g.shape != (y.size,):
        raise ValueError(f"groups must have one label per pair ({y.size}); got {g.shape}")
    labels, codes = np.unique(g, return_inverse=True)
    return X, y, labels, codes


def _resample_corrs(prep, W: np.ndarray, kind: str) -> np.ndarray:
    """Correlation of each column with the target under the resample counts ``W`` (``(B,
    n)``): ``(B, C)``. ``prep``: (target, columns), as tie groups for Spearman."""
    t, cols = prep

    def values(v):
        return _ranks_from_groups(v, W) if kind == "spearman" else np.broadcast_to(v, W.shape)

    T = values(t)
    tm = _moments(T, W)
    n = float(W.shape[1])
    out = np.empty((W.shape[0], len(cols)))
    for c, v in enumerate(cols):
        am = _moments(values(v), W)
        out[:, c] = _corr_from_moments(n, am, tm, np.einsum("bn,bn->b", am[0], T))
    return out


def bootstrap_correlations(
    columns, target, *, groups=None, kind: str = "spearman", n_boot: int = 1000, seed: int = 0,
    chunk: int = 50,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation of each column of ``columns`` (``(n_pairs, C)``: the distances of one pair
    under ``C`` methods) with ``target`` (the physical distances), per group, on the data and on
    ``n_boot`` paired resamples of the pairs (stratified by group).

    Returns ``(labels, point, boot)``: the group labels (sorted), ``point`` ``(G, C)`` and
    ``boot`` ``(n_boot, G, C)``. Seeded: the same arguments give the same resamples."""
    if kind not in CORRELATIONS:
        raise ValueError(f"kind={kind!r} is not allowed; allowed: {', '.join(CORRELATIONS)}")
    if isinstance(n_boot, bool) or int(n_boot) < 100:
        raise ValueError(f"n_boot={n_boot!r} must be an integer >= 100 (a 95 % interval needs "
                         "enough resamples)")
    X, y, labels, codes = _check(columns, target, groups)
    n_boot = int(n_boot)
    C = X.shape[1]
    point = np.empty((labels.size, C))
    boot = np.empty((n_boot, labels.size, C))
    for g in range(labels.size):
        idx = np.flatnonzero(codes == g)
        n = idx.size
        if n < 3:
            raise ValueError(f"group {labels[g]!r} has {n} pairs; a correlation needs >= 3")
        cols = [X[idx, c] for c in range(C)]
        t = y[idx]
        # Spearman: sort once; every resample re-ranks from its counts
        prep = ((_tie_groups(t), [_tie_groups(v) for v in cols]) if kind == "spearman"
                else (t, cols))

        def corrs(W, prep=prep):
            return _resample_corrs(prep, W, kind)

        point[g] = corrs(np.ones((1, n)))[0]
        rng = np.random.default_rng([int(seed), 0xC022, g])
        for b0 in range(0, n_boot, chunk):
            nb = min(chunk, n_boot - b0)
            draw = rng.integers(0, n, size=(nb, n))
            W = np.bincount((draw + n * np.arange(nb)[:, None]).ravel(),
                            minlength=nb * n).reshape(nb, n).astype(float)
            boot[b0:b0 + nb, g] = corrs(W)
    return labels, point, boot


def contrast_interval(
    point: np.ndarray, boot: np.ndarray, weights: Sequence[float], *, const: float = 0.0,
    level: float = 0.95, n_items: int | None = None, label: str = "contrast",
) -> stats.Interval:
    """The interval of ``mean over groups of (sum_c weights[c] * rho_c) + const`` from
    :func:`bootstrap_correlations`' output: point estimate on the data, percentile interval
    over the resamples (widened, if need be, to contain the estimate). ``weights=(1, -1)`` is
    the paired difference rho_A - rho_B. ``label`` names the value in the interval's text."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (point.shape[1],):
        raise ValueError(f"weights must have {point.shape[1]} entries (one per column); got "
                         f"{w.size}")
    if not 0.5 < level < 1.0:
        raise ValueError(f"level={level!r} must be in (0.5, 1)")
    est = float((point @ w).mean() + const)
    vals = (boot @ w).mean(axis=1) + const
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        raise ValueError("no finite bootstrap value (a constant distance in every resample?)")
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    n = int(n_items) if n_items is not None else int(boot.shape[0])
    return stats.Interval(est, float(min(lo, est)), float(max(hi, est)), n, "bootstrap", level,
                          **({"stat": label} if _HAS_STAT else {}))


def correlation_difference(
    a, b, target, *, groups=None, kind: str = "spearman", n_boot: int = 1000, seed: int = 0,
    level: float = 0.95,
) -> stats.Interval:
    """Interval of rho(a, target) - rho(b, target) on the same pairs (paired bootstrap over
    pairs, stratified by ``groups``; the mean over groups when there are several)."""
    X = np.column_stack([np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()])
    _, point, boot = bootstrap_correlations(X, target, groups=groups, kind=kind, n_boot=n_boot,
                                            seed=seed)
    return contrast_interval(point, boot, (1.0, -1.0), level=level, n_items=X.shape[0],
                             label=f"Δ{kind}")


def pair_correlations(
    rss: np.ndarray, i: np.ndarray, j: np.ndarray, target: np.ndarray,
    metrics: Sequence[str], representations: Sequence[str], *, min_rss: float,
) -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """Spearman and Pearson correlation with ``target`` of every classical metric at every
    representation on the pairs ``(i, j)`` of ``rss``; returns the table (``metric,
    representation, spearman, pearson``, best Spearman first) and the pair distances per
    ``(metric, representation)``."""
    from scipy.stats import rankdata

    from .scenarios import _REPRESENTATION_FREE, _corr  # one correlation code for both studies

    target = np.asarray(target, dtype=float)
    free = [m for m in metrics if m in _REPRESENTATION_FREE]
    dep = [m for m in metrics if m not in _REPRESENTATION_FREE]
    kw = {"pairs_i": i, "pairs_j": j, "min_rss": min_rss}
    values: dict[tuple[str, str], np.ndarray] = {}
    if free:
        F = pair_features(rss, rss, free, "raw", **kw)
        for k, m in enumerate(free):
            for r in representations:  # the same values at every representation
                values[(m, r)] = F[:, k].astype(np.float64)
    for r in representations:
        if dep:
            F = pair_features(rss, rss, dep, r, **kw)
            for k, m in enumerate(dep):
                values[(m, r)] = F[:, k].astype(np.float64)
    tr = rankdata(target)
    rows = [{"metric": m, "representation": r, "spearman": _corr(rankdata(v), tr),
             "pearson": _corr(v, target)} for (m, r), v in values.items()]
    tab = (pd.DataFrame(rows).sort_values(["spearman", "metric", "representation"],
                                          ascending=[False, True, True])
           .reset_index(drop=True))
    return tab, values


def tie_aware_ranks(
    values: Mapping[str, np.ndarray], *, better: str = "lower", n_boot: int = 4000,
    level: float = 0.95, seed: int = 0, atol: float = 1e-6,
) -> tuple[pd.DataFrame, dict[tuple[str, str], stats.Interval]]:
    """Ranks of methods scored per item (e.g. kNN errors per query, same queries for all).

    For every ordered pair (A, B) the interval of the mean paired difference A - B
    (:func:`ipsbook.stats.mean_interval`, bootstrap over items; differences within ``atol``
    count as 0). A method's ``rank`` is 1 + the number of methods significantly better than it
    (interval wholly below 0 for ``better="lower"``); methods that none of the intervals
    separates share a rank. Returns the table (``method, mean, rank, better_than_it,
    tied_with``; in the given order) and the intervals by ``(A, B)``."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better={better!r} is not allowed; allowed: 'lower', 'higher'")
    if not (np.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol={atol!r} must be a finite tolerance >= 0")
    names = list(values)
    if len(names) < 2:
        raise ValueError(f"tie_aware_ranks() needs at least two methods; got {names}")
    arrs = {k: np.asarray(v, dtype=float).ravel() for k, v in values.items()}
    n = {a.size for a in arrs.values()}
    if len(n) != 1:
        raise ValueError(f"every method must be scored on the same items; got sizes "
                         f"{ {k: a.size for k, a in arrs.items()} }")
    want = -1 if better == "lower" else 1
    ivs: dict[tuple[str, str], stats.Interval] = {}
    for a in names:
        for b in names:
            if a == b:
                continue
            d = arrs[a] - arrs[b]
            d[np.abs(d) <= atol] = 0.0
            ivs[(a, b)] = stats.mean_interval(d, "bootstrap", level=level, n_boot=n_boot,
                                              seed=seed)
    rows = []
    for a in names:
        beaten_by = [b for b in names if b != a and ivs[(b, a)].side() == want]
        tied = [b for b in names if b != a and ivs[(b, a)].side() == 0]
        rows.append({"method": a, "mean": float(arrs[a].mean()), "rank": 1 + len(beaten_by),
                     "better_than_it": ", ".join(beaten_by), "tied_with": ", ".join(tied)})
    return pd.DataFrame(rows), ivs


def correlation_table(
    columns: Mapping[str, np.ndarray], target, *, against: str, groups=None,
    kind: str = "spearman", n_boot: int = 1000, seed: int = 0, level: float = 0.95,
) -> tuple[pd.DataFrame, dict[tuple[str, str], stats.Interval]]:
    """Correlation of every method's distances (``columns``: name → distances of the same
    pairs) with ``target``, and paired-bootstrap intervals of the differences (one set of
    resamples for all, so every difference is paired).

    Returns the table (``method, <kind>, Δ vs <against>, lo, hi``: the difference to the
    method ``against`` and its interval) and the intervals of rho_A - rho_B for every ordered
    pair ``(A, B)``."""
    names = list(columns)
    if against not in columns:
        raise ValueError(f"against={against!r} is not one of the methods: {', '.join(names)}")
    X = np.column_stack([np.asarray(columns[m], dtype=float).ravel() for m in names])
    _, point, boot = bootstrap_correlations(X, target, groups=groups, kind=kind, n_boot=n_boot,
                                            seed=seed)
    ivs: dict[tuple[str, str], stats.Interval] = {}
    for a, ma in enumerate(names):
        for b, mb in enumerate(names):
            if a != b:
                w = np.zeros(len(names))
                w[a], w[b] = 1.0, -1.0
                ivs[(ma, mb)] = contrast_interval(point, boot, w, level=level,
                                                  n_items=X.shape[0], label=f"Δ{kind}")
    rows = []
    for c, m in enumerate(names):
        row = {"method": m, kind: float(point[:, c].mean()), f"Δ vs {against}": 0.0,
               "lo": np.nan, "hi": np.nan}
        if m != against:
            iv = ivs[(m, against)]
            row.update({f"Δ vs {against}": iv.mean, "lo": iv.lo, "hi": iv.hi})
        rows.append(row)
    return pd.DataFrame(rows), ivs

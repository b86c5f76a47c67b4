"""How paper D's statements are judged on the Monte-Carlo study of :func:`ipsbook.methods.bfp.simulate`.

Every comparison "A better than B" is decided by the interval of the paired difference of the
per-realisation RMSEs (``sqrt(mse)`` of one realisation over the test grid), over the
Monte-Carlo realisations that served both methods (common random numbers): :func:`contrast`.
A statement over many points (every σ_W, every Δ of a range) is judged point by point and the
points are counted by the side their interval lies on (:func:`tally`, :func:`every_point`), or,
for "A is close to B", by whether each interval lies inside an equivalence band
(:func:`within`, :func:`every_within`). The optimal Δ's growth with σ_W is a straight line
``Δ* = a + b σ_W`` fitted with its intercept; the interval on ``b`` comes from a bootstrap over
realisations (:func:`optimal_delta_fit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import METHODS, Interval, mean_interval

__all__ = [
    "SlopeFit",
    "contrast",
    "every_point",
    "every_within",
    "optimal_delta_fit",
    "run_rmse",
    "select",
    "tally",
    "within",
]


def select(sim: pd.DataFrame, sel: Mapping[str, object]) -> np.ndarray:
    """Boolean mask of the rows of ``sim`` matching every ``column: value`` of ``sel`` (floats
    compared with ``np.isclose``)."""
    mask = np.ones(len(sim), dtype=bool)
    for col, val in sel.items():
        if col not in sim.columns:
            raise ValueError(f"selection column {col!r} is not in the simulation; allowed: "
                             f"{', '.join(map(str, sim.columns))}")
        if isinstance(val, float):
            mask &= np.isclose(sim[col].to_numpy(dtype=float), val)
        else:
            mask &= (sim[col] == val).to_numpy()
    return mask


def run_rmse(sim: pd.DataFrame, sel: Mapping[str, object], by: Sequence[str]) -> pd.Series:
    """Per-realisation RMSE (m) of the rows selected by ``sel``, indexed by ``(*by, run)``."""
    part = sim[select(sim, sel)]
    if part.empty:
        raise ValueError(f"selection {dict(sel)!r} matches no row of the simulation")
    s = part.set_index([*by, "run"])["mse"]
    if s.index.duplicated().any():
        raise ValueError(f"selection {dict(sel)!r} is not unique per ({', '.join(by)}, run); "
                         "add the missing columns to the selection or to `by`")
    return np.sqrt(s)


def contrast(
    sim: pd.DataFrame,
    terms: Sequence[tuple[float, Mapping[str, object]]],
    by: Sequence[str],
    *,
    method: str = "monte-carlo",
    level: float = 0.95,
) -> pd.DataFrame:
    """The interval, per group of ``by``, of the mean over realisations of
    ``sum_k w_k RMSE_k`` (``terms``: ``(w_k, selection_k)``), paired on the realisation.

    ``[(1, A), (-1, B)]`` gives A − B; ``[(1, A), (-0.5, B), (-0.5, C)]`` gives A minus the
    midpoint of B and C. Returns one row per group: the ``by`` columns, ``mean``, ``lo``,
    ``hi``, ``n`` and ``interval`` (an :class:`ipsbook.stats.Interval`).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; allowed: {', '.join(METHODS)}")
    if not terms:
        raise ValueError("terms must hold at least one (weight, selection)")
    by = list(by)
    parts = [w * run_rmse(sim, sel, by) for w, sel in terms]
    total = pd.concat(parts, axis=1, join="inner")
    if total.empty:
        raise ValueError("the terms share no (group, run): they are not paired")
    combined = total.sum(axis=1)
    rows = []
    groups = combined.groupby(level=by, sort=True) if by else [((), combined)]
    for key, values in groups:
        iv = mean_interval(values.to_numpy(), method, level=level)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "mean": iv.mean, "lo": iv.lo, "hi": iv.hi,
                     "n": iv.n, "interval": iv})
    return pd.DataFrame(rows)


def tally(intervals: Sequence[Interval], better: str = "lower") -> dict[str, int]:
    """Count intervals wholly on the claimed side (``claimed``), wholly on the other side
    (``other``) and straddling 0 (``unresolved``); ``better`` is ``"lower"`` or ``"higher"``."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better={better!r} is not allowed; allowed: 'lower', 'higher'")
    want = -1 if better == "lower" else 1
    sides = [iv.side() for iv in intervals]
    return {"claimed": sum(s == want for s in sides), "other": sum(s == -want for s in sides),
            "unresolved": sum(s == 0 for s in sides), "total": len(sides)}


def every_point(intervals: Sequence[Interval], better: str = "lower") -> tuple[bool, str]:
    """Rule "at every point A is better than B": holds when every interval lies wholly on the
    claimed side (and each rests on at least 2 realisations). Returns ``(holds, summary)``."""
    if not intervals:
        raise ValueError("intervals is empty: no point to judge")
    t = tally(intervals, better)
    enough = all(iv.n >= 2 for iv in intervals)
    holds = enough and t["claimed"] == t["total"]
    summary = (f"{t['claimed']} of {t['total']} points resolved as claimed, {t['other']} "
               f"resolved the other way, {t['unresolved']} unresolved")
    return holds, summary


def within(interval: Interval, lo: float, hi: float) -> int:
    """+1: the interval lies inside ``[lo, hi]``; -1: wholly outside it; 0: overlaps an edge."""
    if lo > hi:
        raise ValueError(f"lo={lo!r} must be <= hi={hi!r}")
    if interval.lo >= lo and interval.hi <= hi:
        return 1
    if interval.hi < lo or interval.lo > hi:
        return -1
    return 0


def every_within(intervals: Sequence[Interval], margins: Sequence[float]) -> tuple[bool, str]:
    """Rule "A is close to B at every point": holds when every interval of A − B lies inside
    ``±margin`` of its point (an equivalence test). Returns ``(holds, summary)``."""
    if len(intervals) != len(margins) or not intervals:
        raise ValueError("intervals and margins must be non-empty and of the same length")
    res = [within(iv, -m, m) for iv, m in zip(intervals, margins)]
    enough = all(iv.n >= 2 for iv in intervals)
    n_in, n_out = res.count(1), res.count(-1)
    summary = (f"{n_in} of {len(res)} points within the band, {n_out} wholly outside it, "
               f"{res.count(0)} unresolved")
    return enough and n_in == len(res), summary


@dataclass(frozen=True)
class SlopeFit:
    """``Δ* = a + b σ_W`` fitted to the optimal Δ at each σ_W (least squares, with intercept)."""

    a: float
    b: float
    b_interval: Interval  # percentile bootstrap over Monte-Carlo realisations
    sigma_w: tuple[float, ...]
    delta_star: tuple[float, ...]
    at_edge: tuple[bool, ...]  # optimum at the largest Δ swept

    def describe(self) -> str:
        pts = ", ".join(f"{d:g}" for d in self.delta_star)
        return (f"Δ* = {self.a:.2f} + {self.b:.2f} σ_W (Δ* = {pts} dB at σ_W = "
                f"{', '.join(f'{s:g}' for s in self.sigma_w)} dB); b: 95% interval "
                f"[{self.b_interval.lo:.2f}, {self.b_interval.hi:.2f}] over {self.b_interval.n} "
                "realisations, bootstrap")


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of least-squares lines through ``(x, y[k])`` for every row k."""
    xc = x - x.mean()
    b = (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    a = y.mean(axis=-1) - b * x.mean()
    return a, b


def optimal_delta_fit(
    sim: pd.DataFrame,
    sel: Mapping[str, object],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> SlopeFit:
    """Fit ``Δ* = a + b σ_W`` to the optimal Δ (lowest pooled RMSE over the Δ swept, the smallest
    Δ on a tie) at every σ_W of the BFP rows selected by ``sel`` (e.g. regime, layout, design),
    σ_W = 0 included. The interval on ``b`` is the percentile bootstrap over Monte-Carlo
    realisations: each resample redraws the realisations, re-pools the RMSE, re-picks Δ* at every
    σ_W and refits the line."""
    part = sim[select(sim, {**sel, "method": "BFP"})]
    if part.empty:
        raise ValueError(f"selection {dict(sel)!r} matches no BFP row")
    cube = part.pivot_table(index="run", columns=["sigma_w_db", "delta_db"], values="mse",
                            aggfunc="first").sort_index(axis=1)
    if cube.isna().any().any():
        raise ValueError(f"selection {dict(sel)!r}: not every run has every (σ_W, Δ)")
    sig = np.array(sorted(set(cube.columns.get_level_values(0))), dtype=float)
    dl = np.array(sorted(set(cube.columns.get_level_values(1))), dtype=float)
    if len(sig) < 2:
        raise ValueError("at least two σ_W are needed to fit a slope")
    mse = cube.to_numpy().reshape(len(cube), len(sig), len(dl))  # (runs, σ, Δ)
    n_runs = len(mse)
    best = dl[mse.mean(axis=0).argmin(axis=1)]
    a, b = _ols(sig, best[None, :])
    rng = np.random.default_rng([int(seed), 0xD5])
    idx = rng.integers(0, n_runs, size=(int(n_boot), n_runs))
    counts = np.zeros((int(n_boot), n_runs))
    np.add.at(counts, (np.arange(int(n_boot))[:, None], idx), 1.0)
    pooled = (counts @ mse.reshape(n_runs, -1)).reshape(int(n_boot), len(sig), len(dl))
    boot_b = _ols(sig, dl[pooled.argmin(axis=2)])[1]
    lo, hi = np.quantile(boot_b, [(1 - level) / 2, (1 + level) / 2])
    iv = Interval(float(b[0]), float(lo), float(hi), n_runs,
                  "Monte-Carlo realisations, bootstrap", level)
    return SlopeFit(float(a[0]), float(b[0]), iv, tuple(float(s) for s in sig),
                    tuple(float(d) for d in best), tuple(bool(np.isclose(d, dl.max()))
                                                         for d in best))


# --------------------------------------------------------------------------------------------
# Verdicts: the numbers a claim shows, and the interval that decided it

#: The range of Fig. 3a over which claims on it are judged (σ_W and Δ, dB, both ends included).
#: Our copy of the paper has lost its figures, so their axes cannot be read; the chapter says
#: why these bounds (σ_W: from the paper's typical 2-2.83 dB to beyond its 'high' >= 4 dB, with
#: an online error always present; Δ: up to five times Fig. 5a's 2 dB).
FIG3A_SIGMA_W_DB = (1.0, 6.0)
FIG3A_DELTA_DB = (0.0, 10.0)


def in_range(values, bounds: tuple[float, float]) -> np.ndarray:
    """Boolean mask of ``values`` inside ``[lo, hi]`` (with a 1e-9 slack)."""
    v = np.asarray(values, dtype=float)
    return (v >= bounds[0] - 1e-9) & (v <= bounds[1] + 1e-9)


@dataclass(frozen=True)
class Verdict:
    """What one claim records: whether the rule holds, our numbers, and the deciding interval."""

    holds: bool
    ours: str
    interval: str


def _worst(df: pd.DataFrame, better: str) -> pd.Series:
    """The row whose interval is closest to failing the claim (the largest upper end for
    'lower', the smallest lower end for 'higher')."""
    return df.loc[df["hi"].idxmax()] if better == "lower" else df.loc[df["lo"].idxmin()]


def _label(row: pd.Series, by: Sequence[str]) -> str:
    names = {"sigma_w_db": "σ_W", "delta_db": "Δ", "side_m": "side"}
    units = {"sigma_w_db": " dB", "delta_db": " dB", "side_m": " m"}
    return ", ".join(f"{names.get(c, c)} = {row[c]:g}{units.get(c, '')}"
                     if isinstance(row[c], (float, int, np.floating, np.integer))
                     else f"{row[c]}" for c in by)


def verdict_every(df: pd.DataFrame, better: str, by: Sequence[str], unit: str = "m") -> Verdict:
    """Rule "at every point of ``df`` (from :func:`contrast`) A is better than B"."""
    holds, summary = every_point(list(df["interval"]), better)
    w = _worst(df, better)
    text = f"{w['interval'].describe(unit)} at {_label(w, by)}"
    return Verdict(holds, f"{summary}; closest to failing: {text}", f"closest to failing: {text}")


def verdict_within(df: pd.DataFrame, margins: Sequence[float], by: Sequence[str],
                   unit: str = "m") -> Verdict:
    """Rule "at every point of ``df`` A − B lies inside ±margin" (equivalence)."""
    holds, summary = every_within(list(df["interval"]), margins)
    m = np.asarray(margins, dtype=float)
    excess = np.maximum(np.abs(df["lo"].to_numpy()), np.abs(df["hi"].to_numpy())) / m
    k = int(np.argmax(excess))
    w = df.iloc[k]
    text = f"{w['interval'].describe(unit)} vs band ±{m[k]:.3g} {unit} at {_label(w, by)}"
    return Verdict(holds, f"{summary}; closest to failing: {text}", f"closest to failing: {text}")


def verdict_slope_within(fit: SlopeFit, lo: float, hi: float) -> Verdict:
    """Rule "b of Δ* = a + b σ_W is in [lo, hi]": the bootstrap interval of b lies inside it."""
    side = within(fit.b_interval, lo, hi)
    edge = sum(fit.at_edge)
    note = f"; {edge} optimum(s) at the largest Δ swept" if edge else ""
    return Verdict(side == 1, fit.describe() + note,
                   f"b: 95% bootstrap interval [{fit.b_interval.lo:.2f}, {fit.b_interval.hi:.2f}] "
                   f"over {fit.b_interval.n} Monte-Carlo realisations")


def gap_by_sigma(sim: pd.DataFrame, sel: Mapping[str, object], sigma_range: tuple[float, float],
                 delta_range: tuple[float, float]) -> pd.DataFrame:
    """Per realisation (rows) and σ_W (columns): RMSE(FCD) − RMSE(OCD) averaged over the Δ of
    ``delta_range``, for the BFP rows selected by ``sel``, σ_W within ``sigma_range``."""
    by = ["sigma_w_db", "delta_db"]
    f = run_rmse(sim, {**sel, "method": "BFP", "design": "FCD"}, by)
    o = run_rmse(sim, {**sel, "method": "BFP", "design": "OCD"}, by)
    d = (f - o).dropna().reset_index(name="gap")
    d = d[in_range(d["sigma_w_db"], sigma_range) & in_range(d["delta_db"], delta_range)]
    if d.empty:
        raise ValueError(f"no (σ_W, Δ) of the sweep lies in σ_W {sigma_range}, Δ {delta_range}")
    return d.groupby(["run", "sigma_w_db"])["gap"].mean().unstack("sigma_w_db")


def gap_peak(gaps: pd.DataFrame, split_db: float = 4.0) -> tuple[Interval, float, float] | None:
    """Paired interval of gap(σ_hi) − gap(σ_lo), where σ_hi (σ_lo) is the σ_W at or above (below)
    ``split_db`` with the largest mean gap; ``None`` when one side has no σ_W."""
    cols = np.asarray(gaps.columns, dtype=float)
    hi_cols, lo_cols = cols[cols >= split_db - 1e-9], cols[cols < split_db - 1e-9]
    if not len(hi_cols) or not len(lo_cols):
        return None
    mean = gaps.mean(axis=0)
    s_hi = float(mean[hi_cols].idxmax())
    s_lo = float(mean[lo_cols].idxmax())
    iv = mean_interval((gaps[s_hi] - gaps[s_lo]).to_numpy(), "monte-carlo")
    return iv, s_hi, s_lo

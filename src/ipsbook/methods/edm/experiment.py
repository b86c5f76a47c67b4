"""Monte-Carlo comparison of EDM resolvers on simulated FTM networks (paper B's chapter).

Paper B's copy describes the methods but not its experiments, so the chapter's evaluation is
ours: random office-like floor plans, APs at random positions, FTM ranges from
:mod:`ipsbook.radio.ftm`, and every method scored by the RMSE of its AP positions after the best
rigid alignment (rotation, translation, reflection; no scaling) with the truth.

Methods (:data:`METHODS`): classical MDS on the shortest-path-completed matrix (``MDS``), the
same after the Wall Remover (``WR+MDS``), the Iterative Algebro-Geometric resolver (``IAG``) and
``WR+IAG``, scikit-learn's SMACOF on the completed matrix (``SMACOF``), SMACOF weighted to skip
missing pairs (``wSMACOF``), and trilateration from ``n_anchors`` APs of known position
(``TRI``). Every method sees the same measured matrix, symmetrised by keeping the smaller of
``d_ij`` and ``d_ji`` (paper B keeps the best, typically smallest, range).

Every result is kept per random floor plan (``plan``), so that "A is better than B" is
decided by the interval of the paired difference over the same plans
(:func:`paired_interval`, :func:`point_verdicts`, :mod:`ipsbook.stats`), not by comparing
means. The Wall Remover's contractions are counted per plan against the simulator's ground
truth (:func:`stretched_pairs`: which ranges walls or a planted stretch really lengthened):
true and false positives (:func:`wr_counts`). ``NetworkConfig.planted_stretch`` gives the
Wall Remover's premise (paper B, Sect. 5.1, Figs. 1/3): one interior range stretched, the
others in line of sight.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ... import stats as _stats
from ...radio.ftm import FTMModel, FTMRanges, random_aps, random_floor_plan, simulate_ranges
from .core import complete_shortest_path, dilation_factors, edm, position_errors, symmetrise
from .mds import classical_mds
from .smacof import smacof, smacof_sklearn
from .trilateration import trilaterate_network

METHODS = ("MDS", "WR+MDS", "IAG", "WR+IAG", "SMACOF", "wSMACOF", "TRI")
SWEEPS = ("sigma_los", "n_walls", "n_aps", "p_missing")
_NETWORK_FIELDS = ("width_m", "height_m", "n_aps", "n_walls", "n_anchors", "planted_stretch",
                   "planted_min_tests")


@dataclass(frozen=True)
class NetworkConfig:
    """One simulated network: floor size, APs, interior walls and the FTM error model.

    ``planted_stretch`` > 1 multiplies **one interior range** by that factor after the
    simulation (the Wall Remover's premise: one range stretched by an obstacle, the others
    as the model gives them); *interior*: an inner segment of at least ``planted_min_tests``
    contained quadruples of the exact distances over the measured pairs (what the Wall Remover
    can test; 8 is the fewest it can contract at its defaults). 1.0: nothing planted.
    """

    width_m: float = 50.0
    height_m: float = 50.0
    n_aps: int = 20
    n_walls: int = 10
    n_anchors: int = 4
    model: FTMModel = field(default_factory=FTMModel)
    planted_stretch: float = 1.0
    planted_min_tests: int = 8

    def __post_init__(self) -> None:
        f = self.planted_stretch
        if isinstance(f, bool) or not isinstance(f, (int, float, np.integer, np.floating)) or \
                not np.isfinite(f) or f < 1.0:
            raise ValueError(f"planted_stretch={f!r} is not allowed; allowed: a number >= 1 "
                             "(1: nothing planted)")
        k = self.planted_min_tests
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"planted_min_tests={k!r} is not allowed; allowed: an integer >= 1")

    def with_value(self, name: str, value: Any) -> NetworkConfig:
        """A copy with one sweep variable changed (a network field or an FTMModel field)."""
        if name in _NETWORK_FIELDS:
            return replace(self, **{name: value})
        if name in FTMModel.__dataclass_fields__:
            return replace(self, model=replace(self.model, **{name: value}))
        allowed = ", ".join((*_NETWORK_FIELDS, *FTMModel.__dataclass_fields__))
        raise ValueError(f"sweep variable {name!r} is not known; allowed: {allowed}")


def interior_pairs(X: np.ndarray, measured: np.ndarray, min_tests: int = 8) -> np.ndarray:
    """Pairs ``(m, 2)`` (``i < j``) that are an inner segment of at least ``min_tests``
    contained quadruples of the exact distances of ``X`` over the ``measured`` pairs."""
    from .wall_remover import contained_quadruples

    D = np.where(measured | np.eye(len(X), dtype=bool), edm(X), np.nan)
    Q = contained_quadruples(D, symmetrise=None)
    n = len(X)
    lo = np.minimum(Q[:, 3:4], Q[:, :3]).ravel()
    hi = np.maximum(Q[:, 3:4], Q[:, :3]).ravel()
    count = np.bincount(lo * n + hi, minlength=n * n).reshape(n, n)
    return np.argwhere(np.triu(count >= min_tests, 1))


def plant_stretch(
    ranges: FTMRanges, X: np.ndarray, factor: float, rng: np.random.Generator,
    min_tests: int = 8,
) -> tuple[FTMRanges, tuple[int, int] | None]:
    """Stretch one interior measured range (both directions) by ``factor``, drawn with ``rng``
    among :func:`interior_pairs`; its dilation ``k`` is multiplied too (the ground truth).
    Returns the new ranges and the pair (None when no range is interior: nothing planted)."""
    measured = ~np.isnan(ranges.D) & ~np.isnan(ranges.D.T)
    np.fill_diagonal(measured, False)
    cand = interior_pairs(X, measured, min_tests)
    if len(cand) == 0:
        return ranges, None
    i, j = (int(v) for v in cand[rng.integers(len(cand))])
    D, k = ranges.D.copy(), ranges.k.astype(float).copy()
    for a, b in ((i, j), (j, i)):
        D[a, b] *= factor
        k[a, b] *= factor
    return replace(ranges, D=D, k=k), (i, j)


def simulate_network(cfg: NetworkConfig, rng: np.random.Generator):
    """Draw a floor plan, AP positions and one FTM campaign: ``(plan, X_true, FTMRanges)``
    (with ``cfg.planted_stretch`` > 1, one interior range stretched, see :class:`NetworkConfig`)."""
    plan = random_floor_plan(rng, cfg.width_m, cfg.height_m, n_walls=cfg.n_walls)
    X = random_aps(rng, plan, cfg.n_aps)
    ranges = simulate_ranges(plan, X, cfg.model, rng)
    if cfg.planted_stretch > 1.0:
        ranges, _ = plant_stretch(ranges, X, cfg.planted_stretch, rng, cfg.planted_min_tests)
    return plan, X, ranges


def excess_stretch(ranges: FTMRanges, model: FTMModel) -> np.ndarray:
    """``(n, n)`` the simulator's deterministic stretch of each range beyond the line-of-sight
    model, ``(k − k_los)·d + walls·wall_bias`` metres (0 on the diagonal; noise not included)."""
    ex = (ranges.k - model.k_los) * ranges.D_true + ranges.walls_eff * model.wall_bias
    np.fill_diagonal(ex, 0.0)
    return ex


def stretched_pairs(ranges: FTMRanges, model: FTMModel) -> np.ndarray:
    """``(n, n)`` symmetric bool: ranges that walls or a planted stretch really lengthened
    (:func:`excess_stretch` > 0 in either direction) — the ground truth the Wall Remover's
    contractions are counted against."""
    ex = excess_stretch(ranges, model)
    return (ex > 0) | (ex.T > 0)


def _wall_remover(D: np.ndarray, wr_kw: dict[str, Any]):
    from .wall_remover import wall_remover

    return wall_remover(D, **wr_kw)


def _iag(D: np.ndarray, iag_kw: dict[str, Any]) -> np.ndarray:
    from .iag import iag_resolve

    return iag_resolve(D, **iag_kw).X


def solve(
    method: str,
    D: np.ndarray,
    *,
    anchors: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    wr_kw: dict[str, Any] | None = None,
    iag_kw: dict[str, Any] | None = None,
    corrected: np.ndarray | None = None,
) -> np.ndarray:
    """Positions ``(n, 2)`` from one method; ``corrected`` reuses a Wall Remover output."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; allowed: {', '.join(METHODS)}")
    wr_kw = dict(wr_kw or {})
    iag_kw = dict(iag_kw or {})
    Ds = symmetrise(D, how="min")
    if method.startswith("WR+"):
        Ds = corrected if corrected is not None else _wall_remover(Ds, wr_kw).D
        method = method[3:]
    if method == "MDS":
        return classical_mds(complete_shortest_path(Ds), 2).X
    if method == "IAG":
        return _iag(Ds, iag_kw)
    if method == "SMACOF":
        return smacof_sklearn(complete_shortest_path(Ds), 2, seed)
    if method == "wSMACOF":
        return smacof(Ds, 2, seed=seed).X
    if anchors is None:
        raise ValueError("method='TRI' needs anchors=(indices, positions)")
    return trilateration(Ds, anchors)


def trilateration(Ds: np.ndarray, anchors: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    idx, pos = anchors
    return trilaterate_network(Ds, idx, pos)


def evaluate(
    D: np.ndarray,
    X_true: np.ndarray,
    *,
    methods: tuple[str, ...] = METHODS,
    n_anchors: int = 4,
    seed: int = 0,
    wr_kw: dict[str, Any] | None = None,
    iag_kw: dict[str, Any] | None = None,
    stretched: np.ndarray | None = None,
    los_model: tuple[float, float] = (1.0, 0.0),
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Score every method on one measured matrix: rows of (method, rmse, mean, unplaced, error).

    Also returns the dilation-factor statistics before and after the Wall Remover and its
    contractions (``wr_contractions``; ``wr_ranges``: distinct ranges contracted). With the
    ground truth ``stretched`` (``(n, n)`` bool, :func:`stretched_pairs`), the contractions
    are split into true positives (``wr_tp``: of a really stretched range) and false ones
    (``wr_fp``), and ``stretch_before_m`` / ``stretch_after_m`` give the mean excess of the
    really stretched ranges over the line-of-sight model ``k_los·d + bias_los``
    (``los_model``) before and after the Wall Remover, ``stretched_tests`` the mean number of
    contained quadruples that tested them in its last pass and ``stretched_flagged`` the share
    of those that flagged them (stretch above ε). A method that cannot run (e.g. a
    disconnected graph that no completion can fill) gets ``rmse`` NaN and its reason in
    ``error``: failures are results too. ``wr_kw`` as for :func:`~.wall_remover.wall_remover`.
    """
    rows = []
    Ds = symmetrise(D, how="min")
    k_before = dilation_factors(Ds, X_true)
    wr = None
    stats = {"k_var_before": float(np.var(k_before)) if k_before.size else float("nan")}
    if any(m.startswith("WR+") for m in methods):
        wr = _wall_remover(Ds, dict(wr_kw or {}))
        k_after = dilation_factors(wr.D, X_true)
        stats["k_var_after"] = float(np.var(k_after)) if k_after.size else float("nan")
        stats["wr_contractions"] = float(len(wr.contractions))
        stats["wr_ranges"] = float(len({(a, b) for a, b, _ in wr.contractions}))
        if stretched is not None:
            st = np.asarray(stretched, dtype=bool)
            if st.shape != Ds.shape:
                raise ValueError(f"stretched has shape {st.shape}; it must match D's "
                                 f"{Ds.shape}")
            hits = [bool(st[a, b]) for a, b, _ in wr.contractions]
            stats["wr_tp"] = float(sum(hits))
            stats["wr_fp"] = float(len(hits) - sum(hits))
            sel = np.triu(st & ~np.isnan(Ds), 1)
            k_los, bias = los_model
            expected = k_los * edm(X_true) + bias
            stats["n_stretched"] = float(sel.sum())
            # quadruples testing the really stretched ranges (last pass): 0 = untestable
            stats["stretched_tests"] = float(np.mean(wr.n_evaluated[sel])) if sel.any() \
                else float("nan")
            # ... and the share of those tests that flagged them (NaN: never tested)
            tested = sel & wr.testable
            stats["stretched_flagged"] = float(np.mean(wr.probability[tested])) \
                if tested.any() else float("nan")
            stats["stretch_before_m"] = float(np.mean((Ds - expected)[sel])) if sel.any() \
                else float("nan")
            stats["stretch_after_m"] = float(np.mean((wr.D - expected)[sel])) if sel.any() \
                else float("nan")
    anchors = (np.arange(n_anchors), X_true[:n_anchors])  # APs are in random order already
    for m in methods:
        try:
            X = solve(m, D, anchors=anchors, seed=seed, wr_kw=wr_kw, iag_kw=iag_kw,
                      corrected=None if wr is None else wr.D)
            err = position_errors(X, X_true)
            rows.append({"method": m, "rmse_m": err.rmse, "mean_m": err.mean,
                         "unplaced": err.n_unplaced, "error": ""})
        except (ValueError, np.linalg.LinAlgError) as exc:
            rows.append({"method": m, "rmse_m": np.nan, "mean_m": np.nan,
                         "unplaced": len(X_true), "error": f"{type(exc).__name__}: {exc}"})
    return rows, stats


def sweep(
    name: str,
    values: tuple[Any, ...],
    base: NetworkConfig,
    n_plans: int,
    seed: int = 0,
    *,
    methods: tuple[str, ...] = METHODS,
    wr_kw: dict[str, Any] | None = None,
    iag_kw: dict[str, Any] | None = None,
    wr_tolerance_sigma: float | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Error of every method as one variable changes, over ``n_plans`` random floor plans each.

    Plan ``p`` uses the random stream ``(seed, p)`` at every value of the variable, so the
    curves compare the same floor plans (common random numbers). ``wr_tolerance_sigma`` sets
    the Wall Remover's acceptable stretch to that many LoS noise σ of each configuration (a
    user sets ε from the noise of their hardware), overriding ``wr_kw["tolerance"]``.
    """
    from ...progress import tqdm

    if not isinstance(n_plans, (int, np.integer)) or n_plans < 1:
        raise ValueError(f"n_plans={n_plans!r} must be an integer >= 1")
    if wr_tolerance_sigma is not None and not wr_tolerance_sigma >= 0:
        raise ValueError(f"wr_tolerance_sigma={wr_tolerance_sigma!r} must be >= 0")
    out = []
    bar = tqdm(total=len(values) * n_plans, desc=f"FTM sweep {name}", unit="plan",
               disable=not progress, leave=False)
    for value in values:
        cfg = base.with_value(name, value)
        kw = dict(wr_kw or {})
        if wr_tolerance_sigma is not None:
            kw["tolerance"] = wr_tolerance_sigma * cfg.model.sigma_los
        for p in range(n_plans):
            rng = np.random.default_rng([seed, p])
            _, X, ranges = simulate_network(cfg, rng)
            rows, stats = evaluate(ranges.D, X, methods=methods, n_anchors=cfg.n_anchors,
                                   seed=seed, wr_kw=kw, iag_kw=iag_kw,
                                   stretched=stretched_pairs(ranges, cfg.model),
                                   los_model=(cfg.model.k_los, cfg.model.bias_los))
            nlos = float(np.mean(~ranges.los[np.triu_indices(len(X), 1)]))
            missing = float(np.mean(ranges.missing[np.triu_indices(len(X), 1)]))
            for r in rows:
                out.append({"sweep": name, "value": value, "plan": p, "nlos_share": nlos,
                            "missing_share": missing, **stats, **r})
            bar.update()
    bar.close()
    return pd.DataFrame(out)


def summarise(results: pd.DataFrame, *, n_boot: int = 400, seed: int = 0) -> pd.DataFrame:
    """Mean RMSE over plans per (sweep, value, method) with a 95% bootstrap CI and failures."""
    rng = np.random.default_rng(seed)
    rows = []
    for (sw, val, m), g in results.groupby(["sweep", "value", "method"], sort=True):
        r = g["rmse_m"].to_numpy()
        ok = r[np.isfinite(r)]
        if ok.size:
            boot = ok[rng.integers(0, ok.size, (n_boot, ok.size))].mean(axis=1)
            lo, hi = np.quantile(boot, [0.025, 0.975])
            mean = float(ok.mean())
        else:
            mean = lo = hi = np.nan
        rows.append({"sweep": sw, "value": val, "method": m, "rmse_m": mean, "ci_low_m": lo,
                     "ci_high_m": hi, "failed": int((~np.isfinite(r)).sum()), "n_plans": len(r)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Paired comparisons over the same random floor plans, and the Wall Remover's counts

VERDICTS = ("A better", "B better", "unresolved", "one plan")


def _per_plan(results: pd.DataFrame, sweep: str | None, value: Any, metric: str) -> pd.DataFrame:
    r = results
    if sweep is not None:
        r = r[r.sweep == sweep]
    if value is not None:
        r = r[r.value == value]
    if r.empty:
        raise ValueError(f"no results for sweep={sweep!r}, value={value!r}; allowed: the "
                         f"sweeps and values in the results")
    return r.pivot_table(index="plan", columns="method", values=metric, aggfunc="first",
                         dropna=False)


def paired_interval(
    results: pd.DataFrame, a: str, b: str, *, sweep: str | None = None, value: Any = None,
    metric: str = "rmse_m", method: str = "monte-carlo",
) -> _stats.Interval:
    """Interval of the mean of ``a − b`` (``metric`` of two methods) over the plans where both
    ran (paired: the same floor plans, APs and ranges), from :func:`sweep` results."""
    t = _per_plan(results, sweep, value, metric)
    for m in (a, b):
        if m not in t.columns:
            raise ValueError(f"method {m!r} is not in the results; allowed: {list(t.columns)}")
    ok = t[a].notna() & t[b].notna()
    if not ok.any():
        raise ValueError(f"{a} and {b} never both ran at sweep={sweep!r}, value={value!r}")
    return _stats.paired_difference(t[a][ok].to_numpy(), t[b][ok].to_numpy(), method)


def _verdict(iv: _stats.Interval) -> str:
    if iv.n < 2:
        return "one plan"
    return {-1: "A better", 1: "B better", 0: "unresolved"}[iv.side(0.0)]


def point_verdicts(
    results: pd.DataFrame, sweep: str, a: str, others: tuple[str, ...],
    values: tuple[Any, ...] | None = None, *, metric: str = "rmse_m",
) -> pd.DataFrame:
    """Per sweep point and per method ``B`` in ``others``: the interval of ``a − B`` (lower is
    better) over the plans, and the verdict (:data:`VERDICTS`: "A better" when the whole 95 %
    interval is below 0, "B better" above, "unresolved" when it straddles 0)."""
    vals = sorted(results[results.sweep == sweep].value.unique()) if values is None else values
    rows = []
    for v in vals:
        for b in others:
            iv = paired_interval(results, a, b, sweep=sweep, value=v, metric=metric)
            rows.append({"sweep": sweep, "value": v, "A": a, "B": b, "mean_diff_m": iv.mean,
                         "ci_low_m": iv.lo, "ci_high_m": iv.hi, "n_plans": iv.n,
                         "verdict": _verdict(iv)})
    return pd.DataFrame(rows)


def verdict_counts(verdicts: pd.DataFrame) -> dict[str, int]:
    """Sweep points by outcome for "A beats every B": ``won`` (A better than every B),
    ``lost`` (some B better), ``unresolved`` (the rest), ``points``."""
    won = lost = unresolved = 0
    for _, g in verdicts.groupby("value"):
        if (g.verdict == "A better").all():
            won += 1
        elif (g.verdict == "B better").any():
            lost += 1
        else:
            unresolved += 1
    return {"points": won + lost + unresolved, "won": won, "lost": lost, "unresolved": unresolved}


def wr_counts(results: pd.DataFrame) -> pd.DataFrame:
    """The Wall Remover per sweep point: plans, plans where it contracted something
    (``plans_acted``), contractions (total and per plan), true and false positives against
    the simulator's ground truth (``tp``, ``fp``), distinct ranges contracted, the variance
    of ``k``, the mean excess of the really stretched ranges before and after, and the
    quadruples that tested them (``stretched_tests``, mean over ranges and plans) and the share
    of those tests that flagged them (``stretched_flagged``)."""
    need = {"wr_contractions", "k_var_before", "k_var_after"}
    if not need <= set(results.columns):
        raise ValueError(f"results lack {sorted(need - set(results.columns))}: run the sweep "
                         "with a WR+ method")
    per = results.drop_duplicates(["sweep", "value", "plan"])
    rows = []
    for (sw, v), g in per.groupby(["sweep", "value"], sort=True):
        c = g.wr_contractions.to_numpy()
        row = {"sweep": sw, "value": v, "plans": len(g), "plans_acted": int((c > 0).sum()),
               "contractions": int(c.sum()), "per_plan": float(c.mean()),
               "ranges": int(g.get("wr_ranges", pd.Series(0)).sum())}
        for col in ("wr_tp", "wr_fp"):
            row[col[3:]] = int(g[col].sum()) if col in g else 0
        for col in ("k_var_before", "k_var_after", "stretch_before_m", "stretch_after_m",
                    "stretched_tests", "stretched_flagged", "nlos_share"):
            if col in g:
                row[col] = float(g[col].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def acted_values(counts: pd.DataFrame, sweep: str) -> tuple[Any, ...]:
    """Sweep points where the Wall Remover contracted at least one range."""
    c = counts[(counts.sweep == sweep) & (counts.contractions > 0)]
    return tuple(c.value)


def per_plan_stat(results: pd.DataFrame, sweep: str, values: tuple[Any, ...],
                  column: str) -> np.ndarray:
    """One plan-level statistic (e.g. ``k_var_before``) per plan at the given sweep points."""
    per = results.drop_duplicates(["sweep", "value", "plan"])
    per = per[(per.sweep == sweep) & per.value.isin(values)]
    return per.sort_values(["value", "plan"])[column].to_numpy(dtype=float)


def growth_interval(
    results: pd.DataFrame, sweep: str, a: str, b: str, lo: Any, hi: Any,
) -> tuple[_stats.Interval, dict[str, float]]:
    """How much faster ``a``'s error grows than ``b``'s from ``lo`` to ``hi``: per plan index,
    ``ln(r_a(hi)/r_a(lo)) − ln(r_b(hi)/r_b(lo))`` (plan ``p`` uses the random stream
    ``(seed, p)`` at both points), its Monte-Carlo interval, and each method's mean growth
    factor (ratio of the mean RMSEs)."""
    t_lo, t_hi = (_per_plan(results, sweep, v, "rmse_m") for v in (lo, hi))
    g = {m: np.log(t_hi[m] / t_lo[m]) for m in (a, b)}
    d = (g[a] - g[b]).to_numpy(dtype=float)
    factor = {m: float(t_hi[m].mean() / t_lo[m].mean()) for m in (a, b)}
    return _stats.mean_interval(d, "monte-carlo"), factor


# --------------------------------------------------------------------------------------------
# Fig. 1 over many layouts, IAG's alignment variants, real networks


def fig1_spread(
    n_realisations: int, seed: int = 0, *, n_aps: int = 8, side_m: float = 20.0,
    factor: float = 1.4,
) -> pd.DataFrame:
    """Fig. 1's experiment repeated: ``n_aps`` APs uniform in a ``side_m`` square, exact ranges
    but one pair (drawn at random) stretched by ``factor``; per realisation, the RMS error of
    classical MDS and of weighted SMACOF (all pairs weight 1) on the APs *other* than the
    stretched pair (``mds_other_m``, ``wsmacof_other_m``) and on the pair itself, after aligning
    the whole network, and MDS's share of squared error off the pair."""
    if not isinstance(n_realisations, (int, np.integer)) or n_realisations < 1:
        raise ValueError(f"n_realisations={n_realisations!r} must be an integer >= 1")
    if not factor > 1.0:
        raise ValueError(f"factor={factor!r} must be > 1 (a stretch)")
    rows = []
    for r in range(int(n_realisations)):
        rng = np.random.default_rng([seed, 0xF1, r])
        X = rng.uniform(0.0, side_m, (n_aps, 2))
        i, j = sorted(int(v) for v in rng.choice(n_aps, 2, replace=False))
        D = edm(X)
        D[i, j] = D[j, i] = factor * D[i, j]
        others = np.setdiff1d(np.arange(n_aps), [i, j])
        e_mds = position_errors(classical_mds(D, 2).X, X).errors
        e_w = position_errors(smacof(D, 2, seed=seed).X, X).errors
        rows.append({
            "realisation": r, "i": i, "j": j,
            "mds_other_m": float(np.sqrt(np.mean(e_mds[others] ** 2))),
            "wsmacof_other_m": float(np.sqrt(np.mean(e_w[others] ** 2))),
            "mds_pair_m": float(np.sqrt(np.mean(e_mds[[i, j]] ** 2))),
            "wsmacof_pair_m": float(np.sqrt(np.mean(e_w[[i, j]] ** 2))),
            "mds_share_off_pair": float((e_mds[others] ** 2).sum() / (e_mds**2).sum()),
        })
    return pd.DataFrame(rows)


def iag_variant_study(
    cfg: NetworkConfig, n_plans: int, seed: int = 0, *,
    variants: tuple[str, ...] = ("mean", "combinations", "sequential"),
    targets: tuple[str, ...] = ("reference", "latest"), progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IAG's alignment variants on ``n_plans`` simulated networks (plan ``p``: stream
    ``(seed, p)``, as in :func:`sweep`). Returns per (plan, variant, target) the RMSE and the
    longest chain (``max_hops``), and per aligned iteration its hops from the first frame and
    its error there (``iteration_error_m``: RMS distance of its aligned positions to the true
    ones carried into the first iteration's frame by a rigid fit on that iteration's sensors).
    ``"mean"`` has no chain, so it is run once (target ``"reference"``)."""
    from ...progress import tqdm
    from .core import align
    from .iag import iag_resolve

    if not isinstance(n_plans, (int, np.integer)) or n_plans < 1:
        raise ValueError(f"n_plans={n_plans!r} must be an integer >= 1")
    rows, its = [], []
    combos = [(v, t) for v in variants for t in (("reference",) if v == "mean" else targets)]
    for p in tqdm(range(n_plans), desc="IAG variants", unit="plan", disable=not progress,
                  leave=False):
        _, X, ranges = simulate_network(cfg, np.random.default_rng([seed, p]))
        for v, t in combos:
            res = iag_resolve(ranges.D, variant=v, chain_target=t, seed=seed,
                              max_kept_iterations=None)
            rows.append({"plan": p, "variant": v, "target": t,
                         "rmse_m": position_errors(res.X, X).rmse,
                         "max_hops": max((it.hops for it in res.iterations), default=0)})
            first = next((it for it in res.iterations if it.hops == 0), None)
            if first is None:
                continue
            _, R, tr = align(X[first.points], first.aligned)
            Xf = X @ R + tr
            for it in res.iterations:
                if it.aligned is not None:
                    e = float(np.sqrt(np.mean(np.sum((it.aligned - Xf[it.points]) ** 2, 1))))
                    its.append({"plan": p, "variant": v, "target": t, "hops": it.hops,
                                "iteration_error_m": e})
    return pd.DataFrame(rows), pd.DataFrame(its)


def hop_bins(iterations: pd.DataFrame) -> pd.DataFrame:
    """Mean iteration error by hops from the first frame, in bins 0, 1, 2–3, 4–7, … (powers of 2)."""
    h = iterations.hops.to_numpy()
    lo = np.where(h <= 0, 0, 2 ** np.floor(np.log2(np.maximum(h, 1))).astype(int))
    g = iterations.assign(hops_from=lo).groupby(["variant", "target", "hops_from"])
    out = g.iteration_error_m.agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "iteration_error_m", "size": "iterations"})


def real_errors(
    D: np.ndarray, X_true: np.ndarray, is_ap: np.ndarray, *, seed: int = 0,
    wr_kw: dict[str, Any] | None = None, iag_kw: dict[str, Any] | None = None,
    methods: tuple[str, ...] = METHODS,
) -> tuple[pd.DataFrame, str, int]:
    """Per-node errors of every method on one real network (APs of known position): a wide
    table (one row per non-AP node, one column per method, NaN: the method failed or left it
    unplaced), the failures' reasons, and the Wall Remover's contractions. TRI trilaterates
    from the APs; the others place the whole network, aligned onto the truth."""
    from .wall_remover import wall_remover

    is_ap = np.asarray(is_ap, dtype=bool)
    wr = wall_remover(symmetrise(D, how="min"), **dict(wr_kw or {}))
    anchors = (np.flatnonzero(is_ap), X_true[is_ap])
    cols, notes = {}, []
    for m in methods:
        try:
            X = solve(m, D, anchors=anchors, seed=seed, wr_kw=wr_kw, iag_kw=iag_kw,
                      corrected=wr.D)
            cols[m] = position_errors(X, X_true).errors[~is_ap]
        except (ValueError, np.linalg.LinAlgError) as exc:
            cols[m] = np.full(int((~is_ap).sum()), np.nan)
            notes.append(f"{m}: {str(exc)[:80]}")
    return pd.DataFrame(cols), "; ".join(notes), len(wr.contractions)


# --------------------------------------------------------------------------------------------
# The chapter's worked examples and studies (what its figures and tables are drawn from)


def fit_models(feng: pd.DataFrame, yu: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The error model fitted to every real RTT set of the chapter: rtt-feng's three rooms
    together (``"rtt-feng (3 rooms)"``, the simulator's model), each room alone and each rtt-yu
    scene (:func:`ipsbook.radio.fit_error_model`), in that order."""
    from ...radio import fit_error_model

    return {"rtt-feng (3 rooms)": fit_error_model(feng),
            **{f"rtt-feng {s}": fit_error_model(g) for s, g in feng.groupby("scene")},
            **{f"rtt-yu {s}": fit_error_model(g) for s, g in yu.items()}}


@dataclass(frozen=True)
class Fig1Example:
    """Paper B's Fig. 1 drawn from one layout: ``asymmetry`` ``d_ij − d_ji`` (NaN: not
    measured) of FTM ranges with a wall near AP 0, and the per-AP position errors of classical
    MDS and weighted SMACOF on the exact matrix with only ``pair``'s range stretched."""

    X: np.ndarray
    asymmetry: np.ndarray
    pair: tuple[int, int]
    factor: float
    mds_errors: np.ndarray
    wsmacof_errors: np.ndarray


def fig1_example(seed: int = 0, *, pair: tuple[int, int] = (1, 5),
                 factor: float = 1.4) -> Fig1Example:
    """Fig. 1's layout: 8 APs uniform in [5, 25]² m, AP 0 at (6, 15) beside a wall x = 8 m
    (FTM model: exact LoS, ×1.3 and +1 m per wall, asymmetric within 3 m of the near end;
    stream ``(seed, 2)``); then only ``pair``'s exact range ×``factor``."""
    from ...radio.ftm import FloorPlan

    rng = np.random.default_rng([seed, 2])
    X = rng.uniform(5, 25, (8, 2))
    X[0] = [6.0, 15.0]
    plan = FloorPlan(30.0, 30.0, np.array([[[8.0, 5.0], [8.0, 25.0]]]))
    asym = simulate_ranges(plan, X, FTMModel(sigma_los=0.0, k_per_wall=0.3, wall_bias=1.0,
                                             asymmetric=True, near_end=3.0, max_range=100.0),
                           rng)
    i, j = pair
    D_one = edm(X)
    D_one[i, j] = D_one[j, i] = factor * D_one[i, j]
    return Fig1Example(X=X, asymmetry=asym.D - asym.D.T, pair=(i, j), factor=factor,
                       mds_errors=position_errors(classical_mds(D_one).X, X).errors,
                       wsmacof_errors=position_errors(smacof(D_one, 2, seed=seed).X, X).errors)


def eigen_diagnostics(
    cfg: NetworkConfig, sigmas: tuple[float, ...], seed: int = 0,
) -> tuple[pd.DataFrame, dict[float, np.ndarray]]:
    """Sect. 3's diagnostics of classical MDS: one network of ``cfg`` (stream ``(seed, 3)``)
    ranged at each LoS = NLoS noise σ in ``sigmas`` (no missing pairs, no range or wall limit;
    stream ``(seed, 4)`` each), the min-symmetrised matrix centred. Returns per σ the negative
    eigenvalues (count and mass) and the rank at 0.2 of the largest, and the spectra
    (eigenvalues / largest) by σ."""
    plan, X, _ = simulate_network(cfg, np.random.default_rng([seed, 3]))
    rows, spectra = [], {}
    for s in sigmas:
        r = simulate_ranges(plan, X, cfg.model.replace(sigma_los=s, sigma_nlos=s, p_missing=0.0,
                                                       max_range=1e3, max_walls=100),
                            np.random.default_rng([seed, 4]))
        m = classical_mds(symmetrise(r.D, "min"), 2)
        spectra[s] = m.eigenvalues / m.eigenvalues[0]
        rows.append({"σ_LoS [m]": s, "negative eigenvalues": m.n_negative,
                     "negative mass": m.negative_mass,
                     "rank (rel. 0.2)": int((spectra[s] > 0.2).sum())})
    return pd.DataFrame(rows), spectra


def triangle_example(tolerance: float, *, stretch: float = 1.3) -> dict:
    """Figs. 3/4's quadruple: a (0, 0), b (20, 0), c (9, 16) and l (9, 6) inside, exact ranges
    but l–c ×``stretch``; the :func:`~.wall_remover.triangle_test` of (a, b, c, l)."""
    from .wall_remover import triangle_test

    X = np.array([[0.0, 0.0], [20.0, 0.0], [9.0, 16.0], [9.0, 6.0]])
    D = edm(X)
    D[3, 2] = D[2, 3] = stretch * D[3, 2]
    return triangle_test(D, 0, 1, 2, 3, tolerance=tolerance)


@dataclass(frozen=True)
class WallRemoverExample:
    """One network the Wall Remover ran on: its floor plan, true positions, the result, a title
    and the planted pair (None: none planted or shown)."""

    plan: Any
    X: np.ndarray
    result: Any
    title: str
    planted: tuple[int, int] | None = None


def wall_remover_examples(
    base: NetworkConfig, n_plans: int, seed: int, sigma: float, *,
    wr_kw: dict[str, Any], wr_tolerance_sigma: float, planted_stretch: float,
) -> tuple[WallRemoverExample, WallRemoverExample, np.ndarray, np.ndarray]:
    """The Wall Remover at work, for Fig. 4: on one network of ``base`` (stream ``(seed, 5)``,
    ``wr_kw`` as given), and on the first of ``n_plans`` premise networks (``base`` with no
    walls, one interior range ×``planted_stretch``, LoS noise ``sigma``; plan ``p`` is stream
    ``(seed, p)``, as in :func:`sweep`; ε = ``wr_tolerance_sigma``·σ) in which it contracted
    anything (the last one when none). Returns both examples and the dilation factors ``k`` of
    the premise network before and after."""
    from .wall_remover import wall_remover

    plan, X, r = simulate_network(base, np.random.default_rng([seed, 5]))
    wr = wall_remover(symmetrise(r.D, "min"), **wr_kw)
    prem = replace(base, n_walls=0, planted_stretch=planted_stretch,
                   model=base.model.replace(sigma_los=sigma))
    kw = {**wr_kw, "tolerance": wr_tolerance_sigma * sigma}
    for p in range(n_plans):
        plan_p, X_p, r_p = simulate_network(prem, np.random.default_rng([seed, p]))
        Dp = symmetrise(r_p.D, "min")
        wr_p = wall_remover(Dp, **kw)
        if wr_p.contractions:
            break
    st = stretched_pairs(r_p, prem.model)
    planted = tuple(np.argwhere(np.triu(st, 1))[0]) if st.any() else None
    return (WallRemoverExample(plan, X, wr, f"{base.n_walls} walls"),
            WallRemoverExample(plan_p, X_p, wr_p, f"premise, plan {p}, σ {sigma:g} m", planted),
            dilation_factors(Dp, X_p), dilation_factors(wr_p.D, X_p))


def iag_example(iag_kw: dict[str, Any], seed: int = 0):
    """Figs. 5/6's network: 6 APs uniform in a 20 m square (stream ``(seed, 6)``), exact ranges
    plus N(0, 0.5 m) noise, symmetric; returns the true positions and the
    :func:`~.iag.iag_resolve` result (``iag_kw`` as for it)."""
    from .iag import iag_resolve

    rng = np.random.default_rng([seed, 6])
    X = rng.uniform(0, 20, (6, 2))
    D = edm(X) + np.triu(rng.normal(0, 0.5, (6, 6)), 1)
    D = np.triu(D, 1) + np.triu(D, 1).T
    return X, iag_resolve(D, **iag_kw)


def chapter_sweeps(
    base: NetworkConfig, values: dict[str, tuple[Any, ...]], n_plans: int, seed: int = 0, *,
    wr_kw: dict[str, Any], iag_kw: dict[str, Any], wr_tolerance_sigma: float,
    planted_stretch: float, strong_k_per_wall: float = 0.2, strong_wall_bias: float = 0.5,
) -> pd.DataFrame:
    """Every sweep of the chapter, concatenated (column ``sweep`` names each): the
    :data:`SWEEPS` around ``base`` over ``values[name]``; ``n_walls_strong``, the wall sweep
    again with each wall dilating ×(1 + ``strong_k_per_wall``) and adding ``strong_wall_bias``
    metres (the fitted NLoS excess is small, while paper B's premise is a wall that dilates a
    range well beyond the noise); and ``premise``, the Wall Remover's premise (Sect. 5.1,
    Figs. 1/3: no walls, one interior range ×``planted_stretch``) over ``values["sigma_los"]``.
    Every sweep uses the same plans' streams (:func:`sweep`)."""
    kw = {"wr_kw": wr_kw, "iag_kw": iag_kw, "wr_tolerance_sigma": wr_tolerance_sigma}
    sweeps = [sweep(name, values[name], base, n_plans, seed, **kw) for name in SWEEPS]
    strong = replace(base, model=base.model.replace(k_per_wall=strong_k_per_wall,
                                                    wall_bias=strong_wall_bias))
    sweeps.append(sweep("n_walls", values["n_walls"], strong, n_plans, seed, **kw)
                  .assign(sweep="n_walls_strong"))
    premise = replace(base, n_walls=0, planted_stretch=planted_stretch)
    sweeps.append(sweep("sigma_los", values["sigma_los"], premise, n_plans, seed, **kw)
                  .assign(sweep="premise"))
    return pd.concat(sweeps, ignore_index=True)


def real_study(
    nets: dict[str, Any], *, seed: int = 0, wr_kw: dict[str, Any] | None = None,
    iag_kw: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, int]]:
    """Every method on every real network (:func:`real_errors`): a table of the phone RMSE per
    (scene, method) with the network's size and the method's failure note, the per-phone
    errors by scene, and the Wall Remover's contractions by scene."""
    rows, errors, contractions = [], {}, {}
    for scene, net in nets.items():
        errs, why, contractions[scene] = real_errors(net.D, net.X_true, net.is_ap, seed=seed,
                                                     wr_kw=wr_kw, iag_kw=iag_kw)
        errors[scene] = errs
        for m in METHODS:
            e = errs[m].to_numpy()
            rmse = float(np.sqrt(np.nanmean(e**2))) if np.isfinite(e).any() else np.nan
            rows.append({"scene": scene, "nodes": len(net.X_true),
                         "APs": int(net.is_ap.sum()), "method": m, "phone RMSE [m]": rmse,
                         "note": "; ".join(x for x in why.split("; ")
                                           if x.startswith(m + ":"))})
    return pd.DataFrame(rows), errors, contractions

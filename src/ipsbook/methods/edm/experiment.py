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
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ...radio.ftm import FTMModel, random_aps, random_floor_plan, simulate_ranges
from .core import complete_shortest_path, dilation_factors, position_errors, symmetrise
from .mds import classical_mds
from .smacof import smacof, smacof_sklearn
from .trilateration import trilaterate_network

METHODS = ("MDS", "WR+MDS", "IAG", "WR+IAG", "SMACOF", "wSMACOF", "TRI")
SWEEPS = ("sigma_los", "n_walls", "n_aps", "p_missing")


@dataclass(frozen=True)
class NetworkConfig:
    """One simulated network: floor size, APs, interior walls and the FTM error model."""

    width_m: float = 50.0
    height_m: float = 50.0
    n_aps: int = 20
    n_walls: int = 10
    n_anchors: int = 4
    model: FTMModel = field(default_factory=FTMModel)

    def with_value(self, name: str, value: Any) -> NetworkConfig:
        """A copy with one sweep variable changed (a network field or an FTMModel field)."""
        if name in ("width_m", "height_m", "n_aps", "n_walls", "n_anchors"):
            return replace(self, **{name: value})
        if name in FTMModel.__dataclass_fields__:
            return replace(self, model=replace(self.model, **{name: value}))
        allowed = ", ".join(("n_aps", "n_walls", "n_anchors", *FTMModel.__dataclass_fields__))
        raise ValueError(f"sweep variable {name!r} is not known; allowed: {allowed}")


def simulate_network(cfg: NetworkConfig, rng: np.random.Generator):
    """Draw a floor plan, AP positions and one FTM campaign: ``(plan, X_true, FTMRanges)``."""
    plan = random_floor_plan(rng, cfg.width_m, cfg.height_m, n_walls=cfg.n_walls)
    X = random_aps(rng, plan, cfg.n_aps)
    return plan, X, simulate_ranges(plan, X, cfg.model, rng)


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
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Score every method on one measured matrix: rows of (method, rmse, mean, unplaced, error).

    Also returns the dilation-factor statistics before and after the Wall Remover. A method
    that cannot run (e.g. a disconnected graph that no completion can fill) gets ``rmse`` NaN
    and its reason in ``error``: failures are results too. ``wr_kw`` as for
    :func:`~.wall_remover.wall_remover`.
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
                                   seed=seed, wr_kw=kw, iag_kw=iag_kw)
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

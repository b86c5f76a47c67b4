"""Figures of paper B's chapter: the error model against the real ranges, Fig. 1 (asymmetry and
what centring does with one stretched range), the Sect. 3 spectra, Figs. 3/4 (the triangle test
and the Wall Remover at work), Figs. 5/6 (IAG iterations and clusters), IAG's alignment drift
and the sweeps' position errors. Each function draws what :mod:`.experiment` computed and
returns the figure; the chapter saves and shows it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ... import plotting
from ...metrics import ecdf
from .core import position_errors
from .experiment import METHODS, Fig1Example, WallRemoverExample

__all__ = [
    "eigen_spectrum",
    "fig1_asymmetry",
    "fit_ecdf",
    "iag_clusters",
    "iag_drift",
    "sweep_labels",
    "sweeps_rmse",
    "triangle_test",
    "wall_remover",
]


def fit_ecdf(ranges: pd.DataFrame, model: Any, seed: int = 0, *, n_sim: int = 4000) -> Any:
    """The ECDF of real range errors (measured − true, ``ranges`` as rtt-feng's loader gives
    them: ``measured_m``, ``true_m``, ``los``) per line-of-sight class, beside ``n_sim`` ranges
    simulated by ``model`` (an FTMModel) at true distances drawn from the same class's (0 walls
    for LoS, 1 for NLoS; stream ``(seed, 1)``)."""
    rng = np.random.default_rng([seed, 1])
    fig, ax = plotting.subplots(figsize=(7, 4.2))
    errs = ranges.assign(err=ranges.measured_m - ranges.true_m).dropna(subset=["err"])
    for k, (cls, los) in enumerate((("LoS", True), ("NLoS", False))):
        e = errs[errs.los == los]
        x, f = ecdf(e.err.to_numpy())
        ax.plot(x, f, color=plotting.PALETTE[k], label=f"real {cls} (rtt-feng, n={len(e)})")
        d = rng.choice(e.true_m.to_numpy(), n_sim)
        walls = 0 if los else 1
        sim = d * (model.k_los + model.k_per_wall * walls) + model.bias_los + walls * model.wall_bias
        sigma = model.sigma_los if los else model.sigma_nlos_
        sim = np.maximum(sim + sigma * rng.standard_normal(d.size), 0.05)
        x, f = ecdf(sim - d)
        ax.plot(x, f, color=plotting.PALETTE[k], ls="--", label=f"fitted model, {walls} wall(s)")
    ax.set_xlim(-5, 8)
    plotting.labelled(ax, "range error (measured − true) [m]", "ECDF [–]",
                      "Real phone↔AP FTM errors vs the fitted simulator")
    ax.legend()
    return fig


def fig1_asymmetry(ex: Fig1Example) -> Any:
    """Fig. 1: left, ``d_ij − d_ji`` of the asymmetric ranges; right, the per-AP error of
    classical MDS and weighted SMACOF with one range stretched (its two ends shaded)."""
    n = len(ex.X)
    i, j = ex.pair
    fig, axes = plotting.subplots(1, 2, figsize=(10, 4.2))
    im = axes[0].imshow(np.nan_to_num(ex.asymmetry), cmap="RdBu_r", vmin=-4, vmax=4)
    fig.colorbar(im, ax=axes[0], label="d_ij − d_ji [m]")
    axes[0].set_xlabel("AP j [index]")
    axes[0].set_ylabel("AP i [index]")
    axes[0].set_title("asymmetric FTM ranges, wall near AP 0")
    axes[1].bar(np.arange(n) - 0.2, ex.mds_errors, 0.4, color=plotting.PALETTE[0],
                label="classical MDS")
    axes[1].bar(np.arange(n) + 0.2, ex.wsmacof_errors, 0.4, color=plotting.PALETTE[1],
                label="weighted SMACOF")
    for k in (i, j):
        axes[1].axvspan(k - 0.45, k + 0.45, color=plotting.PALETTE[3], alpha=0.12, lw=0)
    plotting.labelled(axes[1], "AP [index]", "position error [m]",
                      f"only d_{i}{j} stretched ×{ex.factor:g} (shaded: its ends)")
    axes[1].legend(fontsize=8)
    return fig


def eigen_spectrum(spectra: Mapping[float, np.ndarray], title: str) -> Any:
    """Sect. 3: the eigenvalues of classical MDS's centred matrix, relative to the largest, by
    rank, one line per noise σ (``spectra`` from :func:`.experiment.eigen_diagnostics`)."""
    fig, ax = plotting.subplots(figsize=(7, 4))
    for s, ev in spectra.items():
        ax.plot(np.arange(1, len(ev) + 1), ev, marker="o", ms=3, label=f"σ = {s:g} m")
    ax.axhline(0, color="k", lw=0.8)
    plotting.labelled(ax, "eigenvalue rank [–]", "eigenvalue / largest [–]", title)
    ax.legend()
    return fig


def triangle_test(tt: dict, title: str = "triangle test (l–c stretched ×1.3)") -> Any:
    """Figs. 3/4: the triangle a, b, c and the placements of l from each pair of its ranges
    (``tt`` from :func:`.wall_remover.triangle_test`)."""
    fig, ax = plotting.subplots(figsize=(6.5, 5))
    P = tt["points"]
    tri = np.array([P["a"], P["b"], P["c"], P["a"]])
    ax.plot(*tri.T, "k-", lw=1)
    for name, p in P.items():
        ax.annotate(name, p, textcoords="offset points", xytext=(4, 4))
    for k, (pair, p) in enumerate(tt["placements"].items()):
        ax.plot(*p, "o", color=plotting.PALETTE[k], ms=8,
                label=f"l placed from its ranges to {pair}")
    ax.set_aspect("equal")
    plotting.labelled(ax, "x [m]", "y [m]", title)
    ax.legend(fontsize=8)
    return fig


def wall_remover(examples: tuple[WallRemoverExample, ...], k_before: np.ndarray,
                 k_after: np.ndarray) -> Any:
    """The Wall Remover at work: one panel per example network (walls grey, the planted range
    dashed, contracted ranges red), then the histogram of the dilation factor ``k`` before and
    after (of the last example)."""
    fig, axes = plotting.subplots(1, len(examples) + 1, figsize=(15, 4.4))
    for ax, ex in zip(axes, examples):
        for wall in ex.plan.walls:
            ax.plot(*wall.T, color="0.4", lw=2)
        if ex.planted is not None:
            ax.plot(*ex.X[list(ex.planted)].T, color="k", lw=1.5, ls="--")
        contracted = sorted({(a, b) for a, b, _ in ex.result.contractions})
        for a, b in contracted:
            ax.plot(*ex.X[[a, b]].T, color=plotting.PALETTE[3], lw=1.5)
        ax.plot(*ex.X.T, "k^", ms=6)
        ax.set_aspect("equal")
        plotting.labelled(ax, "x [m]", "y [m]", f"{ex.title}: {len(ex.result.contractions)} "
                          f"contractions of {len(contracted)} ranges")
    ax = axes[-1]
    kbins = np.linspace(0.8, max(1.6, np.nanmax(k_before)), 40)
    ax.hist(k_before, kbins, alpha=0.6, label=f"before, var {np.var(k_before):.4f}")
    ax.hist(k_after, kbins, alpha=0.6, label=f"after, var {np.var(k_after):.4f}")
    plotting.labelled(ax, "dilation factor k [–]", "pairs [count]",
                      "Wall Remover, premise network")
    ax.legend()
    return fig


def iag_clusters(X_true: np.ndarray, res: Any, n_iterations: int = 4) -> Any:
    """Figs. 5/6: left, the first ``n_iterations`` IAG iterations each in its own frame (origin
    at 0, pivot on +x); right, every AP's cluster of computed positions and its centre, carried
    onto the true positions by the affine map of the rigid alignment of the centres."""
    al = position_errors(res.X, X_true)
    n = len(X_true)
    R = np.linalg.lstsq(np.c_[res.X, np.ones(n)], al.aligned, rcond=None)[0]
    fig, axes = plotting.subplots(1, 2, figsize=(10, 4.5))
    for t, it in enumerate(res.iterations[:n_iterations]):
        axes[0].plot(*it.local.T, "o", ms=5, color=plotting.PALETTE[t],
                     label=f"iteration {t + 1}: origin {it.origin}, pivot {it.pivot} on +x")
        for p_idx, xy in zip(it.points, it.local):
            axes[0].annotate(str(p_idx), xy, fontsize=7, color=plotting.PALETTE[t],
                             textcoords="offset points", xytext=(3, 3))
    axes[0].axhline(0, color="k", lw=0.6)
    axes[0].set_aspect("equal")
    plotting.labelled(axes[0], "u [m]", "v [m]", "iterations before alignment (Fig. 5)")
    axes[0].legend(fontsize=7)
    for k, cl in enumerate(res.clusters):
        if len(cl):
            pts = np.c_[cl, np.ones(len(cl))] @ R
            axes[1].plot(*pts.T, ".", color=plotting.PALETTE[k % 8], alpha=0.5)
    axes[1].plot(*al.aligned.T, "kx", ms=9, mew=2, label="cluster centres (estimates)")
    axes[1].plot(*X_true.T, "o", mfc="none", mec="k", ms=9, label="true positions")
    axes[1].set_aspect("equal")
    plotting.labelled(axes[1], "x [m]", "y [m]",
                      f"clusters (Fig. 6), RMSE {al.rmse:.2f} m, poor anchors {res.poor_anchors}")
    axes[1].legend(fontsize=7)
    return fig


def iag_drift(bins: pd.DataFrame, title: str) -> Any:
    """The error of an aligned IAG iteration against its hops from the first frame, per variant
    and chain target (solid: re-anchored onto the reference, dashed: onto the latest), log-log
    (``bins`` from :func:`.experiment.hop_bins`)."""
    fig, ax = plotting.subplots(figsize=(7, 4.2))
    for k, ((v, t), g) in enumerate(bins.groupby(["variant", "target"], sort=False)):
        ax.plot(g.hops_from + 1, g.iteration_error_m, marker="o", ms=4,
                color=plotting.PALETTE[k], ls="-" if t == "reference" else "--",
                label=f"{v}, target {t}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.labelled(ax, "hops from the first frame + 1 [count]",
                      "error of an aligned iteration [m]", title)
    ax.legend(fontsize=7)
    return fig


def sweep_labels(planted_stretch: float) -> dict[str, str]:
    """The x-axis label of each sweep of :func:`.experiment.chapter_sweeps`, in panel order."""
    return {"sigma_los": "LoS ranging noise σ [m]", "n_walls": "interior walls [count]",
            "n_walls_strong": "interior walls, strong (×1.2 each) [count]",
            "n_aps": "access points [count]", "p_missing": "extra missing share [–]",
            "premise": f"LoS noise σ, no walls, one range ×{planted_stretch:g} [m]"}


def sweeps_rmse(summary: pd.DataFrame, labels: Mapping[str, str]) -> Any:
    """One panel per sweep (``labels``: sweep → x-axis label, at most six): every method's mean
    AP position RMSE with its 95 % bootstrap band (``summary`` from
    :func:`.experiment.summarise`); the paper's methods solid, the others dashed; log scale."""
    fig, axes = plotting.subplots(2, 3, figsize=(14, 8))
    for ax, (name, lab) in zip(axes.ravel(), labels.items()):
        for k, m in enumerate(METHODS):
            c = summary[(summary.sweep == name) & (summary.method == m)]
            plotting.band(ax, c.value.astype(float), c.rmse_m, c.ci_low_m, c.ci_high_m,
                          color=plotting.PALETTE[k], label=m,
                          linestyle="-" if "IAG" in m or "WR" in m else "--")
        ax.set_yscale("log")
        plotting.labelled(ax, lab, "AP position RMSE [m]")
    axes[0, 0].legend(ncol=2, fontsize=7)
    return fig

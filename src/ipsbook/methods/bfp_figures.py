"""Figures of the binary-fingerprinting chapter (paper D): one panel per radio regime.

Each function takes the tables of :mod:`ipsbook.methods.bfp` (``rmse_table``, ``best_delta``)
or its realisations, and returns a matplotlib figure; the chapter saves and shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import plotting
from .bfp import Layout, Realisation

#: Titles of the two regimes (:meth:`ipsbook.methods.bfp.Scenario.ideal`).
REGIME_TITLES = {
    "default": "default regime (3GPP LoS state, shadowing)",
    "ideal": "ideal regime (LoS only, no shadowing)",
}


def curve(rmse: pd.DataFrame, **sel: object) -> pd.DataFrame:
    """Rows of an RMSE table matching every ``column=value`` (floats compared with isclose)."""
    mask = np.ones(len(rmse), dtype=bool)
    for col, val in sel.items():
        if val is None:
            continue
        if isinstance(val, float):
            mask &= np.isclose(rmse[col].to_numpy(dtype=float), val)
        else:
            mask &= (rmse[col] == val).to_numpy()
    return rmse[mask]


def _borders(ax, layout: Layout, color: str, lw: float = 1.0) -> None:
    for b in layout.borders:
        (ax.axvline if b.axis == 0 else ax.axhline)(b.pos, color=color, lw=lw, ls="--")


def binary_maps(layout: Layout, reals: Mapping[str, Realisation]):
    """Fig. 2: the designed cells, then the real binary map (eq. 4) of each regime's realisation,
    with the OCD centres as white crosses."""
    import matplotlib.pyplot as plt

    first = next(iter(reals.values()))
    grid = first.scenario.test_grid
    side = first.scenario.side_m
    weights = 1 << np.arange(layout.n_beacons)
    panels = [("ideal (designed) cells", layout.ideal_bits(grid.points) @ weights, None)]
    for regime, real in reals.items():
        panels.append((f"real binary map,\n{REGIME_TITLES.get(regime, regime)}",
                       real.real_bits @ weights, real))
    fig, axes = plotting.subplots(1, len(panels), figsize=(4.3 * len(panels), 4.4), sharey=True)
    cmap = plt.matplotlib.colors.ListedColormap(plotting.PALETTE[:2**layout.n_beacons])
    ext = (0, side, 0, side)
    for ax, (title, code, real) in zip(axes, panels):
        ax.imshow(code.reshape(grid.shape), origin="lower", extent=ext, cmap=cmap, vmin=-0.5,
                  vmax=2**layout.n_beacons - 0.5, interpolation="nearest")
        ax.plot(*layout.beacons.T, "k^", ms=9, clip_on=False, label="beacons")
        _borders(ax, layout, "k")
        if real is not None:
            ax.plot(*real.codebooks["OCD"][1].T, "wx", ms=10, mew=2, label="OCD centres")
        plotting.labelled(ax, "x [m]", "y [m]", title)
    fig.legend(*axes[-1].get_legend_handles_labels(), loc="lower center", ncol=2,
               bbox_to_anchor=(0.5, -0.1))
    return fig


def rmse_vs_delta(rmse: pd.DataFrame, layout: str, sigmas: Sequence[float],
                  regimes: Sequence[str], n_mc: int, side_m: float):
    """Figs. 3a and 4: RMSE vs Δ, FCD solid and OCD dashed, one colour per σ_W; FP at the same
    K_T positions dotted, the extra baseline FP-grid dash-dotted (thin). One panel per regime."""
    fig, axes = plotting.subplots(1, len(regimes), figsize=(6.5 * len(regimes), 4.6),
                                  sharey=True, squeeze=False)
    for ax, regime in zip(axes[0], regimes):
        for k, s in enumerate(sigmas):
            color = plotting.PALETTE[k % len(plotting.PALETTE)]
            for design, ls in (("FCD", "-"), ("OCD", "--")):
                c = curve(rmse, regime=regime, layout=layout, method="BFP", design=design,
                          sigma_w_db=float(s))
                plotting.band(ax, c.delta_db, c.rmse_m, c.ci_low_m, c.ci_high_m, color=color,
                              linestyle=ls, label=f"{design}, σ_W = {s:g} dB")
            for method, ls, lw in (("FP", ":", 1.2), ("FP-grid", "-.", 0.7)):
                v = curve(rmse, regime=regime, layout=layout, method=method, sigma_w_db=float(s))
                ax.axhline(v.rmse_m.iloc[0], color=color, ls=ls, lw=lw)
        plotting.labelled(ax, "uncertainty region Δ [dB]", "RMSE [m]",
                          f"{layout}, {REGIME_TITLES.get(regime, regime)}")
    axes[0][0].plot([], [], "k:", label="FP, same K_T positions")
    axes[0][0].plot([], [], "k-.", lw=0.7, label="FP-grid (extra baseline)")
    axes[0][0].legend(ncol=2, fontsize=7)
    fig.suptitle(f"{layout} layout, side {side_m:g} m ({n_mc} realisations)")
    return fig


def error_maps(maps: Mapping[tuple[str, float], np.ndarray], reals: Mapping[str, Realisation],
               sigma_w: float):
    """Fig. 3b: mean error per test point, one row per regime, one column per Δ; white dashed:
    designed borders; thin black: the real borders of the binary map."""
    regimes = list(dict.fromkeys(r for r, _ in maps))
    deltas = list(dict.fromkeys(d for _, d in maps))
    vmax = max(float(m.max()) for m in maps.values())
    fig, axes = plotting.subplots(len(regimes), len(deltas), figsize=(4.6 * len(deltas),
                                  4.0 * len(regimes)), sharex=True, sharey=True, squeeze=False)
    im = None
    for i, regime in enumerate(regimes):
        real = reals[regime]
        grid, side = real.scenario.test_grid, real.scenario.side_m
        code = (real.real_bits @ (1 << np.arange(real.layout.n_beacons))).reshape(grid.shape)
        for j, d in enumerate(deltas):
            ax = axes[i][j]
            im = ax.imshow(maps[(regime, d)].reshape(grid.shape), origin="lower",
                           extent=(0, side, 0, side), cmap=plotting.SEQUENTIAL, vmin=0, vmax=vmax)
            _borders(ax, real.layout, "w", 0.8)
            ax.contour(grid.xs, grid.ys, code, levels=np.arange(code.max()) + 0.5, colors="k",
                       linewidths=0.5)
            plotting.labelled(ax, "x [m]", "y [m]",
                              f"{regime}: OCD, Δ = {d:g} dB, σ_W = {sigma_w:g} dB")
    fig.colorbar(im, ax=axes, label="mean error [m]")
    return fig


def rmse_vs_sigma(rmse: pd.DataFrame, best: pd.DataFrame, delta: float, regimes: Sequence[str],
                  n_mc: int, side_m: float):
    """Fig. 5a (4×4): FP (same K_T), FP-grid, binary BFP, ternary BFP with Δ = ``delta`` and with
    the best Δ at each σ_W; FCD solid, OCD dashed. One panel per regime."""
    fig, axes = plotting.subplots(1, len(regimes), figsize=(6.5 * len(regimes), 4.6),
                                  sharey=True, squeeze=False)
    for ax, regime in zip(axes[0], regimes):
        for method, color, label in (("FP", "k", "FP (NN, full RSSI, same K_T)"),
                                     ("FP-grid", "0.55", "FP-grid (NN, 0.5 m grid, extra)")):
            c = curve(rmse, regime=regime, layout="4x4", method=method)
            plotting.band(ax, c.sigma_w_db, c.rmse_m, c.ci_low_m, c.ci_high_m, color=color,
                          label=label)
        for design, ls in (("FCD", "-"), ("OCD", "--")):
            for k, (d, name) in enumerate(((0.0, "BFP Δ = 0"), (delta, f"BFP Δ = {delta:g} dB"))):
                c = curve(rmse, regime=regime, layout="4x4", method="BFP", design=design,
                          delta_db=float(d))
                plotting.band(ax, c.sigma_w_db, c.rmse_m, c.ci_low_m, c.ci_high_m, linestyle=ls,
                              color=plotting.PALETTE[k], label=f"{name}, {design}")
            b = curve(best, regime=regime, layout="4x4", design=design)
            ax.plot(b.sigma_w_db, b.rmse_m, ls=ls, marker="s", ms=3, color=plotting.PALETTE[2],
                    label=f"BFP best Δ, {design}")
        plotting.labelled(ax, "measurement error σ_W [dB]",
                          "RMSE [m]", REGIME_TITLES.get(regime, regime))
    axes[0][0].legend(ncol=2, fontsize=7)
    fig.suptitle(f"4×4 layout, side {side_m:g} m ({n_mc} realisations)")
    return fig


def rmse_vs_side(rmse_side: pd.DataFrame, delta: float, regimes: Sequence[str], sigma_w: float,
                 n_mc: int):
    """Fig. 5b (4×4): RMSE vs the side of the area, one panel per regime."""
    fig, axes = plotting.subplots(1, len(regimes), figsize=(6.5 * len(regimes), 4.6),
                                  sharey=True, squeeze=False)
    for ax, regime in zip(axes[0], regimes):
        for method, color in (("FP", "k"), ("FP-grid", "0.55")):
            c = curve(rmse_side, regime=regime, method=method)
            plotting.band(ax, c.side_m, c.rmse_m, c.ci_low_m, c.ci_high_m, color=color,
                          label=method if method == "FP" else "FP-grid (extra)")
        for design, ls in (("FCD", "-"), ("OCD", "--")):
            for k, d in enumerate((0.0, delta)):
                c = curve(rmse_side, regime=regime, method="BFP", design=design, delta_db=float(d))
                plotting.band(ax, c.side_m, c.rmse_m, c.ci_low_m, c.ci_high_m, linestyle=ls,
                              color=plotting.PALETTE[k], label=f"BFP Δ = {d:g} dB, {design}")
        plotting.labelled(ax, "side of the square area [m]", "RMSE [m]",
                          REGIME_TITLES.get(regime, regime))
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"4×4 layout, σ_W = {sigma_w:g} dB ({n_mc} realisations)")
    return fig

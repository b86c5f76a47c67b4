"""Figures of the MTLoc chapter: the floors with their traces (the paper's Fig. 3), one trace's
modalities over time, and error CDFs (Figs. 4 and 6)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import matplotlib.image as mpimg
import numpy as np

from ... import metrics, plotting
from ...data import ilc

__all__ = ["cdf", "coverage_errors", "fig4_cdfs", "fig5_wiping", "fig6_cdfs", "floor_traces",
           "trace_modalities"]


def _floor(ax: Any, site: str) -> None:
    info = ilc.floor_info(site)
    img = mpimg.imread(ilc.floor_image_path(site))
    ax.imshow(img, extent=(0, info["width"], 0, info["height"]), origin="upper", alpha=0.45,
              zorder=0)
    ax.set_xlim(0, info["width"])
    ax.set_ylim(0, info["height"])
    ax.set_aspect("equal")
    ax.grid(False)


def floor_traces(
    site: str, traces: Sequence[Any], split: dict[str, Sequence[str]] | None = None, ax: Any = None
) -> Any:
    """Every trace's waypoint polyline on the floor plan, coloured by split when given."""
    if ax is None:
        _, ax = plotting.subplots(figsize=(6.4, 5.2))
    _floor(ax, site)
    colours = {"train": plotting.PALETTE[0], "validation": plotting.PALETTE[1],
               "test": plotting.PALETTE[3]}
    where = {tid: k for k, ids in (split or {}).items() for tid in ids}
    seen: set[str] = set()
    for tr in traces:
        k = where.get(tr.trace_id, "trace")
        wp = tr.waypoints
        ax.plot(wp.x, wp.y, "-o", ms=2, lw=1.2, color=colours.get(k, plotting.PALETTE[0]),
                label=None if k in seen else k)
        seen.add(k)
    if split:
        ax.legend(loc="upper right", fontsize=8)
    plotting.labelled(ax, "x [m]", "y [m]", f"{site}, floor F1: {len(traces)} traces")
    return ax


def trace_modalities(trace: Any, samples: Any, rss_floor_dbm: float = -110.0) -> Any:
    """One trace: trajectory (waypoints and the interpolated sample positions) on its floor, and
    the three inputs over time — |acc|, |gyro|, |B| windows' newest values and the number of
    access points heard in the Wi-Fi vector."""
    fig = plotting.subplots(figsize=(10, 5.6))[0]
    fig.clear()
    grid = fig.add_gridspec(3, 2, width_ratios=(1.1, 1.4))
    ax0 = fig.add_subplot(grid[:, 0])
    _floor(ax0, trace.site)
    wp = trace.waypoints
    ax0.plot(samples.pos[:, 0], samples.pos[:, 1], "-", lw=1, color=plotting.PALETTE[0],
             label="interpolated positions")
    ax0.plot(wp.x, wp.y, "o", ms=5, color=plotting.PALETTE[3], label="ground-truth waypoints")
    pad = 10.0
    ax0.set_xlim(wp.x.min() - pad, wp.x.max() + pad)
    ax0.set_ylim(wp.y.min() - pad, wp.y.max() + pad)
    ax0.legend(loc="best", fontsize=8)
    plotting.labelled(ax0, "x [m]", "y [m]", f"{trace.site} / {trace.trace_id[:8]}…")
    t = samples.t_s
    ax1 = fig.add_subplot(grid[0, 1])
    ax1.plot(t, samples.imu[:, -1, 0], lw=0.8, label="|acc|")
    plotting.labelled(ax1, "time since start [s]", "|acc| [m/s²]")
    ax1b = ax1.twinx()
    ax1b.plot(t, samples.imu[:, -1, 1], lw=0.8, color=plotting.PALETTE[1])
    ax1b.set_ylabel("|gyro| [rad/s]", color=plotting.PALETTE[1])
    ax1b.grid(False)
    ax2 = fig.add_subplot(grid[1, 1], sharex=ax1)
    ax2.plot(t, samples.mag[:, -1, 0], lw=0.8, color=plotting.PALETTE[2])
    plotting.labelled(ax2, "time since start [s]", "|B| [µT]")
    ax3 = fig.add_subplot(grid[2, 1], sharex=ax1)
    heard = np.sum(np.asarray(samples.wifi) > rss_floor_dbm, axis=1)
    ax3.step(t, heard, where="post", lw=0.8, color=plotting.PALETTE[4])
    plotting.labelled(ax3, "time since start [s]", "APs heard [count]")
    for ax in (ax1, ax2):  # one time axis at the bottom; keep every panel's y label
        ax.tick_params(labelbottom=False)
        ax.set_xlabel("")
    return fig


def cdf(ax: Any, errors: np.ndarray, *, label: str, linestyle: str = "-", color: Any = None) -> None:
    """Empirical CDF of positioning errors (m)."""
    x, y = metrics.ecdf(errors)
    ax.plot(x, y, linestyle=linestyle, color=color, label=label, lw=1.3)


def fig4_cdfs(errors: Any, directions: Sequence[str], rates: Sequence[float], profile: str) -> Any:
    """Fig. 4: error CDFs per fine-tuning rate (and from scratch), validation and test, one row
    per direction."""
    import matplotlib.pyplot as plt

    from .report import model_label

    fig, axes = plotting.subplots(len(directions), 2, figsize=(11, 4.2 * len(directions)),
                                  squeeze=False)
    cmap = plt.get_cmap("viridis")
    for row, d in zip(axes, directions, strict=True):
        for ax, split in zip(row, ("validation", "test"), strict=True):
            e = errors[(errors.direction == d) & (errors.split == split)]
            for r in sorted(rates, reverse=True):
                m = "transfer" if r == 0 else "finetune"
                cdf(ax, e[(e.model == m) & (e.rate == r)].error_m, label=model_label(m, r),
                    color="tab:red" if r == 0 else cmap(0.15 + r * 0.8),
                    linestyle="-." if r == 0 else "-")
            cdf(ax, e[e.model == "scratch"].error_m, label="from scratch", linestyle="--",
                color="black")
            plotting.labelled(ax, "positioning error [m]", "CDF [fraction]",
                              f"{d}, {split} ({profile})")
            ax.set_xlim(left=0)
    axes[0, 1].legend(fontsize=7, loc="lower right")
    return fig


def fig5_wiping(curve: Any, directions: Sequence[str], title: str) -> Any:
    """Fig. 5: mean error with a growing share of one modality wiped (mean over seeds, band:
    range over seeds)."""
    fig, axes = plotting.subplots(1, len(directions), figsize=(6 * len(directions), 4),
                                  squeeze=False)
    for ax, d in zip(axes[0], directions, strict=True):
        c = curve[curve.direction == d]
        # distinct styles: curves that coincide (a modality the model ignores) stay visible
        for mod, name, ls, mk in (("wifi", "Wi-Fi", "-", "o"), ("mag", "magnetometer", "--", "s"),
                                  ("imu", "IMU", ":", "^")):
            g = c[c.modality == mod].groupby("fraction").mean_error_m.agg(["mean", "min", "max"])
            plotting.band(ax, 100 * g.index.to_numpy(), g["mean"], g["min"], g["max"],
                          label=name, linestyle=ls, marker=mk)
        plotting.labelled(ax, "share of valid samples wiped [%]", "mean error [m]",
                          f"{d}: {title}")
    axes[0, 0].legend()
    return fig


def fig6_cdfs(wipe_errors: Any, directions: Sequence[str], wipe_at: float) -> Any:
    """Fig. 6: CDFs with ``wipe_at`` of each modality wiped: fine-tuned, transferred, raw."""
    fig, axes = plotting.subplots(len(directions), 3, figsize=(14, 4 * len(directions)),
                                  squeeze=False)
    styles = {"finetune": ("fine-tuned", "-"), "transfer": ("transferred", "--"),
              "scratch": ("raw (from scratch)", ":")}
    for row, d in zip(axes, directions, strict=True):
        for ax, (mod, name) in zip(row, (("imu", "IMU"), ("mag", "magnetometer"),
                                         ("wifi", "Wi-Fi")), strict=True):
            e = wipe_errors[(wipe_errors.direction == d) & (wipe_errors.modality == mod)]
            for k, (lab, ls) in styles.items():
                cdf(ax, e[e.model == k].error_m, label=lab, linestyle=ls)
            plotting.labelled(ax, "positioning error [m]", "CDF [fraction]",
                              f"{d}: {100 * wipe_at:g}% {name} wiped")
            ax.set_xlim(left=0)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    return fig


def coverage_errors(test: Any, directions: Sequence[str], models: dict[tuple[str, float], str],
                    bins: Sequence[float]) -> Any:
    """Mean test error against the distance to the nearest training position (binned), one
    line per method, one panel per direction."""
    import pandas as pd

    fig, axes = plotting.subplots(1, len(directions), figsize=(6 * len(directions), 4),
                                  squeeze=False)
    edges = np.asarray(bins, float)
    mids = [f"{a:g}–{b:g}" if np.isfinite(b) else f"≥{a:g}" for a, b in
            itertools.pairwise(edges)]
    for ax, d in zip(axes[0], directions, strict=True):
        t = test[test.direction == d]
        for (m, r), name in models.items():
            e = t[(t.model == m) & (t.rate == r)]
            if not len(e) or m == "coverage":
                continue
            b = pd.cut(e.dist_m, edges, labels=mids, right=False)
            y = e.groupby(b, observed=False).error_m.mean().reindex(mids)
            ax.plot(range(len(mids)), y.to_numpy(), "-o", ms=3, lw=1.2, label=name)
        ax.set_xticks(range(len(mids)), mids)
        plotting.labelled(ax, "distance to the nearest training position [m]",
                          "mean test error [m]", d)
    axes[0, 0].legend(fontsize=7)
    return fig

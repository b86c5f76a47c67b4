"""Figures of the MTLoc chapter: the floors with their traces (the paper's Fig. 3), one trace's
modalities over time, and error CDFs (Figs. 4 and 6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.image as mpimg
import numpy as np

from ... import metrics, plotting
from ...data import ilc

__all__ = ["cdf", "floor_traces", "trace_modalities"]


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

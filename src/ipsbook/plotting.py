"""One figure style for the book: colour-blind-safe palette, units on axes, stable SVG output."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL = "viridis"


def use_style() -> None:
    """Apply the book's style (call once at the top of a notebook)."""
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 10,
        "svg.hashsalt": "ipsbook",  # deterministic SVG ids
        "svg.fonttype": "none",
    })


def labelled(ax, xlabel: str, ylabel: str, title: str | None = None):
    """Set axis labels (give units in brackets, e.g. "RMSE [m]") and an optional title."""
    if "[" not in xlabel or "[" not in ylabel:
        raise ValueError(f"axis labels need units in brackets: {xlabel!r}, {ylabel!r}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def subplots(*args, **kwargs):
    """``plt.subplots`` with the book's style and constrained layout."""
    use_style()
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def band(ax, x, y, lo, hi, *, label: str | None = None, color=None, linestyle="-", marker="o"):
    """A line with a shaded confidence band (e.g. a bootstrap 95% CI)."""
    (line,) = ax.plot(x, y, linestyle=linestyle, marker=marker, markersize=3, label=label,
                      color=color)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.18, linewidth=0)
    return line

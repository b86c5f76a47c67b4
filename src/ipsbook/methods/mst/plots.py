"""Figures of paper C's chapter: Fig. 2 (error ECDFs, stand-alone dashed, enhanced solid), the
ablation's gains beside the paper's (Table 2), and Table 4's partitions (mean ± std)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ... import metrics, plotting
from .report import paper_dataset

__all__ = ["ablation_gains", "ecdf_figure", "partition_figure"]

_MODELS = ("DNN", "CNNLoc", "BayesCNN", "bAaT")


def _colour(model: str) -> str:
    return plotting.PALETTE[_MODELS.index(model)] if model in _MODELS else plotting.PALETTE[7]


def _targets(frame: pd.DataFrame) -> list[str]:
    order = ("UJI", "UJI-LIB", "UTS", "Tampere")
    return sorted(dict.fromkeys(frame["dataset"]),
                  key=lambda d: order.index(d) if d in order else 99)


def ecdf_figure(errors: pd.DataFrame, *, xmax: float | Mapping[str, float] = 40.0,
                knn: str | None = "k=3", caption: str = "") -> Any:
    """Fig. 2: per target, the ECDF of every model's test errors, stand-alone dashed and fully
    enhanced (``+++``; bAaT ``++``) solid, kNN (variant ``knn``) dotted black; the legend gives
    P(error < 10 m). ``errors``: Table 1's per-sample errors (seeds pooled). ``xmax``: the
    x-axis limit in metres, one for all panels or per target label (others: 40 m)."""
    t1 = errors[errors["table"] == "table1"]
    if t1.empty:
        raise ValueError("errors has no Table 1 rows: Fig. 2 draws Table 1's models")
    targets = _targets(t1)
    fig, axes = plotting.subplots(1, len(targets), figsize=(4.3 * len(targets), 4.2),
                                  sharey=True, squeeze=False)
    for ax, d in zip(axes[0], targets, strict=True):
        here = t1[t1["dataset"] == d]
        for m in [m for m in _MODELS if m in set(here["model"])]:
            for variant, style in (("stand-alone", "--"), ("+++", "-"), ("++", "-")):
                e = here[(here["model"] == m) & (here["variant"] == variant)]["error_m"]
                if e.empty:
                    continue
                x, y = metrics.ecdf(e.to_numpy())
                name = m if variant == "stand-alone" else f"{m}{variant}"
                ax.plot(x, y, style, color=_colour(m), lw=1.4,
                        label=f"{name}: {100 * np.mean(e < 10):.0f}%")
        if knn is not None:
            e = here[(here["model"] == "kNN") & (here["variant"] == knn)]["error_m"]
            if not e.empty:
                x, y = metrics.ecdf(e.to_numpy())
                ax.plot(x, y, ":", color="black", lw=1.6,
                        label=f"kNN ({knn}): {100 * np.mean(e < 10):.0f}%")
        ax.axvline(10.0, color="grey", lw=0.8)
        ax.set_xlim(0, xmax.get(d, 40.0) if isinstance(xmax, Mapping) else xmax)
        ax.set_ylim(0, 1)
        title = d if paper_dataset(d) == d else f"{d} (in UTS's place: not comparable)"
        plotting.labelled(ax, "positioning error [m]", "ECDF [fraction of test fingerprints]",
                          title)
        ax.legend(title="P(error < 10 m)", fontsize=7, title_fontsize=7, loc="lower right")
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    if caption:
        fig.suptitle(caption, fontsize=9)
    return fig


def ablation_gains(table2: pd.DataFrame, *, caption: str = "") -> Any:
    """Table 2 as bars: each ablation's MAE gain over stand-alone (%, positive = better), ours
    as bars, the paper's as black ticks, one panel per target; ``table2`` from
    :func:`.report.table2`."""
    t = table2[table2["variant"] != "stand-alone"]
    targets = _targets(t)
    variants = [v for v in ("+", "*", "++", "°", "+++") if v in set(t["variant"])]
    models = [m for m in _MODELS if m in set(t["model"])]
    fig, axes = plotting.subplots(1, len(targets), figsize=(4.3 * len(targets), 3.8),
                                  sharey=True, squeeze=False)
    width = 0.8 / max(1, len(models))
    for ax, d in zip(axes[0], targets, strict=True):
        here = t[t["dataset"] == d].set_index(["model", "variant"])
        for i, m in enumerate(models):
            xs = np.arange(len(variants)) + (i - (len(models) - 1) / 2) * width
            ours = [here["gain_pct"].get((m, v), np.nan) for v in variants]
            ref = [here["paper_gain_pct"].get((m, v), np.nan) for v in variants]
            ax.bar(xs, ours, width * 0.9, color=_colour(m), label=f"{m} (ours)")
            ax.scatter(xs, ref, marker="_", s=160, color="black", zorder=3,
                       label="paper" if i == 0 else None)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(np.arange(len(variants)), variants)
        title = d if paper_dataset(d) == d else f"{d} (ticks: paper's UTS, not comparable)"
        plotting.labelled(ax, "constraints [Table 2 symbol]", "MAE gain vs stand-alone [%]",
                          title)
    axes[0][0].legend(fontsize=7)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    if caption:
        fig.suptitle(caption, fontsize=9)
    return fig


def partition_figure(table4: pd.DataFrame, *, caption: str = "",
                     knn: Sequence[str] = ("k=3",)) -> Any:
    """Table 4: MAE mean ± std over the partitions for each share of the target's training set,
    stand-alone vs enhanced (ours: filled, paper: open markers), kNN as a grey cross."""
    targets = list(dict.fromkeys(zip(table4["dataset"], table4["fraction"], strict=True)))
    fig, axes = plotting.subplots(1, len(targets), figsize=(3.2 * len(targets), 3.6),
                                  squeeze=False)
    for ax, (d, f) in zip(axes[0], targets, strict=True):
        here = table4[(table4["dataset"] == d) & (table4["fraction"] == f)]
        labels = []
        for _, r in here.iterrows():
            if r["model"] == "kNN" and r["variant"] not in knn:
                continue
            x = len(labels)
            labels.append(r["method"])
            colour = _colour(r["model"])
            marker = "x" if r["model"] == "kNN" else ("s" if r["variant"] == "stand-alone" else "o")
            ax.errorbar(x, r["MAE_mean"], yerr=r["MAE_std"], fmt=marker, color=colour, capsize=3)
            if np.isfinite(r.get("paper_MAE_mean", np.nan)):
                ax.errorbar(x + 0.25, r["paper_MAE_mean"], yerr=r["paper_MAE_std"], fmt=marker,
                            mfc="white", color=colour, capsize=3)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        lo, hi = ax.get_ylim()
        if hi / max(lo, 1e-9) > 5:  # e.g. the paper's 160 m DNN on 1 % of UJI
            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            ax.tick_params(axis="y", which="minor", labelsize=7)
        n = int(here["n_train"].iloc[0])
        plotting.labelled(ax, "method [filled: ours, open: paper]", "MAE [m]",
                          f"{d}, {100 * f:g}% ({n} fingerprints)"
                          + ("" if paper_dataset(d) == d else "\n(open markers: paper's UTS)"))
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    if caption:
        fig.suptitle(caption, fontsize=9)
    return fig

"""Figures of paper C's chapter: Fig. 2 (error ECDFs, stand-alone dashed, enhanced solid), the
ablation's gains beside the paper's (Table 2), Table 4's partitions (mean ± std), and the
constraints' diagnostics during Expert Distilling (each term's value and gradient share per
epoch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ... import metrics, plotting
from .report import paper_dataset

__all__ = ["ablation_gains", "constraint_figure", "ecdf_figure", "partition_figure",
           "validation_figure"]

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


_TERMS = ("J_MAE", "J_Sim", "J_MI", "J_FI")
# tick labels without mathtext (renders several times faster on a log axis): 0.1, 1, and the
# minor ticks 2 and 5 of each decade
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
_TWO_FIVE = FuncFormatter(
    lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** np.floor(np.log10(v))) in (2, 5) else "")
_TERM_UNITS = "J_MAE: standardised position units; J_Sim, J_FI: dimensionless; J_MI: nats"


def constraint_figure(curves: pd.DataFrame, *, model: str = "DNN", caption: str = "") -> Any:
    """Do the constraints act? For one ``model``'s fully enhanced runs (``+++``; bAaT ``++``) with
    two sources, per target: left, each loss term's epoch mean (log scale) with J_MI's
    no-information value N·ln 4 as a dashed line in its colour; right, each weighted term's share
    of the summed gradient norms with respect to the student's parameters (log scale; measured on
    the epoch's first batch(es), :func:`.distill.distill`); one legend below the panels, which
    says where an exact 0 is drawn. Seeds: mean per epoch; Table 4's runs on part of the
    training set are left out.
    ``curves``: :attr:`.experiment.Results.curves`."""
    if curves.empty:
        raise ValueError("curves is empty: no distilling run was recorded")
    cv = curves[(curves["model"] == model)
                & (curves["variant"] == ("++" if model == "bAaT" else "+++"))
                & (curves["fraction"] == 1.0) & curves["sources"].str.contains(" & ")]
    if cv.empty:
        raise ValueError(f"curves has no fully enhanced two-source run of {model!r}; models: "
                         f"{sorted(curves['model'].unique())}")
    targets = _targets(cv)
    fig, axes = plotting.subplots(len(targets), 2, figsize=(9.5, 3.1 * len(targets)),
                                  squeeze=False)
    tiny = 1e-8  # a term at exactly 0 (e.g. J_FI of identical blocks) stays on the log axis
    for row, d in zip(axes, targets, strict=True):
        here = cv[cv["dataset"] == d]
        mean = here.groupby(["metric", "epoch"])["value"].mean()
        for i, t in enumerate(_TERMS):
            colour = plotting.PALETTE[i]
            if t in mean.index.get_level_values(0):
                v = mean.loc[t].dropna()
                row[0].plot(v.index, np.maximum(v.to_numpy(), tiny), "-o", ms=2.5, color=colour,
                            label=t)
            if f"share_{t}" in mean.index.get_level_values(0):
                v = mean.loc[f"share_{t}"].dropna()  # the diagnosed epochs only
                row[1].plot(v.index, np.maximum(v.to_numpy(), tiny), "-o", ms=2.5, color=colour,
                            label=t)
        none = float(here["J_MI_no_information"].iloc[0])
        row[0].axhline(none, ls="--", lw=1.0, color=plotting.PALETTE[2],
                       label=f"J_MI no information ({none:.3f} nats)")
        for ax in row:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(_PLAIN)
            ax.yaxis.set_minor_formatter(_TWO_FIVE)
        title = d if paper_dataset(d) == d else f"{d} (in UTS's place)"
        plotting.labelled(row[0], "epoch [passes over the target set]",
                          "term value [units in legend; log]",
                          f"{model}{'++' if model == 'bAaT' else '+++'} on {title}: loss terms")
        plotting.labelled(row[1], "epoch [passes over the target set]",
                          "share of gradient norm [fraction; log]",
                          "weighted terms' gradient shares (student)")
    # one legend for all panels, below them, where it covers no curve
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7,
               title=f"{_TERM_UNITS}; a value or share of exactly 0 is drawn at {tiny:g}",
               title_fontsize=7)
    if caption:
        fig.suptitle(caption, fontsize=9)
    return fig


def validation_figure(validation: pd.DataFrame, *, seed: int | None = None,
                      caption: str = "") -> Any:
    """Converged training, per target (columns): every model's validation error per epoch, the
    stand-alone model (top) and the fully enhanced one (bottom: ``+++``, bAaT ``++``, two
    sources), one seed (``seed``; None: the smallest). A dot marks the epoch whose weights were
    kept (the best), the curve ends where the plateau rule stopped it; a cross at the end marks
    a phase stopped by its cap while still improving. The y-axis (linear, from 0) stops at
    three times the lowest error of the panel (or above its curves' last values), so the first
    epochs' much larger errors run off the top. ``validation``:
    :attr:`.experiment.Results.validation` (converged training only)."""
    if validation.empty:
        raise ValueError("validation is empty: the runs were trained without a stop rule "
                         "(profile full trains to a plateau)")
    v = validation[validation["fraction"] == 1.0]
    seed = int(v["seed"].min()) if seed is None else seed
    v = v[v["seed"] == seed]
    if v.empty:
        raise ValueError(f"validation has no curve of seed {seed}; seeds: "
                         f"{sorted(validation['seed'].unique())}")
    rows = {"stand-alone": v["phase"] == "stand-alone",
            "fully enhanced": v["phase"].str.match(r"distill \+\+\+? <- .+ & ")
            & ((v["model"] == "bAaT") == v["phase"].str.startswith("distill ++ "))}
    targets = _targets(v)
    fig, axes = plotting.subplots(2, len(targets), figsize=(3.6 * len(targets), 6.2),
                                  squeeze=False)
    for r, (what, keep) in enumerate(rows.items()):
        for c, d in enumerate(targets):
            ax = axes[r][c]
            here = v[keep & (v["dataset"] == d)]
            for model in [m for m in _MODELS if m in set(here["model"])]:
                g = here[here["model"] == model].sort_values("epoch")
                colour = _colour(model)
                ax.plot(g["epoch"], g["val_mae_m"], "-", lw=1.2, color=colour, label=model)
                best = int(g["best_epoch"].iloc[0])
                at = g[g["epoch"] == best]
                ax.plot(at["epoch"], at["val_mae_m"], "o", ms=5, color=colour)
                if bool(g["still_improving"].iloc[0]):
                    ax.plot(g["epoch"].iloc[-1:], g["val_mae_m"].iloc[-1:], "x", ms=8, mew=2,
                            color=colour)
            title = d if paper_dataset(d) == d else f"{d} (in UTS's place)"
            plotting.labelled(ax, "epoch [passes over the training part]",
                              "validation MAE [m]", f"{title}: {what}")
            if here.empty:
                ax.text(0.5, 0.5, "no such run here\n(not a target of this profile)",
                        ha="center", va="center", transform=ax.transAxes, fontsize=8)
                ax.set_xticks([]), ax.set_yticks([])
                continue
            # the first epochs' errors are many times the rest: the axis shows the last part
            low = float(here.groupby("model")["val_mae_m"].min().min())
            top = float(here.groupby("model")["val_mae_m"].apply(lambda x: x.iloc[-1]).max())
            ax.set_ylim(0.0, min(float(here["val_mae_m"].max()) * 1.05, max(3 * low, 1.3 * top)))
            ax.legend(fontsize=7)
    fig.suptitle((caption + "\n" if caption else "") + f"seed {seed}; dot: the epoch kept, "
                 "cross: stopped by the cap while still improving", fontsize=9)
    return fig

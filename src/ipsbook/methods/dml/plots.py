"""Figures of paper A's chapter: Study 1's heatmap (every metric at its best representation,
per scenario, beside the optimal correlation 1) and Study 2's generalisation bars (the
meta-metric beside the best single metric per scenario)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import plotting

__all__ = ["study1_heatmap", "study1_heatmap_frame", "study2_generalisation"]


def study1_heatmap_frame(study: pd.DataFrame, ranked: pd.DataFrame, best_rep: pd.Series,
                         correlation: str) -> pd.DataFrame:
    """Metric × scenario ``correlation``, each metric at its best representation
    (``best_rep``), rows in ``ranked``'s order (:func:`.report.rank_metrics`), with a last row
    ``optimal`` = 1."""
    heat = (study.merge(best_rep.rename("best_rep"), left_on="metric", right_index=True)
            .query("representation == best_rep")
            .pivot(index="metric", columns="scenario", values=correlation)
            .loc[ranked.metric])
    heat.loc["optimal"] = 1.0
    return heat


def study1_heatmap(study: pd.DataFrame, ranked: pd.DataFrame, best_rep: pd.Series,
                   correlation: str) -> Any:
    """Study 1 as a heatmap: the correlation of fingerprint distance with physical distance
    per metric (at its best representation, best metric on top) and scenario, and the optimal
    row; values written in the cells when there are at most 14 scenarios."""
    import seaborn as sns

    heat = study1_heatmap_frame(study, ranked, best_rep, correlation)
    fig, ax = plotting.subplots(figsize=(max(8, 0.45 * heat.shape[1]), 6))
    sns.heatmap(heat, ax=ax, cmap=plotting.SEQUENTIAL, vmin=0, vmax=1,
                annot=heat.shape[1] <= 14, fmt=".2f",
                cbar_kws={"label": f"{correlation} correlation with physical distance [–]"})
    ax.grid(False)  # the style's grid would cut through the cells
    ax.set_xlabel("scenario (dataset / granularity) [–]")
    ax.set_ylabel("metric, at its best representation [–]")
    return fig


def study2_generalisation(gp_tab: pd.DataFrame, correlation: str) -> Any:
    """Study 2 as bars: per scenario (:func:`.report.generalisation`'s table), the best single
    metric's correlation beside the meta-metric's, and the optimal correlation 1 dotted."""
    fig, ax = plotting.subplots(figsize=(9, 4))
    x = np.arange(len(gp_tab))
    ax.bar(x - 0.2, gp_tab["best single metric"], 0.4, label="best single metric")
    ax.bar(x + 0.2, gp_tab["meta-metric"], 0.4, label="meta-metric")
    ax.axhline(1, color="k", ls=":", label="optimal")
    ax.set_xticks(x, gp_tab.scenario, rotation=60, ha="right", fontsize=7)
    plotting.labelled(ax, "scenario [–]", f"{correlation} correlation [–]",
                      "meta-metric trained on UJIIndoorLoc floors")
    ax.legend(fontsize=8)
    return fig

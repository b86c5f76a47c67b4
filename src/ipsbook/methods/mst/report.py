"""Paper C's tables with the paper's numbers beside ours (the chapter's tables, one home).

Every function takes the tidy per-sample errors of :class:`.experiment.Results` (``errors``;
seeds pooled, so a profile with several seeds reports the errors of all of them together) and
returns one frame per table, rows in the paper's order, our kNN rows last. Our third dataset
stands where the paper's UTS stands: its rows carry ``paper_dataset = "UTS"`` and
``comparable = False`` unless the third dataset *is* UTS (``Settings(third="uts")``): then the
paper's own pairs ran and the numbers are comparable.

Columns common to the tables: ``dataset`` (our target's label), ``paper_dataset`` (the paper's
column it stands beside), ``comparable``, ``model``, ``variant``, ``method`` (as the paper writes
it), then ``paper_*`` (the paper's numbers; NaN where the paper has none, e.g. kNN) and ours.
``gain_pct`` is the MAE reduction against the same model's stand-alone row in per cent (the
paper's "(x % ↑)"; negative = worse), ``paper_gain_pct`` the paper's printed one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import paper
from .experiment import partition_stats, summarise

__all__ = [
    "HEADERS",
    "NOT_COMPARABLE",
    "knn_vs_networks",
    "p_below_10m",
    "paper_dataset",
    "table1",
    "table2",
    "table3",
    "table4",
]

NOT_COMPARABLE = "not comparable: UTS substituted by UJI-LIB"
_MODELS = ("DNN", "CNNLoc", "BayesCNN", "bAaT")


def paper_dataset(label: str) -> str:
    """The paper's column that our target ``label`` stands beside: UJI-LIB stands for UTS."""
    return "UTS" if label == "UJI-LIB" else label


def _pooled(errors: pd.DataFrame, table: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    e = errors[errors["table"] == table]
    if e.empty:
        raise ValueError(f"the errors have no rows of {table!r}; run it first "
                         f"(tables present: {sorted(errors['table'].unique())})")
    by = ["dataset", "sources", "model", "variant", "method", *extra, "n_train"]
    out = summarise(e, by)
    out["n_seeds"] = [int(g["seed"].nunique()) for _, g in e.groupby(by, sort=False)]
    return out


def _order(frame: pd.DataFrame, variants: Sequence[str], datasets: Sequence[str]) -> pd.DataFrame:
    rank_m = {m: i for i, m in enumerate((*_MODELS, "kNN"))}
    rank_v = {v: i for i, v in enumerate(variants)}
    rank_d = {d: i for i, d in enumerate(datasets)}
    key = frame.apply(lambda r: (rank_d.get(r["dataset"], 99), rank_m.get(r["model"], 99),
                                 rank_v.get(r["variant"], 99), str(r["variant"])), axis=1)
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def _with_paper(ours: pd.DataFrame, ref: pd.DataFrame, cols: Sequence[str],
                keys: Sequence[str] = ("model", "variant")) -> pd.DataFrame:
    out = ours.copy()
    out.insert(1, "paper_dataset", [paper_dataset(d) for d in out["dataset"]])
    out.insert(2, "comparable", out["paper_dataset"] == out["dataset"])
    ref = ref.rename(columns={"dataset": "paper_dataset", **{c: f"paper_{c}" for c in cols}})
    merged = out.merge(ref[["paper_dataset", *keys, *(f"paper_{c}" for c in cols)]],
                       on=["paper_dataset", *keys], how="left")
    return merged


def _datasets(frame: pd.DataFrame) -> list[str]:
    order = ("UJI", "UJI-LIB", "UTS", "Tampere")
    present = list(dict.fromkeys(frame["dataset"]))
    return sorted(present, key=lambda d: order.index(d) if d in order else 99)


def table1(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 1: every model stand-alone, ``*``, ``**``, ``+++`` (bAaT ``++``) and kNN on each
    target: MAE, p75, p95, P(error < 10 m) and the gain, beside the paper's MAE, p75, p95, gain."""
    ours = _pooled(errors, "table1")
    out = _with_paper(ours, paper.TABLE1, ("MAE", "p75", "p95", "gain_pct"))
    return _order(out, ("stand-alone", "*", "**", "+++", "++", "k=3", "k=4", "k=5"),
                  _datasets(out))


def table2(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 2: the constraint ablation (stand-alone, +, *, ++, °, +++) beside the paper's MAE
    and gain. In this table ``*`` is J_MI alone (in Table 1 it is the sequential transfer)."""
    ours = _pooled(errors, "table2")
    ours = ours[ours["model"] != "kNN"]
    out = _with_paper(ours, paper.TABLE2, ("MAE", "gain_pct"))
    flags = paper.TABLE2.drop_duplicates("variant").set_index("variant")[["J_Sim", "J_MI", "J_FI"]]
    for c in flags.columns:
        out[c] = out["variant"].map(flags[c]).fillna(False).astype(bool)
    return _order(out, ("stand-alone", "+", "*", "++", "°", "+++"), _datasets(out))


def table3(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 3: one source (``†`` the first, ``‡`` the second of the target's pair) against both,
    beside the paper's MAE and gain; ``sources`` names ours, ``paper_sources`` the paper's."""
    ours = _pooled(errors, "table3")
    ours = ours[ours["model"] != "kNN"]
    ref = paper.TABLE3.assign(sources=[" & ".join(s) for s in paper.TABLE3["sources"]])
    ref = ref.rename(columns={"sources": "sources_p"})
    out = _with_paper(ours, ref, ("MAE", "gain_pct", "sources_p"))
    out = out.rename(columns={"paper_sources_p": "paper_sources"})
    return _order(out, ("stand-alone", "†", "‡", "+++", "++"), _datasets(out))


def table4(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 4: 1 % / 10 % of the target's training set, mean ± std over the partitions of each
    row's MAE (and p75, p95, P(error < 10 m)), beside the paper's mean ± std over its ten."""
    e = errors[errors["table"] == "table4"]
    if e.empty:
        raise ValueError("the errors have no rows of 'table4'; run it first")
    out = partition_stats(summarise(e, ["dataset", "fraction", "partition", "model", "variant",
                                        "method", "n_train"]))
    ref = paper.TABLE4.rename(columns={"n_train": "n_train_p"})
    out = _with_paper(out, ref, ("MAE_mean", "MAE_std", "n_train_p"),
                      keys=("fraction", "model", "variant"))
    out = out.rename(columns={"paper_n_train_p": "paper_n_train"})
    out["paper_n_train"] = out["paper_n_train"].astype("Int64")
    datasets = _datasets(out)
    out = _order(out, ("stand-alone", "+++", "++", "k=3", "k=4", "k=5"), datasets)
    rank = out["dataset"].map({d: i for i, d in enumerate(datasets)})
    by = np.lexsort((out["fraction"].to_numpy(), rank.to_numpy()))  # dataset, then fraction
    return out.iloc[by].reset_index(drop=True)


def p_below_10m(errors: pd.DataFrame) -> pd.DataFrame:
    """Fig. 2's summary: per target, P(error < 10 m) averaged over the models, stand-alone
    against fully enhanced (``+++``; bAaT ``++``), beside the paper's Sect. 4.2 averages."""
    t1 = _pooled(errors, "table1")
    t1 = t1[t1["model"] != "kNN"]
    full = t1["variant"].isin(["+++", "++"])
    rows = []
    for d in _datasets(t1):
        here = t1[t1["dataset"] == d]
        sa = here[here["variant"] == "stand-alone"]
        en = here[full.loc[here.index]]
        ref = paper.FIG2_P_BELOW_10M.set_index("dataset").loc[paper_dataset(d)]
        rows.append({
            "dataset": d, "paper_dataset": paper_dataset(d),
            "comparable": paper_dataset(d) == d, "n_models": len(en),
            "stand_alone": sa["p_below_10m"].mean(), "enhanced": en["p_below_10m"].mean(),
            "paper_stand_alone": float(ref["stand_alone"]),
            "paper_enhanced": float(ref["enhanced"]),
        })
    return pd.DataFrame(rows)


HEADERS: dict[str, str] = {
    "paper_MAE": "paper's MAE [m]", "MAE": "our MAE [m]", "paper_p75": "paper's p75 [m]",
    "p75": "our p75 [m]", "paper_p95": "paper's p95 [m]", "p95": "our p95 [m]",
    "paper_gain_pct": "paper's gain [%]", "gain_pct": "our gain [%]",
    "p_below_10m": "our P(error < 10 m)", "n_train": "our training fingerprints",
    "paper_n_train": "paper's training fingerprints", "n_seeds": "seeds pooled",
    "sources": "our sources", "paper_sources": "paper's sources",
    "paper_MAE_mean": "paper's MAE mean [m]", "paper_MAE_std": "paper's MAE std [m]",
    "MAE_mean": "our MAE mean [m]", "MAE_std": "our MAE std [m]",
    "n_partitions": "partitions", "fraction": "share of the training set",
}
"""Readable headers (with units) for the columns of the tables above."""


def knn_vs_networks(t1: pd.DataFrame, k: str = "k=3") -> pd.DataFrame:
    """Per target of :func:`table1`: kNN with the given ``k`` (fixed beforehand, not picked on
    the test set) beside our best network and the best deep model the paper publishes for that
    column (for UJI-LIB: UTS's, not comparable)."""
    rows = []
    for d in t1["dataset"].unique():
        here = t1[t1["dataset"] == d]
        knn = here[(here["model"] == "kNN") & (here["variant"] == k)]
        nets = here[here["model"] != "kNN"]
        if knn.empty or nets.empty:
            raise ValueError(f"Table 1 has no kNN ({k}) row or no network row for {d}")
        knn, best = knn.iloc[0], nets.loc[nets["MAE"].idxmin()]
        ref = paper.TABLE1[paper.TABLE1["dataset"] == paper_dataset(d)]
        pbest = ref.loc[ref["MAE"].idxmin()]
        rows.append({
            "dataset": d,
            "vs paper": "comparable" if paper_dataset(d) == d else NOT_COMPARABLE,
            f"kNN ({k}) MAE [m]": knn["MAE"], f"kNN ({k}) p75 [m]": knn["p75"],
            "our best network": best["method"], "its MAE [m]": best["MAE"],
            "paper's column": paper_dataset(d),
            "paper's best model": pbest["model"] + ("" if pbest["variant"] == "stand-alone"
                                                    else pbest["variant"]),
            "its MAE in the paper [m]": pbest["MAE"],
        })
    return pd.DataFrame(rows)


def paired_errors(errors: pd.DataFrame, table: str, dataset: str, model: str, a: str,
                  b: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-test-fingerprint errors (m) of variants ``a`` and ``b`` of one model in one table,
    paired on the same fingerprints (and seed, fraction, partition): the input of a paired
    bootstrap of their difference."""
    keys = ["seed", "fraction", "partition", "sample"]
    sel = errors[(errors["table"] == table) & (errors["dataset"] == dataset)
                 & (errors["model"] == model)]
    sides = []
    for v in (a, b):
        rows = sel[sel["variant"] == v]
        idx = pd.MultiIndex.from_frame(rows[keys].fillna(-1))
        sides.append(pd.Series(rows["error_m"].to_numpy(), index=idx))
    both = sides[0].index.intersection(sides[1].index)
    return (sides[0].loc[both].to_numpy(np.float64), sides[1].loc[both].to_numpy(np.float64))

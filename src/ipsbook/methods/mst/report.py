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
from typing import Any

import numpy as np
import pandas as pd

from . import data, paper
from .experiment import MODEL_LABELS, Settings, estimate, partition_stats, summarise

__all__ = [
    "HEADERS",
    "NOT_COMPARABLE",
    "constraint_summary",
    "constraint_text",
    "datasets_table",
    "knn_text",
    "knn_vs_networks",
    "models_table",
    "p_below_10m",
    "pairing_comparison",
    "pairing_text",
    "paper_dataset",
    "shown",
    "table1",
    "table2",
    "table3",
    "table4",
    "training_cost_text",
    "training_speed",
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
    "J_MI_no_information": "J_MI no-information N·ln 4 [nats]",
    "J_MI_gap": "J_MI below N·ln 4 [nats]", "J_MI_first": "J_MI first epoch [nats]",
    "J_MI_last": "J_MI last epoch [nats]", "J_Sim_last": "J_Sim last epoch",
    "constraints_share": "constraints' gradient share", "share_J_MAE": "J_MAE share",
    "shares_epoch": "shares at epoch",
    "share_J_Sim": "J_Sim share", "share_J_MI": "J_MI share", "share_J_FI": "J_FI share",
    "group": "phases of", "cap": "cap [epochs]", "epochs_median": "epochs run (median)",
    "epochs_max": "epochs run (max)", "best_median": "epoch kept (median)",
    "plateau": "stopped on a plateau", "at_cap": "stopped at the cap",
    "still_improving": "still improving at the cap",
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


def paired_frame(errors: pd.DataFrame, table: str, dataset: str, model: str, a: str,
                 b: str) -> pd.DataFrame:
    """Per-test-fingerprint errors (m) of variants ``a`` and ``b`` of one model in one table,
    paired on the same fingerprints (and seed, fraction, partition; pairs that only one side
    ran are left out): columns seed, fraction, partition, sample, a, b."""
    keys = ["seed", "fraction", "partition", "sample"]
    sel = errors[(errors["table"] == table) & (errors["dataset"] == dataset)
                 & (errors["model"] == model)]
    sides = []
    for v in (a, b):
        rows = sel[sel["variant"] == v]
        idx = pd.MultiIndex.from_frame(rows[keys].fillna(-1))
        sides.append(pd.Series(rows["error_m"].to_numpy(np.float64), index=idx))
    both = sides[0].index.intersection(sides[1].index)
    out = both.to_frame(index=False)
    out["a"], out["b"] = sides[0].loc[both].to_numpy(), sides[1].loc[both].to_numpy()
    return out


# --- the chapter's other tables -------------------------------------------------------------


def shown(frame: pd.DataFrame, cols: Sequence[str], caption: str, *, precision: int = 2) -> Any:
    """The chosen columns of a table as the chapter shows it: readable headers
    (:data:`HEADERS`), no index, "—" for missing numbers, a caption; where some rows are not
    comparable with the paper (UJI-LIB in UTS's place) a "vs paper" column says so."""
    out = frame.reindex(columns=list(cols)).rename(columns=HEADERS)
    if "comparable" in frame and not frame["comparable"].all():
        out.insert(1, "vs paper", np.where(frame["comparable"], "comparable", NOT_COMPARABLE))
    return (out.style.format(precision=precision, na_rep="—").hide(axis="index")
            .set_caption(caption))


def datasets_table(settings: Settings) -> pd.DataFrame:
    """The three datasets as loaded (paper C's convention): training and test sizes, anchors,
    extent in metres, floors and buildings; UTS listed as the paper's, not available here."""
    rows = []
    for d in settings.datasets:
        tr, te = data.load(d, "train"), data.load(d, "test")
        ext = np.ptp(np.vstack([tr.pos, te.pos]), axis=0)
        rows.append({"dataset": data.label(d), "train": len(tr), "test": len(te),
                     "anchors": tr.n_anchors, "extent x × y [m]": f"{ext[0]:.0f} × {ext[1]:.0f}",
                     "floors": "—" if tr.floor is None else len(np.unique(tr.floor)),
                     "buildings": "—" if tr.building is None else len(np.unique(tr.building))})
    if settings.third != "uts":
        rows.append({"dataset": "UTS (paper; not available here)", "train": 9108, "test": 388,
                     "anchors": "—", "extent x × y [m]": "—", "floors": "—", "buildings": "—"})
    return pd.DataFrame(rows, dtype=object)


def models_table(settings: Settings) -> pd.DataFrame:
    """Each network's parameters per part (F, E, R) and its Z^F / Z^E widths on each dataset."""
    from ...models.fingerprint import MODELS, build, parameter_count
    from .experiment import MODEL_LABELS

    rows = []
    for m in MODELS:
        for d in settings.datasets:
            net = build(m, data.load(d, "train").n_anchors)
            rows.append({"model": MODEL_LABELS[m], "dataset": data.label(d),
                         "F": parameter_count(net.framer_net),
                         "E": parameter_count(net.extractor_net),
                         "R": parameter_count(net.regressor_net), "total": parameter_count(net),
                         "Z^F width": net.z_f_dim, "Z^E width": net.z_e_dim})
    return pd.DataFrame(rows)


def knn_text(knn_table: pd.DataFrame, k: str = "k=3") -> str:
    """What :func:`knn_vs_networks` says, in words built from its numbers."""
    col = f"kNN ({k}) MAE [m]"
    beats = [r["dataset"] for _, r in knn_table.iterrows() if r[col] < r["its MAE [m]"]]
    beats_paper = [r["dataset"] for _, r in knn_table.iterrows()
                   if r["vs paper"] == "comparable" and r[col] < r["its MAE in the paper [m]"]]
    return (f"kNN beats our best network on {', '.join(beats) or 'no target'}"
            + (f", and on {', '.join(beats_paper)} it beats even the best deep model the paper "
               "publishes there" if beats_paper else "")
            + ". What this means for the paper's claims: the framework's gains are measured "
            "against stand-alone deep models, and a claim that +++ improves a model says nothing "
            "about whether the model is worth using; where a training-free method on raw dBm is "
            "more accurate, the relevant question is whether the enhanced networks beat kNN, and "
            "Table 1 answers it row by row.")


def training_speed(training: pd.DataFrame) -> pd.DataFrame:
    """Seconds per epoch and training fingerprints per second, by model, phase and dataset,
    from :attr:`.experiment.Results.training`."""
    tr = training.dropna(subset=["epoch_s"])
    tr = tr.assign(phase_kind=tr["phase"].str.split().str[0])
    return (tr.groupby(["model", "phase_kind", "trained_on", "n_train"])
            .agg(runs=("run", "nunique"), epochs=("epochs", "mean"), epoch_s=("epoch_s", "mean"),
                 samples_per_s=("samples_per_s", "mean")).reset_index()
            .rename(columns={"phase_kind": "phase", "trained_on": "trained on",
                             "n_train": "fingerprints", "epoch_s": "s per epoch",
                             "samples_per_s": "fingerprints per s"}))


def training_cost_text(res: Any, paper_settings: Settings) -> str:
    """This run's measured cost against :func:`.experiment.estimate`, and the ``paper``
    profile's estimated cost on this machine, in words (``res``: :class:`.experiment.Results`)."""
    paper_est = estimate(paper_settings)
    cpu_h = paper_est.seconds.sum() / 3600
    measured = res.runs.dropna(subset=["wall_s"])
    ratio = measured.wall_s.sum() / measured.estimated_s.sum() if len(measured) else float("nan")
    by_model = paper_est[paper_est.model != "knn"].groupby("model").seconds.sum() / 3600
    dearest = by_model.idxmax()
    dearest_label, dearest_h = MODEL_LABELS.get(dearest, dearest), by_model.max()
    devices = sorted(set(res.training["device"].dropna()))
    on_gpu = any(str(x).startswith("cuda") for x in devices)
    unit = "GPU" if on_gpu else "CPU"
    stopped = getattr(res.settings, "stop", None) is not None
    return (
        f"This profile's {len(res.runs)} runs (trained on {', '.join(devices) or 'cpu'}; "
        "reused from `artefacts_dir` when present, with the wall time of their training) took "
        f"{ratio:.2f}× the estimate"
        + (" (the estimate counts every phase to its cap; here most stopped on a plateau "
           "well before it)" if stopped else "")
        + f". The `paper` profile: {len(paper_est)} runs, about "
        f"**{cpu_h:,.0f} CPU-hours** at one thread per run on this machine by the stored epoch "
        f"times ({dearest_label} the dearest, {dearest_h:,.0f} h of it), i.e. "
        f"{cpu_h / 2 / 24:.1f} days on two cores"
        + (f"; scaled by the measured-to-estimated ratio of this run "
           f"({'on the GPU' if on_gpu else 'on the CPU'}), about {cpu_h * ratio:,.0f} "
           f"{unit}-hours" if np.isfinite(ratio) and not stopped else "")
        + ("; this run's ratio is not applied to it, since the `paper` profile trains its "
           "fixed epochs with no stop rule" if stopped else "")
        + ("." if on_gpu else
           ". No GPU ran these numbers, so what a GPU would take is not estimated here: these "
           "networks are small (0.3–0.7 M parameters) and batches of 128 keep a GPU mostly "
           "idle, so its speed-up must come from a measured GPU epoch, not an assumed factor. "
           "Run this notebook on a CUDA machine (the runs then train there) or "
           "`benchmarks/bench_mst.py`, which times every phase on the GPU when one is present "
           "(see the performance page)."))


# --- converged training ------------------------------------------------------------------------


def _phase_group(row: pd.Series) -> str:
    if row["kind"] in ("sequential", "collective"):
        return "transfer baselines (* / **)"
    if row["kind"] == "standalone" or (row["kind"] == "distill" and row["fraction"] < 1.0):
        return "Table 4 partitions"
    return "stand-alone" if row["kind"] == "expert" else "distilling (Tables 1-3)"


def stopping_table(training: pd.DataFrame) -> pd.DataFrame:
    """How the converged phases ended, per model, target and group of phases (stand-alone,
    distilling, transfer baselines, Table 4's partitions): phases, the cap, the median and
    largest number of epochs run and of the best (kept) epoch, 1-based, how many stopped on a
    plateau and how many at the cap still improving. ``training``:
    :attr:`.experiment.Results.training` of a run with a stop rule (teachers and SAE
    pre-training keep fixed epochs and are not listed)."""
    if "stopped" not in training:
        raise ValueError("training has no stop columns: the runs were trained without a stop "
                         "rule (profile full trains to a plateau)")
    tr = training[training["stopped"].notna()].copy()
    tr["group"] = tr.apply(_phase_group, axis=1)
    tr["best"] = tr["best_epoch"] + 1
    out = (tr.groupby(["model", "dataset", "group"], sort=False)
           .agg(phases=("run", "size"), cap=("epochs_cap", "max"),
                epochs_median=("epochs", "median"), epochs_max=("epochs", "max"),
                best_median=("best", "median"),
                plateau=("stopped", lambda x: int((x == "plateau").sum())),
                at_cap=("stopped", lambda x: int((x == "cap").sum())),
                still_improving=("still_improving",
                                 lambda x: int(x.fillna(False).astype(bool).sum())))
           .reset_index())
    order = {m: i for i, m in enumerate(("DNN", "CNNLoc", "BayesCNN", "bAaT"))}
    return out.sort_values(["model", "dataset"], key=lambda c: c.map(order).fillna(9)
                           if c.name == "model" else c, kind="stable").reset_index(drop=True)


def stopping_text(table: pd.DataFrame) -> str:
    """In words: how many converged phases stopped on a plateau, and which models were still
    improving at their cap (the rows whose verdicts rest on an unconverged model)."""
    n, plateau = int(table["phases"].sum()), int(table["plateau"].sum())
    flagged = table[table["still_improving"] > 0]
    text = (f"{plateau} of {n} trained phases stopped on a validation plateau; "
            f"{int(table['at_cap'].sum())} ran to their cap.")
    if flagged.empty:
        return text + " None was still improving at its cap."
    cells = [f"{r.model} on {r.dataset} ({r.group}: {r.still_improving} of {r.phases})"
             for r in flagged.itertuples()]
    return (text + " **Still improving at the cap** (their numbers are not converged; a larger "
            "cap may lower them): " + "; ".join(cells) + ".")


def sensitivity(profile: str, settings: Settings, training: pd.DataFrame, note: str) -> str | None:
    """The note each verdict of a profile other than ``paper`` carries (None under ``paper``):
    with a stop rule, that the models were trained to a validation plateau under caps below the
    paper's epochs, naming the models still improving at a cap; without one, that they are far
    from converged. ``note``: the profile's epochs in words."""
    if profile == "paper":
        return None
    if settings.stop is None:
        return (f"{note}; the models are far from converged, and which variant wins can change "
                "with full training")
    text = f"{note}; trained to a validation plateau, capped below the paper's epochs"
    if "stopped" in training:
        st = stopping_table(training)
        flagged = st[st["still_improving"] > 0]
        if len(flagged):
            names = sorted({f"{r.model} on {r.dataset}" for r in flagged.itertuples()})
            text += "; still improving at the cap: " + ", ".join(names)
    return text


# --- do the constraints act? -------------------------------------------------------------------

_TERMS = ("J_MAE", "J_Sim", "J_MI", "J_FI")


def constraint_curves_wide(curves: pd.DataFrame) -> pd.DataFrame:
    """The per-epoch constraint diagnostics one row per run and epoch, one column per metric
    (``loss``, ``val_mae_m``, each term ``J_*``, its weighted gradient norm ``grad_J_*`` and
    share ``share_J_*``; empty where the epoch was not diagnosed) — the same values as
    :attr:`.experiment.Results.curves`, long form, without repeating the run's description in
    every metric's row (a tenth of the size on disk)."""
    if curves.empty:
        raise ValueError("curves is empty: no distilling run was recorded")
    keys = [c for c in curves.columns if c not in ("metric", "value")]
    metrics = list(dict.fromkeys(curves["metric"]))
    # unstack, not pivot_table(dropna=False), which would span the product of every key
    wide = curves.set_index([*keys, "metric"])["value"].unstack("metric")
    wide = wide.reindex(columns=metrics).reset_index()
    order = curves[keys].drop_duplicates().reset_index(drop=True).reset_index()
    wide = wide.merge(order, on=keys, how="left").sort_values("index", kind="stable")
    wide = wide.drop(columns="index").reset_index(drop=True)
    wide.columns.name = None
    return wide


def constraint_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per distilling row (target, model, variant, sources, share of the training set — Table 4's
    partitions are rows of their own; seeds and partitions averaged): each term's value at
    the first and the last epoch, J_MI's last value against its no-information value N·ln 4
    (``J_MI_gap``: how far below it J_MI ended, in nats; about 0 or negative = the critic found
    no information), each term's share of the gradient norm at the last diagnosed epoch
    (``shares_epoch``), and the three constraints' share together (``constraints_share``).
    ``curves``:
    :attr:`.experiment.Results.curves`."""
    if curves.empty:
        raise ValueError("curves is empty: no distilling run was recorded")
    keys = ["dataset", "model", "variant", "sources", "fraction"]
    rows = []
    for key, g in curves.groupby(keys, sort=False):
        last_epoch = int(g["epoch"].max())
        # per metric and epoch, the mean over seeds; then each metric's first and last finite
        # value (the gradient shares exist only in the diagnosed epochs, distill.diagnosed_epoch)
        per = g.groupby(["metric", "epoch"])["value"].mean().dropna()
        first = per.groupby(level="metric").first()
        last = per.groupby(level="metric").last()
        shares_at = per[per.index.get_level_values("metric").str.startswith("share_")]
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["seeds"] = int(g["seed"].nunique())
        row["epochs"] = last_epoch
        row["shares_epoch"] = (int(shares_at.index.get_level_values("epoch").max())
                               if len(shares_at) else np.nan)
        for t in _TERMS:
            if t in last:
                row[f"{t}_first"], row[f"{t}_last"] = first.get(t, np.nan), last[t]
        if "J_MI" in last:
            row["J_MI_no_information"] = float(g["J_MI_no_information"].iloc[0])
            row["J_MI_gap"] = row["J_MI_no_information"] - row["J_MI_last"]
        shares = {t: last.get(f"share_{t}", np.nan) for t in _TERMS if t in last}
        for t, v in shares.items():
            row[f"share_{t}"] = v
        row["constraints_share"] = float(np.nansum([v for t, v in shares.items()
                                                    if t != "J_MAE"]))
        rows.append(row)
    return pd.DataFrame(rows)


def constraint_text(summary: pd.DataFrame, *, gap_nats: float = 0.05,
                    pairing: str = "row") -> str:
    """Whether the constraints carry signal in these runs, in words built from
    :func:`constraint_summary`'s numbers. J_MI is said to find information where it ended at
    least ``gap_nats`` below its no-information value (a stated rule, not fitted); ``pairing``:
    the runs' :class:`.distill.DistillOptions` pairing, named in the explanation."""
    enhanced = np.where(summary["model"] == "bAaT", "++", "+++")  # Table 1's enhanced row
    full = summary[(summary["variant"] == enhanced) & (summary["fraction"] == 1.0)
                   & summary["sources"].str.contains(" & ")]
    if full.empty:
        full = summary
    mi = full.dropna(subset=["J_MI_gap"]) if "J_MI_gap" in full else full.iloc[:0]
    found = mi[mi["J_MI_gap"] >= gap_nats]
    share = full["constraints_share"]
    parts = [(f"Over the {len(full)} fully enhanced two-source rows, the three constraints "
              f"together carry {100 * share.min():.1f}–{100 * share.max():.1f} % (median "
              f"{100 * share.median():.1f} %) of the gradient norm at the last diagnosed epoch; "
              "J_MAE the rest.")]
    if len(mi):
        parts.append(
            f"J_MI ended within {gap_nats} nats of its no-information value N·ln 4 in "
            f"{len(mi) - len(found)} of {len(mi)} rows (J_MI − N·ln 4 from "
            f"{-mi['J_MI_gap'].max():+.4f} to {-mi['J_MI_gap'].min():+.4f} nats): "
            + ("its critic found no dependence between the student's and the teachers' "
               + ("representations, as Algorithm 3's independent pairing predicts."
                  if pairing == "row" else f"representations under pairing {pairing!r}.")
               if found.empty else
               f"it found some in {', '.join(found['model'] + ' on ' + found['dataset'])}."))
    return " ".join(parts)


def seeds_note(settings: Settings) -> str:
    """How many seeds the rows of Tables 1-3 have, in words: "3 seeds" or, with
    ``Settings.seed_limits``, e.g. "3 seeds; 1 for Table 2, Table 3, BayesCNN, bAaT, Table 1's
    * and **"."""
    n = len(settings.seeds)
    text = f"{n} seed{'s' if n != 1 else ''}"
    by_count: dict[int, list[str]] = {}
    for key, k in settings.seed_limits.items():
        if k < n:
            name = ("Table 1's * and **" if key == "transfer" else
                    f"Table {key[-1]}" if key.startswith("table") else MODEL_LABELS.get(key, key))
            by_count.setdefault(k, []).append(name)
    return "; ".join([text] + [f"{k} for {', '.join(v)}" for k, v in sorted(by_count.items())])


def precision_note(settings: Settings) -> str:
    """The training arithmetic in words: "float32 throughout" or, with ``Settings.cpu_bf16``,
    e.g. "BayesCNN trains under bf16 autocast on CPU (the rest float32)"."""
    names = [MODEL_LABELS.get(m, m) for m in settings.cpu_bf16]
    if not names:
        return "float32 throughout"
    return f"{', '.join(names)} train{'s' if len(names) == 1 else ''} under bf16 autocast on " \
        "CPU (the rest float32)"


def pairing_comparison(results: dict[str, Any], *, model: str = "DNN",
                       seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """The pairing switch (:class:`.distill.DistillOptions` ``pairing``) side by side: for each
    label (a pairing) and its :class:`.experiment.Results`, per target the fully enhanced
    two-source ``model``'s J_MI at the last epoch against N·ln 4, the constraints' share of the
    gradient norm at the last diagnosed epoch, and the test MAE (m) of Table 1's row (seeds
    pooled; ``seeds``: only these, so that results run with different seeds compare alike)."""
    rows = []
    variant = "++" if model == "bAaT" else "+++"
    for label, res in results.items():
        curves, e = res.curves, res.errors
        if seeds is not None:
            curves = curves[curves["seed"].isin(list(seeds))]
            e = e[e["seed"].isin(list(seeds))]
        summ = constraint_summary(curves)
        summ = summ[(summ["model"] == model) & (summ["variant"] == variant)
                    & (summ["fraction"] == 1.0) & summ["sources"].str.contains(" & ")]
        e = e[(e["table"] == "table1") & (e["model"] == model) & (e["variant"] == variant)]
        mae = e.groupby("dataset")["error_m"].mean()
        for _, r in summ.iterrows():
            rows.append({"pairing": label, "dataset": r["dataset"], "method": model + variant,
                         "epochs": r["epochs"], "J_MI_last": r.get("J_MI_last", np.nan),
                         "J_MI_no_information": r.get("J_MI_no_information", np.nan),
                         "J_MI_gap": r.get("J_MI_gap", np.nan),
                         "J_Sim_last": r.get("J_Sim_last", np.nan),
                         "constraints_share": r["constraints_share"],
                         "MAE": float(mae.get(r["dataset"], np.nan))})
    out = pd.DataFrame(rows)
    return out.sort_values(["dataset", "pairing"], kind="stable").reset_index(drop=True)


def pairing_text(table: pd.DataFrame) -> str:
    """What changed with the pairing switch, per target, in words built from
    :func:`pairing_comparison`'s numbers (J_MI's distance below N·ln 4, the constraints' gradient
    share, the test MAE)."""
    parts = []
    for d, g in table.groupby("dataset", sort=False):
        r = g.set_index("pairing")
        cells = [f"{p}: J_MI {r.loc[p, 'J_MI_last']:.3f} nats (N·ln 4 = "
                 f"{r.loc[p, 'J_MI_no_information']:.3f}), constraints "
                 f"{100 * r.loc[p, 'constraints_share']:.1f} % of the gradient, MAE "
                 f"{r.loc[p, 'MAE']:.2f} m" for p in r.index]
        parts.append(f"**{d}** — " + "; ".join(cells) + ".")
    return " ".join(parts) if parts else "No fully enhanced two-source run to compare."

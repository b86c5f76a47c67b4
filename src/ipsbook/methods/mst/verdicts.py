"""Paper C's claims judged on our numbers: every comparison its tables and Fig. 2 make for the
rows a profile ran (the chapter's "Claims" section, one home).

:func:`record_claims` takes the chapter's claim set (any object with the methods of
``ipsbook.book.claims.ClaimSet`` that are used here: ``protocol_defaults``, ``difference``,
``value``, ``relation``, ``not_comparable``; passed in, so the science wing does not import the
book machinery), the tidy per-sample errors of :class:`.experiment.Results` and the tables of
:mod:`.report`, and records:

* **orderings** taken from the paper's own numbers, cell by cell (where its Table 2 has ``++``
  better than ``+++``, the claim is that ``++`` is better, whatever its text says): decided by
  the 95 % interval of the paired difference A − B (``ipsbook.stats``), reproduced when the
  whole interval is below zero, not reproduced when above, unresolved when it straddles zero.
  Which interval: where both rows ran two seeds or more (the ``full`` profile's DNN and CNNLoc
  in Table 1), a Student t interval over the per-seed differences (the mean, or the 75th
  percentile, of each seed's test errors), so the spread between trainings decides; where the
  pair shares one seed, a seeded paired bootstrap over the test fingerprints (which sees the
  test set's sampling, not the training's: a narrower interval); for Table 4 a Student t
  interval over the training partitions. The claim's text says which, and our two values are
  those of exactly the pairs compared (a three-seed stand-alone row against a one-seed ``*``
  row is compared on the shared seed);
* **absolute MAEs** of Table 1 on UJI and Tampere, within ±15 % of the paper's;
* **Fig. 2's rise** of P(error < 10 m): reproduced when ours rises by at least half the paper's;
* everything on the third dataset as *not comparable* (UJI-LIB is not UTS), and the rows a
  profile does not run as *not comparable: not run*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ... import stats
from . import paper, report

__all__ = ["ANCHORS", "PAPER_MODELS", "record_claims"]

ANCHORS: dict[str, str] = {"table1": "mst-table1", "table2": "mst-table2",
                           "table3": "mst-table3", "table4": "mst-table4", "fig2": "mst-fig2"}
"""The chapter's section labels each claim links to."""

PAPER_MODELS: tuple[str, ...] = ("DNN", "CNNLoc", "BayesCNN", "bAaT")


def _full(model: str) -> str:
    return "++" if model == "bAaT" else "+++"


def _mae(frame: pd.DataFrame, d: str, model: str, variant: str, col: str = "MAE") -> float | None:
    got = frame[(frame["dataset"] == d) & (frame["model"] == model)
                & (frame["variant"] == variant)]
    return None if got.empty else float(got.iloc[0][col])


def _paper(table: str, d: str, model: str, variant: str, col: str = "MAE", **kw: Any) -> float:
    return paper.lookup(table, report.paper_dataset(d), model, variant, col, **kw)


class _Judge:
    """The shared state of one chapter's claims: the claim set, the errors, the seed of the
    bootstraps and the sensitivity note of a scaled-down profile."""

    def __init__(self, claims: Any, errors: pd.DataFrame, *, profile: str, seed: int,
                 sensitivity: str | None) -> None:
        self.C, self.errors, self.profile, self.seed, self.sens = (
            claims, errors, profile, seed, sensitivity)

    def ordering(self, artefact: str, d: str, model: str, a: str, b: str, ours_a: float,
                 ours_b: float, paper_a: float, paper_b: float, anchor: str, what: str = "MAE",
                 partitions: Mapping[str, pd.Series] | None = None) -> None:
        """The paper's ordering of rows a and b of one model (from its numbers), judged on ours
        by the interval of the paired difference (test fingerprints, or Table 4's partitions)."""
        name = {v: (model if v == "stand-alone" else f"{model}{v}") for v in (a, b)}
        better, worse = (a, b) if paper_a < paper_b else (b, a)
        statement = (f"{name[better]} has the lower {what} (paper: {name[a]} {paper_a:.2f} vs "
                     f"{name[b]} {paper_b:.2f} m)")
        text = f"{name[a]} {ours_a:.2f} vs {name[b]} {ours_b:.2f} m"
        if partitions is not None:
            diff = (partitions[better] - partitions[worse]).dropna()
            iv = stats.mean_interval(diff.to_numpy(), "partitions")
            text += f", lower in {int((diff < 0).sum())} of {len(diff)} partitions"
        else:
            iv, ours, where = self._paired(artefact, d, model, better, worse, what)
            text = f"{name[a]} {ours[a]:.2f} vs {name[b]} {ours[b]:.2f} m ({where})"
        quantity = f"{d}: {name[a]} vs {name[b]} ({what})"
        proto = {"source": f"{artefact}: {name[a]} {paper_a:.2f} m vs {name[b]} {paper_b:.2f} m",
                 "baseline": f"{name[worse]}, same model, same test fingerprints"}
        if report.paper_dataset(d) == d:
            self.C.difference(artefact, quantity, statement, iv, better="lower", unit="m",
                              ours=text, anchor=anchor, profile_sensitive=self.sens,
                              protocol=proto)
        else:
            self.C.not_comparable(artefact, f"{d} (paper: UTS): {name[a]} vs {name[b]} ({what})",
                                  statement, text, report.NOT_COMPARABLE, anchor=anchor,
                                  protocol=proto)

    def _paired(self, artefact: str, d: str, model: str, better: str, worse: str,
                what: str) -> tuple[stats.Interval, dict[str, float], str]:
        """The interval of better − worse on the seeds both rows ran (paired on the seed and the
        test fingerprint): with two seeds or more a Student t interval over the per-seed
        differences of the statistic (the seeds' spread decides); with one, a seeded paired
        bootstrap over the test fingerprints. Also our two values on exactly those pairs (by
        variant) and which seeds they are, in words."""
        pairs = report.paired_frame(self.errors, artefact.lower().replace(" ", ""), d, model,
                                    better, worse)
        def stat(x: pd.Series) -> float:
            return float(x.mean()) if what == "MAE" else float(np.percentile(x, 75.0))

        seeds = sorted(pairs["seed"].unique())
        if len(seeds) >= 2:
            per = pairs.groupby("seed").agg(a=("a", stat), b=("b", stat))
            iv = stats.mean_interval((per["a"] - per["b"]).to_numpy(), "seeds")
            if what != "MAE":
                iv = replace(iv, stat="p75")
            va, vb = float(per["a"].mean()), float(per["b"].mean())
            lower = int((per["a"] < per["b"]).sum())
            where = f"mean over seeds {', '.join(map(str, seeds))}; lower in {lower} of {len(per)}"
        else:
            iv = stats.paired_bootstrap(pairs["a"], pairs["b"], seed=self.seed,
                                        statistic="mean" if what == "MAE" else "p75")
            va, vb = stat(pairs["a"]), stat(pairs["b"])
            where = f"seed {seeds[0]}" if seeds else "no pairs"
        return iv, {better: va, worse: vb}, where

    def not_run(self, artefact: str, what: str, anchor: str, why: str | None = None) -> None:
        self.C.not_comparable(artefact, what, "see the paper's table", "not run",
                              why or f"not run under profile {self.profile} (its cost; profile "
                              "paper runs it)", anchor=anchor)


def record_claims(claims: Any, errors: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                  p10: pd.DataFrame, *, profile: str, seed: int,
                  sensitivity: str | None, columns: Sequence[str] = ()) -> None:
    """Record every claim of Tables 1-4 and Fig. 2 (see the module docstring) into ``claims``.
    ``tables``: ``{"table1": report.table1(errors), ...}``; ``p10``:
    :func:`.report.p_below_10m`; ``sensitivity``: the note attached to each verdict of a
    scaled-down profile (None under ``paper``). ``columns``: the labels of the paper's three
    target columns in our setting (e.g. UJI, UJI-LIB, Tampere); those without a row in the
    errors (a run given fewer ``targets``) are listed per table as not run."""
    J = _Judge(claims, errors, profile=profile, seed=seed, sensitivity=sensitivity)
    C, A = claims, ANCHORS
    for d in [d for d in columns if d not in set(errors["dataset"])]:
        for table in ("Table 1", "Table 2", "Table 3", "Table 4"):
            J.not_run(table, f"{d}: every row (target not run)", A[table.lower().replace(" ", "")],
                      why="not run: this run's targets leave it out (the profile's or the "
                          "parameter targets; the full reference run comes in parts)")
    t1, t2, t3, t4 = (tables[k] for k in ("table1", "table2", "table3", "table4"))
    C.protocol_defaults(
        data=("each target's training file for training and its test file for testing "
              "(UJIIndoorLoc: its validation file), UJI-LIB month 01 in place of UTS; teachers "
              "trained on the two other datasets"),
        metric=("mean 2-D positioning error (the paper's MAE) or its 75th percentile, in m; "
                "UJIIndoorLoc in its EPSG:3857 units, about 1.31× ground metres"),
        interval="none: a single value (one seed) compared with a tolerance")

    # Table 1: enhanced vs stand-alone (MAE and p75), vs the transfer baselines, absolute MAEs
    for d in t1["dataset"].unique():
        for m in [m for m in PAPER_MODELS if m in set(t1["model"])]:
            en, sa = _mae(t1, d, m, _full(m)), _mae(t1, d, m, "stand-alone")
            if en is None or sa is None:
                continue
            for col, what in (("MAE", "MAE"), ("p75", "75th percentile")):
                J.ordering("Table 1", d, m, _full(m), "stand-alone", _mae(t1, d, m, _full(m), col),
                           _mae(t1, d, m, "stand-alone", col),
                           _paper("table1", d, m, _full(m), col),
                           _paper("table1", d, m, "stand-alone", col), A["table1"], what)
            for kind in ("*", "**"):
                tl = _mae(t1, d, m, kind)
                if tl is not None:
                    J.ordering("Table 1", d, m, _full(m), kind, en, tl,
                               _paper("table1", d, m, _full(m)), _paper("table1", d, m, kind),
                               A["table1"])
            for v, ours in (("stand-alone", sa), (_full(m), en)):
                name = m if v == "stand-alone" else f"{m}{v}"
                if report.paper_dataset(d) == d:
                    C.value("Table 1", f"{d}: MAE of {name}", _paper("table1", d, m, v), ours,
                            rel_tol=0.15, unit="m", anchor=A["table1"], profile_sensitive=(
                                sensitivity
                                or "architectures of DNN, BayesCNN and bAaT reconstructed"))
                else:
                    C.not_comparable("Table 1", f"{d} (paper: UTS): MAE of {name}",
                                     f"{_paper('table1', d, m, v):.2f} m", f"{ours:.2f} m",
                                     report.NOT_COMPARABLE, anchor=A["table1"])
    for m in PAPER_MODELS:
        if m not in set(t1["model"]):
            J.not_run("Table 1", f"{m}: its rows", A["table1"])
        elif not (t1["model"].eq(m) & t1["variant"].isin(["*", "**"])).any():
            J.not_run("Table 1", f"{m}* and {m}** (transfer baselines)", A["table1"])

    # Fig. 2: P(error < 10 m), mean over the models, stand-alone -> enhanced
    for _, r in p10.iterrows():
        rise = r["enhanced"] - r["stand_alone"]
        paper_rise = r["paper_enhanced"] - r["paper_stand_alone"]
        statement = (f"rises from ~{100 * r['paper_stand_alone']:.0f}% to "
                     f"~{100 * r['paper_enhanced']:.0f}% (criterion: ours rises by at least half "
                     f"of {100 * paper_rise:.0f} points)")
        text = (f"{100 * r['stand_alone']:.0f}% → {100 * r['enhanced']:.0f}% "
                f"({100 * rise:+.0f} points, {r['n_models']} models)")
        if r["comparable"]:
            C.relation("Fig. 2", f"{r['dataset']}: P(error < 10 m), mean over models", statement,
                       rise >= paper_rise / 2, text, why_not="it rises by less than half as much",
                       anchor=A["fig2"], profile_sensitive=sensitivity)
        else:
            C.not_comparable("Fig. 2", f"{r['dataset']} (paper: UTS): P(error < 10 m), mean "
                             "over models", statement, text, report.NOT_COMPARABLE
                             + " (and UJI-LIB's 11 m × 14 m floors put nearly every error below "
                             "10 m)", anchor=A["fig2"])

    # Table 2: every ablation against stand-alone, J_MI alone vs J_Sim alone, +++ vs ++
    pairs = [(v, "stand-alone") for v in ("+", "*", "++", "°", "+++")] + [("*", "+"),
                                                                        ("+++", "++")]
    for d in t2["dataset"].unique():
        for m in t2[t2["dataset"] == d]["model"].unique():
            for a, b in pairs:
                oa, ob = _mae(t2, d, m, a), _mae(t2, d, m, b)
                if oa is not None and ob is not None:
                    J.ordering("Table 2", d, m, a, b, oa, ob, _paper("table2", d, m, a),
                               _paper("table2", d, m, b), A["table2"])
    for m in PAPER_MODELS:
        if m not in set(t2["model"]):
            J.not_run("Table 2", f"{m}: the ablation rows", A["table2"])

    # Table 3: each single source against both
    for d in t3["dataset"].unique():
        for m in t3[t3["dataset"] == d]["model"].unique():
            both = _mae(t3, d, m, _full(m))
            for one in ("†", "‡"):
                o = _mae(t3, d, m, one)
                if both is not None and o is not None:
                    J.ordering("Table 3", d, m, _full(m), one, both, o,
                               _paper("table3", d, m, _full(m)), _paper("table3", d, m, one),
                               A["table3"])
    for m in PAPER_MODELS:
        if m not in set(t3["model"]):
            J.not_run("Table 3", f"{m}: one source vs two", A["table3"])

    # Table 4: enhanced vs stand-alone on 1 % / 10 %, over the partitions
    per_partition = (errors[errors["table"] == "table4"]
                     .groupby(["dataset", "fraction", "model", "variant", "partition"])["error_m"]
                     .mean())
    for (d, f), g in t4[t4["model"] != "kNN"].groupby(["dataset", "fraction"], sort=False):
        for m in g["model"].unique():
            h = g[g["model"] == m].set_index("variant")
            if _full(m) not in h.index or "stand-alone" not in h.index:
                continue
            pe = per_partition.loc[(d, f, m, _full(m))]
            ps = per_partition.loc[(d, f, m, "stand-alone")]
            J.ordering("Table 4", d, m, _full(m), "stand-alone", h.loc[_full(m), "MAE_mean"],
                       h.loc["stand-alone", "MAE_mean"],
                       _paper("table4", d, m, _full(m), fraction=f),
                       _paper("table4", d, m, "stand-alone", fraction=f), A["table4"],
                       f"MAE on {100 * f:g}% of the training data",
                       partitions={_full(m): pe, "stand-alone": ps})
    for m in PAPER_MODELS:
        if m not in set(t4["model"]):
            J.not_run("Table 4", f"{m}: 1% / 10% of the training data", A["table4"])

"""Paper C's tables beside ours (ipsbook.methods.mst.report) and the chapter's figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re

import numpy as np
import pandas as pd
import pytest

from ipsbook.methods.mst import paper, plots, report


def _rows(table, dataset, model, variant, errs, *, sources="", seed=0, fraction=1.0,
          partition=-1, n_train=100):
    method = f"kNN ({variant})" if model == "kNN" else (
        model if variant == "stand-alone" else f"{model}{variant}")
    return pd.DataFrame({
        "table": table, "dataset": dataset, "sources": sources, "model": model,
        "variant": variant, "method": method, "seed": seed, "fraction": fraction,
        "partition": partition, "n_train": n_train, "sample": np.arange(len(errs)),
        "error_m": np.asarray(errs, float),
    })


@pytest.fixture(scope="module")
def errors():
    parts = []
    for d, src in (("UJI", "UJI-LIB & Tampere"), ("UJI-LIB", "UJI & Tampere")):
        for seed in (0, 1):  # two seeds: pooled
            parts += [
                _rows("table1", d, "DNN", "stand-alone", [4.0, 12.0], seed=seed),
                _rows("table1", d, "DNN", "+++", [2.0, 8.0], sources=src, seed=seed),
                _rows("table1", d, "DNN", "*", [5.0, 13.0], sources=src, seed=seed),
                _rows("table1", d, "bAaT", "stand-alone", [10.0, 10.0], seed=seed),
                _rows("table1", d, "bAaT", "++", [11.0, 11.0], sources=src, seed=seed),
                _rows("table1", d, "kNN", "k=3", [1.0, 3.0], seed=seed),
            ]
        for v in ("stand-alone", "+", "*", "++", "°", "+++"):
            parts.append(_rows("table2", d, "DNN", v, [8.0 - len(v), 8.0],
                               sources="" if v == "stand-alone" else src))
        for v, s in (("stand-alone", ""), ("†", src.split(" & ")[0]),
                     ("‡", src.split(" & ")[1]), ("+++", src)):
            parts.append(_rows("table3", d, "DNN", v, [6.0, 6.0], sources=s))
    for p in range(3):
        for v, base in (("stand-alone", 20.0), ("+++", 18.0)):
            parts.append(_rows("table4", "UJI", "DNN", v, [base + p, base + p], fraction=0.01,
                               partition=p, seed=p, n_train=199))
    return pd.concat(parts, ignore_index=True)


def test_table1_puts_the_papers_numbers_beside_ours(errors):
    t = report.table1(errors)
    uji = t[t["dataset"] == "UJI"].set_index("method")
    assert uji.loc["DNN", "paper_MAE"] == pytest.approx(14.04)
    assert uji.loc["DNN+++", "paper_p95"] == pytest.approx(34.08)
    assert uji.loc["bAaT++", "paper_MAE"] == pytest.approx(11.15)
    assert uji.loc["DNN+++", "MAE"] == pytest.approx(5.0)  # both seeds pooled
    assert uji.loc["DNN+++", "n_seeds"] == 2
    assert uji.loc["DNN+++", "gain_pct"] == pytest.approx(37.5)  # (8 - 5) / 8
    assert uji.loc["bAaT++", "gain_pct"] == pytest.approx(-10.0)
    assert np.isnan(uji.loc["kNN (k=3)", "paper_MAE"])
    assert uji["comparable"].all()
    # rows in the paper's order: models, then variants (stand-alone, *, **, +++), kNN last
    assert list(uji.index) == ["DNN", "DNN*", "DNN+++", "bAaT", "bAaT++", "kNN (k=3)"]


def test_the_stand_in_for_uts_is_never_comparable(errors):
    t = report.table1(errors)
    lib = t[t["dataset"] == "UJI-LIB"]
    assert set(lib["paper_dataset"]) == {"UTS"} and not lib["comparable"].any()
    assert lib.set_index("method").loc["DNN", "paper_MAE"] == pytest.approx(7.69)
    assert report.paper_dataset("UJI-LIB") == "UTS" and report.paper_dataset("UTS") == "UTS"
    assert "UJI-LIB" in report.NOT_COMPARABLE


def test_table2_flags_and_order(errors):
    t = report.table2(errors)
    uji = t[t["dataset"] == "UJI"].set_index("variant")
    assert list(uji.index) == ["stand-alone", "+", "*", "++", "°", "+++"]
    assert uji.loc["*", ["J_Sim", "J_MI", "J_FI"]].tolist() == [False, True, False]
    assert uji.loc["+++", ["J_Sim", "J_MI", "J_FI"]].tolist() == [True, True, True]
    assert uji.loc["°", "paper_MAE"] == pytest.approx(12.51)


def test_table3_names_both_pairs(errors):
    t = report.table3(errors)
    lib = t[t["dataset"] == "UJI-LIB"].set_index("variant")
    assert lib.loc["†", "sources"] == "UJI" and lib.loc["†", "paper_sources"] == "UJI"
    uji = t[t["dataset"] == "UJI"].set_index("variant")
    assert uji.loc["†", "sources"] == "UJI-LIB" and uji.loc["†", "paper_sources"] == "UTS"
    assert uji.loc["+++", "paper_MAE"] == pytest.approx(11.98)


def test_table4_is_mean_and_std_over_partitions(errors):
    t = report.table4(errors).set_index("variant")
    assert t.loc["stand-alone", "MAE_mean"] == pytest.approx(21.0)
    assert t.loc["stand-alone", "MAE_std"] == pytest.approx(1.0)  # 20, 21, 22 (ddof 1)
    assert t.loc["stand-alone", "n_partitions"] == 3
    assert t.loc["+++", "paper_MAE_mean"] == pytest.approx(36.36)
    assert t.loc["+++", "paper_MAE_std"] == pytest.approx(2.32)
    assert t.loc["+++", "paper_n_train"] == 199


def test_p_below_10m_averages_over_models(errors):
    p = report.p_below_10m(errors).set_index("dataset")
    # DNN: 4, 12 -> 0.5; bAaT: 10, 10 -> 0 (10 is not below 10 m); mean 0.25
    assert p.loc["UJI", "stand_alone"] == pytest.approx(0.25)
    assert p.loc["UJI", "enhanced"] == pytest.approx(0.5)  # DNN+++ 2, 8 -> 1; bAaT++ 11 -> 0
    assert p.loc["UJI", "paper_enhanced"] == pytest.approx(0.62)
    assert not p.loc["UJI-LIB", "comparable"]


def test_a_table_that_did_not_run_is_a_clear_error(errors):
    with pytest.raises(ValueError, match="no rows of 'table4'"):
        report.table4(errors[errors["table"] != "table4"])
    with pytest.raises(ValueError, match="table1"):
        report.table1(errors[errors["table"] != "table1"])


def test_figures_draw_every_target(errors):
    fig = plots.ecdf_figure(errors, caption="test")
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xlabel() == "positioning error [m]"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "DNN: 50%" in labels and "kNN (k=3): 100%" in labels
    assert len(plots.ablation_gains(report.table2(errors)).axes) == 2
    assert len(plots.partition_figure(report.table4(errors)).axes) == 1
    with pytest.raises(ValueError, match="Table 1"):
        plots.ecdf_figure(errors[errors["table"] != "table1"])


def test_paper_module_is_what_the_report_reads():
    assert set(paper.TABLE1["dataset"]) == {"UJI", "UTS", "Tampere"}
    assert {"MAE", "p75", "p95", "gain_pct"} <= set(paper.TABLE1.columns)


def test_knn_vs_networks_uses_the_fixed_k_and_the_papers_best(errors):
    t = report.knn_vs_networks(report.table1(errors), "k=3").set_index("dataset")
    assert t.loc["UJI", "kNN (k=3) MAE [m]"] == pytest.approx(2.0)  # errors 1 and 3
    assert t.loc["UJI", "our best network"] == "DNN+++"  # 5.0 m, below DNN 8, bAaT 10
    assert t.loc["UJI", "paper's best model"] == "BayesCNN+++"  # 10.79 m in Table 1
    assert t.loc["UJI", "its MAE in the paper [m]"] == pytest.approx(10.79)
    assert t.loc["UJI-LIB", "paper's column"] == "UTS"
    assert t.loc["UJI-LIB", "vs paper"] == report.NOT_COMPARABLE
    with pytest.raises(ValueError, match="no kNN"):
        report.knn_vs_networks(report.table1(errors), "k=7")


# --- do the constraints act? -------------------------------------------------------------------


def _curve_rows(dataset, variant, sources, *, mi_last, share_last, epochs=3, seed=0,
                fraction=1.0, n_teachers=2):
    """A distilling phase's tidy per-epoch record, as Results.curves holds it."""
    none = n_teachers * np.log(4)
    rows = []
    for e in range(1, epochs + 1):
        last = e == epochs
        values = {"J_MAE": 1.0 / e, "J_Sim": 0.5, "J_MI": mi_last if last else none,
                  "J_FI": 0.1}
        shares = share_last if last else {"J_MAE": 0.7, "J_Sim": 0.1, "J_MI": 0.1, "J_FI": 0.1}
        for k, v in values.items():
            rows.append({"metric": k, "value": v, "epoch": e})
        for k, v in shares.items():
            rows.append({"metric": f"share_{k}", "value": v, "epoch": e})
    out = pd.DataFrame(rows)
    return out.assign(run=f"r{dataset}{variant}{seed}{fraction}", model="DNN", dataset=dataset,
                      phase=f"distill {variant}", variant=variant, sources=sources, seed=seed,
                      fraction=fraction, partition=-1, J_MI_no_information=none)


SHARE = {"J_MAE": 0.97, "J_Sim": 0.02, "J_MI": 0.0005, "J_FI": 0.0095}


def test_constraint_summary_and_text_say_when_j_mi_finds_nothing():
    none = 2 * np.log(4)
    curves = pd.concat([
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none + 0.001, share_last=SHARE),
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none - 0.001, share_last=SHARE,
                    seed=1),
        # a Table 4 partition run is a row of its own, left out of the text
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=0.5, share_last=SHARE,
                    fraction=0.1),
    ], ignore_index=True)
    s = report.constraint_summary(curves)
    assert len(s) == 2
    full = s[s["fraction"] == 1.0].iloc[0]
    assert full["seeds"] == 2 and full["epochs"] == 3
    assert full["J_MI_last"] == pytest.approx(none)
    assert full["J_MI_gap"] == pytest.approx(0.0, abs=1e-9)
    assert full["constraints_share"] == pytest.approx(0.03)
    assert full["J_MAE_first"] == pytest.approx(1.0) and full["J_MAE_last"] == pytest.approx(1 / 3)
    text = report.constraint_text(s)
    assert "3.0–3.0 %" in text and "in 1 of 1 rows" in text and "found no dependence" in text


def test_constraint_text_names_the_rows_where_j_mi_found_information():
    none = 2 * np.log(4)
    curves = pd.concat([
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none - 0.4, share_last=SHARE),
        _curve_rows("UJI", "+++", "UJI-LIB & Tampere", mi_last=none, share_last=SHARE),
        # DNN's Table 2 ablation "++" is not its fully enhanced row: left out of the text
        _curve_rows("UJI", "++", "UJI-LIB & Tampere", mi_last=none - 1, share_last=SHARE),
    ], ignore_index=True)
    text = report.constraint_text(report.constraint_summary(curves))
    assert "in 1 of 2 rows" in text and "found some in DNN on Tampere" in text
    with pytest.raises(ValueError, match="empty"):
        report.constraint_summary(pd.DataFrame())


def test_constraint_figure_and_pairing_comparison():
    none = 2 * np.log(4)
    curves = pd.concat([
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none, share_last=SHARE),
        _curve_rows("Tampere", "+", "UJI & UJI-LIB", mi_last=none, share_last=SHARE),
    ], ignore_index=True)
    fig = plots.constraint_figure(curves, caption="test")
    left, right = fig.axes[:2]
    assert left.get_yscale() == right.get_yscale() == "log"
    assert any(abs(line.get_ydata()[0] - none) < 1e-12 for line in left.get_lines()
               if line.get_linestyle() == "--")  # J_MI's no-information line
    assert "[" in left.get_xlabel() and "[" in right.get_ylabel()
    # one legend below the panels (none inside them), naming every term and the 0 floor
    assert left.get_legend() is None and right.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:4] == ["J_MAE", "J_Sim", "J_MI", "J_FI"]
    assert "exactly 0 is drawn at 1e-08" in legend.get_title().get_text()
    with pytest.raises(ValueError, match="bAaT"):
        plots.constraint_figure(curves, model="bAaT")

    class _Res:
        def __init__(self, curves, mae):
            self.curves = curves
            self.errors = _rows("table1", "Tampere", "DNN", "+++", [mae, mae],
                                sources="UJI & UJI-LIB")

    other = _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none - 1.0, share_last=SHARE)
    table = report.pairing_comparison({"row": _Res(curves, 5.0), "nearest": _Res(other, 6.0)})
    assert list(table["pairing"]) == ["nearest", "row"]
    assert table.set_index("pairing").loc["nearest", "J_MI_gap"] == pytest.approx(1.0)
    assert table.set_index("pairing").loc["row", "MAE"] == pytest.approx(5.0)
    text = report.pairing_text(table)
    assert f"nearest: J_MI {none - 1.0:.3f} nats (N·ln 4 = {none:.3f})" in text
    assert "MAE 5.00 m" in text


# --- the chapter's claims (verdicts.record_claims) -------------------------------------------


class _Recorder:
    """Stands in for the chapter's ClaimSet: records each call as (method, artefact, quantity,
    and the interval or relation that decides it)."""

    def __init__(self):
        self.calls, self.defaults = [], {}

    def protocol_defaults(self, **fields):
        self.defaults.update(fields)

    def difference(self, artefact, quantity, statement, iv, **kw):
        self.calls.append(("difference", artefact, quantity, iv))

    def value(self, artefact, quantity, paper_value, ours, **kw):
        self.calls.append(("value", artefact, quantity, (paper_value, ours)))

    def relation(self, artefact, quantity, statement, holds, ours, **kw):
        self.calls.append(("relation", artefact, quantity, holds))

    def not_comparable(self, artefact, quantity, statement, ours, reason, **kw):
        self.calls.append(("not_comparable", artefact, quantity, reason))


def test_record_claims_judges_uji_and_sets_the_stand_in_apart(errors):
    from ipsbook.methods.mst import verdicts

    tables = {"table1": report.table1(errors), "table2": report.table2(errors),
              "table3": report.table3(errors), "table4": report.table4(errors)}
    rec = _Recorder()
    verdicts.record_claims(rec, errors, tables, report.p_below_10m(errors), profile="smoke",
                           seed=0, sensitivity="scaled down")
    assert {"data", "metric", "interval"} <= set(rec.defaults)
    by = {(c[0], c[1], c[2]): c[3] for c in rec.calls}
    # UJI: DNN+++ (errors 2, 8) against DNN (4, 12) by the paired interval, lower by 3 m
    iv = by[("difference", "Table 1", "UJI: DNN+++ vs DNN (MAE)")]
    assert iv.mean == pytest.approx(-3.0) and iv.hi < 0
    # bAaT++ (11, 11) is worse than bAaT (10, 10): the interval lies above zero
    assert by[("difference", "Table 1", "UJI: bAaT++ vs bAaT (MAE)")].lo > 0
    assert by[("value", "Table 1", "UJI: MAE of DNN+++")] == (pytest.approx(11.98), 5.0)
    # UJI-LIB stands in UTS's place: never judged
    assert all(c[0] == "not_comparable" for c in rec.calls if c[2].startswith("UJI-LIB"))
    assert any(c[2].startswith("UJI-LIB") for c in rec.calls)
    # models not run are listed as such; Table 4 is judged over the partitions
    assert ("not_comparable", "Table 1", "CNNLoc: its rows") in by
    t4 = [c for c in rec.calls if c[1] == "Table 4" and c[0] == "difference"]
    assert len(t4) == 1 and t4[0][3].mean == pytest.approx(-2.0)


def test_constraint_summary_takes_the_shares_of_the_last_diagnosed_epoch():
    none = 2 * np.log(4)
    c = _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none, share_last=SHARE)
    undiagnosed = (c["epoch"] == 3) & c["metric"].str.startswith("share_")
    c.loc[undiagnosed, "value"] = np.nan  # epoch 3 was not diagnosed
    row = report.constraint_summary(c).iloc[0]
    assert row["shares_epoch"] == 2 and row["epochs"] == 3
    assert row["share_J_MAE"] == pytest.approx(0.7) and row["constraints_share"] == pytest.approx(0.3)
    assert row["J_MI_last"] == pytest.approx(none)  # the values themselves: the last epoch


def test_constraint_curves_wide_keeps_every_value_in_a_row_per_run_and_epoch():
    none = 2 * np.log(4)
    c = pd.concat([
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none, share_last=SHARE),
        _curve_rows("Tampere", "+++", "UJI & UJI-LIB", mi_last=none - 1, share_last=SHARE, seed=1),
    ], ignore_index=True)
    c.loc[(c["epoch"] == 2) & c["metric"].str.startswith("share_"), "value"] = np.nan
    w = report.constraint_curves_wide(c)
    assert len(w) == 6 and w["run"].nunique() == 2
    assert list(w.columns[-8:]) == ["J_MAE", "J_Sim", "J_MI", "J_FI", "share_J_MAE",
                                    "share_J_Sim", "share_J_MI", "share_J_FI"]
    assert "metric" not in w.columns and "value" not in w.columns
    # back to long form: the same values, the undiagnosed epoch's shares still empty
    back = w.melt(id_vars=[k for k in w.columns if k in c.columns], var_name="metric")
    merged = c.merge(back, on=["run", "epoch", "metric"], suffixes=("", "_w"))
    assert len(merged) == len(c)
    assert np.allclose(merged["value"], merged["value_w"], equal_nan=True)
    row = w[(w["seed"] == 1) & (w["epoch"] == 3)].iloc[0]
    assert row["J_MI"] == pytest.approx(none - 1) and np.isnan(
        w[(w["seed"] == 1) & (w["epoch"] == 2)].iloc[0]["share_J_MI"])
    with pytest.raises(ValueError, match="empty"):
        report.constraint_curves_wide(pd.DataFrame())


def _three_seed_errors(per_seed_a, per_seed_b, n=40):
    """Table 1 rows of DNN on UJI: stand-alone (b) and +++ (a), seeds 0..k-1, each seed's test
    errors a constant offset plus the same fingerprint-to-fingerprint spread."""
    rng = np.random.default_rng(0)
    spread = rng.gamma(2.0, 3.0, n)
    parts = []
    for seed, (ma, mb) in enumerate(zip(per_seed_a, per_seed_b)):
        parts += [_rows("table1", "UJI", "DNN", "+++", spread + ma, sources="x", seed=seed),
                  _rows("table1", "UJI", "DNN", "stand-alone", spread + mb, seed=seed)]
    return pd.concat(parts, ignore_index=True)


def _claims_of(errors, others):
    """The claims on ``errors`` (Table 1) plus the fixture's other tables (``others``)."""
    from ipsbook.book.claims import ClaimSet
    from ipsbook.methods.mst import verdicts

    errors = pd.concat([errors, others[others["table"] != "table1"]], ignore_index=True)
    claims = ClaimSet(paper="C", chapter="mst", profile="full")
    tables = {"table1": report.table1(errors), "table2": report.table2(errors),
              "table3": report.table3(errors), "table4": report.table4(errors)}
    verdicts.record_claims(claims, errors, tables, report.p_below_10m(errors), profile="full",
                           seed=0, sensitivity=None)
    return {c.quantity: c for c in claims.claims if c.artefact == "Table 1"}


Q = "UJI: DNN+++ vs DNN (MAE)"


def test_ordering_with_seeds_is_decided_by_the_spread_between_seeds(errors):
    from ipsbook.book.claims import NOT_REPRODUCED, REPRODUCED

    # +++ lower on every seed by about 2 m: reproduced, by a t interval over the three seeds
    c = _claims_of(_three_seed_errors([5.0, 5.5, 4.5], [7.0, 7.6, 6.4]), errors)[Q]
    assert c.status == REPRODUCED and "over 3 seeds" in c.ours and "lower in 3 of 3" in c.ours, c
    # +++ lower on two seeds and higher on the third: the pooled fingerprints would favour +++
    # (lower by 1 m on average over 120 pairs), the seeds' spread does not -> unresolved
    c = _claims_of(_three_seed_errors([5.0, 5.0, 9.0], [7.0, 7.0, 8.0]), errors)[Q]
    assert c.status == NOT_REPRODUCED and c.reason.startswith("unresolved")
    assert "over 3 seeds" in c.ours
    # stand-alone better on every seed: not reproduced, the interval wholly above zero
    c = _claims_of(_three_seed_errors([8.0, 8.2, 7.8], [6.0, 6.1, 5.9]), errors)[Q]
    assert c.status == NOT_REPRODUCED and "over 3 seeds" in c.ours
    assert c.reason.startswith("the other one is better")


def test_ordering_on_one_seed_bootstraps_the_test_fingerprints(errors):
    from ipsbook.book.claims import REPRODUCED

    c = _claims_of(_three_seed_errors([5.0], [7.0]), errors)[Q]
    assert c.status == REPRODUCED and "bootstrap" in c.ours and "(seed 0)" in c.ours
    # a three-seed row against a one-seed row: compared on the shared seed, by the bootstrap
    # (pooled over its three seeds the stand-alone row is 3.3 m worse; on seed 0, 2 m)
    e = _three_seed_errors([5.0, 5.5, 4.5], [7.0, 9.0, 9.0])
    e = e[~((e["variant"] == "+++") & (e["seed"] > 0))]
    c = _claims_of(e, errors)[Q]
    assert "bootstrap" in c.ours and "(seed 0)" in c.ours
    ours_a, ours_b = (float(x) for x in re.findall(r"DNN\+* (\d+\.\d+)", c.ours)[:2])
    assert ours_b - ours_a == pytest.approx(2.0, abs=0.005)


def test_sensitivity_note_follows_the_profile_and_names_unconverged_models():
    from ipsbook.methods.mst.experiment import Settings

    tr = pd.DataFrame({"run": ["a", "b"], "kind": ["expert", "distill"], "model": ["DNN", "bAaT"],
                       "dataset": ["UJI", "Tampere"], "phase": ["stand-alone", "distill ++ <- x"],
                       "fraction": [1.0, 1.0], "epochs": [20, 60], "epochs_cap": [60, 60],
                       "best_epoch": [11, 59], "stopped": ["plateau", "cap"],
                       "still_improving": [False, True]})
    full = Settings.from_profile("full")
    assert report.sensitivity("paper", Settings.from_profile("paper"), tr, "n") is None
    assert "far from converged" in report.sensitivity("quick", Settings.from_profile("quick"),
                                                      tr, "n")
    text = report.sensitivity("full", full, tr, "n")
    assert "validation plateau" in text and text.endswith("still improving at the cap: bAaT on "
                                                          "Tampere")
    assert "still improving" not in report.sensitivity("full", full, tr.iloc[:1], "n")


def test_a_target_left_out_is_listed_as_not_run_in_every_table(errors):
    from ipsbook.methods.mst import verdicts

    tables = {"table1": report.table1(errors), "table2": report.table2(errors),
              "table3": report.table3(errors), "table4": report.table4(errors)}
    rec = _Recorder()
    verdicts.record_claims(rec, errors, tables, report.p_below_10m(errors), profile="full",
                           seed=0, sensitivity=None, columns=["UJI", "UJI-LIB", "Tampere"])
    left_out = [c for c in rec.calls if c[2] == "Tampere: every row (target not run)"]
    assert [c[1] for c in left_out] == ["Table 1", "Table 2", "Table 3", "Table 4"]
    assert all(c[0] == "not_comparable" and "targets leave it out" in c[3] for c in left_out)
    assert not any(c[2].startswith("UJI: every row") for c in rec.calls)  # UJI ran


def test_training_cost_text_does_not_scale_the_paper_estimate_by_an_early_stopped_run():
    from types import SimpleNamespace

    from ipsbook.methods.mst.experiment import Settings

    runs = pd.DataFrame({"wall_s": [30.0, 10.0], "estimated_s": [100.0, 100.0]})
    training = pd.DataFrame({"device": ["cpu", "cpu"]})
    paper_settings = Settings.from_profile("paper")
    fixed = SimpleNamespace(runs=runs, training=training, settings=Settings.from_profile("quick"))
    text = report.training_cost_text(fixed, paper_settings)
    assert "0.20× the estimate" in text and "scaled by the measured-to-estimated ratio" in text
    early = SimpleNamespace(runs=runs, training=training, settings=Settings.from_profile("full"))
    text = report.training_cost_text(early, paper_settings)
    assert "0.20× the estimate (the estimate counts every phase to its cap" in text
    assert "scaled by" not in text and "ratio is not applied" in text
    # the dearest model is named with its share, from the estimate itself
    from ipsbook.methods.mst.experiment import estimate
    by_model = estimate(paper_settings).groupby("model").seconds.sum() / 3600
    dearest = by_model.drop("knn", errors="ignore").idxmax()
    label = {"dnn": "DNN", "cnnloc": "CNNLoc", "bayescnn": "BayesCNN", "baat": "bAaT"}[dearest]
    assert f"({label} the dearest, {by_model[dearest]:,.0f} h of it)" in text

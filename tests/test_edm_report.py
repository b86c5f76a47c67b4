"""Paper B's chapter, the parts moved out of the notebook: the worked examples of
:mod:`ipsbook.methods.edm.experiment`, the tables, sentences and claims of ``report`` and the
figures of ``plots``."""

from dataclasses import replace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ipsbook import stats
from ipsbook.book.claims import NOT_COMPARABLE, NOT_REPRODUCED, REPRODUCED, ClaimSet
from ipsbook.methods.edm import experiment, plots, report
from ipsbook.radio import FTMModel

matplotlib.use("Agg")

SMALL = experiment.NetworkConfig(width_m=30, height_m=30, n_aps=8, n_walls=2,
                                 model=FTMModel(sigma_los=0.5))


def _labels_have_units(fig) -> None:
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert "[" in ax.get_xlabel() and "[" in ax.get_ylabel(), ax.get_title()


def test_triangle_example_flags_the_stretched_segment_and_tabulates_it():
    tt = experiment.triangle_example(tolerance=0.5)
    t = report.triangle_table(tt)
    assert list(t.columns) == ["segment", "measured", "predicted", "stretch", "flagged"]
    assert list(t.segment) == ["la", "lb", "lc"]
    lc = t.set_index("segment").loc["lc"]
    assert lc.stretch > 0.5 and lc.flagged  # l–c ×1.3 is measured longer than predicted
    exact = report.triangle_table(experiment.triangle_example(tolerance=0.5, stretch=1.0))
    assert np.allclose(exact.stretch, 0, atol=1e-9) and not exact.flagged.any()
    _labels_have_units(plots.triangle_test(tt))


def test_fig1_example_stretches_one_pair_and_ap0_ranges_asymmetrically():
    ex = experiment.fig1_example(seed=0)
    assert ex.pair == (1, 5) and ex.mds_errors.shape == ex.wsmacof_errors.shape == (8,)
    a = np.nan_to_num(ex.asymmetry)
    assert np.allclose(a, -a.T) and np.abs(a[0]).max() > 0.5  # the wall right beside AP 0
    assert ex.mds_errors.max() > 0.1 and ex.wsmacof_errors.max() > 0.1
    exact = experiment.fig1_example(seed=0, factor=1.0)  # nothing stretched: both exact
    assert exact.mds_errors.max() < 1e-6 and exact.wsmacof_errors.max() < 1e-3
    _labels_have_units(plots.fig1_asymmetry(ex))


def test_eigen_diagnostics_exact_is_rank_two_noise_adds_negative_mass():
    tab, spectra = experiment.eigen_diagnostics(SMALL, (0.0, 4.0), seed=1)
    assert list(tab.columns) == ["σ_LoS [m]", "negative eigenvalues", "negative mass",
                                 "rank (rel. 0.2)"]
    assert list(spectra) == [0.0, 4.0] and all(s[0] == 1.0 for s in spectra.values())
    by = tab.set_index("σ_LoS [m]")
    # σ = 0 still has walls (dilation), so not exactly Euclidean; noise must make it worse
    assert by.loc[4.0, "negative mass"] > by.loc[0.0, "negative mass"]
    _labels_have_units(plots.eigen_spectrum(spectra, "t"))


def test_wall_remover_examples_show_the_premise_with_its_planted_pair():
    base, prem, kb, ka = experiment.wall_remover_examples(
        SMALL, 2, 0, 0.25, wr_kw={"learning_rate": 0.05, "tolerance": 1.5, "seed": 0},
        wr_tolerance_sigma=3.0, planted_stretch=1.3)
    assert base.title == "2 walls" and base.planted is None
    assert prem.title.startswith("premise, plan ") and len(prem.plan.walls) == 0
    assert prem.planted is not None and prem.planted[0] < prem.planted[1]
    assert kb.shape == ka.shape and kb.size > 0
    assert ka.max() <= kb.max() + 1e-12  # contractions only shorten ranges
    _labels_have_units(plots.wall_remover((base, prem), kb, ka))


def test_iag_example_and_its_figure():
    X, res = experiment.iag_example({"variant": "mean", "seed": 0}, seed=0)
    assert X.shape == (6, 2) and res.X.shape == (6, 2) and res.iterations
    _labels_have_units(plots.iag_clusters(X, res))


def test_chapter_sweeps_names_every_sweep_and_reuses_the_plans():
    vals = {"sigma_los": (0.5,), "n_walls": (0, 4), "n_aps": (8,), "p_missing": (0.0,)}
    kw = {"wr_kw": {"seed": 0}, "iag_kw": {"seed": 0}, "wr_tolerance_sigma": 3.0}
    res = experiment.chapter_sweeps(SMALL, vals, 1, 0, planted_stretch=1.3, **kw)
    assert list(dict.fromkeys(res.sweep)) == [*experiment.SWEEPS, "n_walls_strong", "premise"]
    assert set(res.method) == set(experiment.METHODS)
    # the strong-wall sweep is the wall sweep of a model with stronger walls, same plans
    strong = experiment.sweep("n_walls", (0, 4), replace(
        SMALL, model=SMALL.model.replace(k_per_wall=0.2, wall_bias=0.5)), 1, 0, **kw)
    got = res[res.sweep == "n_walls_strong"].drop(columns="sweep").reset_index(drop=True)
    # (the concatenated value column holds every sweep's values, so its dtype is wider)
    pd.testing.assert_frame_equal(got, strong.drop(columns="sweep"), check_dtype=False)
    walls = res[res.sweep == "n_walls"]
    assert np.allclose(walls.nlos_share, got.nlos_share)  # same plans, same walls crossed
    prem = res[res.sweep == "premise"]
    assert (prem.nlos_share == 0).all()  # no walls in the premise
    summary = experiment.summarise(res)
    fig = plots.sweeps_rmse(summary, plots.sweep_labels(1.3))
    assert len(fig.axes) == 6
    _labels_have_units(fig)
    nb = report.not_best(summary)
    assert list(nb.columns) == ["sweep", "value", "method", "rmse_m"]
    assert "WR+IAG" not in set(nb.method)


def test_not_best_lists_the_points_the_method_loses():
    s = pd.DataFrame({"sweep": ["a"] * 4, "value": [1, 1, 2, 2],
                      "method": ["WR+IAG", "MDS", "WR+IAG", "MDS"],
                      "rmse_m": [1.0, 2.0, 3.0, 0.5]})
    nb = report.not_best(s)
    assert nb.to_dict("records") == [{"sweep": "a", "value": 2, "method": "MDS", "rmse_m": 0.5}]


def test_iag_variants_table_and_text():
    runs = pd.DataFrame({"plan": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                         "variant": ["mean", "combinations", "combinations", "sequential",
                                     "sequential"] * 2,
                         "target": ["reference", "reference", "latest", "reference",
                                    "latest"] * 2,
                         "rmse_m": [1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 2.0, 3.0, 4.0, 9.0],
                         "max_hops": [0, 1, 5, 1, 5, 0, 1, 7, 1, 7]})
    t = report.iag_variants(runs)
    assert list(t.columns) == ["variant", "target", "rmse_m", "max_hops"]
    assert list(zip(t.variant, t.target)) == [("mean", "reference"),
                                              ("combinations", "reference"),
                                              ("combinations", "latest"),
                                              ("sequential", "reference"),
                                              ("sequential", "latest")]
    assert t.rmse_m.tolist() == [2.0, 2.0, 3.0, 4.0, 7.0]
    its = pd.DataFrame({"plan": 0, "variant": "sequential", "target": "latest",
                        "hops": [0, 1, 2, 3, 9], "iteration_error_m": [0.5, 1.0, 2.0, 4.0, 40.0]})
    bins = experiment.hop_bins(its)
    text = report.iag_variants_text(t, bins, 2)
    assert "'mean' 2.00 m" in text and "'sequential' 7.00 m" in text
    assert "1.0 m off at 1 hop" in text and "40 m at its worst (8+ hops)" in text
    _labels_have_units(plots.iag_drift(bins, "t"))
    short = report.iag_variants_text(t, bins.iloc[:0], 2)  # no chain to describe
    assert short.endswith("'sequential' 7.00 m.")


def _results(contracted: bool, shrink: float) -> pd.DataFrame:
    """Synthetic sweep results of one wall sweep, 6 plans at walls 0 and 10: WR+IAG beats
    every other method by 1 m, the Wall Remover contracts (or not) and scales var(k) and the
    stretched ranges' excess by ``shrink``."""
    rows = []
    rng = np.random.default_rng(0)
    for value in (0, 10):
        for p in range(6):
            base = 1.0 + value / 10 + 0.1 * rng.random()
            per_plan = {"sweep": "n_walls", "value": value, "plan": p,
                        "wr_contractions": 2.0 * contracted, "wr_ranges": 1.0 * contracted,
                        "wr_tp": 2.0 * contracted, "wr_fp": 0.0,
                        "k_var_before": 0.01 + 0.001 * p, "stretch_before_m": 1.0 + 0.1 * p}
            per_plan["k_var_after"] = per_plan["k_var_before"] * shrink
            per_plan["stretch_after_m"] = per_plan["stretch_before_m"] * shrink
            for m in experiment.METHODS:
                r = base + (0.0 if m == "WR+IAG" else 1.0 + 0.01 * p) + (value / 5) * (m == "MDS")
                rows.append({**per_plan, "method": m, "rmse_m": r})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("contracted", [True, False])
def test_regime_claims_judge_the_wall_remover_only_where_it_acted(contracted):
    C = ClaimSet(paper="B", chapter="ftm", profile="smoke")
    res = _results(contracted, shrink=0.5 if contracted else 1.0)
    acted, counts = report._wr_gate(experiment.wr_counts(res), "n_walls")
    assert acted == ((0, 10) if contracted else ())
    ver = report._regime_claims(C, res, "n_walls", "fitted walls", acted, counts, "data",
                                (0, 10), 6)
    got = {c.quantity.split(" (")[0]: c.status for c in C.claims}
    assert got.pop("RMSE growth from 0 to 10 walls, MDS vs weighted SMACOF") == REPRODUCED
    assert got.pop("WR+IAG vs the best of MDS / SMACOF / weighted SMACOF at every wall "
                   "count > 0") == REPRODUCED
    wr_claims = set(got.values())
    assert len(got) == 5  # var(k), tp − fp, excess, WR+IAG vs IAG, WR+MDS vs MDS
    if contracted:
        # var(k) and the excess halve, every contraction is a true positive, WR+IAG beats IAG
        # at both points; WR+MDS equals MDS at 0 walls (unresolved), so not at every point
        acted_where = "at every point where the Wall Remover acted"
        assert got == {
            "variance of k = measured/true before → after the Wall Remover": REPRODUCED,
            "true minus false positive contractions per plan": REPRODUCED,
            "excess of the really stretched ranges after − before the Wall Remover": REPRODUCED,
            f"WR+IAG vs IAG {acted_where}": REPRODUCED,
            f"WR+MDS vs MDS {acted_where}": NOT_REPRODUCED}
        assert set(ver.B) == {"MDS", "SMACOF", "wSMACOF", "IAG"}
    else:
        assert wr_claims == {NOT_COMPARABLE}
        assert all("contracted nothing" in c.reason for c in C.claims
                   if c.status == NOT_COMPARABLE)
        assert set(ver.B) == {"MDS", "SMACOF", "wSMACOF"}


def test_regime_claims_do_not_reproduce_when_the_wall_remover_makes_things_worse():
    C = ClaimSet(paper="B", chapter="ftm", profile="smoke")
    res = _results(True, shrink=1.5)  # var(k) and the excess grow by half
    acted, counts = report._wr_gate(experiment.wr_counts(res), "n_walls")
    report._regime_claims(C, res, "n_walls", "fitted walls", acted, counts, "data", (0, 10), 6)
    by = {c.quantity.split(" (")[0]: c.status for c in C.claims}
    assert by["variance of k = measured/true before → after the Wall Remover"] == NOT_REPRODUCED
    assert by["excess of the really stretched ranges after − before the Wall Remover"] \
        == NOT_REPRODUCED


def test_wall_remover_text_explains_idle_plans_only_when_there_are_some():
    res = _results(True, 0.5).assign(sweep="premise", stretched_tests=10.0,
                                     stretched_flagged=0.5)
    busy = report.wall_remover_text(res)
    assert "acted in 12 of 12 plans, with 24 true and 0 false" in busy
    assert "where it did nothing" not in busy
    idle = report.wall_remover_text(res.assign(wr_contractions=0.0))
    assert "In the 12 plans where it did nothing" in idle and "flagged by 50%" in idle


def test_record_claims_records_every_claim_once_and_returns_the_point_verdicts():
    C = ClaimSet(paper="B", chapter="ftm", profile="smoke")
    one = _results(True, 0.5)
    res = pd.concat([one.assign(sweep=s) for s in ("n_walls", "n_walls_strong", "n_aps",
                                                   "premise")], ignore_index=True)
    iag_runs = pd.DataFrame({"plan": np.repeat(np.arange(4), 3),
                             "variant": ["mean", "combinations", "sequential"] * 4,
                             "target": "reference",
                             "rmse_m": [1.0, 2.0, 3.0, 1.1, 2.2, 3.1, 0.9, 2.1, 3.3, 1.0, 1.9, 3.0]})
    rng = np.random.default_rng(1)
    errs = pd.DataFrame({m: rng.uniform(1, 2, 30) + (m != "WR+IAG") for m in experiment.METHODS})
    points = report.record_claims(
        C, fig1=pd.DataFrame({"x": range(5)}), fig1_interval=stats.mean_interval(
            np.array([-0.3, -0.2, -0.25]), "monte-carlo"), results=res, iag_runs=iag_runs,
        real_errors={"scene A": errs}, real_contractions={"scene A": 0},
        values={"n_walls": (0, 10), "n_aps": (0, 10), "sigma_los": (0, 10)}, n_plans=6,
        n_aps=8, n_walls=2, width_m=30.0, planted_stretch=1.3, seed=0)
    # Fig. 1; per wall sweep growth, 3 effects, completion, 2 WR+; n_aps: 3 effects and 2 WR+;
    # premise: 3 effects, completion, 2 WR+; 2 IAG variants; 1 real scene
    assert len(C.claims) == 1 + 2 * 7 + 5 + 6 + 2 + 1
    assert len({c.id for c in C.claims}) == len(C.claims)
    assert list(points) == ["n_walls", "n_walls_strong", "n_aps", "premise"]
    assert set(points["n_aps"].B) == {"IAG", "MDS"}  # no completion claim on the size sweep
    by = {c.quantity: c.status for c in C.claims}
    assert by["AP position RMSE, 'combinations' − 'mean' alignment"] == NOT_REPRODUCED
    assert by["phone RMSE, WR+IAG vs best completion, scene A"] == REPRODUCED

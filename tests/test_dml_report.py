"""Paper A's chapter pieces (ipsbook.methods.dml.report, .plots) on tiny inputs: the tables
have the right rows and columns, the pairs are the ones the notebook drew, and the claims take
the branch their rule says (both ways)."""

from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from ipsbook.book import claims
from ipsbook.methods.dml import plots, report
from ipsbook.methods.dml.meta import MetaMetric
from ipsbook.methods.dml.scenarios import Scenario
from ipsbook.stats import Interval


def cs() -> claims.ClaimSet:
    return claims.ClaimSet("A", "dml", "smoke")


def _study() -> pd.DataFrame:
    """Three metrics × two representations × two scenarios, with known means."""
    rows = []
    values = {("cosine", "raw"): (0.5, 0.7), ("cosine", "powed"): (0.6, 0.8),
              ("euclidean", "raw"): (0.2, 0.3), ("euclidean", "powed"): (0.1, 0.1),
              ("jaccard", "raw"): (0.4, 0.4), ("jaccard", "powed"): (0.3, 0.9)}
    for (m, r), (a, b) in values.items():
        for sc, v in (("s1", a), ("s2", b)):
            rows.append({"metric": m, "representation": r, "scenario": sc, "spearman": v,
                         "pearson": -v})
    return pd.DataFrame(rows)


def test_rank_metrics_keeps_each_metric_at_its_best_representation_best_first():
    ranked, best_rep = report.rank_metrics(_study(), "spearman")
    assert list(ranked.columns) == ["rank", "metric", "representation", "spearman", "min",
                                    "max", "std"]
    assert list(ranked.metric) == ["cosine", "jaccard", "euclidean"]
    assert list(ranked["rank"]) == [1, 2, 3]
    assert best_rep.to_dict() == {"cosine": "powed", "euclidean": "raw", "jaccard": "powed"}
    row = ranked.iloc[1]  # jaccard at powed: 0.3 and 0.9
    assert (row["spearman"], row["min"], row["max"]) == pytest.approx((0.6, 0.3, 0.9))
    # the other correlation ranks by its own values
    assert report.rank_metrics(_study(), "pearson")[0].metric.iloc[0] == "euclidean"
    with pytest.raises(ValueError, match="correlation='kendall'"):
        report.rank_metrics(_study(), "kendall")


def test_heatmap_frame_is_metric_by_scenario_in_rank_order_with_the_optimal_row():
    study = _study()
    ranked, best_rep = report.rank_metrics(study, "spearman")
    heat = plots.study1_heatmap_frame(study, ranked, best_rep, "spearman")
    assert list(heat.index) == ["cosine", "jaccard", "euclidean", "optimal"]
    assert list(heat.columns) == ["s1", "s2"]
    assert heat.loc["jaccard"].tolist() == pytest.approx([0.3, 0.9])
    assert heat.loc["optimal"].tolist() == [1.0, 1.0]
    fig = plots.study1_heatmap(study, ranked, best_rep, "spearman")
    ax = fig.axes[0]
    assert "scenario" in ax.get_xlabel() and "[–]" in ax.get_ylabel()
    plt.close(fig)


def test_study2_figure_has_one_bar_pair_per_scenario():
    tab = pd.DataFrame({"scenario": ["a", "b", "c"], "best single metric": [0.5, 0.6, 0.7],
                        "meta-metric": [0.55, 0.5, 0.75]})
    fig = plots.study2_generalisation(tab, "pearson")
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert ax.get_ylabel() == "pearson correlation [–]"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    plt.close(fig)


def _scenario(name, dataset, granularity, n=40, seed=0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 30, (n, 2))
    aps = rng.uniform(0, 30, (6, 2))
    d = np.linalg.norm(pos[:, None] - aps[None], axis=2)
    rss = -40 - 2.0 * d + rng.normal(0, 1, d.shape)
    rss[rss < -95] = 100.0  # not heard
    rss[:, 0] = np.minimum(rss[:, 0], -60.0)  # every fingerprint hears one AP at least
    return Scenario(name, dataset, granularity, rss, pos, np.zeros(n, int), np.zeros(n, int),
                    min_rss=-100.0)


METRICS = ["euclidean", "cosine", "manhattan"]


def _scenarios():
    return [_scenario("uji/floor 0", "ujiindoorloc", "floor", seed=1),
            _scenario("uji/building 0", "ujiindoorloc", "building", seed=2),
            _scenario("tut3/whole", "tut3", "whole", seed=3),
            _scenario("lib/floor 3", "ujilib", "floor", seed=4)]


def test_gp_training_set_uses_the_uji_floor_scenarios_only():
    scs = _scenarios()
    F, y, g = report.gp_training_set(scs, METRICS, "positive", 60, seed=0)
    assert F.shape == (60, 3) and y.shape == (60,) and set(g) == {"uji/floor 0"}
    F2, y2, _ = report.gp_training_set(scs, METRICS, "positive", 60, seed=0)
    np.testing.assert_array_equal(F, F2)  # seeded: the same pairs
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="no UJIIndoorLoc floor scenario"):
        report.gp_training_set(scs[2:], METRICS, "positive", 60, seed=0)


def test_generalisation_table_and_pairs():
    scs = _scenarios()
    mm = MetaMetric(program=(1,), feature_names=tuple(METRICS), scales=(1.0, 1.0, 1.0))
    tab, unseen = report.generalisation(scs, mm, METRICS, "positive", 50, 1, "spearman")
    # UJIIndoorLoc's non-floor scenarios are skipped; the GP's own floors are flagged seen
    assert list(tab.scenario) == ["uji/floor 0", "tut3/whole", "lib/floor 3"]
    assert list(tab["seen in training"]) == [True, False, False]
    assert list(tab.columns) == ["scenario", "dataset", "seen in training", "meta-metric",
                                 "best single metric", "best single metric name", "optimal"]
    assert [u[0] for u in unseen] == ["tut3/whole", "lib/floor 3"]
    for (name, meta_d, best_d, y), (_, row) in zip(unseen, tab.iloc[1:].iterrows()):
        F, y2 = report.pair_sample(next(s for s in scs if s.name == name), METRICS,
                                   "positive", 50, 1)
        np.testing.assert_array_equal(y, y2)
        k = METRICS.index(row["best single metric name"])
        np.testing.assert_array_equal(best_d, F[:, k])
        single = [spearmanr(F[:, j], y).statistic for j in range(3)]
        assert row["best single metric"] == pytest.approx(max(single))
        assert row["meta-metric"] == pytest.approx(spearmanr(meta_d, y).statistic)
    ivs = report.generalisation_intervals(unseen, correlation="spearman", n_boot=200, seed=0)
    assert set(ivs) == {"vs best single", "vs midpoint"}
    assert ivs["vs best single"].n == sum(len(u[3]) for u in unseen)
    with pytest.raises(ValueError, match="unseen_pairs is empty"):
        report.generalisation_intervals([], correlation="spearman", n_boot=200, seed=0)


def test_meta_metric_note_says_when_one_metric_only():
    one = MetaMetric(program=(1,), feature_names=tuple(METRICS), scales=(1.0, 1.0, 1.0))
    assert "uses **one** existing metric only (`cosine`)" in report.meta_metric_note(one, "raw")
    two = MetaMetric(program=("add", 0, 1), feature_names=tuple(METRICS),
                     scales=(1.0, 1.0, 1.0))
    assert "one** existing" not in report.meta_metric_note(two, "raw")


class _Split(NamedTuple):
    rss: np.ndarray
    positions: np.ndarray
    floor: np.ndarray
    building: np.ndarray | None


def test_heard_only_positions_3d_and_reference_points():
    rss = np.array([[-50.0, 100.0], [100.0, 100.0], [100.0, -70.0]])
    split = _Split(rss, np.array([[0.2, 0.1], [5.0, 5.0], [0.4, -0.3]]), np.array([0, 1, 0]),
                   None)
    kept = report.heard_only(split)
    assert isinstance(kept, _Split) and kept.building is None
    np.testing.assert_array_equal(kept.floor, [0, 0])  # the row hearing nothing is gone
    P = report.positions_3d(kept, 4.0)
    np.testing.assert_array_equal(P, [[0.2, 0.1, 0.0], [0.4, -0.3, 0.0]])
    groups = report.reference_points(np.array([[0.2, 0.1, 0.0], [0.4, -0.3, 0.0],
                                               [0.4, -0.3, 4.0], [3.0, 0.0, 0.0]]))
    assert groups[0] == groups[1] and len(set(groups)) == 3  # same 1 m cell, same floor


def test_study3_columns_put_the_best_classical_first(monkeypatch):
    monkeypatch.setattr(report.train, "embed", lambda model, X: X * model)
    classical = pd.DataFrame({"metric": ["cosine", "euclidean"],
                              "representation": ["powed", "raw"]})
    d = {("cosine", "powed"): np.array([1.0, 2.0]), ("euclidean", "raw"): np.array([3.0, 4.0]),
         ("jaccard", "raw"): np.array([5.0, 6.0])}
    X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    i, j = np.array([0, 1]), np.array([1, 2])
    cols, base = report.study3_columns(classical, d, ("jaccard", "raw"), {"emb": 2.0}, X, i, j)
    assert base == "best classical on these pairs: cosine (powed)"
    assert list(cols) == [base, "Study 1's best: jaccard (raw)",
                          "Euclidean on RSS (raw) [extra]", "emb"]
    np.testing.assert_allclose(cols["emb"], [10.0, 10.0])
    same, _ = report.study3_columns(classical, d, ("cosine", "powed"), {}, X, i, j)
    assert list(same) == [base, "Euclidean on RSS (raw) [extra]"]  # Study 1's best is the base


def test_positioning_set_subsamples_queries_and_ranks_at_k():
    rng = np.random.default_rng(0)
    tr = _Split(rng.uniform(-90, -40, (50, 6)), rng.uniform(0, 20, (50, 2)),
                rng.integers(0, 2, 50), None)
    te = _Split(rng.uniform(-90, -40, (30, 6)), rng.uniform(0, 20, (30, 2)),
                rng.integers(0, 2, 30), None)
    methods = {"euclidean": {"metric": "euclidean", "representation": "raw"},
               "manhattan": {"metric": "manhattan", "representation": "raw"}}
    t, ranks, ivs = report.positioning_set(tr, te, methods, k=3, knn_queries=12, seed=0,
                                           n_boot=200)
    assert set(t.method) == {"euclidean", "manhattan", "scikit-learn kNN (raw, −110 dBm)"}
    assert sorted(t[t.method == "euclidean"].k) == [1, 3, 5]
    assert list(ranks.method) == ["euclidean", "manhattan"]
    assert set(ivs) == {("euclidean", "manhattan"), ("manhattan", "euclidean")}
    assert ivs[("euclidean", "manhattan")].n == 12  # the subsample of queries
    t_all, _, ivs_all = report.positioning_set(tr, te, methods, k=3, knn_queries=None, seed=0,
                                               n_boot=200)
    assert ivs_all[("euclidean", "manhattan")].n == 30
    assert not t_all.equals(t)


def _ranked(cos_rank, best=0.6, spread=0.3):
    metrics = ["a", "b", "c", "d"]
    metrics.insert(cos_rank - 1, "cosine")
    vals = np.linspace(best, best - spread, len(metrics))
    return pd.DataFrame({"rank": np.arange(1, 6), "metric": metrics, "representation": "raw",
                         "spearman": vals, "min": vals - 0.1, "max": vals + 0.1, "std": 0.05})


@pytest.mark.parametrize("cos_rank, best, spread, expected", [
    (2, 0.6, 0.3, [True, True, True]),
    (4, 0.6, 0.3, [True, False, True]),  # cosine not in the top 3
    (1, 0.85, 0.05, [False, True, False]),  # metrics alike, and one close to optimal
])
def test_study1_claims_both_ways(cos_rank, best, spread, expected):
    c = cs()
    report.study1_claims(c, _ranked(cos_rank, best, spread), correlation="spearman",
                         n_scenarios=5, granularities=("floor",), max_pairs=100)
    assert [x.status == claims.REPRODUCED for x in c.claims] == expected
    assert all(x.artefact == "Study 1" and x.protocol["rule"] for x in c.claims)


def _gp_tab():
    return pd.DataFrame({"scenario": ["uji", "tut"], "seen in training": [True, False],
                         "meta-metric": [0.7, 0.6], "best single metric": [0.65, 0.55]})


def test_study2_claims_not_comparable_for_one_metric_and_intervals_otherwise():
    one = MetaMetric(program=(1,), feature_names=tuple(METRICS), scales=(1.0, 1.0, 1.0))
    c = cs()
    report.study2_claims(c, _gp_tab(), {}, one, correlation="spearman", n_train_pairs=10,
                         max_pairs=5)
    assert [x.status for x in c.claims] == [claims.NOT_COMPARABLE] * 2
    assert "cosine" in c.claims[0].reason
    combo = MetaMetric(program=("add", 0, 1), feature_names=tuple(METRICS),
                       scales=(1.0, 1.0, 1.0))
    c = cs()
    ivs = {"vs best single": Interval(0.05, 0.02, 0.08, 100, "bootstrap"),
           "vs midpoint": Interval(-0.1, -0.2, 0.01, 100, "bootstrap")}
    report.study2_claims(c, _gp_tab(), ivs, combo, correlation="spearman", n_train_pairs=10,
                         max_pairs=5)
    assert [x.status for x in c.claims] == [claims.REPRODUCED, claims.NOT_REPRODUCED]


def _ranks(meta_rank):
    rows = []
    for ts in ("A", "B"):
        rows.append({"test_set": ts, "method": "meta-metric", "rank": meta_rank[ts],
                     "tied_with": "cosine", "better_than_it": ""})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("meta_rank, holds", [({"A": 1, "B": 2}, True),
                                               ({"A": 1, "B": 3}, False)])
def test_positioning_claim_needs_rank_two_or_better_on_every_test_set(meta_rank, holds):
    combo = MetaMetric(program=("add", 0, 1), feature_names=tuple(METRICS),
                       scales=(1.0, 1.0, 1.0))
    iv = Interval(0.1, -0.2, 0.3, 50, "bootstrap")
    c = cs()
    report.positioning_claim(c, _ranks(meta_rank), {"A": {("meta-metric", "x"): iv}}, combo,
                             test_sets=["A", "B"], k=3, knn_queries=50, merc=1.3)
    (claim,) = c.claims
    assert (claim.status == claims.REPRODUCED) is holds
    assert "A: rank 1, tied with cosine" in claim.ours
    assert "A: meta − x" in claim.protocol["interval"]


def test_study3_claims_compare_log_ratio_with_the_better_triplet_and_the_base():
    corr = {"base": 0.5, "Euclidean on RSS (raw) [extra]": 0.3, "log-ratio": 0.6,
            "triplet @ 3 m": 0.4, "triplet @ 10 m": 0.55}
    up = Interval(0.05, 0.01, 0.09, 100, "bootstrap")
    flat = Interval(0.0, -0.02, 0.02, 100, "bootstrap")
    c = cs()
    report.study3_claims(c, corr, {("log-ratio", "triplet @ 10 m"): up, ("log-ratio", "base"):
                                   flat}, "base", n_train=10, n_pairs=20, floor_height=4.0)
    assert [x.status for x in c.claims] == [claims.REPRODUCED, claims.NOT_REPRODUCED]
    assert "triplet @ 10 m: 0.550" in c.claims[0].protocol["baseline"]
    with pytest.raises(ValueError, match="no triplet"):
        report.study3_claims(cs(), {"log-ratio": 0.6}, {}, "base", n_train=1, n_pairs=1,
                             floor_height=4.0)

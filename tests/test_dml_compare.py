"""Paper A's intervals and tie-aware ranks (ipsbook.methods.dml.compare), and the chapter's
rules fed inputs that must give "reproduced" and inputs that must not."""

import numpy as np
import pytest
from scipy.stats import pearsonr, rankdata, spearmanr

from ipsbook.book import claims
from ipsbook.methods.dml import compare
from ipsbook.methods.dml.meta import MetaMetric


def cs() -> claims.ClaimSet:
    return claims.ClaimSet("A", "dml", "smoke")


@pytest.mark.parametrize("ties", [True, False])
def test_weighted_ranks_are_the_ranks_of_the_resampled_multiset(ties):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 15, 60).astype(float) if ties else rng.random(60)
    W = rng.integers(0, 4, (5, 60))
    R = compare.weighted_ranks(x, W)
    for b in range(5):
        np.testing.assert_allclose(np.repeat(R[b], W[b]), rankdata(np.repeat(x, W[b])))
    np.testing.assert_allclose(compare.weighted_ranks(x, np.ones(60)), rankdata(x))
    with pytest.raises(ValueError, match="60 columns"):
        compare.weighted_ranks(x, np.ones((2, 5)))


def _pairs(n=3000, noise_a=0.3, noise_b=0.6, seed=0):
    rng = np.random.default_rng(seed)
    t = np.round(rng.random(n) * 50)  # physical distances with ties, as reference points give
    return t, t + rng.normal(0, 50 * noise_a, n), t + rng.normal(0, 50 * noise_b, n)


def test_point_estimates_are_scipy_correlations_and_resampling_is_seeded():
    t, a, b = _pairs()
    labels, point, boot = compare.bootstrap_correlations(np.column_stack([a, b]), t,
                                                         n_boot=200, seed=3)
    assert list(labels) == [0] and boot.shape == (200, 1, 2)
    assert point[0, 0] == pytest.approx(spearmanr(a, t).statistic, abs=1e-12)
    assert point[0, 1] == pytest.approx(spearmanr(b, t).statistic, abs=1e-12)
    _, _p2, boot2 = compare.bootstrap_correlations(np.column_stack([a, b]), t, n_boot=200, seed=3)
    np.testing.assert_array_equal(boot, boot2)
    _, pp, _ = compare.bootstrap_correlations(a, t, kind="pearson", n_boot=100)
    assert pp[0, 0] == pytest.approx(pearsonr(a, t).statistic, abs=1e-12)
    with pytest.raises(ValueError, match="kind='kendall'"):
        compare.bootstrap_correlations(a, t, kind="kendall")
    with pytest.raises(ValueError, match="n_boot=10"):
        compare.bootstrap_correlations(a, t, n_boot=10)


def test_grouped_correlations_are_the_mean_over_scenarios():
    t1, a1, b1 = _pairs(800, seed=1)
    t2, a2, b2 = _pairs(500, noise_a=0.1, seed=2)
    g = np.r_[np.zeros(800), np.ones(500)]
    iv = compare.correlation_difference(np.r_[a1, a2], np.r_[b1, b2], np.r_[t1, t2], groups=g,
                                        n_boot=200)
    want = np.mean([spearmanr(a1, t1).statistic - spearmanr(b1, t1).statistic,
                    spearmanr(a2, t2).statistic - spearmanr(b2, t2).statistic])
    assert iv.mean == pytest.approx(want, abs=1e-12) and iv.n == 1300
    assert iv.lo <= iv.mean <= iv.hi


@pytest.mark.parametrize("noise_a, noise_b, expected, why", [
    (0.2, 0.6, claims.REPRODUCED, ""),                       # A clearly better
    (0.6, 0.2, claims.NOT_REPRODUCED, "the other one is better"),
    (0.4, None, claims.NOT_REPRODUCED, "unresolved"),         # B = A: no difference
])
def test_correlation_difference_rule_both_ways(noise_a, noise_b, expected, why):
    t, a, b = _pairs(2000, noise_a=noise_a, noise_b=noise_b or noise_a)
    if noise_b is None:
        b = a.copy()
    iv = compare.correlation_difference(a, b, t, n_boot=300)
    c = cs().difference("Study 3", "log-ratio vs best classical", "A beats B", iv,
                        better="higher")
    assert c.status == expected and why in c.reason


def test_midpoint_rule_can_fail():
    """Study 2's "still not optimal": rho_meta - (rho_best + 1)/2 wholly below 0."""
    t, near_best, best = _pairs(2000, noise_a=0.55, noise_b=0.6)
    _, point, boot = compare.bootstrap_correlations(np.column_stack([near_best, best]), t,
                                                    n_boot=300)
    iv = compare.contrast_interval(point, boot, (1.0, -0.5), const=-0.5, n_items=len(t))
    assert iv.mean == pytest.approx(point[0, 0] - (point[0, 1] + 1) / 2)
    assert cs().difference("S2", "gap", "not optimal", iv, better="lower").status == \
        claims.REPRODUCED
    # a meta-metric almost exactly right closes most of the gap: not reproduced
    _, point, boot = compare.bootstrap_correlations(
        np.column_stack([t + np.random.default_rng(5).normal(0, 0.5, len(t)), best]), t,
        n_boot=300)
    iv = compare.contrast_interval(point, boot, (1.0, -0.5), const=-0.5, n_items=len(t))
    c = cs().difference("S2", "gap", "not optimal", iv, better="lower")
    assert c.status == claims.NOT_REPRODUCED and "other one is better" in c.reason


def test_correlation_table_pairs_every_method_with_the_baseline():
    t, a, b = _pairs(1500)
    tab, ivs = compare.correlation_table({"base": a, "emb": b, "same": a}, t, against="base",
                                         n_boot=200)
    assert list(tab.method) == ["base", "emb", "same"]
    assert tab.loc[1, "Δ vs base"] == pytest.approx(ivs[("emb", "base")].mean)
    assert ivs[("same", "base")].side() == 0  # a method against itself: a tie
    assert ivs[("base", "emb")].mean == pytest.approx(-ivs[("emb", "base")].mean)
    with pytest.raises(ValueError, match="against='nope'"):
        compare.correlation_table({"a": a, "b": b}, t, against="nope")


def test_tie_aware_ranks_share_a_rank_when_the_interval_contains_zero():
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 4.0, 400)
    errs = {
        "A": base,
        "A twin": base + 1e-12 * rng.standard_normal(400),  # float noise: the same neighbours
        "C": base + rng.normal(0, 3, 400),                   # no systematic difference
        "D": base + 5.0 + rng.normal(0, 1, 400),             # clearly worse
    }
    tab, ivs = compare.tie_aware_ranks(errs, n_boot=1000)
    r = dict(zip(tab.method, tab["rank"]))
    assert r["A"] == r["A twin"] == r["C"] == 1 and r["D"] == 4
    assert ivs[("A twin", "A")].lo == ivs[("A twin", "A")].hi == 0.0  # exact tie within atol
    assert "A, A twin, C" == tab.set_index("method").loc["D", "better_than_it"]
    with pytest.raises(ValueError, match="same items"):
        compare.tie_aware_ranks({"a": base, "b": base[:10]})
    with pytest.raises(ValueError, match="better='less'"):
        compare.tie_aware_ranks(errs, better="less")


def test_knn_rank_rule_both_ways():
    """"Meta-metric among the best two": rank <= 2 under tie-aware ranks."""
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 4.0, 300)
    tied = {"euclid": base + 0.1 + rng.normal(0, 2, 300), "cosine": base, "meta": base,
            "dml": base + 6}
    r = compare.tie_aware_ranks(tied, n_boot=500)[0].set_index("method")["rank"]
    assert r["meta"] <= 2  # reproduced
    worse = {"euclid": base, "cosine": base + 0.5 + rng.normal(0, 0.2, 300),
             "meta": base + 4 + rng.normal(0, 0.5, 300), "dml": base + 8}
    r = compare.tie_aware_ranks(worse, n_boot=500)[0].set_index("method")["rank"]
    assert r["meta"] == 3  # two distances significantly better: not reproduced


@pytest.mark.parametrize("program, single", [
    ((1,), "cosine"),
    (("neg", 1), "cosine"),
    (("mul", 1, 2.5), "cosine"),
    (("add", 1, "log", 1), "cosine"),
    (("add", 0, 1), None),
    (("add", 0.5, 1.5), None),  # a constant: no metric at all
])
def test_single_metric_is_detected_from_the_expression(program, single):
    mm = MetaMetric(program=program, feature_names=("euclidean", "cosine"), scales=(1.0, 1.0))
    assert mm.single_metric == single


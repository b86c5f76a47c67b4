"""Every kind of verdict rule, fed values that must give "reproduced" and values that must not
(a rule that cannot fail decides nothing), and the intervals behind them (ipsbook.stats)."""

from __future__ import annotations

import numpy as np
import pytest

from ipsbook import stats
from ipsbook.book import claims, scorecard


def cs() -> claims.ClaimSet:
    return claims.ClaimSet("D", "bfp", "quick")


def test_value_rule_passes_inside_and_fails_outside_its_tolerance():
    assert cs().value("T", "x", 2.0, 2.5, abs_tol=0.5).status == claims.REPRODUCED
    assert cs().value("T", "x", 2.0, 2.51, abs_tol=0.5).status == claims.NOT_REPRODUCED
    assert cs().value("T", "x", 10.0, 11.0, rel_tol=0.1).status == claims.REPRODUCED
    assert cs().value("T", "x", 10.0, 8.9, rel_tol=0.1).status == claims.NOT_REPRODUCED
    assert cs().value("T", "x", 1.0, float("nan"), abs_tol=9).status == claims.NOT_REPRODUCED


def test_relation_rule_follows_its_test():
    assert cs().relation("T", "x", "a < b", True, "1 < 2").status == claims.REPRODUCED
    c = cs().relation("T", "x", "a < b", False, "3 > 2", why_not="a is larger")
    assert (c.status, c.reason) == (claims.NOT_REPRODUCED, "a is larger")


@pytest.mark.parametrize("diffs, better, expected, why", [
    ([-0.5, -0.4, -0.6, -0.45, -0.55], "lower", claims.REPRODUCED, ""),
    ([0.5, 0.4, 0.6, 0.45, 0.55], "lower", claims.NOT_REPRODUCED, "the other one is better"),
    ([-0.5, 0.4, -0.1, 0.3, -0.2], "lower", claims.NOT_REPRODUCED, "unresolved"),
    ([0.5, 0.4, 0.6, 0.45, 0.55], "higher", claims.REPRODUCED, ""),
    ([-0.3], "lower", claims.NOT_COMPARABLE, "one repeat only"),
])
def test_difference_rule_is_decided_by_the_interval(diffs, better, expected, why):
    iv = stats.mean_interval(diffs, "seeds")
    c = cs().difference("Fig. 5a", "A − B", "A beats B", iv, better=better, unit="m")
    assert c.status == expected and why in c.reason
    assert c.protocol["interval"].startswith("mean ") and "over " in c.protocol["interval"]


def test_difference_rule_margin_must_be_cleared():
    iv = stats.mean_interval([-0.10, -0.12, -0.11, -0.09], "seeds")
    assert cs().difference("T", "d", "s", iv, margin=0.05).status == claims.REPRODUCED
    short = cs().difference("T", "d", "s", iv, margin=0.2, unit="m")
    assert short.status == claims.NOT_REPRODUCED
    assert "better, but" in short.reason and "-0.2 m" in short.reason  # not "contains 0"
    assert short.protocol["rule"].endswith("wholly below -0.2 m")
    worse = stats.mean_interval([0.10, 0.12, 0.11, 0.09], "seeds")
    assert "other one is better" in cs().difference("T", "d", "s", worse, margin=0.2).reason
    mixed = stats.mean_interval([-0.3, 0.2, -0.1, 0.1], "seeds")
    assert "unresolved" in cs().difference("T", "d", "s", mixed, margin=0.2).reason
    with pytest.raises(ValueError, match="better='less'"):
        cs().difference("T", "d", "s", iv, better="less")


def test_facts_are_listed_but_not_counted():
    c = cs()
    c.fact("Sect. 7", "map size", "BFP map is smaller", True, "8 B vs 64 B")
    c.relation("Fig. 3a", "x", "holds", True, "yes")
    page = scorecard.scorecard_markdown(c.to_frame(), "quick")
    assert "1 claims from 1 chapter(s)" in page and "1 arithmetic fact(s)" in page
    assert c.claims[0].status == claims.FACT and c.claims[0].criterion == "arithmetic"


def test_protocol_fields_are_checked_and_shown():
    c = cs()
    c.relation("Fig. 3a", "OCD vs FCD", "OCD ≤ FCD", True, "yes",
               protocol={"source": "Fig. 3a, 'OCD performs better'", "data": "simulated"})
    with pytest.raises(ValueError, match="unknown field"):
        claims.Claim("D", "bfp", "T", "q", "p", "o", "c", "quick", claims.REPRODUCED,
                     protocol={"sauce": "x"})
    page = scorecard.scorecard_markdown(c.to_frame(), "quick")
    assert "## How each claim is judged" in page
    assert "| Fig. 3a: OCD vs FCD | Fig. 3a, 'OCD performs better' | simulated |" in page


def test_intervals_cover_the_mean_and_shrink_with_n():
    rng = np.random.default_rng(0)
    small = stats.mean_interval(rng.normal(1, 1, 10), "monte-carlo")
    large = stats.mean_interval(rng.normal(1, 1, 1000), "monte-carlo")
    assert small.lo < small.mean < small.hi and large.hi - large.lo < small.hi - small.lo
    boot = stats.mean_interval(rng.normal(1, 1, 500), "bootstrap", seed=3)
    assert boot.lo < boot.mean < boot.hi and boot.n == 500
    with pytest.raises(ValueError, match="method='bayes'"):
        stats.mean_interval([1, 2], "bayes")
    with pytest.raises(ValueError, match="paired"):
        stats.paired_difference([1, 2], [1], "seeds")


def boot_values():
    return np.random.default_rng(0).normal(1, 1, 500)


def test_bootstrap_is_seeded():
    x = boot_values()
    assert stats.mean_interval(x, "bootstrap", seed=1) == stats.mean_interval(x, "bootstrap", seed=1)


def test_protocol_defaults_apply_to_later_claims_and_yield_to_their_own():
    c = cs()
    c.protocol_defaults(data="simulated, 4×4", metric="RMSE [m]")
    a = c.relation("T", "x", "s", True, "o", protocol={"metric": "p75 [m]", "source": "Fig. 1"})
    assert a.protocol == {"data": "simulated, 4×4", "metric": "p75 [m]", "source": "Fig. 1",
                          "rule": "relation"}
    with pytest.raises(ValueError, match="unknown field"):
        c.protocol_defaults(datta="x")


def test_paired_bootstrap_of_a_percentile_resolves_a_real_shift_only():
    rng = np.random.default_rng(1)
    b = rng.exponential(5.0, 800)
    shifted = stats.paired_bootstrap(b * 0.7, b, statistic="p75")
    assert shifted.hi < 0 and shifted.n == 800
    noise = stats.paired_bootstrap(b + rng.normal(0, 0.01, 800), b, statistic="p75")
    assert noise.lo < 0 < noise.hi or abs(noise.mean) < 0.05
    assert stats.paired_bootstrap(b * 0.7, b).hi < 0  # the mean
    with pytest.raises(ValueError, match="statistic='median'"):
        stats.paired_bootstrap(b, b, statistic="median")


def test_verdicts_list_every_claim_without_eliding():
    c = cs()
    for i in range(80):
        c.relation("T", f"x{i}", "s", i % 2 == 0, f"v{i}")
    text = c.verdicts()
    assert len(text.splitlines()) == 80 and "not reproduced" in text.splitlines()[1]

"""The Monte-Carlo driver of the FTM chapter (paper B): sweeps, scoring, failures as results."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ipsbook.methods.edm import edm, experiment
from ipsbook.radio import FTMModel


def test_every_method_is_exact_on_an_exact_complete_matrix():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 30, (12, 2))
    rows, stats = experiment.evaluate(edm(X), X, seed=0)
    by = {r["method"]: r for r in rows}
    assert set(by) == set(experiment.METHODS)
    for m, r in by.items():
        # scikit-learn's SMACOF stops at its own default tolerance, a few centimetres short
        tol = 0.1 if m == "SMACOF" else 1e-3
        assert r["error"] == "" and r["rmse_m"] < tol, (m, r)
    assert stats["k_var_before"] == pytest.approx(0, abs=1e-12)
    assert stats["wr_contractions"] == 0


def test_a_method_that_cannot_run_is_recorded_not_raised():
    X = np.array([[0, 0], [1, 0], [0, 1], [10, 10], [11, 10], [10, 11]], float)
    D = edm(X)
    D[:3, 3:] = D[3:, :3] = np.nan  # two disconnected triangles: nothing can join them
    rows, _ = experiment.evaluate(D, X, methods=("MDS", "wSMACOF"), seed=0)
    assert all(np.isnan(r["rmse_m"]) and r["error"] for r in rows)


def test_sweep_uses_the_same_plans_and_summarises():
    base = experiment.NetworkConfig(width_m=30, height_m=30, n_aps=8, n_walls=2,
                                    model=FTMModel(sigma_los=0.5))
    kw = {"methods": ("MDS", "wSMACOF"), "progress": False}
    a = experiment.sweep("sigma_los", (0.0, 1.0), base, 2, seed=3, **kw)
    b = experiment.sweep("sigma_los", (0.0, 1.0), base, 2, seed=3, **kw)
    assert a.equals(b)  # deterministic
    # same floor plans at every value: the NLoS share depends on the plan, not on σ
    assert np.allclose(a[a.value == 0.0].nlos_share.to_numpy(), a[a.value == 1.0].nlos_share)
    s = experiment.summarise(a)
    assert len(s) == 2 * 2 and (s.ci_low_m <= s.rmse_m).all() and (s.failed == 0).all()
    t = experiment.sweep("n_walls", (0,), base, 1, wr_tolerance_sigma=3.0,
                         methods=("WR+MDS",), progress=False)
    assert t.k_var_after.notna().all()


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="sweep variable 'colour' is not known"):
        experiment.NetworkConfig().with_value("colour", 1)
    with pytest.raises(ValueError, match="method='LSQ' is not known"):
        experiment.solve("LSQ", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="needs anchors"):
        experiment.solve("TRI", edm(np.eye(3)))
    with pytest.raises(ValueError, match="n_plans=0"):
        experiment.sweep("n_aps", (5,), experiment.NetworkConfig(), 0, progress=False)


# --------------------------------------------------------------------------------------------
# The Wall Remover's premise, ground truth and counts


def _premise(seed=0, factor=1.3, sigma=0.0):
    cfg = experiment.NetworkConfig(width_m=50, height_m=50, n_aps=16, n_walls=0,
                                   model=FTMModel(sigma_los=sigma, p_missing=0.0,
                                                  max_range=100.0),
                                   planted_stretch=factor)
    return cfg, experiment.simulate_network(cfg, np.random.default_rng([seed, 0]))


def test_planted_stretch_is_one_interior_range_and_the_ground_truth_knows_it():
    cfg, (_, X, r) = _premise()
    st = experiment.stretched_pairs(r, cfg.model)
    pairs = np.argwhere(np.triu(st, 1))
    assert len(pairs) == 1  # no walls: only the planted range is stretched
    i, j = pairs[0]
    assert r.D[i, j] == pytest.approx(1.3 * r.D_true[i, j]) and r.D[j, i] == r.D[i, j]
    assert r.k[i, j] == pytest.approx(1.3)
    assert experiment.excess_stretch(r, cfg.model)[i, j] == pytest.approx(0.3 * r.D_true[i, j])
    interior = {tuple(p) for p in experiment.interior_pairs(X, ~np.isnan(r.D), 8)}
    assert (i, j) in interior
    # the same plan without the plant: the same positions, nothing stretched
    _, X0, r0 = experiment.simulate_network(replace(cfg, planted_stretch=1.0),
                                            np.random.default_rng([0, 0]))
    assert np.array_equal(X0, X) and not experiment.stretched_pairs(r0, cfg.model).any()


def test_walls_are_ground_truth_stretches():
    cfg = experiment.NetworkConfig(width_m=30, height_m=30, n_aps=10, n_walls=6,
                                   model=FTMModel(sigma_los=0.5))
    _, _, r = experiment.simulate_network(cfg, np.random.default_rng(1))
    st = experiment.stretched_pairs(r, cfg.model)
    assert np.array_equal(st, r.walls > 0) and st.any()
    flat = replace(cfg, model=cfg.model.replace(k_per_wall=0.0, wall_bias=0.0))
    _, _, r0 = experiment.simulate_network(flat, np.random.default_rng(1))
    assert (r0.walls > 0).any()
    assert not experiment.stretched_pairs(r0, flat.model).any()  # walls that stretch nothing


@pytest.mark.parametrize("bad", [0.9, float("nan"), True, "1.3"])
def test_planted_stretch_is_checked(bad):
    with pytest.raises(ValueError, match="planted_stretch"):
        experiment.NetworkConfig(planted_stretch=bad)
    with pytest.raises(ValueError, match="planted_min_tests"):
        experiment.NetworkConfig(planted_min_tests=0)


def test_contractions_are_counted_as_true_and_false_positives():
    for seed in range(6):  # a layout where the Wall Remover acts on the exact premise
        cfg, (_, X, r) = _premise(seed)
        truth = experiment.stretched_pairs(r, cfg.model)
        _, s = experiment.evaluate(r.D, X, methods=("WR+IAG",), wr_kw={"tolerance": 0.1},
                                   stretched=truth)
        if s["wr_contractions"] > 0:
            break
    else:
        pytest.fail("the Wall Remover never acted on the planted range")
    assert s["wr_tp"] == s["wr_contractions"] > 0 and s["wr_fp"] == 0
    assert s["wr_ranges"] == 1 and s["n_stretched"] == 1
    assert s["stretch_after_m"] < s["stretch_before_m"] and s["stretched_tests"] > 0
    assert s["k_var_after"] < s["k_var_before"]
    # the same contractions against a ground truth that says another range was stretched
    wrong = np.zeros_like(truth)
    i, j = np.argwhere(np.triu(~truth, 1))[0]
    wrong[i, j] = wrong[j, i] = True
    _, s2 = experiment.evaluate(r.D, X, methods=("WR+IAG",), wr_kw={"tolerance": 0.1},
                                stretched=wrong)
    assert s2["wr_tp"] == 0 and s2["wr_fp"] == s["wr_contractions"]
    with pytest.raises(ValueError, match="stretched has shape"):
        experiment.evaluate(r.D, X, methods=("WR+IAG",), stretched=np.zeros((3, 3), bool))


def _results(diff_a_b, n=10, seed=0, sweep="s", value=1.0, extra=None):
    """Constructed per-plan results: method B's RMSE around 2 m, A = B + diff + noise."""
    rng = np.random.default_rng(seed)
    b = 2.0 + rng.normal(0, 0.3, n)
    a = b + diff_a_b + rng.normal(0, 0.05, n)
    rows = []
    for p in range(n):
        base = {"sweep": sweep, "value": value, "plan": p, **(extra or {})}
        rows += [{**base, "method": "A", "rmse_m": a[p]}, {**base, "method": "B", "rmse_m": b[p]}]
    return pd.DataFrame(rows)


def test_paired_verdicts_go_both_ways_and_count_points():
    res = pd.concat([_results(-0.5, value=1.0), _results(+0.5, value=2.0),
                     _results(0.0, value=3.0, seed=4)], ignore_index=True)
    v = experiment.point_verdicts(res, "s", "A", ("B",))
    assert list(v.verdict) == ["A better", "B better", "unresolved"]
    assert (v.ci_low_m <= v.mean_diff_m).all() and (v.n_plans == 10).all()
    assert experiment.verdict_counts(v) == {"points": 3, "won": 1, "lost": 1, "unresolved": 1}
    one = experiment.point_verdicts(_results(-0.5, n=1), "s", "A", ("B",))
    assert list(one.verdict) == ["one plan"]
    # failed plans (NaN) are left out of the pairing
    res.loc[(res.plan == 0) & (res.method == "A"), "rmse_m"] = np.nan
    assert experiment.paired_interval(res, "A", "B", sweep="s", value=1.0).n == 9
    with pytest.raises(ValueError, match="method 'C' is not in the results"):
        experiment.paired_interval(res, "A", "C", sweep="s", value=1.0)
    with pytest.raises(ValueError, match="no results for sweep='t'"):
        experiment.paired_interval(res, "A", "B", sweep="t")


def test_claims_from_paired_intervals_reproduce_or_not():
    from ipsbook.book.claims import NOT_REPRODUCED, REPRODUCED, ClaimSet

    C = ClaimSet(paper="B", chapter="ftm", profile="smoke")
    for diff, want in ((-0.5, REPRODUCED), (+0.5, NOT_REPRODUCED), (0.0, NOT_REPRODUCED)):
        iv = experiment.paired_interval(_results(diff, seed=4), "A", "B")
        assert C.difference("x", f"A vs B {diff}", "A beats B", iv, unit="m").status == want


def test_growth_interval_tells_which_error_grows_faster():
    lo = pd.concat([_results(0.0, value=0, seed=1)], ignore_index=True)
    hi = _results(0.0, value=30, seed=1)
    hi.loc[hi.method == "B", "rmse_m"] *= 3.0  # B triples from 0 to 30, A stays
    res = pd.concat([lo, hi], ignore_index=True)
    iv, fac = experiment.growth_interval(res, "s", "A", "B", 0, 30)
    assert iv.side() == -1 and fac["B"] == pytest.approx(3.0, rel=1e-6)
    iv2, _ = experiment.growth_interval(res, "s", "B", "A", 0, 30)
    assert iv2.side() == 1


def test_wr_counts_and_the_points_where_it_acted():
    stats0 = {"wr_contractions": 0.0, "wr_ranges": 0.0, "wr_tp": 0.0, "wr_fp": 0.0,
              "k_var_before": 0.01, "k_var_after": 0.01}
    stats1 = {"wr_contractions": 3.0, "wr_ranges": 1.0, "wr_tp": 2.0, "wr_fp": 1.0,
              "k_var_before": 0.01, "k_var_after": 0.005}
    res = pd.concat([_results(0.0, value=1.0, extra=stats0),
                     _results(0.0, value=2.0, n=4, extra=stats1)], ignore_index=True)
    c = experiment.wr_counts(res)
    assert list(c.plans) == [10, 4] and list(c.plans_acted) == [0, 4]
    assert list(c.contractions) == [0, 12] and list(c.tp) == [0, 8] and list(c.fp) == [0, 4]
    assert experiment.acted_values(c, "s") == (2.0,)
    assert experiment.per_plan_stat(res, "s", (2.0,), "k_var_after").tolist() == [0.005] * 4
    with pytest.raises(ValueError, match="results lack"):
        experiment.wr_counts(_results(0.0))


def test_premise_sweep_counts_contractions_against_the_planted_range():
    cfg, _ = _premise()
    res = experiment.sweep("sigma_los", (0.05,), cfg, 3, seed=0, methods=("IAG", "WR+IAG"),
                           wr_tolerance_sigma=3.0, progress=False)
    c = experiment.wr_counts(res)
    assert {"tp", "fp", "stretch_before_m", "stretched_tests"} <= set(c.columns)
    assert int(c.tp.iloc[0]) + int(c.fp.iloc[0]) == int(c.contractions.iloc[0])
    assert (res.drop_duplicates("plan").n_stretched == 1).all()


def test_fig1_spread_mds_spreads_more_than_weighted_smacof():
    f = experiment.fig1_spread(12, seed=0)
    assert len(f) == 12 and f.equals(experiment.fig1_spread(12, seed=0))
    assert (f.i < f.j).all() and f.mds_share_off_pair.between(0, 1).all()
    assert f.mds_other_m.mean() > f.wsmacof_other_m.mean()
    with pytest.raises(ValueError, match="n_realisations=0"):
        experiment.fig1_spread(0)
    with pytest.raises(ValueError, match="factor=1.0"):
        experiment.fig1_spread(3, factor=1.0)


def test_iag_variant_study_and_hop_bins():
    cfg = experiment.NetworkConfig(width_m=40, height_m=40, n_aps=10, n_walls=0,
                                   model=FTMModel(sigma_los=0.5))
    runs, its = experiment.iag_variant_study(cfg, 1, seed=0, progress=False)
    assert len(runs) == 5  # mean once, the chained variants with both targets
    hops = runs.set_index(["variant", "target"]).max_hops
    assert hops[("sequential", "latest")] > hops[("sequential", "reference")]
    b = experiment.hop_bins(its)
    assert set(b.hops_from) <= {0} | {2**k for k in range(12)}
    assert (b.iterations > 0).all()
    with pytest.raises(ValueError, match="n_plans=0"):
        experiment.iag_variant_study(cfg, 0, progress=False)


def test_real_errors_per_node():
    X = np.random.default_rng(2).uniform(0, 20, (9, 2))
    D = edm(X)
    is_ap = np.zeros(9, bool)
    is_ap[:4] = True
    D[4:, 4:] = np.nan  # phone <-> phone missing, as in the real networks
    np.fill_diagonal(D, 0.0)
    errs, notes, n_contr = experiment.real_errors(D, X, is_ap, methods=("wSMACOF", "TRI"))
    assert errs.shape == (5, 2) and notes == "" and n_contr == 0
    assert np.nanmax(errs.to_numpy()) < 1e-3

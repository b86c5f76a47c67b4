"""The tables and claims of the BFP chapter (methods.bfp_report) on constructed and tiny inputs."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ipsbook.book import claims
from ipsbook.methods import bfp
from ipsbook.methods import bfp_report as report

REGIMES = ("default", "ideal")
SIGMAS, DELTAS = (0.0, 2.0, 4.0), (0.0, 2.0, 4.0)


def test_map_agreement_counts_points_and_border_area():
    real = SimpleNamespace(real_bits=np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8))
    ideal = np.array([[1, 0], [0, 0], [1, 1]], dtype=np.uint8)
    t = report.map_agreement({"default": real}, ideal, {"default": np.array([True, False, False])})
    assert list(t.columns) == ["regime", "points whose real code equals the designed one",
                               "share of the area within 1 m of a real border"]
    assert t.iloc[0, 1] == pytest.approx(2 / 3) and t.iloc[0, 2] == pytest.approx(1 / 3)


def test_border_error_table_splits_the_error_at_the_borders():
    near = {"ideal": np.array([True, True, False, False])}
    t = report.border_error_table({("ideal", 0.0): np.array([1.0, 2.0, 3.0, 4.0]),
                                   ("ideal", 2.0): np.array([2.0, 2.0, 2.0, 2.0])}, near)
    assert list(t["Δ [dB]"]) == [0.0, 2.0] and len(t) == 2
    row = t.iloc[0]
    assert row["mean error near borders [m]"] == pytest.approx(1.5)
    assert row["mean error elsewhere [m]"] == pytest.approx(3.5)
    assert row["share of squared error near borders"] == pytest.approx(5 / 30)
    assert t.iloc[1]["share of squared error near borders"] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def tiny():
    """A two-regime, two-layout study small enough for a unit test (8 m square, 3 runs)."""
    sc = bfp.Scenario(side_m=8.0, rho_m=0.5, test_step_m=0.5)
    scenarios = {"default": sc, "ideal": sc.ideal()}
    sim = pd.concat([bfp.simulate(scenarios[r], lay, SIGMAS, DELTAS, 3, 0, progress=False)
                     for r in REGIMES for lay in ("2x2", "4x4")], ignore_index=True)
    rmse = bfp.rmse_table(sim, ["regime", "layout", "method", "design", "sigma_w_db",
                                "delta_db"], n_boot=50)
    sides = (4.0, 8.0)
    by_side = pd.concat([bfp.simulate(scenarios[r].with_side(s), "4x4", (2.0,), (0.0, 2.0), 3, 0,
                                      progress=False) for r in REGIMES for s in sides],
                        ignore_index=True)
    lay2 = bfp.make_layout("2x2", 8.0)
    reals = {r: bfp.realise(scenarios[r], lay2, np.random.default_rng(5)) for r in REGIMES}
    draws = {(r, d): bfp.error_draws(reals[r], 2.0, d, "OCD", 2, 0)
             for r in REGIMES for d in (0.0, 2.0)}
    near = {r: bfp.distance_to_real_border(reals[r]) <= 1.0 for r in REGIMES}
    foot = pd.DataFrame([bfp.footprint(sc, lay) for lay in ("2x2", "4x4")])
    fits = report.optimal_delta_fits(sim, REGIMES, seed=0)
    return SimpleNamespace(sim=sim, rmse=rmse, fits=fits, by_side=by_side, sides=sides,
                           draws=draws, near=near, foot=foot, reals=reals, scenario=sc)


def _study(t, deltas=DELTAS):
    return report.Study(sim=t.sim, rmse=t.rmse, fits=t.fits, by_side=t.by_side, sides=t.sides,
                        draws=t.draws, near_border=t.near, footprint=t.foot, deltas=deltas,
                        sigma_w=2.0, delta=2.0, side_m=8.0, test_step_m=0.5, n_mc=3, n_noise=2)


def test_tables_of_the_monte_carlo_study(tiny):
    erased = report.neutral_share(tiny.sim)
    assert list(erased.index) == list(DELTAS)
    assert set(erased.columns) == {(r, lay) for r in REGIMES for lay in ("2x2", "4x4")}
    assert (erased.loc[0.0] == 0).all() and (erased.loc[4.0] > 0).all()

    t5a = report.rmse_vs_sigma_table(tiny.rmse, 2.0)
    assert set(t5a.layout) == {"4x4"} and set(t5a.method) == {"FP", "FP-grid", "BFP"}
    assert set(t5a[t5a.method == "BFP"].delta_db) == {0.0, 2.0}
    n_fp = ((tiny.rmse.layout == "4x4") & (tiny.rmse.method != "BFP")).sum()
    assert (t5a.method != "BFP").sum() == n_fp

    best = report.best_delta_by_sigma(bfp.best_delta(tiny.rmse))
    assert list(best.index) == list(SIGMAS) and best.shape[1] == 2 * 2 * 2
    assert best.isin(DELTAS).all().all()


def test_fit_table_has_one_row_per_regime_layout_and_design(tiny):
    assert list(tiny.fits) == [(r, lay, g) for r in REGIMES for lay in ("2x2", "4x4")
                               for g in bfp.DESIGNS]
    t = report.fit_table(tiny.fits)
    assert list(t.columns) == ["regime", "layout", "design", "Δ* [dB] at σ_W = 0, 2, 4 dB",
                               "a [dB]", "b", "b 95% low", "b 95% high", "edge"]
    assert len(t) == 8 and (t["b 95% low"] <= t["b 95% high"]).all()
    first = tiny.fits[("default", "2x2", "FCD")]
    assert t.iloc[0, 3] == " ".join(f"{d:g}" for d in first.delta_star)


def test_claims_come_in_the_chapter_order_with_every_regime_labelled(tiny):
    cs = claims.ClaimSet("D", "bfp", "smoke")
    report.record_claims(cs, _study(tiny), REGIMES)
    per_regime = ["Fig. 5a", "Fig. 5a", "Figs. 3a, 5a", "Fig. 5a", "Fig. 5a", "Fig. 3a",
                  "Fig. 3a", "Fig. 3a", "Fig. 5b", "Fig. 3b"]
    assert [c.artefact for c in cs.claims] == per_regime * 2 + [
        "Sect. 1, 7 (not measured in the paper)"]
    for k, r in enumerate(REGIMES):
        assert all(c.quantity.endswith(f"{r} regime") for c in cs.claims[10 * k:10 * (k + 1)])
    fact = cs.claims[-1]
    assert fact.status == claims.FACT and fact.reason == "" and fact.ours.startswith("128 B vs 384 B")
    assert "square of side 8 m" in cs.claims[0].protocol["data"]
    assert "the same radio map in each" in cs.claims[10].protocol["data"]


def test_claims_without_delta_2_are_not_comparable(tiny):
    cs = claims.ClaimSet("D", "bfp", "smoke")
    report.record_claims(cs, _study(tiny, deltas=(0.0, 4.0)), ("ideal",))
    first, second = cs.claims[:2]
    assert first.status == second.status == claims.NOT_COMPARABLE
    assert "Δ = 2 dB is not in this run's Δ sweep" in first.reason


def test_query_timings_time_every_test_point_once_per_layout(tiny):
    t = report.query_timings(tiny.scenario, tiny.reals["default"], 2.0, 2.0, seed=0)
    assert list(t.layout) == ["2x2", "4x4"]
    assert (t.queries == tiny.scenario.test_grid.size).all()
    assert (t.drop(columns=["layout", "queries"]) > 0).all().all()


def test_profile_note_names_the_sweeps():
    note = report.profile_note("smoke", 2, 0.5, (0.0, 2.5), (0.0, 2.0))
    assert note.startswith("**Profile: `smoke`** — 2 Monte-Carlo realisations per point")
    assert "σ_W ∈ {0, 2.5} dB" in note and "Δ ∈ {0, 2} dB" in note

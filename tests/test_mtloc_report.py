"""The MTLoc chapter's tables and claims (methods/mtloc/report.py) on synthetic results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipsbook.book.claims import NOT_COMPARABLE, ClaimSet
from ipsbook.methods.mtloc import report
from ipsbook.methods.mtloc.transfer import NO_POSITION

D = "a→b, walked"
RATES = (0.0, 0.125, 0.625, 1.0)


def _collected(lstm_factor: float, n_seeds: int = 5, mtloc_factor: float = 0.2) -> report.Collected:
    """Five seeds; fine-tuned 100 % clearly best, scratch worst; the pre-trained LSTM errs
    ``lstm_factor`` times the mean-position predictor on its validation windows, and MTLoc
    fine-tuned on 100 % ``mtloc_factor`` times the target's mean training position."""
    rng = np.random.default_rng(0)
    base = {("scratch", 1.0): 6.0, ("transfer", 0.0): 5.0, ("finetune", 0.125): 4.5,
            ("finetune", 0.625): 3.2, ("finetune", 1.0): 3.0}
    rows, wipe, pre = [], [], []
    for seed in range(n_seeds):
        for (m, r), mu in base.items():
            e = np.abs(rng.normal(mu, 0.3, 50))
            rows.append(pd.DataFrame({"direction": D, "seed": seed, "model": m, "rate": r,
                                      "split": "test", "error_m": e,
                                      "dist_m": rng.uniform(0, 30, 50)}))
        for m, mu in (("transfer", 6.0), ("finetune", 3.5), ("scratch", 6.5)):
            for mod, extra in (("wifi", 2.0), ("imu", 0.5), ("mag", 1.0)):
                wipe.append(pd.DataFrame({"direction": D, "seed": seed, "model": m,
                                          "modality": mod, "error_m": np.abs(
                                              rng.normal(mu + extra, 0.3, 50)),
                                          "dist_m": rng.uniform(0, 30, 50)}))
        e_const = rng.uniform(10, 30, 60)
        for m, e in (("mean-position", e_const),
                     ("finetune", mtloc_factor * e_const + np.abs(rng.normal(0, 0.3, 60)))):
            rows.append(pd.DataFrame({"direction": D, "seed": seed, "model": m, "rate": 1.0,
                                      "split": "validation", "error_m": e,
                                      "dist_m": rng.uniform(0, 30, 60)}))
        e_mean = rng.uniform(10, 30, 400)
        pre.append(pd.DataFrame({"direction": D, "seed": seed,
                                 "group": [f"{seed}|{i // 100}" for i in range(400)],
                                 "lstm_m": lstm_factor * e_mean + rng.normal(0, 0.5, 400),
                                 "mean_position_m": e_mean}))
    empty = pd.DataFrame()
    return report.Collected(pd.concat(rows, ignore_index=True), empty,
                            pd.concat(wipe, ignore_index=True), empty,
                            pd.DataFrame({"direction": [D]}), empty,
                            pd.concat(pre, ignore_index=True), [D])


def _claims(c: report.Collected) -> ClaimSet:
    cs = ClaimSet(paper="E", chapter="mtloc", profile="quick")
    report.record_claims(cs, c, report.gates(c), rates=RATES, wipe_rate=0.625, wipe_at=0.4,
                         sens=None, scale_note="test data")
    return cs


TRANSFER_CLAIMS = ("62.5% fine-tuned vs trained from scratch", "from scratch vs 0%",
                   "40% of each modality wiped, averaged")


def test_gate_fails_for_an_lstm_no_better_than_the_mean() -> None:
    c = _collected(lstm_factor=1.0)
    assert not report.gates(c)[D].passed
    cs = _claims(c)
    for key in TRANSFER_CLAIMS:
        (claim,) = [x for x in cs.claims if key in x.quantity]
        assert claim.status == NOT_COMPARABLE
        assert NO_POSITION in claim.reason
    # a claim about the rates, not about transfer, is still judged
    (rates,) = [x for x in cs.claims if "every other fine-tuning rate" in x.quantity]
    assert rates.status != NOT_COMPARABLE


def test_gate_passes_and_transfer_claims_are_judged() -> None:
    c = _collected(lstm_factor=0.5)
    assert report.gates(c)[D].passed
    cs = _claims(c)
    for key in TRANSFER_CLAIMS:
        (claim,) = [x for x in cs.claims if key in x.quantity]
        assert claim.status != NOT_COMPARABLE
    (ft,) = [x for x in cs.claims if "62.5% fine-tuned vs trained from scratch" in x.quantity]
    assert ft.status == "reproduced"  # 3.2 vs 6.0 m over five seeds
    (wiped,) = [x for x in cs.claims if "averaged" in x.quantity]
    assert wiped.status == "reproduced"  # fine-tuned 5.0 vs transferred 7.5 m
    (scratch,) = [x for x in cs.claims if "from scratch vs 0%" in x.quantity]
    assert scratch.status == "not reproduced"  # scratch is the worst here


def test_one_seed_decides_nothing() -> None:
    cs = _claims(_collected(lstm_factor=0.5, n_seeds=1))
    (ft,) = [x for x in cs.claims if "62.5% fine-tuned vs trained from scratch" in x.quantity]
    assert ft.status == NOT_COMPARABLE


def test_by_coverage_bins_the_errors_by_distance() -> None:
    f = pd.DataFrame({"direction": "d", "model": ["m"] * 6,
                      "dist_m": [0.5, 0.7, 3.0, 4.0, 12.0, 40.0],
                      "error_m": [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]})
    t = report.by_coverage(f, ["direction", "model"]).set_index("model")
    assert t.loc["m", "0–1 m"] == pytest.approx(2.0)
    assert t.loc["m", "2–5 m"] == pytest.approx(6.0)
    assert t.loc["m", "10–20 m"] == pytest.approx(9.0)
    assert t.loc["m", "≥ 20 m"] == pytest.approx(11.0)
    assert np.isnan(t.loc["m", "1–2 m"])
    share = t.loc["share of samples [%]"]
    assert share[[c for c in t.columns if c.endswith("m")]].sum() == pytest.approx(100, abs=1)


def test_no_claim_about_mtloc_is_judged_where_it_learned_no_position() -> None:
    """MTLoc no better than the target's mean training position: every claim about its variants
    (rates, transfer, modalities) is not comparable with that reason, not a verdict."""
    learned = _claims(_collected(lstm_factor=0.5))
    assert report.position_gate(_collected(lstm_factor=0.5), D).passed
    c = _collected(lstm_factor=0.5, mtloc_factor=1.0)
    assert not report.position_gate(c, D).passed
    cs = _claims(c)
    judged = [x for x in cs.claims if "fine-tuned 100%" not in x.quantity
              and "wiped, average" not in x.quantity and "within 3 m" not in x.quantity]
    assert judged and all(x.status == NOT_COMPARABLE for x in judged)
    assert all(report.MTLOC_NO_POSITION in x.reason for x in judged)
    # the same claims are decided when MTLoc did learn
    assert any(x.status != NOT_COMPARABLE for x in learned.claims)

"""profiles, claims, metrics, outputs and the plotting style."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from ipsbook import metrics, plotting, profiles
from ipsbook.book import claims, scorecard
from ipsbook.book.outputs import RunOutput


def test_profiles_resolve_and_override():
    cfg = profiles.resolve("bfp", "smoke")
    assert cfg.profile == "smoke" and cfg.n_mc >= 1 and "n_mc" in cfg
    assert profiles.resolve("bfp", "smoke", n_mc=7, test_step_m=None).n_mc == 7
    assert cfg.as_dict()["profile"] == "smoke"
    # the profiles share their keys (in every chapter), and grow
    s, q, f, p = (profiles.resolve("bfp", x) for x in profiles.PROFILES)
    assert set(s) == set(q) == set(f) == set(p) and s.n_mc < q.n_mc < f.n_mc < p.n_mc
    for key in profiles.chapters():
        keys = [set(profiles.resolve(key, x)) for x in profiles.PROFILES]
        assert all(k == keys[0] for k in keys), key


def test_profiles_errors_name_the_choices():
    with pytest.raises(profiles.ProfileError, match="profile='fast' is not known; allowed: smoke, quick, full, paper"):
        profiles.resolve("bfp", "fast")
    with pytest.raises(profiles.ProfileError, match="override epochs=3"):
        profiles.resolve("bfp", "quick", epochs=3)
    with pytest.raises(profiles.ProfileError, match="chapter key='nope'"):
        profiles.resolve("nope", "quick")
    with pytest.raises(AttributeError, match="has no size"):
        profiles.resolve("bfp", "quick").epochs


def test_claim_value_tolerance_and_status():
    cs = claims.ClaimSet("D", "bfp", "smoke")
    assert cs.value("T1", "x", 2.0, 2.4, abs_tol=0.5).status == claims.REPRODUCED
    c = cs.value("T1", "x", 2.0, 2.6, abs_tol=0.5)
    assert c.status == claims.NOT_REPRODUCED and "differs by" in c.reason
    assert cs.value("T1", "x", 10.0, 10.9, rel_tol=0.1).status == claims.REPRODUCED
    assert cs.value("T1", "x", 1.0, float("nan"), abs_tol=1).status == claims.NOT_REPRODUCED
    assert cs.relation("F", "q", "a < b", False, "a = b", why_not="equal").reason == "equal"
    assert cs.not_comparable("F", "q", "1", "2", "other data").status == claims.NOT_COMPARABLE
    with pytest.raises(ValueError, match="tolerance must be explicit"):
        cs.value("T1", "x", 1.0, 1.0)
    with pytest.raises(ValueError, match="reason"):
        cs.not_comparable("F", "q", "1", "2", "")
    with pytest.raises(ValueError, match="paper='Z'"):
        claims.ClaimSet("Z", "x", "smoke")


def test_claims_roundtrip_collect_and_scorecard(tmp_path):
    cs = claims.ClaimSet("D", "bfp", "smoke")
    cs.relation("Fig. 5a", "q|pipe", "a < b", True, "ok", anchor="bfp-fig5a")
    cs.value("Fig. 5a", "slope", 2.0, 3.0, abs_tol=0.5)
    (tmp_path / "smoke" / "bfp").mkdir(parents=True)
    cs.save(tmp_path / "smoke" / "bfp" / "claims.json")
    frame = claims.collect(tmp_path, "smoke")
    assert len(frame) == 2 and list(frame.columns) == list(claims.COLUMNS)
    page = scorecard.write_scorecard_page(tmp_path, "smoke", tmp_path / "sc.md").read_text()
    assert "{ref}`Fig. 5a <bfp-fig5a>`" in page and "q\\|pipe" in page
    assert "| D — " in page and "| 1 | 1 | 0 | 2 |" in page and "**not reproduced**" in page
    empty = scorecard.scorecard_markdown(claims.collect(tmp_path, "paper"), "paper")
    assert "No chapter has recorded claims" in empty
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid claims file"):
        claims.load(tmp_path / "bad.json")


def test_metrics_summary():
    est = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [0.0, 0.0]])
    err = metrics.errors(est, np.zeros((4, 2)))
    assert np.allclose(err, [0, 5, 1, 0])
    s = metrics.summary(err)
    assert s["mean_m"] == 1.5 and s["median_m"] == 0.5
    assert s["rmse_m"] == pytest.approx(np.sqrt(26 / 4))
    x, f = metrics.ecdf(err)
    assert np.all(np.diff(x) >= 0) and f[-1] == 1.0
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        metrics.errors(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="at least one"):
        metrics.summary(np.array([]))
    assert list(metrics.summary_table({"a": err}).method) == ["a"]


def test_outputs_write_tables_figures_claims(tmp_path):
    cfg = profiles.resolve("bfp", "smoke")
    out = RunOutput(tmp_path, chapter="bfp", paper="D", cfg=cfg, params={"x": np.float64(1)})
    out.table(pd.DataFrame({"a": [1.0]}), "t")
    fig, ax = plotting.subplots()
    plotting.labelled(ax, "x [m]", "y [m]")
    out.figure(fig, "f")
    out.claims.relation("F", "q", "s", True, "ok")
    frame = out.finish()
    assert (tmp_path / "tables" / "t.csv").exists()
    assert (tmp_path / "figures" / "f.png").exists() and (tmp_path / "figures" / "f.svg").exists()
    assert len(frame) == 1 and json.loads((tmp_path / "claims.json").read_text())[0]["paper"] == "D"
    assert json.loads((tmp_path / "config.json").read_text())["config"]["profile"] == "smoke"
    svg1 = (tmp_path / "figures" / "f.svg").read_bytes()
    out.figure(fig, "f")
    assert (tmp_path / "figures" / "f.svg").read_bytes() == svg1  # no timestamps


def test_axis_labels_need_units():
    _, ax = plotting.subplots()
    with pytest.raises(ValueError, match="units"):
        plotting.labelled(ax, "x", "y [m]")

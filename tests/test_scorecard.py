"""The scorecard page: summary counts, and which statuses would change under `paper` and why."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from ipsbook.book import claims, scorecard


def _save(root: Path, profile: str, chapter: str, paper: str, build) -> None:
    cs = claims.ClaimSet(paper, chapter, profile)
    build(cs)
    (root / profile / chapter).mkdir(parents=True, exist_ok=True)
    cs.save(root / profile / chapter / "claims.json")


def _bfp(cs: claims.ClaimSet, *, slope: float = 2.1, gap_holds: bool = True) -> None:
    cs.value("Fig. 5a", "optimal Δ / σ_W", 2.0, slope, abs_tol=0.5,
             profile_sensitive="a least-squares slope over the σ_W sweep, which smoke shortens")
    cs.relation("Fig. 3a", "OCD ≤ FCD", "OCD ≤ FCD", gap_holds, "min -0.1 m", why_not="no")
    cs.not_comparable("Table 1", "parameters", "missing", "ours", "the table is lost")


def _ftm(cs: claims.ClaimSet, *, holds: bool = False) -> None:
    cs.relation("Sect. 5.2", "WR+IAG vs completion", "WR+IAG wins", holds, "0 of 4",
                why_not="loses")


def test_summary_counts_per_status_and_paper(tmp_path: Path) -> None:
    _save(tmp_path, "smoke", "bfp", "D", _bfp)
    _save(tmp_path, "smoke", "ftm", "B", _ftm)
    page = scorecard.scorecard_markdown(claims.collect(tmp_path, "smoke"), "smoke", tmp_path)
    assert ("4 claims from 2 chapter(s) (bfp, ftm) of 2 paper(s): **2 reproduced**, "
            "**1 not reproduced**, **1 not comparable**.") in page
    assert "| B — FTM ranging" in page and " | 0 | 1 | 0 | 1 |" in page
    assert "| D — Omeñaca Muro" in page and " | 2 | 0 | 1 | 3 |" in page
    assert "| **all papers** | **2** | **1** | **1** | **4** |" in page
    # papers in order, totals after them
    assert page.index("| B — ") < page.index("| D — ") < page.index("**all papers**")


def test_outlook_marked_moving_and_measured(tmp_path: Path) -> None:
    _save(tmp_path, "quick", "bfp", "D", _bfp)
    _save(tmp_path, "quick", "ftm", "B", _ftm)
    # under smoke the relation of Fig. 3a fails; under paper the ftm relation holds
    _save(tmp_path, "smoke", "bfp", "D", lambda cs: _bfp(cs, gap_holds=False))
    _save(tmp_path, "paper", "ftm", "B", lambda cs: _ftm(cs, holds=True))
    page = scorecard.scorecard_markdown(claims.collect(tmp_path, "quick"), "quick", tmp_path)
    out = page[page.index("## Would a status change"):page.index("## All claims")]
    # what quick changes, per chapter, from the profiles
    assert "| bfp | `n_mc` 50 (paper 500);" in out
    # measured: the paper run
    assert "### Measured under `paper`" in out
    assert "1 of these 4 claims also have a `paper` run; 1 of them change status there:" in out
    assert "| ftm | Sect. 5.2 | WR+IAG vs completion | not reproduced | reproduced |" in out
    # marked by the chapter, with its reason
    assert ("| bfp | Fig. 5a | optimal Δ / σ_W | reproduced | a least-squares slope over the "
            "σ_W sweep, which smoke shortens |") in out
    # seen moving between smoke and quick
    assert "### Seen moving between `smoke` and `quick`" in out
    assert "| bfp | Fig. 3a | OCD ≤ FCD | not reproduced | reproduced |" in out
    assert "**In all**, 3 of the 4 claims on this page may change under `paper`" in out
    table = page[page.index("## All claims"):]
    assert table.count(" †") == 3 and "† may change under `paper`" in table
    assert "**not comparable** |" in table  # the Table 1 claim is not flagged


def test_outlook_without_other_runs_and_under_paper(tmp_path: Path) -> None:
    _save(tmp_path, "smoke", "ftm", "B", _ftm)
    page = scorecard.scorecard_markdown(claims.collect(tmp_path, "smoke"), "smoke", tmp_path)
    assert "No chapter has a `paper` run here" in page
    assert "No claim is marked yet" in page and "Seen moving" not in page
    assert "**In all**, 0 of the 1 claims" in page and "†" not in page
    _save(tmp_path, "paper", "ftm", "B", _ftm)
    paper = scorecard.scorecard_markdown(claims.collect(tmp_path, "paper"), "paper", tmp_path)
    assert "used the papers' own sizes (`paper`)" in paper and "†" not in paper


def test_profile_sensitive_field(tmp_path: Path) -> None:
    cs = claims.ClaimSet("D", "bfp", "smoke")
    c = cs.relation("F", "q", "a < b", True, "ok", profile_sensitive="few Monte-Carlo runs")
    assert c.profile_sensitive == "few Monte-Carlo runs"
    assert cs.value("T", "x", 1.0, 1.0, abs_tol=0.1).profile_sensitive is None
    with pytest.raises(ValueError, match="profile_sensitive must say why"):
        cs.relation("F", "q", "a < b", True, "ok", profile_sensitive=" ")
    assert list(cs.to_frame().columns) == list(claims.COLUMNS)
    # a claims.json written before the field existed still loads
    old = {k: v for k, v in asdict(c).items() if k != "profile_sensitive"}
    (tmp_path / "claims.json").write_text(json.dumps([old]))
    assert claims.load(tmp_path / "claims.json")[0].profile_sensitive is None

"""Frozen reference results (ipsbook.book.freeze): the committed bundle's manifest, freezing,
staleness per chapter, the book built from the bundle, and the scorecard's reference columns."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from ipsbook.book import build, claims, freeze, inputs, runner, scorecard
from ipsbook.book.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
ROOT = Path(__file__).resolve().parents[1]


def test_committed_results_match_their_manifests():
    """results/ is written only by `ipsbook freeze`: one changed byte fails here."""
    problems = freeze.verify(ROOT)
    assert problems == [], "\n".join(problems)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def proj(tmp_path, monkeypatch) -> runner.Project:
    """A throw-away git project with the toy notebooks and a stub package of two modules."""
    monkeypatch.delenv(runner.RUNS_ENV, raising=False)
    monkeypatch.setattr(runner.log, "_LOG_FORCE", False)
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    for nb in FIXTURES.glob("*.py"):
        shutil.copy(nb, root / "notebooks" / nb.name)
    (root / "pyproject.toml").write_text('[project]\nname = "toyproject"\n')
    pkg = root / "src" / "ipsbook"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("# stub\n")
    (pkg / "a.py").write_text("A = 1\n")
    (pkg / "b.py").write_text("B = 1\n")
    (root / ".gitignore").write_text("runs/\n")
    _git(root, "init", "-q")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "toy")
    return runner.open_project(root)


def finished_run(proj: runner.Project, name: str, modules: list[str], *, profile="full",
                 status="ok", overrides=None, dirty=False, claims_of=None) -> Path:
    """A run folder as the runner leaves it after a successful run (no kernel)."""
    (plan,) = runner.plan_runs([name], profile, project=proj)
    out = proj.output_dir(profile, name)
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "values.csv").write_text("i,value\n0,0\n")
    (out / "figures").mkdir()
    (out / "figures" / "fig.png").write_bytes(b"\x89PNG fake")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"({name})=\n# The {name} chapter"),
        nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, out / f"{name}.ipynb")
    cs = claims.ClaimSet("D", name, profile)
    (claims_of or (lambda c: c.relation("Fig. 1", "x below y", "x < y", True, "1 < 2")))(cs)
    cs.save(out / "claims.json")
    used = inputs.inputs_now(root=proj.root, package_dir=proj.root / "src" / "ipsbook",
                             name=name, profile=profile, parameters=plan.parameters,
                             notebook_text=plan.notebook.text, modules=modules, datasets=[])
    head = subprocess.run(["git", "-C", str(proj.root), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    record = {"name": name, "profile": profile, "status": status, "cache_key": plan.cache_key,
              "overrides": overrides or {}, "parameters": plan.parameters, "inputs": used,
              "input_digest": inputs.digest(used), "git_commit": head, "git_dirty": dirty,
              "finished": "2026-12-07T12:00:00+00:00", "wall_s": 600.0, "host": "toyhost"}
    (out / "run.json").write_text(json.dumps(record))
    return out


def test_freeze_writes_bundle_with_manifest_and_verify_names_a_changed_byte(proj):
    finished_run(proj, "toy", ["__init__.py", "a.py"])
    dest = freeze.freeze("toy", project=proj)
    assert dest == proj.root / "results" / "full" / "toy"
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    assert set(manifest["files"]) == {"toy.ipynb", "run.json", "claims.json",
                                      "tables/values.csv", "figures/fig.png"}
    assert freeze.verify(proj) == []
    csv = dest / "tables" / "values.csv"
    csv.write_bytes(csv.read_bytes().replace(b"0\n", b"1\n", 1))
    (dest / "extra.txt").write_text("hand-made\n")
    (dest / "figures" / "fig.png").unlink()
    problems = freeze.verify(proj)
    assert any(p.startswith("results/full/toy/tables/values.csv: sha256 differs") for p in problems)
    assert "results/full/toy/extra.txt: not listed in MANIFEST.json" in problems
    assert "results/full/toy/figures/fig.png: listed in MANIFEST.json but missing" in problems
    # the CLI's status --verify fails on it too
    assert main(["status", "--verify", "--project", str(proj.root)]) == 1


def test_freeze_refuses_runs_that_are_no_reference(proj):
    finished_run(proj, "toy", ["a.py"], status="failed")
    with pytest.raises(freeze.FreezeError, match="did not finish well"):
        freeze.freeze("toy", project=proj)
    shutil.rmtree(proj.output_dir("full", "toy"))
    finished_run(proj, "toy", ["a.py"], overrides={"n": 4})
    with pytest.raises(freeze.FreezeError, match="uses the notebook's defaults"):
        freeze.freeze("toy", project=proj)
    shutil.rmtree(proj.output_dir("full", "toy"))
    finished_run(proj, "toy", ["a.py"], dirty=True)
    with pytest.raises(freeze.FreezeError, match="uncommitted changes"):
        freeze.freeze("toy", project=proj)
    shutil.rmtree(proj.output_dir("full", "toy"))
    finished_run(proj, "toy", ["a.py"])
    (proj.root / "src" / "ipsbook" / "a.py").write_text("A = 2\n")
    with pytest.raises(freeze.FreezeError, match=r"no longer matches this checkout \(src/ipsbook/a.py\)"):
        freeze.freeze("toy", project=proj)
    with pytest.raises(freeze.FreezeError, match="no finished run of 'boom'"):
        freeze.freeze("boom", project=proj)
    assert not (proj.root / "results").exists() or freeze.verify(proj) == []


def test_a_changed_module_makes_only_its_chapters_bundle_stale(proj, capsys):
    finished_run(proj, "toy", ["__init__.py", "a.py"])
    finished_run(proj, "boom", ["__init__.py", "b.py"])
    freeze.freeze("toy", project=proj)
    freeze.freeze("boom", project=proj)
    assert freeze.bundle_state(proj, "full", "toy").state == "current"
    (proj.root / "src" / "ipsbook" / "a.py").write_text("A = 2\n")
    toy, boom = (freeze.bundle_state(proj, "full", n) for n in ("toy", "boom"))
    assert (toy.state, toy.why) == ("stale", ["src/ipsbook/a.py"])
    assert (boom.state, boom.why) == ("current", [])
    assert main(["status", "--profile", "full", "--project", str(proj.root)]) == 0
    out = capsys.readouterr().out
    assert "stale    results/full/toy" in out and "changed: src/ipsbook/a.py" in out
    assert "current  results/full/boom" in out
    # the notebook itself is an input too
    nb = proj.notebooks_dir / "boom.py"
    nb.write_text(nb.read_text() + "\n# %%\nprint('new')\n")
    assert freeze.bundle_state(proj, "full", "boom").why == ["notebooks/boom.py"]


def test_full_book_builds_from_the_bundle_without_a_kernel(proj, monkeypatch):
    finished_run(proj, "toy", ["__init__.py", "a.py"])
    freeze.freeze("toy", project=proj)
    (proj.root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n- file: book/chapters/toy\n"
        "- file: book/chapters/boom\n")
    (proj.root / "book").mkdir()
    (proj.root / "book" / "references.bib").write_text("")

    def no_kernel(*args, **kwargs):
        raise AssertionError("the full book must not start a kernel")

    monkeypatch.setattr("papermill.execute_notebook", no_kernel)
    monkeypatch.setattr("jupyter_client.AsyncKernelManager.start_kernel", no_kernel)
    result = build.build_book("full", project=proj, html=False)
    assert result.chapters == ["toy"]
    page = nbformat.read(proj.root / "book" / "chapters" / "toy.ipynb", as_version=4)
    text = "\n".join(c.source for c in page.cells)
    assert "**Reference run, current.**" in text and "Nothing was executed" in text
    assert "**Reference run.** Frozen in `results/full/toy/`" in text  # the provenance block
    placeholder = (proj.root / "book" / "chapters" / "boom.ipynb").read_text()
    assert "No converged reference run (`full`) of this chapter is frozen yet" in placeholder
    card = (proj.root / "book" / "scorecard.md").read_text()
    assert "Profile of these runs: **full**." in card and "x below y" in card
    # a changed module: the page is still rendered, marked stale with what changed
    (proj.root / "src" / "ipsbook" / "a.py").write_text("A = 3\n")
    build.build_book("full", project=proj, html=False)
    page = nbformat.read(proj.root / "book" / "chapters" / "toy.ipynb", as_version=4)
    text = "\n".join(c.source for c in page.cells)
    assert "**Stale reference run.**" in text and "`src/ipsbook/a.py`" in text
    card = (proj.root / "book" / "scorecard.md").read_text()
    assert "* **toy**: changed since: src/ipsbook/a.py" in card
    assert "**reproduced** *(stale)*" in card


def _claims(root: Path, profile: str, chapter: str, build_claims) -> None:
    cs = claims.ClaimSet("D", chapter, profile)
    build_claims(cs)
    (root / profile / chapter).mkdir(parents=True, exist_ok=True)
    cs.save(root / profile / chapter / "claims.json")


def test_scorecard_shows_the_reference_beside_each_claim(tmp_path):
    def quick(cs):  # quantities mention the sweep's extent, which differs by profile
        cs.relation("Fig. 5a", "RMSE vs σ_W up to 6 dB", "grows", True, "yes")
        cs.value("Fig. 5a", "slope over 7 points", 2.0, 2.1, abs_tol=0.5)
        cs.relation("Fig. 3a", "only under quick", "holds", True, "yes")

    def full(cs):
        cs.relation("Fig. 5a", "RMSE vs σ_W up to 8 dB", "grows", False, "no", why_not="flat")
        cs.value("Fig. 5a", "slope over 9 points", 2.0, 2.2, abs_tol=0.5)

    _claims(tmp_path / "runs", "quick", "bfp", quick)
    _claims(tmp_path / "results", "full", "bfp", full)
    state = freeze.BundleState("bfp", "full", "stale", ["src/ipsbook/methods/bfp.py"])
    dest = scorecard.write_scorecard_page(tmp_path / "runs", "quick", tmp_path / "sc.md",
                                          reference={"bfp": state},
                                          reference_root=tmp_path / "results" / "full")
    page = dest.read_text()
    assert "| ours under `full` | status under `full` |" in page
    assert "2 of the 3 claims here also have a reference verdict; **1** of them differ" in page
    assert ("| bfp | Fig. 5a | RMSE vs σ_W up to 6 dB | reproduced | not reproduced (stale) "
            "| no |") in page
    assert "| bfp | **stale**: changed since: src/ipsbook/methods/bfp.py |" in page
    row = next(line for line in page.splitlines() if "only under quick" in line)
    assert row.endswith("| — | — |")
    row = next(line for line in page.splitlines() if "slope over 7 points" in line)
    assert row.endswith("| 2.2 | **reproduced** *(stale)* |")


def test_claim_ids_ignore_numbers_and_number_repeats():
    assert claims.claim_id("bfp", "Fig. 5a", "slope, 4×4, σ_W ≤ 6 dB") == \
        claims.claim_id("bfp", "Fig. 5a", "slope, 4×4, σ_W ≤ 8 dB")
    cs = claims.ClaimSet("D", "bfp", "quick")
    a = cs.relation("Fig. 3a", "gap at 2×2", "x", True, "y")
    b = cs.relation("Fig. 3a", "gap at 4×4", "x", True, "y")
    assert a.id == "bfp:fig-a:gap-at" and b.id == "bfp:fig-a:gap-at#2"

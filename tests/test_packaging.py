"""The project's packaging and build wiring: console script, pins, CI entry point, book config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml
from conftest import REPO, ipsbook_command, notebook_names
from packaging.requirements import Requirement

# Files under book/ that `ipsbook build` writes (not committed): the executed chapters, the
# scorecard and the performance page.
GENERATED_CHAPTERS = "book/chapters/"
GENERATED_PAGES = {"book/scorecard", "book/performance"}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirement(reqs: list[str], name: str) -> Requirement:
    found = [Requirement(r) for r in reqs if Requirement(r).name.lower() == name]
    assert len(found) == 1, f"expected one requirement on {name}, got {found}"
    return found[0]


def test_console_script_help() -> None:
    proc = subprocess.run(
        [*ipsbook_command(), "--help"],
        check=False, capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0, f"`ipsbook --help` failed:\n{proc.stdout}\n{proc.stderr}"
    for word in ("run", "build"):
        assert word in proc.stdout, f"`ipsbook --help` does not mention {word!r}:\n{proc.stdout}"


def test_console_script_declared() -> None:
    assert _pyproject()["project"]["scripts"]["ipsbook"] == "ipsbook.book.cli:main"


def test_pins() -> None:
    project = _pyproject()["project"]
    torch = _requirement(project["dependencies"], "torch")
    assert str(torch.specifier) == "==2.13.0", f"torch must be pinned ==2.13.0, got {torch}"
    numba = _requirement(project["dependencies"], "numba")
    assert numba.specifier.contains("0.60.0") and not numba.specifier.contains("0.59.1"), numba
    jb = _requirement(project["optional-dependencies"]["book"], "jupyter-book")
    assert jb.specifier.contains("1.0.4") and not jb.specifier.contains("2.0.0"), (
        f"jupyter-book must stay below 2 (the book is a Jupyter Book 1 / Sphinx project): {jb}"
    )
    assert not jb.specifier.contains("2.0.0a1", prereleases=True), jb
    extras = project["optional-dependencies"]
    assert {"book", "test", "bench"} <= set(extras), sorted(extras)


def _readme_test_command() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- test-command -->\s*```(?:bash|sh|console)?\n(.+?)\n```", text, re.DOTALL)
    assert m, "README.md: no code block after the <!-- test-command --> marker"
    lines = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
    assert len(lines) == 1, f"README.md: the test command block must hold one command: {lines}"
    return lines[0].removeprefix("$ ")


def test_ci_runs_readme_test_command() -> None:
    ci = REPO / ".ci" / "run"
    assert ci.is_file() and os.access(ci, os.X_OK), ".ci/run must exist and be executable"
    text = ci.read_text()
    assert text.startswith(("#!/usr/bin/env bash", "#!/bin/bash")), ".ci/run: bash shebang"
    assert re.search(r"^set -euo pipefail$", text, re.MULTILINE), ".ci/run must `set -euo pipefail`"
    commands = [
        ln.strip() for ln in text.splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert commands[-1] == _readme_test_command(), (
        f".ci/run ends with {commands[-1]!r}, README's test command is {_readme_test_command()!r}"
    )


def _toc_files(node) -> list[str]:
    files: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                files.append(value)
            else:
                files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def _strip_ext(path: str) -> str:
    return re.sub(r"\.(md|ipynb|rst)$", "", path)


def test_toc_lists_only_existing_or_generated_files() -> None:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert toc.get("format") == "jb-book"
    files = [_strip_ext(f) for f in _toc_files(toc)]
    assert files[0] == "book/intro"
    assert len(files) == len(set(files)), f"_toc.yml lists a file twice: {files}"
    notebooks = set(notebook_names())
    problems = []
    for f in files:
        if f.startswith(GENERATED_CHAPTERS):
            name = f.removeprefix(GENERATED_CHAPTERS)
            if name not in notebooks:
                problems.append(f"{f}: generated from notebooks/{name}.py, which does not exist")
        elif f in GENERATED_PAGES:
            continue
        elif not any((REPO / f"{f}{ext}").is_file() for ext in (".md", ".ipynb", ".rst")):
            problems.append(f"{f}: no such page")
    assert not problems, "_toc.yml:\n" + "\n".join(problems)


def test_every_notebook_is_in_the_toc() -> None:
    # only_build_toc_files: a chapter missing from _toc.yml silently drops out of the book
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = {_strip_ext(f) for f in _toc_files(toc)}
    missing = [n for n in notebook_names() if f"{GENERATED_CHAPTERS}{n}" not in files]
    assert not missing, f"notebooks not listed in _toc.yml as book/chapters/<name>: {missing}"


def test_book_config() -> None:
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "off", "papermill executes; the book only renders"
    assert cfg.get("only_build_toc_files") is True
    for bib in cfg["bibtex_bibfiles"]:
        assert (REPO / bib).is_file(), f"_config.yml names a missing bibtex file {bib}"
    launch = cfg.get("launch_buttons", {})
    assert not any(launch.get(k) for k in ("binderhub_url", "jupyterhub_url", "colab_url", "thebe"))


def test_bibliography_has_the_five_papers() -> None:
    bib = (REPO / "book" / "references.bib").read_text()
    for paper in ("A", "B", "C", "D", "E"):
        pattern = rf"note\s*=\s*{{Paper {paper}, chapter"
        assert re.search(pattern, bib), f"book/references.bib: no entry for paper {paper}"
    assert "Vol-2498" in bib and "10.1049/el:19911328" in bib


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_generated_files_are_git_ignored() -> None:
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        check=False, cwd=REPO, capture_output=True, text=True,
    )
    if inside.returncode != 0:
        pytest.skip("not a git work tree")
    ignored = [
        ".venv/bin/python", "runs/quick/bfp/bfp.ipynb", "_build/html/index.html",
        "book/chapters/bfp.ipynb", "book/scorecard.md", "notebooks/bfp.ipynb",
        "book/performance.md", "book/_generated/performance/x.png",
        "book/chapters/_sources/bfp.py",
        ".hypothesis/examples/x", "benchmarks/results/x.json", "src/ipsbook/__pycache__/x.pyc",
    ]
    kept = [
        "notebooks/bfp.py", "book/intro.md", "book/references.bib", "_toc.yml",
        "tests/fixtures/example.ipynb", "src/ipsbook/__init__.py",
    ]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *ignored, *kept],
        check=False, cwd=REPO, capture_output=True, text=True,
    )
    reported = set(proc.stdout.split())
    assert set(ignored) <= reported, f"not ignored: {sorted(set(ignored) - reported)}"
    assert not (set(kept) & reported), f"wrongly ignored: {sorted(set(kept) & reported)}"


def test_make_help_lists_targets() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(
        ["make", "-s", "help"], check=False, cwd=REPO, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    for target in ("venv", "book", "test", "bench", "data", "clean", "distclean"):
        assert re.search(rf"make {target}\b", proc.stdout), f"`make help` lacks {target}"

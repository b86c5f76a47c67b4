"""``ipsbook build``: put the executed notebooks and the scorecard into the book, then render.

The book never executes anything (``_config.yml`` sets execution off): papermill already did,
under ``<runs_root>/<profile>/<name>/<name>.ipynb``. This module copies those notebooks to
``book/chapters/<name>.ipynb`` with the generated "How this page was made" block
(:mod:`ipsbook.provenance`; the downloads go to ``book/chapters/_sources/``), writes
``book/scorecard.md`` from every chapter's claims and ``book/performance.md`` from the benchmark
results and the runs' wall times (:mod:`ipsbook.performance`), and runs
``jupyter-book build <project root> -W --keep-going``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .performance import write_performance_page
from .profiles import check_profile
from .provenance import SOURCES_DIR, ProvenanceError, write_chapter
from .runner import Project, _as_project, available_notebooks
from .scorecard import write_scorecard_page

CHAPTERS_DIR = Path("book") / "chapters"
SCORECARD = Path("book") / "scorecard.md"
PERFORMANCE = Path("book") / "performance.md"
BIBLIOGRAPHY = Path("book") / "references.bib"
BENCHMARK_RESULTS = Path("benchmarks") / "results"


class BuildError(RuntimeError):
    """The book cannot be built as asked (missing runs, no jupyter-book); the CLI exits 1."""


@dataclass
class BuildResult:
    """What :func:`build_book` did."""

    chapters: list[str] = field(default_factory=list)  # notebooks now in book/chapters
    copied: list[str] = field(default_factory=list)  # those whose file changed
    removed: list[str] = field(default_factory=list)  # stale chapter notebooks deleted
    scorecard: Path | None = None
    performance: Path | None = None
    returncode: int = 0  # jupyter-book's exit code (0 with html=False)


def _toc_files(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["file"])] if "file" in node else []
        return found + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _toc_files(v)]
    return []


def toc_chapters(project: Project) -> list[str]:
    """Notebook names that ``_toc.yml`` lists as ``book/chapters/<name>`` (in toc order)."""
    toc = project.root / "_toc.yml"
    if not toc.is_file():
        return []
    text = toc.read_text(encoding="utf-8")
    try:
        import yaml

        files = _toc_files(yaml.safe_load(text))
    except ImportError:  # PyYAML comes with jupyter-book, not with the core package
        files = re.findall(r"file:\s*['\"]?([^'\"\s#]+)", text)
    prefix = CHAPTERS_DIR.as_posix() + "/"
    names = []
    for f in files:
        f = f.removeprefix("./")
        if f.startswith(prefix):
            names.append(Path(f[len(prefix):]).with_suffix("").as_posix())
    return list(dict.fromkeys(names))


def _jupyter_book() -> str:
    # the one installed beside this interpreter, so that the venv's own Sphinx is used
    here = Path(sys.executable).parent / "jupyter-book"
    if here.is_file():
        return str(here)
    found = shutil.which("jupyter-book")
    if found:
        return found
    raise BuildError(
        "jupyter-book is not installed next to this Python; install it with "
        "pip install 'ipsbook[book]' (or use --no-html)"
    )


def build_book(
    profile: str = "quick",
    *,
    project: Project | str | Path | None = None,
    runs: str | Path | None = None,
    html: bool = True,
) -> BuildResult:
    """Copy the executed notebooks of ``profile`` into ``book/chapters`` (with their provenance
    blocks), write the scorecard and performance pages and (if ``html``) run jupyter-book.
    Raises :class:`BuildError` when a chapter of the toc has no run."""
    check_profile(profile)
    proj = _as_project(project, runs)
    profile_dir = proj.runs_root / profile

    def executed(name: str) -> Path:
        return profile_dir / name / f"{name}.ipynb"

    missing = [n for n in toc_chapters(proj) if not executed(n).is_file()]
    if missing:
        raise BuildError(
            f"_toc.yml lists {', '.join(missing)} but {profile_dir} has no executed notebook "
            f"for {'it' if len(missing) == 1 else 'them'}; run "
            f"`ipsbook run all --profile {profile}` first"
        )

    result = BuildResult()
    result.chapters = [n for n in available_notebooks(proj) if executed(n).is_file()]
    chapters = proj.root / CHAPTERS_DIR
    chapters.mkdir(parents=True, exist_ok=True)
    for name in result.chapters:
        try:
            changed = write_chapter(
                executed(name).parent, name, chapters, bib_path=proj.root / BIBLIOGRAPHY,
                notebooks_dir=proj.notebooks_dir,
            )
        except ProvenanceError as exc:
            raise BuildError(f"cannot write the provenance block of {name}: {exc}") from None
        if changed:
            result.copied.append(name)
    for stale in sorted(chapters.glob("*.ipynb")):
        if stale.stem not in result.chapters:
            stale.unlink()
            result.removed.append(stale.stem)
    for stale in sorted((chapters / SOURCES_DIR).glob("*")):
        if stale.is_file() and stale.stem not in result.chapters:
            stale.unlink()

    result.scorecard = write_scorecard_page(proj.runs_root, profile, proj.root / SCORECARD)
    result.performance = write_performance_page(
        proj.root / BENCHMARK_RESULTS, proj.runs_root, profile, proj.root / PERFORMANCE,
        linked=[n for n in toc_chapters(proj) if n in result.chapters],
    )
    if html:
        cmd = [_jupyter_book(), "build", str(proj.root), "-W", "--keep-going"]
        result.returncode = subprocess.run(cmd, cwd=proj.root, check=False).returncode
    return result

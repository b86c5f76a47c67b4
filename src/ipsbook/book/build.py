"""``ipsbook build``: put the executed notebooks and the scorecard into the book, then render.

The book never executes anything (``_config.yml`` sets execution off): papermill already did,
under ``<runs_root>/<profile>/<name>/<name>.ipynb``. This module copies those notebooks to
``book/chapters/<name>.ipynb`` with the generated "How this page was made" block
(:mod:`ipsbook.book.provenance`; the downloads go to ``book/chapters/_sources/``), writes
``book/scorecard.md`` from every chapter's claims and ``book/performance.md`` from the benchmark
results and the runs' wall times (:mod:`ipsbook.book.performance`), and runs
``jupyter-book build <project root> -W --keep-going``.

Under the ``full`` profile the chapters come from the frozen reference runs in
``results/full/`` (:mod:`ipsbook.book.freeze`), never from ``runs/``: nothing is executed. A frozen
chapter whose inputs changed since is rendered as it was frozen, with a *stale* warning at the
top saying what changed; a chapter with no frozen run gets a page that says so. Under any other
profile each chapter's page and the scorecard show the reference run beside the profile's own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..profiles import check_profile
from .freeze import BENCH, BundleState, bundle_state, results_root
from .performance import write_performance_page
from .provenance import SOURCES_DIR, ProvenanceError, write_chapter
from .runner.project import Project, _as_project, available_notebooks
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
    frozen = profile == REFERENCE_PROFILE
    profile_dir = results_root(proj) / profile if frozen else proj.runs_root / profile

    def executed(name: str) -> Path:
        return profile_dir / name / f"{name}.ipynb"

    states = {n: bundle_state(proj, REFERENCE_PROFILE, n) for n in available_notebooks(proj)}
    missing = [n for n in toc_chapters(proj) if not executed(n).is_file()]
    if missing and not frozen:
        raise BuildError(
            f"_toc.yml lists {', '.join(missing)} but {profile_dir} has no executed notebook "
            f"for {'it' if len(missing) == 1 else 'them'}; run "
            f"`ipsbook run all --profile {profile}` first"
        )

    result = BuildResult()
    result.chapters = [n for n in available_notebooks(proj) if executed(n).is_file()]
    chapters = proj.root / CHAPTERS_DIR
    chapters.mkdir(parents=True, exist_ok=True)
    for name in missing:  # frozen book only: the chapter has no reference run yet
        if _write_placeholder(proj, name, chapters / f"{name}.ipynb"):
            result.copied.append(name)
    for name in result.chapters:
        banner = frozen_banner(states[name]) if frozen else reference_banner(states[name])
        try:
            changed = write_chapter(
                executed(name).parent, name, chapters, bib_path=proj.root / BIBLIOGRAPHY,
                notebooks_dir=proj.notebooks_dir, banner=banner,
                reference=reference_sentence(states[name]),
            )
        except ProvenanceError as exc:
            raise BuildError(f"cannot write the provenance block of {name}: {exc}") from None
        if changed:
            result.copied.append(name)
    for stale in sorted(chapters.glob("*.ipynb")):
        if stale.stem not in result.chapters and stale.stem not in missing:
            stale.unlink()
            result.removed.append(stale.stem)
    for stale in sorted((chapters / SOURCES_DIR).glob("*")):
        if stale.is_file() and stale.stem not in result.chapters:
            stale.unlink()

    reference = {n: st for n, st in states.items() if st.state != "missing"}
    result.scorecard = write_scorecard_page(
        results_root(proj) if frozen else proj.runs_root, profile, proj.root / SCORECARD,
        reference=reference, reference_root=results_root(proj) / REFERENCE_PROFILE,
    )
    result.performance = write_performance_page(
        proj.root / BENCHMARK_RESULTS, results_root(proj) if frozen else proj.runs_root,
        profile, proj.root / PERFORMANCE,
        linked=[n for n in toc_chapters(proj) if n in result.chapters],
        reference_dir=results_root(proj) / BENCH,
    )
    if html:
        cmd = [_jupyter_book(), "build", str(proj.root), "-W", "--keep-going"]
        result.returncode = subprocess.run(cmd, cwd=proj.root, check=False).returncode
    return result


# --------------------------------------------------------------------------------------------
# the reference runs on the pages

REFERENCE_PROFILE = "full"


def _inputs_line(state: BundleState) -> str:
    inputs = state.record.get("inputs") or {}
    n_mod = len(inputs.get("modules") or {})
    data = ", ".join(sorted(inputs.get("data") or {})) or "no dataset"
    return (f"its notebook, the {n_mod} `ipsbook` modules its kernel imported, its parameters, "
            f"the `{REFERENCE_PROFILE}` sizes, the data ({data}) and the lock file")


def _when(state: BundleState) -> str:
    rec = state.record
    wall = rec.get("wall_s")
    took = f", {wall / 60:.0f} min on {rec.get('host', '?')}" if isinstance(wall, (int, float)) \
        else ""
    return f"commit `{state.commit}`, finished {rec.get('finished', '?')}{took}"


def frozen_banner(state: BundleState) -> str:
    """The box at the top of a chapter page rendered from its frozen reference run."""
    name = state.name
    rerun = (f"`ipsbook run {name} --profile {REFERENCE_PROFILE}` re-executes it and "
             f"`ipsbook freeze {name}` keeps the new run")
    if state.state == "current":
        return ("```{note}\n"
                f"**Reference run, current.** Frozen in `results/{REFERENCE_PROFILE}/{name}/` "
                f"({_when(state)}); none of its inputs has changed since ({_inputs_line(state)})"
                ", so these are the outputs this checkout computes. Nothing was executed to "
                f"build this page; {rerun}.\n```\n")
    changed = "; ".join(f"`{w}`" if w.startswith(("src/", "notebooks/")) else w
                        for w in state.why)
    return ("```{warning}\n"
            f"**Stale reference run.** This page shows the run frozen in "
            f"`results/{REFERENCE_PROFILE}/{name}/` ({_when(state)}), but its inputs have "
            f"changed since: {changed}. Its numbers come from the older code, not from this "
            f"checkout; {rerun}.\n```\n")


def reference_sentence(state: BundleState) -> str:
    """One sentence for the provenance block: where the chapter's reference run is."""
    where = f"`results/{REFERENCE_PROFILE}/{state.name}/`"
    if state.state == "missing":
        return (f"None frozen yet (`ipsbook run {state.name} --profile {REFERENCE_PROFILE}`, "
                f"then `ipsbook freeze {state.name}`).")
    if state.state == "current":
        return f"Frozen in {where} ({_when(state)}); current: none of its inputs has changed."
    return (f"Frozen in {where} ({_when(state)}); **stale**: changed since: "
            + "; ".join(state.why) + ".")


def reference_banner(state: BundleState) -> str:
    """The box at the top of a chapter page of another profile: where its reference run is."""
    if state.state == "missing":
        return ("```{seealso}\n"
                f"No converged reference run (`{REFERENCE_PROFILE}`) of this chapter is frozen "
                f"yet: `ipsbook run {state.name} --profile {REFERENCE_PROFILE}`, then "
                f"`ipsbook freeze {state.name}`.\n```\n")
    kind = "current" if state.state == "current" else (
        "**stale**: changed since: " + "; ".join(state.why))
    return ("```{seealso}\n"
            f"Converged reference run (`{REFERENCE_PROFILE}`) of this chapter: "
            f"`results/{REFERENCE_PROFILE}/{state.name}/` ({_when(state)}; {kind}). Its verdicts "
            f"stand beside these in the {{ref}}`scorecard`'s reference columns; "
            f"`make book PROFILE={REFERENCE_PROFILE}` renders its pages.\n```\n")


def _title_of(project: Project, name: str) -> str:
    path = project.notebooks_dir / f"{name}.py"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for line in text.splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return name


def _write_placeholder(project: Project, name: str, dest: Path) -> bool:
    """A page for a chapter that has no frozen reference run (frozen book only)."""
    import nbformat

    text = (f"({name})=\n# {_title_of(project, name)}\n\n"
            "```{warning}\n"
            f"No converged reference run (`{REFERENCE_PROFILE}`) of this chapter is frozen yet, "
            "so this book has no page for it. Make one with "
            f"`ipsbook run {name} --profile {REFERENCE_PROFILE}` on a clean checkout, then "
            f"`ipsbook freeze {name}`; or read the chapter in the default book (`make book`).\n"
            "```\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.cells[0]["id"] = f"{name}-placeholder"
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    data = nbformat.writes(nb).encode("utf-8") + b"\n"
    if dest.is_file() and dest.read_bytes() == data:
        return False
    dest.write_bytes(data)
    return True

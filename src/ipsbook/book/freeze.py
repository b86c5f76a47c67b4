"""Frozen reference results: ``ipsbook freeze`` and ``ipsbook status`` (book machinery).

Converged (``full``) runs take hours, so they are made once, on a clean checkout, and kept in
git under ``results/<profile>/<name>/``: the executed notebook, its tables, figures, claims,
``config.json``, ``training.json`` and ``run.json`` (commit, inputs and their digest, machine,
wall time per phase, stopping epochs) and ``MANIFEST.json`` with the sha256 of every file.
Nothing there is edited by hand: :func:`freeze` writes it from a finished run, and
:func:`verify` (run by ``make test``) fails on one changed byte, naming the file.

A bundle is *current* while none of the inputs its run recorded (:mod:`ipsbook.book.inputs`) has
changed in this checkout, and *stale* otherwise; the book still renders a stale chapter from
its frozen outputs but says so at the top of its page and on the scorecard, with what changed.
``results/bench/`` keeps the reference machine's ``make bench`` results the same way.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import inputs as chapter_inputs
from .runner import RunPlan, plan_runs, why_stale
from .runner.local import _swap_in
from .runner.plan import _package_dir
from .runner.project import Project, _as_project, available_notebooks

__all__ = [
    "BENCH",
    "MANIFEST",
    "MAX_BUNDLE_BYTES",
    "RESULTS",
    "BundleState",
    "FreezeError",
    "bundle_dir",
    "bundle_state",
    "freeze",
    "freeze_bench",
    "status_rows",
    "verify",
]

RESULTS = "results"
MANIFEST = "MANIFEST.json"
BENCH = "bench"
#: The whole of ``results/`` stays under this (it is committed).
MAX_BUNDLE_BYTES = 25 * 2**20
#: What a run folder contributes to its bundle (besides tables/ and figures/).
_TOP_FILES = ("run.json", "claims.json", "config.json", "training.json")
_SUBDIRS = ("tables", "figures")
MANIFEST_VERSION = "ipsbook-bundle/1"


class FreezeError(RuntimeError):
    """A run cannot be frozen as asked, or a bundle does not match its manifest."""


@dataclass
class BundleState:
    """What ``results/<profile>/<name>`` holds, compared with this checkout."""

    name: str
    profile: str
    state: str  # "current", "stale", "missing" or "corrupt"
    why: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def commit(self) -> str:
        return str(self.record.get("git_commit") or "")[:10]


def results_root(project: Project) -> Path:
    return project.root / RESULTS


def bundle_dir(project: Project, profile: str, name: str) -> Path:
    return results_root(project) / profile / name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_bytes(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _files_of_run(run_dir: Path, name: str) -> list[Path]:
    files = [run_dir / f"{name}.ipynb"] + [run_dir / f for f in _TOP_FILES]
    for sub in _SUBDIRS:
        if (run_dir / sub).is_dir():
            files += sorted(p for p in (run_dir / sub).rglob("*") if p.is_file())
    return [f for f in files if f.is_file()]


def _write_manifest(folder: Path, extra: dict[str, Any]) -> dict[str, Any]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {
        "version": MANIFEST_VERSION,
        **extra,
        "files": {p.relative_to(folder).as_posix(): _sha256(p) for p in files},
        "bytes": sum(p.stat().st_size for p in files),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _install(project: Project, dest: Path, fill) -> Path:
    """Build the bundle in a temporary folder beside ``dest`` (``fill(tmp)``), check the size
    budget of ``results/``, then swap it in atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=dest.parent))
    try:
        fill(tmp)
        # tmp lies inside results/ already; the old bundle at dest is about to go
        total = _tree_bytes(results_root(project)) - _tree_bytes(dest)
        if total > MAX_BUNDLE_BYTES:
            raise FreezeError(
                f"results/ would hold {total / 2**20:.1f} MiB with {dest.relative_to(project.root)}"
                f", above the {MAX_BUNDLE_BYTES / 2**20:.0f} MiB budget; make the chapter save "
                "fewer or smaller figures and tables"
            )
        _swap_in(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def freeze(
    name: str,
    profile: str = "full",
    *,
    project: Project | str | Path | None = None,
    runs: str | Path | None = None,
    allow_dirty: bool = False,
) -> Path:
    """Copy the finished run ``<runs>/<profile>/<name>`` into ``results/<profile>/<name>``.

    Refused (:class:`FreezeError`, saying what to do) when the run failed or is missing, was
    made with ``-p`` overrides (a reference run uses the notebook's defaults), on a checkout
    with uncommitted changes (unless ``allow_dirty``), or with inputs that differ from this
    checkout's (it would be stale on arrival).
    """
    proj = _as_project(project, runs)
    run_dir = proj.output_dir(profile, name)
    record_path = run_dir / "run.json"
    if not record_path.is_file() or not (run_dir / f"{name}.ipynb").is_file():
        raise FreezeError(f"{run_dir} holds no finished run of {name!r}; run "
                          f"`ipsbook run {name} --profile {profile}` first")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("status") != "ok":
        raise FreezeError(f"the run in {run_dir} did not finish well "
                          f"(status {record.get('status')!r})")
    if record.get("overrides"):
        raise FreezeError(f"the run in {run_dir} set parameters {record['overrides']}; a "
                          "reference run uses the notebook's defaults: re-run it without -p")
    if not record.get("git_commit") or (record.get("git_dirty") and not allow_dirty):
        raise FreezeError(
            f"the run in {run_dir} was made on a checkout with uncommitted changes (or outside "
            "git); reference runs come from a clean checkout: commit, then "
            f"`ipsbook run {name} --profile {profile} --force`"
        )
    if not record.get("inputs"):
        raise FreezeError(f"the run in {run_dir} recorded no inputs (made by an older ipsbook); "
                          f"re-run it: `ipsbook run {name} --profile {profile} --force`")
    (plan,) = plan_runs([name], profile, project=proj)
    stale = why_stale(plan)
    if stale:
        raise FreezeError(f"the run in {run_dir} no longer matches this checkout ("
                          f"{'; '.join(stale)}); re-run it: "
                          f"`ipsbook run {name} --profile {profile}`")

    def fill(tmp: Path) -> None:
        for src in _files_of_run(run_dir, name):
            dst = tmp / src.relative_to(run_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        _write_manifest(tmp, {"name": name, "profile": profile,
                              "input_digest": record.get("input_digest"),
                              "git_commit": record.get("git_commit")})

    return _install(proj, bundle_dir(proj, profile, name), fill)


def freeze_bench(
    *, project: Project | str | Path | None = None, source: str | Path | None = None,
) -> Path:
    """Copy ``benchmarks/results/*.json`` and ``*.csv`` (with their machine records) into
    ``results/bench/``."""
    proj = _as_project(project)
    src = Path(source) if source is not None else proj.root / "benchmarks" / "results"
    files = sorted(p for p in src.glob("*") if p.is_file() and p.suffix in (".json", ".csv"))
    if not any(p.suffix == ".json" for p in files):
        raise FreezeError(f"{src} holds no benchmark results; run `make bench` first")

    def fill(tmp: Path) -> None:
        for p in files:
            shutil.copy2(p, tmp / p.name)
        _write_manifest(tmp, {"name": BENCH})

    return _install(proj, results_root(proj) / BENCH, fill)


def verify(project: Project | str | Path | None = None) -> list[str]:
    """Every bundle under ``results/`` against its manifest: one line per problem (a changed,
    missing or unlisted file, a missing manifest, the size budget). Empty: all is well."""
    proj = _as_project(project)
    root = results_root(proj)
    problems: list[str] = []
    if not root.is_dir():
        return problems
    folders = sorted({p.parent for p in root.rglob("*") if p.is_file()})
    bundles = sorted({f for f in folders if (f / MANIFEST).is_file()})
    for folder in folders:
        if not any(folder == b or b in folder.parents for b in bundles):
            rel = folder.relative_to(proj.root)
            problems.append(f"{rel}: files outside any bundle (no {MANIFEST}); results/ is "
                            "written only by `ipsbook freeze`")
    for bundle in bundles:
        rel = bundle.relative_to(proj.root).as_posix()
        try:
            manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
            listed = dict(manifest["files"])
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{rel}/{MANIFEST}: unreadable ({exc})")
            continue
        present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*")
                   if p.is_file() and p.name != MANIFEST}
        for path, sha in sorted(listed.items()):
            f = bundle / path
            if not f.is_file():
                problems.append(f"{rel}/{path}: listed in {MANIFEST} but missing")
            elif _sha256(f) != sha:
                problems.append(f"{rel}/{path}: sha256 differs from {MANIFEST} (edited by "
                                "hand? re-freeze it with `ipsbook freeze`)")
        for path in sorted(present - set(listed)):
            problems.append(f"{rel}/{path}: not listed in {MANIFEST}")
    total = _tree_bytes(root)
    if total > MAX_BUNDLE_BYTES:
        problems.append(f"results/ holds {total / 2**20:.1f} MiB, above the "
                        f"{MAX_BUNDLE_BYTES / 2**20:.0f} MiB budget")
    return problems


def bundle_state(project: Project, profile: str, name: str) -> BundleState:
    """Is the frozen run of ``name`` current for this checkout, and if not, why."""
    folder = bundle_dir(project, profile, name)
    if not (folder / "run.json").is_file():
        return BundleState(name, profile, "missing", ["no frozen run"])
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        return BundleState(name, profile, "corrupt", [f"run.json unreadable ({exc})"],
                           path=folder)
    old = record.get("inputs") or {}
    if not old:
        return BundleState(name, profile, "stale", ["no inputs recorded"], record, folder)
    nb_path = project.notebooks_dir / f"{name}.py"
    why = chapter_inputs.changes_since(
        old, root=project.root, package_dir=_package_dir(project), name=name, profile=profile,
        parameters=old.get("parameters") or {},
        notebook_text=nb_path.read_text(encoding="utf-8") if nb_path.is_file() else None,
    )
    return BundleState(name, profile, "stale" if why else "current", why, record, folder)


def status_rows(
    project: Project | str | Path | None = None,
    profiles: Sequence[str] = ("smoke", "quick", "full", "paper"),
    names: Iterable[str] | None = None,
    runs: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Per chapter and profile: the local run (``runs/``) and the frozen one (``results/``),
    each current / stale / missing, with what changed."""
    proj = _as_project(project, runs)
    chosen = list(names) if names else available_notebooks(proj)
    rows = []
    for profile in profiles:
        plans: dict[str, RunPlan] = {p.name: p for p in plan_runs(chosen, profile, project=proj)}
        for name in chosen:
            why = why_stale(plans[name])
            state = "current" if not why else ("missing" if why == ["no run yet"] else "stale")
            rows.append({"chapter": name, "profile": profile, "where": "runs", "state": state,
                         "why": why if state == "stale" else []})
            bundle = bundle_state(proj, profile, name)
            if bundle.state != "missing" or profile == "full":
                rows.append({"chapter": name, "profile": profile, "where": "results",
                             "state": bundle.state, "commit": bundle.commit,
                             "why": bundle.why if bundle.state != "missing" else []})
    return rows

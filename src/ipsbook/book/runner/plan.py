"""Planning a run: the cache key (what decides a result and is known before it runs), the
plan of each notebook, and whether its last output is still current (:func:`why_stale`)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...profiles import check_profile
from .. import inputs as chapter_inputs
from .project import (
    CACHE_VERSION,
    FAILED,
    LOCK_FILE,
    Notebook,
    Project,
    _as_project,
    _resolve_overrides,
    select_notebooks,
)

# --------------------------------------------------------------------------------------------
# cache key


def _package_dir(project: Project) -> Path:
    # The project's own source tree when there is one (the normal, editable-install case);
    # otherwise the ipsbook that the kernel will import.
    local = project.root / "src" / "ipsbook"
    if local.is_dir():
        return local
    import ipsbook

    return Path(ipsbook.__file__).resolve().parent


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=repr, ensure_ascii=False)


def compute_cache_key(
    notebook_text: str,
    parameters: Mapping[str, Any],
    profile: str,
    *,
    profile_sizes: Any = None,
    lock_text: str | None,
) -> str:
    """sha256 over what decides a run's result and is known before it runs (see the module
    docstring): the modules and datasets it uses are checked after, from its record."""
    h = hashlib.sha256()
    for part in (
        CACHE_VERSION,
        notebook_text,
        _json(dict(parameters)),
        profile,
        _json(profile_sizes),
        lock_text if lock_text is not None else "<no lock file>",
    ):
        h.update(part.encode("utf-8"))
        h.update(b"\0\0")
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# plans and results


@dataclass(frozen=True)
class RunPlan:
    """One notebook to run: its resolved parameters, cache key and output folder."""

    notebook: Notebook
    profile: str
    overrides: dict[str, Any]
    parameters: dict[str, Any]  # every parameter's value in this run (output_dir left out)
    cache_key: str
    project: Project
    git: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.notebook.name

    @property
    def output_dir(self) -> Path:
        return self.project.output_dir(self.profile, self.name)

    def injected(self) -> dict[str, Any]:
        """What papermill injects: the overrides, the profile, and output_dir.

        output_dir is ``"."`` because the kernel runs inside the (temporary) output folder: the
        executed notebook then shows no temporary path and stays valid after the swap.
        """
        return {**self.overrides, "profile": self.profile, "output_dir": "."}


@dataclass
class RunResult:
    """What happened to one notebook."""

    name: str
    profile: str
    status: str  # "ran", "cached" or "failed"
    wall_s: float
    output_dir: Path
    error: str | None = None
    failed_notebook: Path | None = None
    interrupted: bool = False

    def summary(self) -> str:
        """One line: status, name, seconds, folder."""
        where = self.output_dir
        if self.status == FAILED:
            where = self.failed_notebook or self.output_dir
        return f"{self.status:<7} {self.name:<24} {self.wall_s:8.1f} s  {where}"


def _git_info(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True, text=True, timeout=15, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"git_commit": None}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(dirty) if dirty is not None else None}


def plan_runs(
    names: Sequence[str],
    profile: str = "quick",
    params: Mapping[str, Any] | None = None,
    *,
    project: Project | str | Path | None = None,
    runs: str | Path | None = None,
) -> list[RunPlan]:
    """Validate everything (profile, names, parameters) before anything runs.

    Raises :class:`~ipsbook.profiles.ProfileError` or :class:`InputError` (exit code 2).
    """
    check_profile(profile)
    proj = _as_project(project, runs)
    notebooks = select_notebooks(proj, names)
    overrides = _resolve_overrides(notebooks, dict(params or {}))
    lock = proj.root / LOCK_FILE
    lock_text = lock.read_text(encoding="utf-8") if lock.is_file() else None
    git = _git_info(proj.root)
    plans = []
    for nb in notebooks:
        values = {
            k: (list(p.default) if isinstance(p.default, tuple) else p.default)
            if p.literal else p.source
            for k, p in nb.parameters.items() if k != "output_dir"
        }
        values.update(overrides[nb.name])
        values["profile"] = profile
        key = compute_cache_key(
            nb.text, values, profile, lock_text=lock_text,
            profile_sizes=chapter_inputs.profile_sizes(nb.name, profile),
        )
        plans.append(RunPlan(nb, profile, overrides[nb.name], values, key, proj, git))
    return plans



def why_stale(plan: RunPlan) -> list[str]:
    """Why the run folder of ``plan`` does not hold this run (empty list: it does)."""
    record_path = plan.output_dir / "run.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return ["no run yet"]
    if not isinstance(record, dict) or not (plan.output_dir / f"{plan.name}.ipynb").is_file():
        return ["no complete run (run.json or the executed notebook is missing)"]
    old = record.get("inputs")
    if not old:
        return ["run made before its inputs were recorded"]
    found = chapter_inputs.changes_since(
        old, root=plan.project.root, package_dir=_package_dir(plan.project), name=plan.name,
        profile=plan.profile, parameters=plan.parameters, notebook_text=plan.notebook.text,
    )
    if not found and record.get("cache_key") != plan.cache_key:
        found = ["the runner's cache format"]
    return found


def _is_cached(plan: RunPlan) -> bool:
    return not why_stale(plan)



"""Execute the chapter notebooks: papermill, profiles, parameters, cache, atomic outputs.

``ipsbook run`` (see :mod:`ipsbook.cli`) is a thin layer over this module. A notebook is a
jupytext percent script ``notebooks/<name>.py`` whose cell tagged ``parameters`` defines
``profile``, ``seed``, ``output_dir`` and the chapter's knobs. One run::

    notebooks/<name>.py --jupytext--> notebook --papermill (profile, output_dir, -p ...)-->
    <runs_root>/<profile>/.tmp-<name>-XXXX/   (cwd of the kernel; the notebook writes here)
    --success--> run.json, then swapped in for <runs_root>/<profile>/<name>/
    --failure--> <runs_root>/<profile>/<name>.failed/<name>.ipynb; <name>/ is left untouched

A run is skipped ("cached") when ``<name>/run.json`` holds the same :func:`cache key
<compute_cache_key>` (notebook, parameters, profile and its sizes, lock file) and none of the
inputs the run recorded has changed since: the ``ipsbook`` modules its kernel imported and the
datasets it read (:mod:`ipsbook.inputs`; a cell the runner appends records them and is removed
from the executed notebook). Several notebooks run concurrently in threads (``jobs``), each with
its own kernel process, or on an existing Dask cluster (``scheduler``), whose workers send the
output folder back as a tar.gz so that it lands, atomically, in the same place.

When stdout is not a terminal (``make book | tee book.log``) the runner prints a line as each
notebook starts and ends and, every ``IPSBOOK_PROGRESS_EVERY`` seconds (30), the progress the
chapter's own bars report (:mod:`ipsbook.progress`), so a log shows what a long chapter is doing.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager

from . import inputs as chapter_inputs
from .profiles import ProfileError, check_profile

__all__ = [
    "CACHED",
    "FAILED",
    "RAN",
    "InputError",
    "Notebook",
    "NotebookNotFoundError",
    "Parameter",
    "ParameterError",
    "ProfileError",
    "Project",
    "RunError",
    "RunInterrupted",
    "RunPlan",
    "RunResult",
    "available_notebooks",
    "compute_cache_key",
    "execute_remote",
    "find_project_root",
    "load_notebook",
    "open_project",
    "parse_assignments",
    "parse_value",
    "plan_runs",
    "run_notebook",
    "run_notebooks",
    "select_notebooks",
]

KERNEL_NAME = "python3"
#: Parameters the runner sets itself; ``-p`` may not touch them.
MANAGED_PARAMETERS = ("profile", "output_dir")
#: Every notebook's ``parameters`` cell defines these (the notebook contract).
REQUIRED_PARAMETERS = ("profile", "seed", "output_dir")
LOCK_FILE = "requirements-lock.txt"
RUNS_ENV = "IPSBOOK_RUNS_DIR"
# Bump when the meaning of the key changes, so old run folders are not mistaken for fresh ones.
CACHE_VERSION = "ipsbook-run-cache/2"

RAN, CACHED, FAILED = "ran", "cached", "failed"


class _DropParameterParseWarnings(logging.Filter):
    """papermill re-parses the parameters cell with a regex that gives up on any line with two
    '=' (e.g. in a comment), then calls that parameter unknown. ipsbook parses the cell with
    ``ast`` and checks every -p itself, so both warnings are only misleading noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return not msg.startswith(("Unable to parse line", "Passed unknown parameter"))


for _name in ("papermill", "papermill.translators"):
    logging.getLogger(_name).addFilter(_DropParameterParseWarnings())

# Libraries whose versions go into run.json (those missing are skipped).
_LIBRARIES = (
    "ipsbook", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "torch", "scikit-learn",
    "pooch", "papermill", "jupytext", "nbformat", "nbclient", "jupyter_client", "ipykernel",
    "dask", "distributed", "tqdm",
)


# --------------------------------------------------------------------------------------------
# errors


class InputError(ValueError):
    """Bad input (project, notebook name, parameter or value); the CLI exits 2 on it."""


class NotebookNotFoundError(InputError):
    """A notebook name that is not in ``notebooks/``."""


class ParameterError(InputError):
    """An unknown, managed or ill-typed ``-p`` parameter."""


class RunError(RuntimeError):
    """A notebook failed to run; the message says where, and that the last good output is kept."""

    def __init__(self, message: str, failed_notebook: Path | None = None) -> None:
        super().__init__(message)
        self.failed_notebook = failed_notebook


class RunInterrupted(RunError):
    """The run was interrupted (Ctrl-C); the last good output is kept."""


# --------------------------------------------------------------------------------------------
# project


@dataclass(frozen=True)
class Project:
    """Where the notebooks are and where their runs go."""

    root: Path
    runs_root: Path

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    def profile_dir(self, profile: str) -> Path:
        return self.runs_root / profile

    def output_dir(self, profile: str, name: str) -> Path:
        """The folder holding the last good run of ``name`` under ``profile``."""
        return self.runs_root / profile / name

    def failed_dir(self, profile: str, name: str) -> Path:
        """The folder holding the executed notebook of the last failed run."""
        return self.runs_root / profile / f"{name}.failed"


def _is_project_root(path: Path) -> bool:
    return (path / "pyproject.toml").is_file() and (path / "notebooks").is_dir()


def find_project_root(start: str | Path | None = None) -> Path:
    """The first folder from ``start`` (default: the current directory) upward that holds
    ``pyproject.toml`` and ``notebooks/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_project_root(folder):
            return folder
    raise InputError(
        f"no ipsbook project found in {here} or above it (a folder with pyproject.toml and "
        "notebooks/); run from inside the project or pass --project DIR"
    )


def open_project(project: str | Path | None = None, runs: str | Path | None = None) -> Project:
    """Resolve the project root and the runs root.

    ``runs`` wins over ``$IPSBOOK_RUNS_DIR``, which wins over ``<project root>/runs``.
    """
    if project is not None:
        root = Path(project).expanduser().resolve()
        if not (root / "notebooks").is_dir():
            raise InputError(f"--project {root}: there is no notebooks/ folder in it")
    else:
        root = find_project_root()
    runs = runs if runs is not None else (os.environ.get(RUNS_ENV) or None)
    runs_root = Path(runs).expanduser().resolve() if runs is not None else root / "runs"
    return Project(root=root, runs_root=runs_root)


def _as_project(project: Project | str | Path | None, runs: str | Path | None = None) -> Project:
    if isinstance(project, Project):
        return project if runs is None else Project(project.root, Path(runs).resolve())
    return open_project(project, runs)


# --------------------------------------------------------------------------------------------
# notebooks and their parameters


@dataclass(frozen=True)
class Parameter:
    """One name of a notebook's ``parameters`` cell."""

    name: str
    default: Any  # the literal value, or None when the default is not a literal
    source: str  # the default as written
    literal: bool  # False when the default is an expression (then any value is accepted)


@dataclass(frozen=True)
class Notebook:
    """A notebook script, its text (read once, so the cache key and the run agree) and its
    parameters."""

    name: str
    path: Path
    text: str
    parameters: dict[str, Parameter]

    def user_parameters(self) -> list[str]:
        """Names a user may set with ``-p``."""
        return [p for p in self.parameters if p not in MANAGED_PARAMETERS]

    def to_ipynb(self):
        """The notebook as an nbformat node, ready for papermill."""
        import jupytext

        nb = jupytext.reads(self.text, fmt="py:percent")
        nb.metadata["kernelspec"] = {
            "name": KERNEL_NAME, "display_name": "Python 3", "language": "python",
        }
        nb.metadata.setdefault("language_info", {"name": "python"})
        return nb


def available_notebooks(project: Project) -> list[str]:
    """Names of ``notebooks/*.py`` not starting with ``_``, sorted."""
    return sorted(
        p.stem for p in project.notebooks_dir.glob("*.py") if not p.name.startswith("_")
    )



def assignments(tree: ast.Module) -> Iterator[tuple[ast.stmt, str, ast.expr]]:
    """``(statement, name, value)`` for each top-level ``name = value`` (or annotated) of a
    parameters cell; other statements are skipped."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            yield node, target.id, value

def _parse_parameters(text: str, where: str) -> dict[str, Parameter]:
    import jupytext

    nb = jupytext.reads(text, fmt="py:percent")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise InputError(f'{where} has no cell tagged parameters (# %% tags=["parameters"])')
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputError(f"{where}: its parameters cell is not valid Python ({exc})") from None
    params: dict[str, Parameter] = {}
    for _node, target, value in assignments(tree):
        text_value = ast.get_source_segment(source, value) or ast.unparse(value)
        try:
            params[target] = Parameter(target, ast.literal_eval(value), text_value, True)
        except ValueError:
            params[target] = Parameter(target, None, text_value, False)
    missing = [p for p in REQUIRED_PARAMETERS if p not in params]
    if missing:
        raise InputError(
            f"{where}: its parameters cell must define {', '.join(REQUIRED_PARAMETERS)}; "
            f"missing: {', '.join(missing)}"
        )
    return params


def load_notebook(project: Project, name: str) -> Notebook:
    """Read ``notebooks/<name>.py`` and its parameters."""
    path = project.notebooks_dir / f"{name}.py"
    if name.startswith("_") or not path.is_file():
        names = available_notebooks(project)
        hint = difflib.get_close_matches(name, names, n=1)
        raise NotebookNotFoundError(
            f"no notebook named {name!r} in {project.notebooks_dir}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; available: {', '.join(names) or '(none)'}, or 'all'"
        )
    text = path.read_text(encoding="utf-8")
    return Notebook(name, path, text, _parse_parameters(text, f"notebooks/{name}.py"))


def select_notebooks(project: Project, names: Sequence[str]) -> list[Notebook]:
    """The notebooks named (``all`` = every one), in the order given, without repeats."""
    if not names:
        raise InputError("name at least one notebook, or 'all'")
    if "all" in names:
        names = available_notebooks(project)
        if not names:
            raise InputError(f"there are no notebooks in {project.notebooks_dir}")
    unique = list(dict.fromkeys(names))
    return [load_notebook(project, n) for n in unique]


# --------------------------------------------------------------------------------------------
# parameter values


def parse_value(text: str) -> Any:
    """A ``-p`` value: a Python literal (int, float, bool, None, list, tuple, str) or else the
    text itself as a string."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["n=3", "name=x"]`` -> ``{"n": "3", "name": "x"}`` (the last one wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ParameterError(f"-p {item!r}: write -p name=value (e.g. -p seed=1)")
        out[key] = value
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "True or False"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _coerce(nb: Notebook, name: str, raw: Any) -> Any:
    """Check ``raw`` (a CLI string, or a Python value from the API) against the default's type."""
    spec = nb.parameters[name]
    is_text = isinstance(raw, str)
    value = parse_value(raw) if is_text else raw
    default = spec.default
    if not spec.literal or default is None:
        return list(value) if isinstance(value, tuple) else value

    def bad() -> ParameterError:
        return ParameterError(
            f"notebook {nb.name!r}: parameter {name}={raw!r} is not {_kind(default)} "
            f"(its default is {name} = {spec.source})"
        )

    if isinstance(default, bool):
        if is_text and isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise bad()
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        return float(value)  # so scale=2 and scale=2.0 give one cache key
    if isinstance(default, str):
        # a string default takes the text as written (-p dataset=123 is the string "123"),
        # unless the user quoted it
        return value if isinstance(value, str) else (raw if is_text else str(value))
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise bad()
        return list(value)  # papermill injects lists, not tuples
    return value


def _resolve_overrides(
    notebooks: Sequence[Notebook], raw: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per notebook, the overrides that apply to it; every -p must apply to one notebook."""
    for name in raw:
        if name == "profile":
            raise ParameterError("-p profile=...: the profile is set with --profile")
        if name == "output_dir":
            raise ParameterError(
                "-p output_dir=...: output_dir is managed by the runner "
                "(use --runs DIR or $IPSBOOK_RUNS_DIR to move all outputs)"
            )
    for name in raw:
        if any(name in nb.parameters for nb in notebooks):
            continue
        if len(notebooks) == 1:
            nb = notebooks[0]
            allowed = nb.user_parameters()
            hint = difflib.get_close_matches(name, allowed, n=1)
            raise ParameterError(
                f"notebook {nb.name!r} has no parameter {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; allowed: {', '.join(allowed)} (profile and output_dir are set by the runner)"
            )
        listing = "; ".join(f"{nb.name}: {', '.join(nb.user_parameters())}" for nb in notebooks)
        raise ParameterError(
            f"-p {name}=...: no selected notebook has a parameter {name!r}; allowed: {listing}"
        )
    return {
        nb.name: {k: _coerce(nb, k, v) for k, v in raw.items() if k in nb.parameters}
        for nb in notebooks
    }


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


# --------------------------------------------------------------------------------------------
# execution (the part that also runs on a Dask worker: no Project, plain data in and out)


# Kernels started by this process, so that Ctrl-C can interrupt those running in threads:
# they are started in their own session, so the terminal's SIGINT does not reach them.
_LIVE_KERNELS: weakref.WeakSet[_IpsbookKernelManager] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


class _IpsbookKernelManager(AsyncKernelManager):
    """The kernel manager papermill uses: fixed hash seed, encrypted transport when possible."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        try:  # silences ipykernel's "running over TCP without encryption" warning
            import zmq

            if zmq.has("curve") and self._kernel_supports_curve_encryption():
                self.transport_encryption = "auto"
        except Exception:  # noqa: BLE001, S110 -- cosmetic: plain TCP works as well
            pass

    async def _async_pre_start_kernel(self, **kw: Any):
        env = dict(kw.pop("env", None) or os.environ)
        env["PYTHONHASHSEED"] = "0"  # set/dict iteration order is the same on every run
        return await super()._async_pre_start_kernel(env=env, **kw)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        await super()._async_post_start_kernel(**kw)
        with _LIVE_LOCK:
            _LIVE_KERNELS.add(self)


def _interrupt_live_kernels() -> None:
    with _LIVE_LOCK:
        kms = list(_LIVE_KERNELS)
    for km in kms:
        proc = getattr(getattr(km, "provisioner", None), "process", None)
        try:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        except OSError:
            pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _environment() -> dict[str, Any]:
    from importlib import metadata

    libs = {}
    for lib in _LIBRARIES:
        try:
            libs[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "libraries": libs,
    }


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 100 else line[:97] + "..."
    return "(empty cell)"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _source_cell_index(nb, index: int) -> int:
    """Map papermill's cell index to the index in the notebook script.

    papermill counts its injected-parameters cell (which the script lacks); its error-marker
    cells were inserted after it computed ``index``, so they are skipped first.
    """
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in _tags(c)]
    return index - sum("injected-parameters" in _tags(c) for c in cells[:index])


def _interrupted_cell(path: Path) -> dict[str, Any] | None:
    """The last cell papermill started in a partly written notebook."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 -- half-written by an interrupted run: no detail then
        return None
    last = None
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            last = i
    if last is None:
        return None
    cell = nb.cells[last]
    return {
        "cell_index": _source_cell_index(nb, last),
        "exec_count": cell.get("execution_count"),
        "first_line": _first_line(cell.source),
    }


# jupyter_client picks the kernel's five ports by binding port 0 and releasing it; another
# process (e.g. a kernel started beside it under ``-j 2``) can take one before the new kernel
# binds it, and that kernel then dies at start-up with "Address already in use". Nothing
# has run then, so starting again is safe; anything else is reported as it happened.
KERNEL_START_ATTEMPTS = 3
_KERNEL_START_RACE = ("Kernel died before replying to kernel_info", "Address already in use")


def _kernel_start_race(exc: BaseException) -> bool:
    import papermill

    if isinstance(exc, papermill.PapermillExecutionError):  # a cell ran and failed
        return False
    return any(text in str(exc) for text in _KERNEL_START_RACE)


def _execute_in(
    nb_json: str, name: str, workdir: str, injected: Mapping[str, Any], progress: bool
) -> dict[str, Any]:
    """Run the notebook with papermill inside ``workdir``; never raises, reports in a dict."""
    import nbformat
    import papermill

    work = Path(workdir)
    out_nb = work / f"{name}.ipynb"
    started, t0 = _now(), time.perf_counter()
    info: dict[str, Any] = {"ok": False, "interrupted": False, "error": None}
    # papermill records its input path in the notebook (and a NotebookNode input would be
    # embedded whole), so it reads a throw-away file outside the output folder
    fd, src = tempfile.mkstemp(prefix=f"ipsbook-{name}-", suffix=".ipynb")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(nb_json)
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                papermill.execute_notebook(
                    src,
                    str(out_nb),
                    parameters=dict(injected),
                    kernel_name=KERNEL_NAME,
                    language="python",
                    progress_bar=progress,
                    # not papermill's cwd=: it calls os.chdir, which threads running side by
                    # side would race on; nbclient starts the kernel in
                    # resources.metadata.path instead
                    resources={"metadata": {"path": str(work)}},
                    kernel_manager_class=_IpsbookKernelManager,
                    start_timeout=120,
                )
                break
            except Exception as exc:
                if attempt == KERNEL_START_ATTEMPTS or not _kernel_start_race(exc):
                    raise
                info["kernel_start_retries"] = attempt
                out_nb.unlink(missing_ok=True)  # no cell ran: start again from nothing
        info["ok"] = True
    except papermill.PapermillExecutionError as exc:
        index = exc.cell_index
        try:
            index = _source_cell_index(nbformat.read(out_nb, as_version=4), exc.cell_index)
        except Exception:  # noqa: BLE001, S110 -- then papermill's own index is reported
            pass
        info["interrupted"] = exc.ename == "KeyboardInterrupt"
        info["error"] = {
            "cell_index": index,
            "exec_count": exc.exec_count,
            "first_line": _first_line(exc.source),
            "ename": exc.ename,
            "evalue": exc.evalue,
        }
    except KeyboardInterrupt:
        info["interrupted"] = True
        info["error"] = {"ename": "KeyboardInterrupt", "evalue": "interrupted by the user"}
        if out_nb.exists():
            info["error"].update(_interrupted_cell(out_nb) or {})
    except Exception as exc:  # noqa: BLE001 -- kernel died or did not start, bad notebook...
        info["error"] = {"ename": type(exc).__name__, "evalue": str(exc)}
    finally:
        os.unlink(src)
    info.update(
        started=started, finished=_now(), wall_s=round(time.perf_counter() - t0, 3),
        environment=_environment(),
    )
    return info


def _notebook_json(plan: RunPlan) -> str:
    """The notebook to execute: the script's cells and, last, the cell that records which
    ``ipsbook`` modules and datasets the run used (:mod:`ipsbook.inputs`)."""
    import nbformat

    nb = plan.notebook.to_ipynb()
    cell = nbformat.v4.new_code_cell(chapter_inputs.record_cell_source())
    cell.metadata["tags"] = [chapter_inputs.RECORD_TAG]
    nb.cells.append(cell)
    return nbformat.writes(nb)


def _tar_dir(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return buf.getvalue()


def _untar(blob: bytes, dest: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")  # "data": no absolute paths, links or ../ escapes


def execute_remote(
    nb_json: str, name: str, injected: Mapping[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """The Dask task: run the notebook in a worker-local temporary folder and return the run
    report and the folder as tar.gz bytes (the client swaps them in)."""
    base = None
    try:
        from distributed import get_worker

        base = get_worker().local_directory
    except (ImportError, ValueError, AttributeError):
        pass
    work = Path(tempfile.mkdtemp(prefix=f"ipsbook-{name}-", dir=base))
    try:
        info = _execute_in(nb_json, name, str(work), injected, progress=False)
        info["executed_on"] = "dask"
        return info, _tar_dir(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# a log a user can follow when stdout is not a terminal

#: Set (to "1") for kernels while the runner logs: ipsbook.progress then appends its bars'
#: progress to this file in the run's folder, which the runner prints and removes.
PROGRESS_ENV = "IPSBOOK_PROGRESS_LOG"
_PROGRESS_FILE = ".ipsbook-progress.log"
_LOG_LOCK = threading.Lock()
_LOG_FORCE: bool | None = None  # tests set it; None: log when stdout is not a terminal


def _log_enabled() -> bool:
    if _LOG_FORCE is not None:
        return _LOG_FORCE
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _log(text: str) -> None:
    if not _log_enabled():
        return
    with _LOG_LOCK:
        print(f"ipsbook: {text}", flush=True)


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _ProgressTail:
    """Print the lines a chapter's kernel appends to its progress file, every few seconds."""

    def __init__(self, name: str, folder: Path, every_s: float = 5.0) -> None:
        self.name, self.path, self.every_s = name, folder / _PROGRESS_FILE, every_s
        self.t0 = time.perf_counter()
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"ipsbook-tail-{name}")
        self._thread.start()

    def _drain(self) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            if line.strip():
                _log(f"[{self.name} {_clock(time.perf_counter() - self.t0)}] {line.strip()}")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._drain()

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=10)
            self._drain()


# --------------------------------------------------------------------------------------------
# finishing a run: run.json, atomic swap, failed notebooks


def _swap_in(new: Path, final: Path) -> None:
    """Replace ``final`` by ``new`` with two renames (same file system), then drop the old."""
    old = final.with_name(f".tmp-{final.name}-old-{uuid.uuid4().hex[:8]}")
    had_old = final.exists()
    if had_old:
        final.rename(old)
    try:
        new.rename(final)
    except BaseException:
        if had_old and not final.exists():
            old.rename(final)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def _tidy_notebook(path: Path, plan: RunPlan) -> None:
    """Replace the throw-away paths papermill recorded by ones valid after the swap."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if chapter_inputs.RECORD_TAG not in _tags(c)]
    pm = nb.metadata.setdefault("papermill", {})
    pm["input_path"] = f"notebooks/{plan.name}.py"
    pm["output_path"] = f"{plan.name}.ipynb"
    nbformat.write(nb, path)


def _inputs_of(plan: RunPlan, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The run's inputs now, from what its kernel recorded (None: nothing was recorded)."""
    if record is None:
        return None
    pkg = _package_dir(plan.project)
    return chapter_inputs.inputs_now(
        root=plan.project.root, package_dir=pkg, name=plan.name, profile=plan.profile,
        parameters=plan.parameters, notebook_text=plan.notebook.text,
        modules=chapter_inputs.module_keys(record.get("modules", []), pkg),
        datasets=record.get("datasets", []),
    )


def _phases(path: Path) -> list[dict[str, Any]]:
    """Wall time per section of an executed notebook: papermill's cell durations summed under
    the nearest '## ' heading before them."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 -- no phases then
        return []
    phases: list[dict[str, Any]] = [{"phase": "(set-up)", "wall_s": 0.0}]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith(("## ", "# ")):
                    phases.append({"phase": line.lstrip("#").strip(), "wall_s": 0.0})
                    break
            continue
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if isinstance(duration, (int, float)):
            phases[-1]["wall_s"] += float(duration)
    return [dict(p, wall_s=round(p["wall_s"], 1)) for p in phases if p["wall_s"] > 0]


def _run_record(plan: RunPlan, info: Mapping[str, Any], status: str,
                folder: Path | None = None) -> dict[str, Any]:
    import ipsbook

    env = dict(info.get("environment") or {})
    extra: dict[str, Any] = {}
    if folder is not None:
        used = _inputs_of(plan, info.get("inputs_record"))
        if used is not None:
            extra["inputs"] = used
            extra["input_digest"] = chapter_inputs.digest(used)
        extra["phases"] = _phases(folder / f"{plan.name}.ipynb")
        training = folder / "training.json"
        if training.is_file():
            try:
                extra["training"] = json.loads(training.read_text(encoding="utf-8"))
            except ValueError:
                pass
    return {
        "name": plan.name,
        "profile": plan.profile,
        "status": status,
        "parameters": plan.parameters,
        "overrides": plan.overrides,
        "cache_key": plan.cache_key,
        "notebook": f"notebooks/{plan.name}.py",
        "notebook_sha256": hashlib.sha256(plan.notebook.text.encode("utf-8")).hexdigest(),
        "ipsbook_version": ipsbook.__version__,
        **plan.git,
        "started": info.get("started"),
        "finished": info.get("finished"),
        "wall_s": info.get("wall_s"),
        "executed_on": info.get("executed_on", "local"),
        **extra,
        **env,
        **({"error": info["error"]} if info.get("error") else {}),
    }


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, default=repr) + "\n")


def _failure_message(plan: RunPlan, info: Mapping[str, Any], failed_nb: Path | None) -> str:
    err = info.get("error") or {}
    if "cell_index" in err:
        count = err.get("exec_count")
        where = (
            f" in cell index {err['cell_index']} (In [{count if count else ' '}]) of "
            f"notebooks/{plan.name}.py, which starts with: {err.get('first_line')}"
        )
    else:
        where = ""
    what = "was interrupted" if info.get("interrupted") else "failed"
    lines = [
        f"notebook {plan.name!r} (profile {plan.profile}) {what}{where}",
        f"  {err.get('ename', 'Error')}: {err.get('evalue', '')}".rstrip(),
    ]
    if plan.output_dir.exists():
        lines.append(f"  the last good output is untouched: {plan.output_dir}")
    else:
        lines.append(f"  nothing was written to {plan.output_dir} (there was no earlier good run)")
    if failed_nb is not None:
        lines.append(f"  the failed notebook is at {failed_nb}")
    else:
        lines.append("  no executed notebook was written")
    return "\n".join(lines)


def _finish(plan: RunPlan, tmp: Path, info: Mapping[str, Any]) -> RunResult:
    """Swap a successful run in, or keep the failed notebook aside and raise RunError."""
    nb_path = tmp / f"{plan.name}.ipynb"
    info = {**info, "inputs_record": chapter_inputs.read_record(tmp)}
    (tmp / _PROGRESS_FILE).unlink(missing_ok=True)
    if nb_path.exists():
        try:
            _tidy_notebook(nb_path, plan)
        except Exception:  # noqa: BLE001, S110 -- a half-written notebook is kept as it is
            pass
    if not info.get("ok"):
        failed_nb = None
        if nb_path.exists():
            holder = Path(tempfile.mkdtemp(prefix=f".tmp-{plan.name}-failed-", dir=tmp.parent))
            try:
                nb_path.rename(holder / nb_path.name)
                _write_json(holder / "run.json", _run_record(plan, info, "failed"))
                _swap_in(holder, plan.project.failed_dir(plan.profile, plan.name))
            finally:
                shutil.rmtree(holder, ignore_errors=True)
            failed_nb = plan.project.failed_dir(plan.profile, plan.name) / nb_path.name
        exc_type = RunInterrupted if info.get("interrupted") else RunError
        raise exc_type(_failure_message(plan, info, failed_nb), failed_nb)
    _write_json(tmp / "run.json", _run_record(plan, info, "ok", tmp))
    _swap_in(tmp, plan.output_dir)
    # a newer good run makes an older failure moot
    shutil.rmtree(plan.project.failed_dir(plan.profile, plan.name), ignore_errors=True)
    return RunResult(plan.name, plan.profile, RAN, float(info.get("wall_s") or 0.0),
                     plan.output_dir)


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


def _new_tmp(plan: RunPlan) -> Path:
    profile_dir = plan.project.profile_dir(plan.profile)
    profile_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".tmp-{plan.name}-", dir=profile_dir))


def _run_plan_local(plan: RunPlan, progress: bool) -> RunResult:
    nb_json = _notebook_json(plan)
    tmp = _new_tmp(plan)
    tail = _ProgressTail(plan.name, tmp) if _log_enabled() else None
    try:
        info = _execute_in(nb_json, plan.name, str(tmp), plan.injected(), progress)
        if tail is not None:
            tail.stop()
        return _finish(plan, tmp, info)
    finally:
        if tail is not None:
            tail.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _finish_remote(plan: RunPlan, payload: tuple[dict[str, Any], bytes]) -> RunResult:
    info, blob = payload
    tmp = _new_tmp(plan)
    try:
        _untar(blob, tmp)
        return _finish(plan, tmp, info)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _failed_result(plan: RunPlan, exc: RunError, t0: float) -> RunResult:
    return RunResult(
        plan.name, plan.profile, FAILED, time.perf_counter() - t0, plan.output_dir,
        error=str(exc), failed_notebook=exc.failed_notebook,
        interrupted=isinstance(exc, RunInterrupted),
    )


def _run_one(plan: RunPlan, force: bool, progress: bool) -> RunResult:
    result = _run_one_quiet(plan, force, progress)
    _log(f"end   {plan.name} (profile {plan.profile}): {result.status} after "
         f"{_clock(result.wall_s)}")
    return result


def _run_one_quiet(plan: RunPlan, force: bool, progress: bool) -> RunResult:
    t0 = time.perf_counter()
    if not force and _is_cached(plan):
        return RunResult(plan.name, plan.profile, CACHED, time.perf_counter() - t0,
                         plan.output_dir)
    _log(f"start {plan.name} (profile {plan.profile})")
    if _log_enabled():
        os.environ[PROGRESS_ENV] = "1"
    try:
        return _run_plan_local(plan, progress)
    except RunError as exc:
        return _failed_result(plan, exc, t0)
    except OSError as exc:  # storing the output failed (disk full, permissions...)
        msg = (
            f"notebook {plan.name!r} (profile {plan.profile}) ran, but its output could not be "
            f"stored: {type(exc).__name__}: {exc}\n"
            f"  the last good output is untouched: {plan.output_dir}"
        )
        return _failed_result(plan, RunError(msg), t0)


# --------------------------------------------------------------------------------------------
# public entry points


def run_notebook(
    name: str,
    profile: str = "quick",
    params: Mapping[str, Any] | None = None,
    *,
    project: Project | str | Path | None = None,
    runs: str | Path | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> RunResult:
    """Run one notebook in this process; raise :class:`RunError` if it fails.

    ``params`` values may be strings (parsed as ``-p`` values) or Python values.
    ``progress=None`` shows papermill's cell bar when stderr is a terminal.
    """
    (plan,) = plan_runs([name], profile, params, project=project, runs=runs)
    result = _run_one(plan, force, sys.stderr.isatty() if progress is None else progress)
    if result.status == FAILED:
        exc_type = RunInterrupted if result.interrupted else RunError
        raise exc_type(result.error or "", result.failed_notebook)
    return result


def run_notebooks(
    names: Sequence[str],
    profile: str = "quick",
    params: Mapping[str, Any] | None = None,
    *,
    project: Project | str | Path | None = None,
    runs: str | Path | None = None,
    jobs: int = 1,
    force: bool = False,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    plans: Sequence[RunPlan] | None = None,
) -> list[RunResult]:
    """Run several notebooks (``["all"]`` = every one); failures do not stop the others.

    Input errors are raised before anything runs (:func:`plan_runs`). Each finished notebook is
    passed to ``on_result`` as it completes; the results come back in the order of ``names``.
    ``jobs`` > 1 runs notebooks in threads (one kernel process each); ``scheduler``
    (``tcp://host:port``) sends them to a Dask cluster instead. On Ctrl-C running kernels are
    interrupted, queued notebooks are not started, and KeyboardInterrupt is re-raised.
    """
    if jobs < 1:
        raise InputError(f"-j {jobs}: the number of parallel runs must be at least 1")
    if plans is None:
        plans = plan_runs(names, profile, params, project=project, runs=runs)
    show = sys.stderr.isatty() if progress is None else progress
    results: dict[str, RunResult] = {}

    bar = None
    if len(plans) > 1 and show:
        from .progress import tqdm

        bar = tqdm(total=len(plans), unit="notebook", desc="ipsbook run")

    def done(result: RunResult) -> None:
        results[result.name] = result
        if bar is not None:
            bar.set_postfix_str(f"{result.name}: {result.status}")
            bar.update(1)
        if on_result is not None:
            on_result(result)

    try:
        todo = []
        for plan in plans:
            t0 = time.perf_counter()
            if not force and _is_cached(plan):
                _log(f"end   {plan.name} (profile {plan.profile}): cached (inputs unchanged)")
                done(RunResult(plan.name, plan.profile, CACHED, time.perf_counter() - t0,
                               plan.output_dir))
            else:
                todo.append(plan)
        if scheduler:
            _run_on_dask(todo, scheduler, done)
        elif jobs == 1 or len(todo) <= 1:
            # in this thread: Ctrl-C reaches papermill, and a single run shows its cell bar
            for plan in todo:
                result = _run_one(plan, True, show and len(plans) == 1)
                done(result)
                if result.interrupted:
                    raise KeyboardInterrupt
        else:
            _run_in_threads(todo, jobs, done)
    finally:
        if bar is not None:
            bar.close()
    return [results[p.name] for p in plans if p.name in results]


def _run_in_threads(plans: Sequence[RunPlan], jobs: int, done: Callable[[RunResult], None]) -> None:
    stop = threading.Event()

    def task(plan: RunPlan) -> RunResult | None:
        if stop.is_set():
            return None
        return _run_one(plan, True, False)

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ipsbook-run")
    pending = {pool.submit(task, plan) for plan in plans}
    interrupted = False
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                if fut.result() is not None:
                    done(fut.result())
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        for fut in pending:
            fut.cancel()
        _interrupt_live_kernels()
        # the interrupted kernels end their cell at once; collect those runs as failures
        for fut in pending:
            if not fut.cancelled():
                try:
                    result = fut.result()
                except Exception:  # noqa: BLE001, S112 -- cancelled before it started
                    continue
                if result is not None:
                    done(result)
        raise
    finally:
        # after a Ctrl-C the runs were already collected (a second Ctrl-C must not wait again)
        pool.shutdown(wait=not interrupted, cancel_futures=True)


def _run_on_dask(plans: Sequence[RunPlan], address: str, done: Callable[[RunResult], None]) -> None:
    if not plans:
        return
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise InputError(f"--scheduler {address}: cannot connect to the Dask scheduler ({exc})")
    try:
        futures = {}
        starts = {}
        for plan in plans:
            nb_json = _notebook_json(plan)
            fut = client.submit(
                execute_remote, nb_json, plan.name, plan.injected(), pure=False,
                key=f"ipsbook-{plan.profile}-{plan.name}-{uuid.uuid4().hex[:8]}",
            )
            futures[fut] = plan
            starts[fut] = time.perf_counter()
        try:
            for fut in as_completed(list(futures)):
                plan = futures[fut]
                try:
                    payload = fut.result()
                    result = _finish_remote(plan, payload)
                except RunError as exc:
                    result = _failed_result(plan, exc, starts[fut])
                except Exception as exc:  # noqa: BLE001 -- the task failed: worker lost, import...
                    msg = (
                        f"notebook {plan.name!r} (profile {plan.profile}) failed on the Dask "
                        f"cluster {address}: {type(exc).__name__}: {exc}\n"
                        f"  the last good output is untouched: {plan.output_dir}"
                    )
                    result = _failed_result(plan, RunError(msg), starts[fut])
                done(result)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
    finally:
        client.close()

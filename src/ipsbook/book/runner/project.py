"""The project a run belongs to, its notebooks and their parameters: what ``ipsbook run``
checks before anything runs (names, ``-p`` values, the notebook contract)."""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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



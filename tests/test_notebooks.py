"""Every chapter notebook (notebooks/*.py) runs under the smoke profile and re-runs identically.

1. Its source has a ``parameters`` cell with ``profile``, ``seed`` and ``output_dir``, holding
   independent literal scalars only (papermill injects overrides below that cell).
2. ``ipsbook run all --profile smoke`` (the ``smoke_runs`` fixture, once per session) produced its
   executed notebook (without errors), ``claims.json`` with at least one claim of an allowed
   status, at least one figure as PNG + SVG, at least one CSV table and ``run.json``.
3. nbval in lax mode re-executes a copy of the executed notebook in a fresh folder and compares
   the outputs of the cells tagged ``nbval-check-output`` (scorecard, headline tables) with the
   smoke run's, after ``tests/nbval_sanitize.cfg``; stderr and HTML are not compared (conftest).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, notebook_names, run_log_tail

NAMES = notebook_names()
SANITIZE = REPO / "tests" / "nbval_sanitize.cfg"
REQUIRED_PARAMETERS = ("profile", "seed", "output_dir")
NBVAL_TIMEOUT_S = int(os.environ.get("IPSBOOK_NBVAL_TIMEOUT", "1800"))

pytestmark = pytest.mark.notebook


def _allowed_statuses() -> tuple[str, ...]:
    from ipsbook.book.claims import ALL_STATUSES  # the verdicts and "fact"

    return tuple(ALL_STATUSES)


def _run_dir(root: Path, name: str) -> Path:
    return root / "smoke" / name


def _executed(root: Path, name: str) -> Path:
    path = _run_dir(root, name) / f"{name}.ipynb"
    assert path.is_file(), (
        f"no executed notebook {path} after `ipsbook run all --profile smoke`; runner log:\n"
        + run_log_tail(root)
    )
    return path


def _literal_names(source: str) -> dict[str, ast.expr]:
    """``name -> value expression`` for every top-level assignment in a cell."""
    out: dict[str, ast.expr] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            out[node.target.id] = node.value
    return out


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell(name: str) -> None:
    import jupytext

    nb = jupytext.read(REPO / "notebooks" / f"{name}.py")
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, (
        f"notebooks/{name}.py: expected one cell tagged 'parameters', got {len(cells)}"
    )
    assigned = _literal_names(cells[0].source)
    missing = [p for p in REQUIRED_PARAMETERS if p not in assigned]
    assert not missing, f"notebooks/{name}.py: parameters cell lacks {missing}"
    for var, value in assigned.items():
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            pytest.fail(
                f"notebooks/{name}.py: parameter {var} = {ast.unparse(value)} is not a literal; "
                "the parameters cell holds independent scalars (derive values in the next cell)"
            )
        assert literal is None or isinstance(literal, (str, int, float, bool)), (
            f"notebooks/{name}.py: parameter {var} = {literal!r} is not a scalar"
        )
    from ipsbook.profiles import PROFILES

    profile = ast.literal_eval(assigned["profile"])
    assert profile in PROFILES, (
        f"notebooks/{name}.py: default profile {profile!r} not in {PROFILES}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_smoke_run_outputs(name: str, smoke_runs: Path) -> None:
    import nbformat

    executed = _executed(smoke_runs, name)
    run_dir = executed.parent
    nb = nbformat.read(executed, as_version=4)
    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(nb.cells) if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors, f"{executed}: cells raised {errors}"
    # a reader sees stderr in the book: no library warning about the environment belongs there
    # (tqdm.auto's "IProgress not found" once opened every chapter; ipsbook.progress avoids it)
    noisy = [
        (i, line.strip()) for i, c in enumerate(nb.cells) if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("name") == "stderr"
        for line in o.get("text", "").splitlines() if "Warning:" in line
    ]
    assert not noisy, f"{executed}: warnings on stderr {noisy[:3]}"

    claims_file = run_dir / "claims.json"
    assert claims_file.is_file(), f"{name}: no claims.json in {run_dir}"
    claims = json.loads(claims_file.read_text())
    assert isinstance(claims, list) and claims, f"{name}: claims.json holds no claim"
    allowed = _allowed_statuses()
    bad = [c.get("status") for c in claims if c.get("status") not in allowed]
    assert not bad, f"{name}: claim statuses {bad} not in {allowed}"
    profiles = {c.get("profile") for c in claims}
    assert profiles == {"smoke"}, f"{name}: claims recorded under profiles {profiles}, not smoke"

    pngs = sorted((run_dir / "figures").glob("*.png"))
    paired = [p for p in pngs if p.with_suffix(".svg").is_file()]
    assert paired, f"{name}: no figure saved as both PNG and SVG under {run_dir / 'figures'}"
    tables = sorted((run_dir / "tables").glob("*.csv"))
    assert tables, f"{name}: no CSV table under {run_dir / 'tables'}"
    assert all(t.stat().st_size > 0 for t in tables), f"{name}: an empty CSV table"

    run_json = run_dir / "run.json"
    assert run_json.is_file(), f"{name}: no run.json in {run_dir}"
    json.loads(run_json.read_text())


def _redirect_output_dir(nb, output_dir: Path) -> None:
    """Point ``output_dir`` of a copied executed notebook into the nbval folder.

    The runner executed the notebook in a temporary folder that no longer exists; re-executing
    must not write into the runs tree either.
    """
    for tag in ("injected-parameters", "parameters"):
        for cell in nb.cells:
            if tag in cell.get("metadata", {}).get("tags", []):
                cell.source = cell.source.rstrip("\n") + f"\noutput_dir = {str(output_dir)!r}\n"
                return
    raise AssertionError("the executed notebook has no parameters cell")


@pytest.mark.parametrize("name", NAMES)
def test_nbval_lax(name: str, smoke_runs: Path, tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.read(_executed(smoke_runs, name), as_version=4)
    _redirect_output_dir(nb, tmp_path / "nbval-out")
    copy = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, copy)
    # an empty ini file: the project's pytest settings must not apply to the nbval run
    (tmp_path / "pytest.ini").write_text("[pytest]\n")

    env = dict(os.environ)
    # `-p conftest` loads tests/conftest.py (its nbval hook) in the subprocess
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "tests"), env.get("PYTHONPATH", "")) if p
    )
    cmd = [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
        "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider", "-p", "conftest",
        "--nbval-cell-timeout", "600", "-c", "pytest.ini", "--rootdir", ".", copy.name,
    ]
    proc = subprocess.run(
        cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=NBVAL_TIMEOUT_S,
    )
    assert proc.returncode == 0, (
        f"nbval --nbval-lax failed for {name} (exit {proc.returncode}):\n"
        + (proc.stdout + proc.stderr)[-6000:]
    )

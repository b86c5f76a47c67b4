"""Test-suite wiring: the data folder, one smoke run of every notebook, and nbval's hook.

* ``IPSBOOK_DATA_DIR`` defaults to ``../shared/data`` (beside the repository) when unset and
  present, as in CI.
* ``smoke_runs``: ``ipsbook run all --profile smoke --runs <tmp>``, once per session; returns the
  runs root (``<root>/smoke/<name>/`` per notebook, and ``<root>/ipsbook-run.log``). Set
  ``IPSBOOK_SMOKE_RUNS=DIR`` to reuse the runs already under ``DIR`` instead (a quick re-check).
* ``pytest_collectstart``: when nbval collects a notebook (the subprocess that
  ``test_notebooks.py`` starts loads this file with ``-p conftest``), stderr, HTML and JavaScript
  outputs are not compared: only text and data outputs of ``nbval-check-output`` cells are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

if not os.environ.get("IPSBOOK_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["IPSBOOK_DATA_DIR"] = str(SHARED_DATA)

# papermill and nbval start the "python3" kernel, whose kernelspec runs the first `python` on
# PATH: make that the interpreter running the tests (the venv's), not the system's.
_BIN = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _BIN:
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

SMOKE_TIMEOUT_S = int(os.environ.get("IPSBOOK_SMOKE_TIMEOUT", "1800"))


def ipsbook_command() -> list[str]:
    """The ``ipsbook`` console script of the interpreter running the tests."""
    script = Path(sys.executable).parent / "ipsbook"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from ipsbook.book.cli import main; sys.exit(main())"]


def notebook_names() -> list[str]:
    """Names of the chapter notebooks (``notebooks/<name>.py``)."""
    return sorted(p.stem for p in (REPO / "notebooks").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run every notebook under the smoke profile once; return the runs root.

    A failing notebook does not stop the others: each test reads its own run folder, and
    ``<root>/ipsbook-run.log`` holds the runner's output for the failure messages.
    """
    reuse = os.environ.get("IPSBOOK_SMOKE_RUNS")
    if reuse:
        return Path(reuse).resolve()
    root = tmp_path_factory.mktemp("runs")
    cmd = [*ipsbook_command(), "run", "all", "--profile", "smoke", "--runs", str(root), "-j", "2"]
    log = root / "ipsbook-run.log"
    try:
        proc = subprocess.run(
            cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S,
        )
        log.write_text(
            f"$ {' '.join(cmd)}\nexit code {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n"
        )
    except subprocess.TimeoutExpired as exc:
        log.write_text(f"$ {' '.join(cmd)}\ntimed out after {SMOKE_TIMEOUT_S} s\n{exc}\n")
    return root


def load_benchmark(filename: str):
    """Import ``benchmarks/<filename>`` (a script, not a package module) for its tests."""
    import importlib.util

    path = REPO / "benchmarks" / filename
    spec = importlib.util.spec_from_file_location(f"ipsbook_bench_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run_log_tail(root: Path, chars: int = 4000) -> str:
    """The end of the smoke run's log, for assertion messages."""
    log = root / "ipsbook-run.log"
    return log.read_text()[-chars:] if log.exists() else "(no ipsbook-run.log)"


def pytest_collectstart(collector):
    """nbval: compare neither stderr nor HTML/JavaScript (see nbval's documentation)."""
    path = getattr(collector, "path", None)
    if path is not None and Path(path).suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare = (
            *collector.skip_compare, "stderr", "text/html", "application/javascript",
            "image/svg+xml", "application/vnd.jupyter.widget-view+json",
        )


def need_mst_data() -> None:
    """Skip (with the reason) when paper C's datasets are not available here."""
    from ipsbook.data import DataFileMissing
    from ipsbook.methods.mst import data

    try:
        for d in data.DATASETS:
            data.load(d, "train")
            data.load(d, "test")
    except (DataFileMissing, FileNotFoundError) as exc:
        pytest.skip(f"paper C's datasets not available: {exc}")

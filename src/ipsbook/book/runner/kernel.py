"""Executing one notebook in a Jupyter kernel with papermill (the part that also runs on a Dask
worker: no Project, plain data in and out)."""

from __future__ import annotations

import logging
import os
import platform
import signal
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager

from .. import inputs as chapter_inputs
from .plan import RunPlan
from .project import KERNEL_NAME


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
    ``ipsbook`` modules and datasets the run used (:mod:`ipsbook.book.inputs`)."""
    import nbformat

    nb = plan.notebook.to_ipynb()
    cell = nbformat.v4.new_code_cell(chapter_inputs.record_cell_source())
    cell.metadata["tags"] = [chapter_inputs.RECORD_TAG]
    nb.cells.append(cell)
    return nbformat.writes(nb)



"""Execute the chapter notebooks: papermill, profiles, parameters, cache, atomic outputs.

``ipsbook run`` (see :mod:`ipsbook.book.cli`) is a thin layer over this module. A notebook is a
jupytext percent script ``notebooks/<name>.py`` whose cell tagged ``parameters`` defines
``profile``, ``seed``, ``output_dir`` and the chapter's knobs. One run::

    notebooks/<name>.py --jupytext--> notebook --papermill (profile, output_dir, -p ...)-->
    <runs_root>/<profile>/.tmp-<name>-XXXX/   (cwd of the kernel; the notebook writes here)
    --success--> run.json, then swapped in for <runs_root>/<profile>/<name>/
    --failure--> <runs_root>/<profile>/<name>.failed/<name>.ipynb; <name>/ is left untouched

A run is skipped ("cached") when ``<name>/run.json`` holds the same :func:`cache key
<compute_cache_key>` (notebook, parameters, profile and its sizes, lock file) and none of the
inputs the run recorded has changed since: the ``ipsbook`` modules its kernel imported and the
datasets it read (:mod:`ipsbook.book.inputs`; a cell the runner appends records them and is removed
from the executed notebook). Several notebooks run concurrently in threads (``jobs``), each with
its own kernel process, or on an existing Dask cluster (``scheduler``), whose workers send the
output folder back as a tar.gz so that it lands, atomically, in the same place.

When stdout is not a terminal (``make book | tee book.log``) the runner prints a line as each
notebook starts and ends and, every ``IPSBOOK_PROGRESS_EVERY`` seconds (30), the progress the
chapter's own bars report (:mod:`ipsbook.progress`), so a log shows what a long chapter is doing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ...profiles import ProfileError
from . import local
from .cluster import _run_on_dask, execute_remote
from .kernel import KERNEL_START_ATTEMPTS, _interrupt_live_kernels
from .log import PROGRESS_ENV, _log
from .plan import (
    CACHE_VERSION,
    RunPlan,
    RunResult,
    _is_cached,
    compute_cache_key,
    plan_runs,
    why_stale,
)
from .project import (
    CACHED,
    FAILED,
    KERNEL_NAME,
    LOCK_FILE,
    MANAGED_PARAMETERS,
    RAN,
    REQUIRED_PARAMETERS,
    RUNS_ENV,
    InputError,
    Notebook,
    NotebookNotFoundError,
    Parameter,
    ParameterError,
    Project,
    RunError,
    RunInterrupted,
    available_notebooks,
    find_project_root,
    load_notebook,
    open_project,
    parse_assignments,
    parse_value,
    select_notebooks,
)

__all__ = [
    "CACHED",
    "CACHE_VERSION",
    "FAILED",
    "KERNEL_NAME",
    "KERNEL_START_ATTEMPTS",
    "LOCK_FILE",
    "MANAGED_PARAMETERS",
    "PROGRESS_ENV",
    "RAN",
    "REQUIRED_PARAMETERS",
    "RUNS_ENV",
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
    "why_stale",
]

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
    result = local._run_one(plan, force, sys.stderr.isatty() if progress is None else progress)
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
        from ..progress import tqdm

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
                result = local._run_one(plan, True, show and len(plans) == 1)
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
        return local._run_one(plan, True, False)

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



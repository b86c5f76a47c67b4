"""What the benchmark scripts in ``benchmarks/`` share, so that each script keeps only what it
measures: the machine record (:func:`machine`), the timing loop (:func:`time_interleaved`:
warm-up, then repeats interleaved across methods, best and median kept), and the output
(:func:`write_results`: JSON and CSV written atomically, so a failed run leaves the last good
files; numbers in CSV with 6 significant figures; JSON without NaN or NumPy scalars, which
``performance`` reads back for the book).

A timing *job* is a dict: ``"row"`` (the record the script reports, with at least ``"times"``,
``"warmup_seconds"``, ``"skipped"`` and ``"info"``; :func:`finish_row` fills ``"seconds"``,
``"seconds_median"`` and, where the row has them, ``"per_second"``, ``"fit_seconds"`` and
``"call_seconds"``), ``"run"`` (the call to time) and optionally ``"fit"`` (timed separately;
then ``run`` takes its result), ``"check"`` (information from the warm-up's result added to
``row["info"]``), ``"measure"`` (``(result, wall seconds) -> timed seconds``, e.g. a training
call's own epoch time), ``"warmup": False`` (no separate warm-up call) and ``"limit"``
(seconds after which a call is abandoned) and ``"errors"`` (the exceptions that skip a
method, :data:`SKIP_ERRORS` by default; ``()``: any error ends the run), see :func:`call`.
"""

from __future__ import annotations

import csv
import gc
import importlib
import io
import json
import math
import os
import platform
import signal
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Call",
    "CallTimeout",
    "add_torch_info",
    "atomic_write",
    "call",
    "cores",
    "cpuinfo",
    "csv_number",
    "finish_row",
    "jsonable",
    "load_average",
    "log",
    "loglog_fit",
    "machine",
    "time_interleaved",
    "time_limit",
    "write_results",
]


def log(verbose: bool, msg: str) -> None:
    """Progress on stderr (stdout gets the report)."""
    if verbose:
        print(msg, file=sys.stderr, flush=True)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def csv_number(x: float | None) -> str:
    """A number for a CSV cell ("" for None)."""
    return "" if x is None else f"{x:.6g}"


def jsonable(v: Any) -> Any:
    """``v`` with non-finite floats as None and NumPy scalars as Python numbers, recursively."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return jsonable(v.item())
    return v


def loglog_fit(points: Sequence[tuple[int, float]]) -> dict[str, Any]:
    """``seconds = a * n^exponent`` by least squares on log-log axes, and the slope between
    the two largest sizes (where fixed costs matter least); None below two points."""
    pts = sorted((int(n), float(t)) for n, t in points if t is not None and t > 0)
    out: dict[str, Any] = {"sizes": [p[0] for p in pts], "exponent": None, "prefactor_s": None,
                           "exponent_largest_two": None}
    if len(pts) >= 2:
        x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        slope, intercept = np.polyfit(x, y, 1)
        out.update(exponent=float(slope), prefactor_s=float(np.exp(intercept)),
                   exponent_largest_two=float((y[-1] - y[-2]) / (x[-1] - x[-2])))
    return out


def add_torch_info(machine: dict[str, Any]) -> dict[str, Any]:
    """Add torch's thread pools, the CPUs this process may use and torch's build to a
    benchmark's machine record (``benchmarks/run.py``'s ``machine_without_faiss()``)."""
    import torch

    threads = machine.setdefault("threads", {})
    threads["torch"] = torch.get_num_threads()
    threads["torch_interop"] = torch.get_num_interop_threads()
    threads["os_cpu_count"] = os.cpu_count()
    threads["affinity"] = (len(os.sched_getaffinity(0))
                           if hasattr(os, "sched_getaffinity") else None)
    machine.setdefault("versions", {})["torch"] = torch.__version__
    machine["torch_parallel_info"] = torch.__config__.parallel_info().strip().splitlines()
    return machine


# --- the machine record ---------------------------------------------------------------------


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> tuple[float, float, float] | None:
    """``os.getloadavg()`` (None where the platform has none)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def cpuinfo() -> dict[str, Any]:
    """CPU model, reported MHz and the SIMD flags that matter here, from ``/proc/cpuinfo``."""
    info: dict[str, Any] = {"model": platform.processor() or "unknown", "mhz": None, "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key == "model name" and info["model"] in ("unknown", platform.processor()):
            info["model"] = val
        elif key == "cpu MHz" and info["mhz"] is None:
            info["mhz"] = float(val)
        elif key == "flags" and not info["flags"]:
            flags = set(val.split())
            info["flags"] = sorted(flags & {"popcnt", "avx2", "avx512f", "avx512bw",
                                            "avx512_vpopcntdq", "fma"})
    return info


def _numba_layer() -> str | None:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None


def machine(*, faiss: Any = False, torch: bool = False,
            versions: Iterable[str] = ()) -> dict[str, Any]:
    """Cores, CPU, memory, versions and the thread count of every pool (recorded, never
    changed). ``faiss``: for a benchmark that uses faiss, the imported module (its version and
    OpenMP threads are recorded) or None when it did not import (both recorded as None);
    False (default) for one that does not use it; ``torch``: add torch's pools and build
    (:func:`add_torch_info`); ``versions``: more packages whose versions to record (None when
    they do not import)."""
    import numba
    import scipy
    import sklearn

    n_cores = cores()
    cpu = cpuinfo()
    try:
        import llvmlite.binding as llvm

        llvm_cpu = llvm.get_host_cpu_name()
    except Exception:  # noqa: BLE001
        llvm_cpu = None
    pools: list[dict[str, Any]] = []
    try:
        from threadpoolctl import threadpool_info

        pools = [{k: p.get(k) for k in ("user_api", "internal_api", "prefix", "num_threads",
                                        "version")} for p in threadpool_info()]
        threadpoolctl_version = importlib.import_module("threadpoolctl").__version__
    except ImportError:
        threadpoolctl_version = None
    threads: dict[str, Any] = {"numba": numba.get_num_threads(),
                               "numba_threading_layer": _numba_layer()}
    if faiss is not False:
        threads["faiss_omp"] = faiss.omp_get_max_threads() if faiss is not None else None
    threads["threadpoolctl_pools"] = pools
    counts = [threads["numba"]] + ([threads["faiss_omp"]] if faiss not in (None, False) else []) \
        + [p["num_threads"] for p in pools]
    mem = None
    try:
        mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))) * 1024
    except (OSError, StopIteration):
        pass
    vers: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "numba": numba.__version__, "scipy": scipy.__version__,
                            "sklearn": sklearn.__version__}
    if faiss is not False:
        vers["faiss"] = getattr(faiss, "__version__", None) if faiss is not None else None
    vers["threadpoolctl"] = threadpoolctl_version
    for name in versions:
        try:
            vers[name] = importlib.import_module(name).__version__
        except ImportError:
            vers[name] = None
    m = {
        "cores": n_cores, "os_cpu_count": os.cpu_count(), "cpu_model": cpu["model"],
        "cpu_mhz_reported": cpu["mhz"], "cpu_flags": cpu["flags"], "llvm_host_cpu": llvm_cpu,
        "memory_bytes": mem, "platform": platform.platform(),
        "versions": vers,
        "threads": threads,
        "all_pools_use_all_cores": all(c == n_cores for c in counts),
    }
    return add_torch_info(m) if torch else m


# --- timing ---------------------------------------------------------------------------------


class CallTimeout(Exception):
    """A timed call ran past its limit (:func:`time_limit`)."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[bool]:
    """Raise :class:`CallTimeout` in the main thread after ``seconds`` (SIGALRM; yields whether
    the limit is enforced: not off the main thread, without ``setitimer`` or for None). The
    exception arrives at the next Python bytecode, so a single long C call finishes first."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and math.isfinite(seconds) and seconds > 0)
    if not usable:
        yield False
        return

    def handler(signum: int, frame: Any) -> None:
        raise CallTimeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Call:
    """One timed call: wall seconds, its result, why it was skipped (None: it was not), and
    the tracemalloc peak in bytes when traced."""

    seconds: float
    result: Any = None
    skipped: str | None = None
    peak: int | None = None


SKIP_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, np.linalg.LinAlgError)
"""What a method may raise to be recorded as skipped, with its message, instead of ending the
run (e.g. a graph no EDM resolver can resolve, an out-of-memory refusal)."""


def call(fn: Callable[[], Any], *, limit: float | None = None, trace: bool = False,
         errors: tuple[type[BaseException], ...] = SKIP_ERRORS) -> Call:
    """Time ``fn()`` after a garbage collection. An exception in ``errors``, or running past
    ``limit`` seconds, gives a skip reason instead of a result. With ``trace``, the call runs
    under ``tracemalloc`` (NumPy's and Python's allocations; torch's own are not seen) and its
    peak is kept: only ever on untimed warm-up calls."""
    gc.collect()
    if trace:
        tracemalloc.start()
    out = Call(0.0)
    t = time.perf_counter()
    try:
        with time_limit(limit):
            out.result = fn()
    except CallTimeout:
        out.skipped = f"time limit: a call ran past {limit:g} s"
    except errors as exc:
        out.skipped = f"error: {type(exc).__name__}: {exc}"
    out.seconds = time.perf_counter() - t
    if trace:
        out.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out


def _once(job: Mapping[str, Any], trace: bool = False) -> tuple[float | None, Call]:
    """One fit (if the job has one) and one run: ``(fit seconds, the run's call)``."""
    fit_s, args = None, ()
    limit, errors = job.get("limit"), job.get("errors", SKIP_ERRORS)
    if "fit" in job:
        fitted = call(job["fit"], limit=limit, trace=trace, errors=errors)
        if fitted.skipped is not None:
            return fitted.seconds, Call(0.0, None, f"{fitted.skipped} (fit)")
        if trace:
            job["row"]["info"]["fit_peak_traced_bytes"] = fitted.peak
        fit_s, args = fitted.seconds, (fitted.result,)
    run = job["run"]
    return fit_s, call(lambda: run(*args), limit=limit, trace=trace, errors=errors)


def time_interleaved(jobs: Mapping[str, dict[str, Any]], repeats: int, verbose: bool, *,
                     trace_warmup: bool = False, pause_s: float = 0.02,
                     label: Callable[[str], str] = str) -> None:
    """Warm-up each job (one untimed call, unless ``"warmup": False``), then ``repeats``
    rounds, each timing every live job once in turn, so that a burst of load from another
    process hits every method alike; results go into ``job["row"]`` (:func:`finish_row`). A job
    that fails is skipped with its reason from then on; a row already marked skipped is not
    run. With ``trace_warmup``, warm-up calls run under tracemalloc (``peak_traced_bytes``).
    ``label``: how a key is printed in the progress lines."""
    # call() runs gc.collect() before every call; with torch, scikit-learn and pandas loaded
    # that walks ~10^6 long-lived objects (0.2 s each time): they are frozen meanwhile
    gc.collect()
    gc.freeze()
    try:
        live: list[str] = []
        for key, job in jobs.items():
            row = job["row"]
            if row.get("skipped"):
                log(verbose, f"  {label(key)}: skipped ({row['skipped']})")
                continue
            if job.get("warmup", True):
                _, c = _once(job, trace_warmup)
                row["warmup_seconds"] = c.seconds
                if trace_warmup:
                    row["peak_traced_bytes"] = c.peak
                if c.skipped is not None:
                    row["skipped"] = f"{c.skipped} (warm-up)"
                    log(verbose, f"  warm-up {label(key)}: skipped ({c.skipped})")
                    continue
                if "check" in job:
                    row["info"].update(job["check"](c.result))
                log(verbose, f"  warm-up {label(key)}: {c.seconds:.3f} s")
            live.append(key)
        for r in range(repeats):
            for key in list(live):
                job, row = jobs[key], jobs[key]["row"]
                time.sleep(pause_s)  # let the previous job's BLAS/OpenMP workers stop spinning
                fit_s, c = _once(job)
                if c.skipped is not None:
                    row["skipped"] = f"{c.skipped} (repeat {r + 1})"
                    live.remove(key)
                    log(verbose, f"  {label(key)}: skipped ({c.skipped})")
                    continue
                row["times"].append(job["measure"](c.result, c.seconds) if "measure" in job
                                    else c.seconds)
                if fit_s is not None:
                    row.setdefault("fit_times", []).append(fit_s)
            log(verbose, f"  repeat {r + 1}/{repeats}: "
                + ", ".join(f"{label(k)} {jobs[k]['row']['times'][-1]:.3f}s" for k in live))
    finally:
        gc.unfreeze()
    for job in jobs.values():
        finish_row(job["row"])


def finish_row(row: dict[str, Any]) -> None:
    """Best (``seconds``) and median of the timed repeats; ``per_second`` (``n_items`` per best
    second), ``fit_seconds`` and ``call_seconds`` where the row has those fields. A skipped row
    keeps no times."""
    lists = [k for k in ("times", "fit_times", "call_times", "first_epoch_times") if k in row]
    if row.get("skipped") is None and row["times"]:
        row["seconds"] = min(row["times"])
        row["seconds_median"] = statistics.median(row["times"])
        if "per_second" in row:
            row["per_second"] = row["n_items"] / row["seconds"] if row["seconds"] > 0 else None
        if row.get("fit_times") and "fit_seconds" in row:
            row["fit_seconds"] = min(row["fit_times"])
        if row.get("call_times") and "call_seconds" in row:
            row["call_seconds"] = min(row["call_times"])
    else:
        for k in lists:
            row[k] = []


# --- output ---------------------------------------------------------------------------------


def write_results(doc: Mapping[str, Any], out: Path, name: str, header: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> tuple[Path, Path]:
    """``<out>/<name>.json`` (the whole ``doc``, :func:`jsonable`) and ``<out>/<name>.csv``
    (``header`` and ``rows``), both written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jpath, cpath = out / f"{name}.json", out / f"{name}.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(header))
    for r in rows:
        w.writerow(list(r))
    atomic_write(jpath, json.dumps(jsonable(doc), indent=2, default=float) + "\n")
    atomic_write(cpath, buf.getvalue())
    return jpath, cpath

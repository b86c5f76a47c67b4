"""Output helpers shared by the benchmark scripts in ``benchmarks/``: results are written
atomically (a failed run leaves the last good files), numbers in CSV with 6 significant figures,
and JSON without NaN or NumPy scalars (``performance`` reads it back for the book)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "csv_number", "jsonable", "loglog_fit"]


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

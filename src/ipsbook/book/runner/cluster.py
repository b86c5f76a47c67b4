"""Running plans on an existing Dask cluster: each worker runs a notebook in its own folder and
sends the folder back as tar.gz, which lands atomically where a local run would put it."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .kernel import _execute_in, _notebook_json
from .local import _failed_result, _finish, _new_tmp
from .plan import RunPlan, RunResult
from .project import InputError, RunError


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


def _finish_remote(plan: RunPlan, payload: tuple[dict[str, Any], bytes]) -> RunResult:
    info, blob = payload
    tmp = _new_tmp(plan)
    try:
        _untar(blob, tmp)
        return _finish(plan, tmp, info)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


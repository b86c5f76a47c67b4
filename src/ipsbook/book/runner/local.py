"""Running a plan on this machine and finishing it: run.json, the atomic swap of the output
folder, failed notebooks kept beside the last good output."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import inputs as chapter_inputs
from .kernel import _execute_in, _notebook_json, _tags
from .log import _PROGRESS_FILE, PROGRESS_ENV, _clock, _log, _log_enabled, _ProgressTail
from .plan import RunPlan, RunResult, _is_cached, _package_dir
from .project import CACHED, FAILED, RAN, RunError, RunInterrupted

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



"""What one chapter's results depend on, file by file, and what changed since a run.

A run's *inputs* are its notebook script, the ``ipsbook`` modules its kernel actually imported
(recorded at the end of the run, so a chapter that never imports ``ipsbook.methods.mst`` does not
go stale when paper C's code changes), its parameters, its profile and the sizes that profile
gives the chapter (taken from :mod:`ipsbook.profiles` rather than that file's bytes, so that
re-sizing one chapter leaves the others current), the registered checksums of the datasets it
read, and the dependency lock file. ``run.json`` stores them (``inputs``) with their digest
(``input_digest``); :func:`changes` says, in words, which of them differ now. The runner's cache,
``ipsbook status`` and the frozen reference runs (``results/``) all use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "RECORD_FILE",
    "RECORD_TAG",
    "changes",
    "changes_since",
    "digest",
    "file_sha256",
    "inputs_now",
    "profile_sizes",
    "read_record",
    "record_cell_source",
]

#: Bump when the meaning of the inputs changes, so that older records count as changed.
INPUTS_VERSION = "ipsbook-inputs/1"
#: Tag of the cell the runner appends to a notebook to record what its kernel imported.
RECORD_TAG = "ipsbook-record-inputs"
#: The file that cell writes into the run's folder (read, then removed, by the runner).
RECORD_FILE = ".ipsbook-inputs.json"
#: profiles.py is represented by the chapter's resolved sizes, not by its bytes.
_SIZES_MODULE = "profiles.py"
LOCK_FILE = "requirements-lock.txt"


def record_cell_source() -> str:
    """Code run in the chapter's kernel after its last cell: which ``ipsbook`` modules are
    loaded and which registered datasets were read (their files' checksums were verified)."""
    return f'''\
import json as _ipsbook_json, sys as _ipsbook_sys
_ipsbook_mods = sorted({{
    _m.__file__ for _n, _m in list(_ipsbook_sys.modules.items())
    if (_n == "ipsbook" or _n.startswith("ipsbook.")) and getattr(_m, "__file__", None)}})
_ipsbook_ds = []
if "ipsbook.data.fetch" in _ipsbook_sys.modules:
    from ipsbook.data import dataset_checksums as _ipsbook_dc
    _ipsbook_seen = set(_ipsbook_sys.modules["ipsbook.data.fetch"]._verified.values())
    _ipsbook_ds = sorted(k for k, f in _ipsbook_dc().items() if _ipsbook_seen & set(f.values()))
with open({RECORD_FILE!r}, "w") as _ipsbook_fh:
    _ipsbook_json.dump({{"modules": _ipsbook_mods, "datasets": _ipsbook_ds}}, _ipsbook_fh)
'''


def read_record(folder: str | Path) -> dict[str, list[str]] | None:
    """The record the cell wrote in ``folder`` (then removed), or None when there is none."""
    path = Path(folder) / RECORD_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)
    return {"modules": list(record.get("modules", [])),
            "datasets": list(record.get("datasets", []))}


def file_sha256(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _module_key(path: str, package_dir: Path) -> str:
    """``methods/bfp.py`` for a file of the project's package; the absolute path otherwise."""
    p = Path(path)
    try:
        return p.resolve().relative_to(package_dir.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _module_path(key: str, package_dir: Path) -> Path:
    p = Path(key)
    return p if p.is_absolute() else package_dir / key


def module_keys(paths: Iterable[str], package_dir: Path) -> list[str]:
    """Recorded module files as keys (package-relative), profiles.py left out."""
    keys = {_module_key(p, package_dir) for p in paths}
    keys.discard(_SIZES_MODULE)
    return sorted(keys)


def profile_sizes(name: str, profile: str) -> Any:
    """The sizes ``profile`` gives chapter ``name`` (None for a notebook without sizes)."""
    from ..profiles import ProfileError, resolve

    try:
        return dict(resolve(name, profile).values)
    except ProfileError:
        return None


def _plain(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=repr))


def inputs_now(
    *,
    root: Path,
    package_dir: Path,
    name: str,
    profile: str,
    parameters: Mapping[str, Any],
    modules: Iterable[str],
    datasets: Iterable[str],
    notebook_text: str | None = None,
) -> dict[str, Any]:
    """The inputs as they are now in the checkout at ``root`` (module keys and dataset keys as
    a run recorded them)."""
    from ..data import dataset_checksums

    nb_path = root / "notebooks" / f"{name}.py"
    if notebook_text is not None:
        nb_sha = hashlib.sha256(notebook_text.encode("utf-8")).hexdigest()
    else:
        nb_sha = file_sha256(nb_path)
    datasets = sorted(set(datasets))
    try:
        data = dataset_checksums(datasets) if datasets else {}
    except KeyError:  # a dataset that is no longer registered
        data = {k: None for k in datasets}
    return _plain({
        "version": INPUTS_VERSION,
        "notebook": {f"notebooks/{name}.py": nb_sha},
        "modules": {k: file_sha256(_module_path(k, package_dir)) for k in modules},
        "parameters": dict(parameters),
        "profile": profile,
        "profile_sizes": profile_sizes(name, profile),
        "data": data,
        "lock": {LOCK_FILE: file_sha256(root / LOCK_FILE)},
    })


def changes_since(
    old: Mapping[str, Any], *, root: Path, package_dir: Path, name: str, profile: str,
    parameters: Mapping[str, Any], notebook_text: str | None = None,
) -> list[str]:
    """What changed in the checkout at ``root`` since a run recorded the inputs ``old``: the
    same modules and datasets are looked at again (:func:`changes`; empty: nothing)."""
    now = inputs_now(
        root=root, package_dir=package_dir, name=name, profile=profile, parameters=parameters,
        notebook_text=notebook_text, modules=list(old.get("modules") or {}),
        datasets=list(old.get("data") or {}),
    )
    return changes(old, now)


def digest(inputs: Mapping[str, Any]) -> str:
    """sha256 of the inputs (canonical JSON)."""
    text = json.dumps(_plain(dict(inputs)), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two inputs records, one short phrase each (empty: nothing)."""
    if not old:
        return ["no inputs were recorded (a run made before inputs were tracked)"]
    found: list[str] = []
    if old.get("version") != new.get("version"):
        found.append(f"the inputs format ({old.get('version')} → {new.get('version')})")
    for part in ("notebook", "lock"):
        for path, sha in dict(new.get(part) or {}).items():
            was = dict(old.get(part) or {}).get(path)
            if was == sha:
                continue
            found.append(f"{path} (missing now)" if sha is None else path)
    old_m, new_m = dict(old.get("modules") or {}), dict(new.get("modules") or {})
    for key in sorted(set(old_m) | set(new_m)):
        shown = key if Path(key).is_absolute() else f"src/ipsbook/{key}"
        if new_m.get(key) is None:
            found.append(f"{shown} (removed)")
        elif old_m.get(key) != new_m.get(key):
            found.append(shown)
    old_p, new_p = dict(old.get("parameters") or {}), dict(new.get("parameters") or {})
    for key in sorted(set(old_p) | set(new_p)):
        if old_p.get(key) != new_p.get(key):
            found.append(f"parameter {key} ({old_p.get(key)!r} → {new_p.get(key)!r})")
    if old.get("profile") != new.get("profile"):
        found.append(f"profile ({old.get('profile')} → {new.get('profile')})")
    elif old.get("profile_sizes") != new.get("profile_sizes"):
        sizes_o, sizes_n = old.get("profile_sizes") or {}, new.get("profile_sizes") or {}
        keys = sorted(k for k in set(sizes_o) | set(sizes_n) if sizes_o.get(k) != sizes_n.get(k))
        found.append(f"the `{new.get('profile')}` sizes in src/ipsbook/profiles.py "
                     f"({', '.join(keys)})")
    old_d, new_d = dict(old.get("data") or {}), dict(new.get("data") or {})
    for key in sorted(set(old_d) | set(new_d)):
        if old_d.get(key) != new_d.get(key):
            found.append(f"dataset {key} (registered checksums)")
    return found

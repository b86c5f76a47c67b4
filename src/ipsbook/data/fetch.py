"""Find, download and verify registered data files.

Search order: every folder of ``$IPSBOOK_DATA_DIR`` (``os.pathsep``-separated), then the
downloads folder (:func:`download_dir`: ``$IPSBOOK_DOWNLOAD_DIR``, else the checkout's own
``data/``, else ``~/.cache/ipsbook/data``); a file may be stored gzip-compressed
(``<relpath>``, as in the registry) or plain (``<relpath>`` without ``.gz``). Missing
everywhere: download from the official source with pooch into the downloads folder (unless
``$IPSBOOK_OFFLINE`` is set). Trained artefacts (paper C's experts, checkpoints) go elsewhere:
:func:`cache_dir`, the checkout's git-ignored ``.cache/`` that ``make clean-cache`` removes.
The sha256 of the uncompressed content is checked whenever a file is read; a passed check is
remembered per (path, mtime, size) in-process.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import os
import shutil
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .registry import REGISTRY, DataFile, Dataset

__all__ = [
    "DataChecksumError",
    "DataError",
    "DataFileMissing",
    "DataIntegrityWarning",
    "UnknownDataError",
    "cache_dir",
    "data_dirs",
    "download_dir",
    "fetch",
    "get_dataset",
    "project_root",
    "read_bytes",
    "sha256_of",
    "verify_all",
]


class DataError(Exception):
    """Base class of every ipsbook data error."""


class DataFileMissing(DataError, FileNotFoundError):
    """A registered file is in none of the searched folders and could not be downloaded."""


class DataChecksumError(DataError):
    """A file's uncompressed content does not have the registered sha256."""


class UnknownDataError(DataError, LookupError):
    """An unknown dataset key or file name."""

    @classmethod
    def for_file(cls, ds: Dataset, name: str) -> UnknownDataError:
        names = [f.name for f in ds.files]
        if len(names) <= 30:
            allowed = ", ".join(repr(n) for n in names)
        else:  # hundreds of uji-lib files: suggest instead of listing them all
            close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
            allowed = (
                (f"closest: {', '.join(map(repr, close))}; " if close else "")
                + f"first: {', '.join(map(repr, names[:5]))}, ... ({len(names)} in all, see "
                f"ipsbook.data.REGISTRY[{ds.key!r}].files)"
            )
        return cls(f"dataset {ds.key!r} has no file {name!r}; allowed names: {allowed}")


class DataIntegrityWarning(UserWarning):
    """A file was read without verification because its sha256 is not registered."""


def get_dataset(key: str) -> Dataset:
    """The registry entry ``key``; unknown keys raise :class:`UnknownDataError`."""
    try:
        return REGISTRY[key]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(k) for k in REGISTRY)
        raise UnknownDataError(f"unknown dataset {key!r}; allowed keys: {allowed}") from None


def data_dirs() -> list[Path]:
    """Folders named by ``$IPSBOOK_DATA_DIR`` (``os.pathsep``-separated), in order."""
    raw = os.environ.get("IPSBOOK_DATA_DIR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def project_root() -> Path | None:
    """The ipsbook checkout this package runs from (the folder with ``_toc.yml`` above
    ``src/ipsbook``), or ``None`` for an installed copy."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "_toc.yml").is_file() and (root / "src" / "ipsbook").is_dir() else None


def _user_cache() -> Path:
    return Path.home() / ".cache" / "ipsbook"


def download_dir() -> Path:
    """Where downloads land (may not exist yet): ``$IPSBOOK_DOWNLOAD_DIR``, else the checkout's
    ``data/`` (git-ignored but its README), else ``~/.cache/ipsbook/data``."""
    raw = os.environ.get("IPSBOOK_DOWNLOAD_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    root = project_root()
    return root / "data" if root is not None else _user_cache() / "data"


def cache_dir() -> Path:
    """Where trained artefacts are kept for reuse (may not exist yet): ``$IPSBOOK_CACHE_DIR``,
    else the checkout's git-ignored ``.cache/`` (``make clean-cache`` removes it), else
    ``~/.cache/ipsbook``."""
    raw = os.environ.get("IPSBOOK_CACHE_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    root = project_root()
    return root / ".cache" if root is not None else _user_cache()


def _candidates(f: DataFile) -> list[tuple[Path, str]]:
    """Every place the file may be, with a label for error messages."""
    out = []
    roots = [(d, "$IPSBOOK_DATA_DIR") for d in data_dirs()] + [(download_dir(), "downloads")]
    for root, label in roots:
        out.append((root / f.relpath, label))
        if f.relpath.endswith(".gz"):  # a plain copy, e.g. unzipped from the official archive
            out.append((root / f.relpath.removesuffix(".gz"), label))
    return out


# --- verification -----------------------------------------------------------------------

_verified: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) -> sha256 found
_lock = threading.Lock()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _content(path: Path) -> bytes:
    data = path.read_bytes()
    # Decide by content, not name: a user may have a plain file under a .gz name or vice versa.
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def sha256_of(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's uncompressed content (gzip files are decompressed first)."""
    return hashlib.sha256(_content(Path(path))).hexdigest()


def _check(
    ds: Dataset,
    f: DataFile,
    path: Path,
    data: bytes | None = None,
    key: tuple[str, int, int] | None = None,
) -> None:
    """Verify ``path`` (or its already-read content ``data``, stat'ed as ``key`` before the
    read) against ``f.sha256``; raise :class:`DataChecksumError` on a mismatch."""
    if f.sha256 is None:
        warnings.warn(
            f"{ds.key}/{f.name} has no registered sha256, so {path} was not verified",
            DataIntegrityWarning,
            stacklevel=3,
        )
        return
    key = key or _stat_key(path)  # stat before reading: a file changed meanwhile is re-checked
    with _lock:
        if _verified.get(key) == f.sha256:
            return
    if data is None:
        data = _content(path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != f.sha256:
        raise DataChecksumError(
            f"checksum mismatch for {ds.key} file {f.name!r} at {path}:\n"
            f"  expected sha256 {f.sha256} (of the uncompressed content)\n"
            f"  actual   sha256 {actual}\n"
            f"The file is corrupted or a different version. Delete or replace it with the "
            f"official file from {f.url}"
            + (f" (member {f.member!r} of the archive)" if f.member else "")
            + (
                f"; once it is deleted from the downloads (with "
                f"{download_dir() / '_archives' / ds.key} for a file extracted from an "
                "archive) the next call downloads it again."
                if _is_under(path, download_dir())
                else "."
            )
        )
    with _lock:
        _verified[key] = actual


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


# --- download ---------------------------------------------------------------------------


def _download(ds: Dataset, f: DataFile) -> Path:
    """Download ``f`` into :func:`download_dir` with pooch; return the stored (uncompressed)
    path."""
    import pooch  # lazy: only needed when a file is missing

    target = download_dir() / f.relpath.removesuffix(".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    if f.member is None:  # a plain file; its own sha256 is the registered one
        known = f"sha256:{f.sha256}" if f.sha256 else None
        got = pooch.retrieve(
            f.url, known_hash=known, fname=target.name, path=target.parent, progressbar=True
        )
        return Path(got)
    archive_name = f.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    archive = Path(
        pooch.retrieve(
            f.url,
            known_hash=None,
            fname=archive_name,
            path=download_dir() / "_archives" / ds.key,
            progressbar=True,
        )
    )
    data = _extract(archive, f.member)
    # Write atomically so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, target)
    return target


def _extract(archive: Path, member: str) -> bytes:
    """Content of the member whose path ends with ``member`` (shortest such path wins),
    looking one level into nested zip files too, as some archives wrap another archive."""
    with zipfile.ZipFile(archive) as z:
        names = [n for n in z.namelist() if n == member or n.endswith("/" + member)]
        if names:
            return z.read(min(names, key=len))
        for inner in (n for n in z.namelist() if n.lower().endswith(".zip")):
            with z.open(inner) as fh, tempfile.TemporaryDirectory() as tmpdir:
                nested = Path(tmpdir) / "inner.zip"
                with open(nested, "wb") as out:
                    shutil.copyfileobj(fh, out)
                try:
                    return _extract(nested, member)
                except KeyError:
                    continue
    raise KeyError(f"no member ending in {member!r} in {archive}")


# --- public entry points ------------------------------------------------------------------


def _locate(ds: Dataset, f: DataFile, no_download: str | None = None) -> Path:
    """Where ``f`` is (downloading it if needed); ``no_download``: why not to try."""
    candidates = _candidates(f)
    for path, _label in candidates:
        if path.is_file():
            return path
    why: str
    if no_download:
        why = no_download
    elif not ds.available:
        why = "this dataset is not obtainable automatically (no verified download)"
    elif os.environ.get("IPSBOOK_OFFLINE", "").strip() not in ("", "0"):
        why = "downloads are disabled by $IPSBOOK_OFFLINE"
    else:
        try:
            return _download(ds, f)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear error
            why = f"downloading it failed: {type(exc).__name__}: {exc}"
    searched = "\n".join(f"  - {p}  ({label})" for p, label in candidates)
    if not data_dirs():
        searched += "\n  ($IPSBOOK_DATA_DIR is not set)"
    source = f.url + (f" (file {f.member!r} inside the archive)" if f.member else "")
    raise DataFileMissing(
        f"{ds.key} file {f.name!r} ({ds.title}) was not found, and {why}.\n"
        f"Searched:\n{searched}\n"
        f"Official source: {source}; dataset page: {ds.doi_or_url}\n"
        f"What to do: set IPSBOOK_DATA_DIR to a folder holding {f.relpath}"
        + (
            f" (or the uncompressed {f.relpath.removesuffix('.gz')})"
            if f.relpath.endswith(".gz")
            else ""
        )
        + ", or download the official file and save it as "
        + f"{download_dir() / f.relpath.removesuffix('.gz')}."
    )


def fetch(dataset_key: str, relpath_or_name: str) -> Path:
    """Path of a registered file, found or downloaded, after checking its sha256.

    ``relpath_or_name`` is the upstream name (``"trainingData.csv"``), the stored path in
    the dataset folder (``"trainingData.csv.gz"``) or the registry ``relpath``
    (``"ujiindoorloc/trainingData.csv.gz"``). The returned file may be gzip-compressed.
    """
    ds = get_dataset(dataset_key)
    f = ds.file(relpath_or_name)
    path = _locate(ds, f)
    _check(ds, f, path)
    return path


def read_bytes(dataset_key: str, relpath_or_name: str) -> bytes:
    """Uncompressed, verified content of a registered file (decompressed only once)."""
    ds = get_dataset(dataset_key)
    f = ds.file(relpath_or_name)
    path = _locate(ds, f)
    key = _stat_key(path)
    data = _content(path)
    _check(ds, f, path, data, key)
    return data


def verify_all(keys: Iterable[str] | None = None, workers: int = 4) -> str:
    """Find (downloading what is missing) and verify every file of the available datasets
    ``keys`` (default: all); raise one :class:`DataError` listing every failure."""
    chosen = [get_dataset(k) for k in (keys if keys is not None else REGISTRY)]
    chosen = [ds for ds in chosen if ds.available]  # unavailable: nothing to verify against
    jobs, failures, failed_urls = [], [], set()
    for ds in chosen:
        for f in ds.files:
            # Once a download failed, don't retry the same URL for each of hundreds of files.
            skip = "an earlier download from the same URL failed" if f.url in failed_urls else None
            try:  # sequential: two threads must not download the same archive at once
                jobs.append((ds, f, _locate(ds, f, skip)))
            except DataFileMissing as exc:
                failed_urls.add(f.url)
                failures.append(str(exc))

    def check(job: tuple[Dataset, DataFile, Path]) -> str | None:
        try:
            _check(*job)
        except DataError as exc:
            return str(exc)
        return None

    # hashlib and zlib release the GIL, so threads do speed up hashing.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        failures += [msg for msg in pool.map(check, jobs) if msg]
    if failures:
        shown = failures[:5] + ([f"... and {len(failures) - 5} more"] if len(failures) > 5 else [])
        raise DataError(
            f"{len(failures)} data file(s) failed verification:\n\n" + "\n\n".join(shown)
        )
    return f"{len(jobs)} files of {len(chosen)} dataset(s) verified"

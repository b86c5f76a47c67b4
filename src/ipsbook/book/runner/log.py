"""A log a user can follow when stdout is not a terminal (``make book | tee book.log``)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

# --------------------------------------------------------------------------------------------
# a log a user can follow when stdout is not a terminal

#: Set (to "1") for kernels while the runner logs: ipsbook.progress then appends its bars'
#: progress to this file in the run's folder, which the runner prints and removes.
PROGRESS_ENV = "IPSBOOK_PROGRESS_LOG"
_PROGRESS_FILE = ".ipsbook-progress.log"
_LOG_LOCK = threading.Lock()
_LOG_FORCE: bool | None = None  # tests set it; None: log when stdout is not a terminal


def _log_enabled() -> bool:
    if _LOG_FORCE is not None:
        return _LOG_FORCE
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _log(text: str) -> None:
    if not _log_enabled():
        return
    with _LOG_LOCK:
        print(f"ipsbook: {text}", flush=True)


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _ProgressTail:
    """Print the lines a chapter's kernel appends to its progress file, every few seconds."""

    def __init__(self, name: str, folder: Path, every_s: float = 5.0) -> None:
        self.name, self.path, self.every_s = name, folder / _PROGRESS_FILE, every_s
        self.t0 = time.perf_counter()
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"ipsbook-tail-{name}")
        self._thread.start()

    def _drain(self) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            if line.strip():
                _log(f"[{self.name} {_clock(time.perf_counter() - self.t0)}] {line.strip()}")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._drain()

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=10)
            self._drain()



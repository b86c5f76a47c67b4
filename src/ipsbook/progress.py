"""The package's progress bar: one import for every long loop.

``tqdm.auto`` picks tqdm's notebook widget inside a Jupyter kernel, and where ipywidgets is not
installed (the book's environment) it warns "IProgress not found" on import, which then shows
in the first cell of every executed chapter. Here the widget is used only where ipywidgets is
importable; everywhere else the plain text bar (``tqdm.std``), which papermill captures as
ordinary output.

When the runner logs (``ipsbook run`` with stdout not a terminal: ``make book | tee book.log``)
it sets ``IPSBOOK_PROGRESS_LOG``; then every bar also appends, at most every
``IPSBOOK_PROGRESS_EVERY`` seconds (default 30) and when it closes, one line ("Table 1: 12/40
epochs, 3:10 elapsed, ETA 7:30") to a file in the run's folder, which the runner prints. The
bars in the notebook are unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import time

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm as _base
else:
    from tqdm.std import tqdm as _base

__all__ = ["tqdm"]

_ENV = "IPSBOOK_PROGRESS_LOG"
_FILE = ".ipsbook-progress.log"


def _every_s() -> float:
    try:
        return max(0.0, float(os.environ.get("IPSBOOK_PROGRESS_EVERY", "30")))
    except ValueError:
        return 30.0


class tqdm(_base):
    """tqdm that also writes a periodic line for the runner's log (see the module notes)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._ips_start = self._ips_last = time.monotonic()
        self._ips_log = bool(os.environ.get(_ENV)) and not self.disable

    def _ips_line(self, final: bool = False) -> None:
        try:
            d = self.format_dict
            n, total, elapsed = d.get("n", 0), d.get("total"), d.get("elapsed", 0.0)
            rate = d.get("rate") or (n / elapsed if elapsed else None)
            desc = (d.get("prefix") or "").strip() or "progress"
            unit = d.get("unit", "it")
            done = f"{n}/{total} {unit}" if total else f"{n} {unit}"
            eta = ""
            if total and rate and not final:
                eta = f", ETA {self.format_interval((total - n) / rate)}"
            post = f" ({d['postfix']})" if d.get("postfix") else ""
            state = " done" if final else ""
            line = (f"{desc}: {done}{state}, {self.format_interval(elapsed)} elapsed{eta}"
                    f"{post}\n")
            with open(_FILE, "a", encoding="utf-8") as fh:
                fh.write(line)
        except Exception:  # noqa: BLE001, S110 -- a log line must never break a computation
            pass

    def update(self, n=1):
        out = super().update(n)
        if self._ips_log and time.monotonic() - self._ips_last >= _every_s():
            self._ips_last = time.monotonic()
            self._ips_line()
        return out

    def close(self) -> None:
        if getattr(self, "_ips_log", False):
            self._ips_log = False
            # a bar that finished between two log lines (most of a chapter's small ones) would
            # only flood the log with "done" lines: a bar says "done" once it has run a period
            if time.monotonic() - self._ips_start >= _every_s():
                self._ips_line(final=True)
        super().close()

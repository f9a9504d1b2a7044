"""Progress of long work: on the console, never in a book page.

Library loops (sweeps, training, attribution) ask ``progress_bar`` for a tqdm bar. From a shell
or a notebook it is plain ``tqdm`` on stderr (not ``tqdm.auto``: without ipywidgets that warns
"IProgress not found" into the page). When the book runner executes a chapter it sets
``PTLAB_PROGRESS_FILE``; bars then append their status lines to that file, the runner's
``ConsoleProgress`` prints them on the console ("[sweep 05:12 of ~20 min] sweep switches:
37/148 runs, ETA 14:20"), and the executed notebook holds no progress output at all.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "PTLAB_PROGRESS_FILE"
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _LineFile:
    """A file-like sink for tqdm: each refresh becomes one plain line in ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, s: str) -> None:
        line = _ESCAPES.sub("", s).replace("\r", "\n").strip().splitlines()
        if line and line[-1].strip():
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line[-1].strip() + "\n")

    def flush(self) -> None:
        pass


def progress_bar(iterable=None, **kw: Any):
    """``tqdm(iterable, **kw)`` on the console (or the runner's progress file), never a page."""
    from tqdm import tqdm

    path = os.environ.get(ENV)
    if path:
        kw.setdefault("mininterval", 2.0)
        kw.setdefault("ascii", True)
        kw["file"] = _LineFile(path)
    return tqdm(iterable, **kw)


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class ConsoleProgress:
    """While a chapter executes: print the newest progress line of its bars (at most every
    ``every`` seconds, and a heartbeat when there is none) with the elapsed and expected time."""

    def __init__(
        self,
        path: Path,
        label: str,
        expected_s: float | None,
        log: Callable[[str], None] = print,  # the runner passes a flushing one
        every: float = 15.0,
    ) -> None:
        self.path = Path(path)
        self.label, self.expected_s, self.log, self.every = label, expected_s, log, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConsoleProgress:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self._old = os.environ.get(ENV)
        os.environ[ENV] = str(self.path)  # inherited by the kernel papermill starts
        self.t0 = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._old
        self.path.unlink(missing_ok=True)

    def _latest(self) -> str:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _loop(self) -> None:
        shown, last_print = "", time.time()
        while not self._stop.wait(1.0):
            now = time.time()
            if now - last_print < self.every:
                continue
            line = self._latest()
            if line == shown and now - last_print < 4 * self.every:
                continue
            elapsed = fmt_duration(now - self.t0)
            of = f" of ~{fmt_duration(self.expected_s)}" if self.expected_s else ""
            self.log(f"  [{self.label} {elapsed}{of}] {line or 'running'}")
            shown, last_print = line, now

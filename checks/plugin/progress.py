"""Collection progress: after "collected N items" the run reads AWS, files and GitHub before any check runs.

On a terminal, one line rewritten in place: tasks done of planned, AWS calls by service, errors so far.
Otherwise (CI logs, pipes) one summary line when collection ends. Fed by the guarded layer's observers
(`Aws.observers`: a request finished; the collector pool: a task planned or finished, all collected).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, TextIO

import pytest

from checks.core.snapshot import Observation
from checks.plugin.pytest_internals import terminal_writer

REDRAW_SECONDS = 0.1  # at most ten redraws a second on a terminal


class Progress:
    def __init__(self, out: TextIO, tty: bool, width: int = 100, clock: Any = time.monotonic):
        self.out, self.tty, self.width, self.clock = out, tty, width, clock
        self.planned = self.finished = self.errors = 0
        self.services: Counter[str] = Counter()
        self.started = clock()
        self._drawn = float("-inf")  # the first event draws
        self._lock = threading.Lock()
        self.done = False

    def line(self) -> str:
        by = ", ".join(f"{s} {n}" for s, n in sorted(self.services.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"reading: {self.finished}/{self.planned} tasks, {sum(self.services.values())} AWS calls, "
                f"{self.errors} error response{'s' if self.errors != 1 else ''}{f' ({by})' if by else ''}")

    def summary(self) -> str:
        return f"{self.line().replace('reading:', 'collected:', 1)}, in {self.clock() - self.started:.1f} s"

    def __call__(self, event: str, obs: Observation | None = None) -> None:
        with self._lock:
            if self.done:
                return
            if event == "read" and obs is not None:
                self.services[obs.service or "other"] += 1
                self.errors += obs.error is not None
            elif event == "planned":
                self.planned += 1
            elif event == "finished":
                self.finished += 1
            elif event == "collected":
                self.finished = self.planned
                self.done = True
                self._write(("\r" + self.summary().ljust(self.width) + "\n") if self.tty else
                            (self.summary() + "\n"))
                return
            if self.tty and self.clock() - self._drawn >= REDRAW_SECONDS:
                self._drawn = self.clock()
                self._write("\r" + self.line()[: self.width - 1].ljust(self.width - 1))

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


class ProgressPlugin:
    """Registered on the controller; attaches a Progress to the guarded layer once it exists."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_bbws_aws_ready(self, aws: Any) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.get_verbosity() < -1:
            return
        tw = terminal_writer(reporter)
        reporter.ensure_newline()
        aws.observers.append(Progress(_Out(tw), tty=bool(reporter.isatty) and tw.hasmarkup,
                                      width=max(40, tw.fullwidth)))


class _Out:
    """The terminal writer as a text stream."""

    def __init__(self, tw: Any):
        self.tw = tw

    def write(self, text: str) -> None:
        self.tw.write(text)

    def flush(self) -> None:
        self.tw.flush()

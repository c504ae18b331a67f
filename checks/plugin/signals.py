"""SIGTERM is Ctrl-C, and an unfinished run leaves a marker (issue 10.8).

CI cancellation and `timeout` send SIGTERM. The handler raises `Terminated`, a KeyboardInterrupt,
where SIGINT would: pytest stops the run, the evidence hooks write the bundle marked incomplete
("interrupted (Terminated: ...)"), the gate says NO-GO, `latest` moves to it and the exit status
is 2. A second SIGTERM while the bundle is being written is ignored, so the evidence is finished.

SIGKILL cannot be handled: before the first AWS read the controller writes
reports/<env>/<run id>.started.json (run id, env, pid, start time, command); the bundle, once
sealed, replaces it. A marker without a bundle is a run that never finished.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from checks.plugin.run import RUN, invocation, is_worker

MARKER_SUFFIX = ".started.json"
_PREVIOUS = pytest.StashKey[Any]()
_MARKER = pytest.StashKey[Path]()


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop like Ctrl-C."""


def _handler(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the bundle is being written: do not interrupt that
    raise Terminated(f"received {signal.Signals(signum).name}")


def _owns_process(config: pytest.Config) -> bool:
    """Only the controller of a real run, on the main thread (signal handlers can only be set there)."""
    return (RUN in config.stash and not is_worker(config) and not config.stash[RUN].passive
            and threading.current_thread() is threading.main_thread())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "help", False) or not _owns_process(config):
        return
    config.stash[_PREVIOUS] = signal.signal(signal.SIGTERM, _handler)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    previous = config.stash.get(_PREVIOUS, None)
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)
        del config.stash[_PREVIOUS]
    marker = config.stash.get(_MARKER, None)
    if marker is not None:
        from checks.evidence.hooks import evidence_of
        ev = evidence_of(config)
        if ev is not None and ev.manifest is not None and ev.error is None:
            marker.unlink(missing_ok=True)  # the sealed bundle says everything the marker said


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Write the started-run marker before anything is read."""
    config = session.config
    if config.option.collectonly or not _owns_process(config):
        return
    from checks.evidence import bundle, redact
    from checks.evidence.hooks import evidence_of
    ev = evidence_of(config)
    if ev is None:
        return
    run = config.stash[RUN]
    parent = ev.base / run.env.name
    parent.mkdir(parents=True, exist_ok=True)
    marker = parent / f"{run.run_id}{MARKER_SUFFIX}"
    bundle.write_text(marker, json.dumps({
        "run_id": run.run_id, "env": run.env.name, "started": run.started, "pid": os.getpid(),
        "command": redact.text(invocation(config)), "replay_of": str(run.replay) if run.replay else None,
        "note": "written when the run started and removed when its bundle is sealed; if this file is here "
                "without a bundle of the same start time, the run did not finish (killed, or the host died)",
    }, indent=1) + "\n")
    config.stash[_MARKER] = marker

"""Issue 10.8: SIGTERM leaves evidence like Ctrl-C; SIGKILL leaves the started-run marker.

A real `pytest` subprocess against the embedded world; the signal is sent once the run has
started (its marker file exists), never after a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start(reports: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))}
    return subprocess.Popen([sys.executable, "-m", "pytest", "tests", "-c", str(REPO / "pytest.ini"), "--rootdir",
                             str(REPO), "-p", "no:randomly", "-p", "no:cacheprovider", "--env", "local",
                             "--reports", str(reports), "-q"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_marker(proc: subprocess.Popen[str], reports: Path) -> Path:
    """The started-run marker, as soon as it exists (a generous bound only against a hung child)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = list((reports / "local").glob("*.started.json")) if (reports / "local").is_dir() else []
        if found:
            return found[0]
        assert proc.poll() is None, f"the run ended before it started: {proc.communicate()[0][-2000:]}"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no started-run marker appeared")


def test_sigterm_writes_an_incomplete_no_go_bundle_and_moves_latest(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    previous = reports / "local" / "20000101T000000Z"
    previous.mkdir(parents=True)
    os.symlink(previous.name, reports / "local" / "latest")  # a previous GO's pointer
    proc = start(reports)
    marker = wait_for_marker(proc, reports)
    started = json.loads(marker.read_text())
    assert started["pid"] == proc.pid and started["env"] == "local"
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 2, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    latest = (reports / "local" / "latest").resolve()
    assert latest != previous.resolve() and (latest / "manifest.json").is_file(), "latest still points at the old run"
    gate = json.loads((latest / "gate.json").read_text())
    results = json.loads((latest / "results.json").read_text())
    assert gate["decision"] == "NO-GO" and results["decision"] == "NO-GO" and results["complete"] is False
    assert any("Terminated: received SIGTERM" in why for why in gate["incomplete"]), gate["incomplete"]
    assert results["run_id"] == started["run_id"]
    assert "BBWS gate: NO-GO" in out
    assert not marker.exists(), "the sealed bundle replaces the started-run marker"


def test_sigkill_leaves_the_started_run_marker(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = start(reports)
    marker = wait_for_marker(proc, reports)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    started = json.loads(marker.read_text())
    assert started["pid"] == proc.pid and started["run_id"] and "did not finish" in started["note"]
    assert not list((reports / "local").glob("*/manifest.json")), "a killed run has no bundle"

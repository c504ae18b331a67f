"""The run's state: env, options, snapshot and why the evidence is incomplete, kept in the config stash."""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from checks.core import config as cfg
from checks.core.aws import Aws
from checks.core.collect import Options
from checks.core.outcome import Unverifiable
from checks.core.snapshot import Snapshot, iso, now


@dataclass
class Run:
    """Everything about this run that the fixtures, hooks and evidence need."""
    env: cfg.Env
    options: Options
    args: list[str]
    canary: bool = False
    faults: list[tuple[str, str | None]] = field(default_factory=list)
    replay: Path | None = None
    run_id: str = field(default_factory=lambda: now().strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6])
    started: str = field(default_factory=lambda: iso(now()))
    snapshot: Snapshot | None = None
    aws: Aws | None = None
    world: Any = None
    endpoint_url: str | None = None
    incomplete: list[str] = field(default_factory=list)  # why the evidence is incomplete
    snapshot_path: Path | None = None  # set by a worker's controller under xdist
    reporters: set[str] = field(default_factory=set)  # the absence reporters selected ("DDB-01/table")
    reporter_names: dict[str, str] = field(default_factory=dict)  # every absence reporter's test function
    passive: bool = False  # a session that tests the suite itself: it reads no AWS and writes no bundle
    selectors: dict[str, str] = field(default_factory=dict)  # the suite's own selection options given
    # ({"--severity": "P0,P1"}): any makes the run a partial selection
    deselected: int = 0  # the items those selectors deselected

    @property
    def complete(self) -> bool:
        return not self.incomplete

    @property
    def partial(self) -> bool:
        """Did the suite's own selectors leave checks out? (-m / -k are pytest's, read from the config.)"""
        return bool(self.selectors)

    def selection(self) -> dict[str, Any]:
        """What the suite's selectors chose, for gate.json and the terminal."""
        return {"partial": self.partial, "selectors": dict(self.selectors), "deselected": self.deselected}


def selection_label(selection: dict[str, Any]) -> str:
    """"partial: --severity P0,P1, 40 deselected" (the suite's own selectors; -m and -k are in the command)."""
    chosen = ", ".join(f"{k} {v}" for k, v in (selection.get("selectors") or {}).items())
    return f"partial: {chosen}, {selection.get('deselected', 0)} deselected"


RUN = pytest.StashKey[Run]()


def run_of(config: pytest.Config) -> Run:
    return config.stash[RUN]


def env_of(config: pytest.Config) -> cfg.Env:
    return config.stash[RUN].env


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def canary_skip_reason(run: Run) -> str:
    if not run.canary:
        return "canary checks write to AWS; run with --canary to include them"
    if not run.env.canary_allowed:
        return f"env {run.env.name} does not allow canaries (canary_allowed = false in environments.toml)"
    return ""


def snapshot_of(config: pytest.Config) -> Snapshot:
    """The run's snapshot; an xdist worker loads the one its controller collected."""
    run = config.stash[RUN]
    if run.snapshot is None:
        if run.snapshot_path is None or not run.snapshot_path.is_file():
            raise Unverifiable("no snapshot was collected for this run")
        run.snapshot = Snapshot.load(run.snapshot_path)
    return run.snapshot


def invocation(config: pytest.Config) -> str:
    return shlex.join(["pytest", *config.invocation_params.args])

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
from checks.core.waivers import Waivers


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
    selection: Any = None  # a checks.plugin.selected.Selection: -m, -k, paths, what any selector deselected
    selectors: dict[str, str] = field(default_factory=dict)  # the suite's own selection options given
    # ({"--severity": "P0,P1"}): recorded in the selection's `others` (checks.plugin.selected)
    deselected: int = 0  # the items those selectors deselected
    waivers: Waivers | None = None  # the accepted risks that apply to this env (checks/plugin/waiving.py)

    @property
    def complete(self) -> bool:
        return not self.incomplete


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

"""The run's evidence state: the check records, the gate, the bundle directory (one per controller config)."""

from __future__ import annotations

import functools
import importlib.metadata
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from checks import __version__
from checks.core.record import CheckRecord
from checks.evidence import provenance, redact
from checks.evidence.gate import Gate
from checks.evidence.runkind import RunKind
from checks.plugin.run import Run, invocation

EVIDENCE = pytest.StashKey["Evidence"]()
CHECKOUT = Path(__file__).resolve().parents[2]
LIBRARIES = ("boto3", "botocore", "moto", "pytest", "pytest-html", "pytest-xdist")


@functools.cache
def suite_state() -> dict[str, Any]:
    """The suite checkout's git state, read once per process (the checkout does not change under a run)."""
    return provenance.git_state(CHECKOUT) or {}


def library_versions() -> dict[str, str]:
    """The versions of the libraries the evidence depends on ("not installed" when absent)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class Evidence:
    config: pytest.Config
    run: Run
    base: Path
    work: Path  # where pytest-html and junitxml write before their files join the bundle
    records: dict[str, CheckRecord] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    gate: Gate | None = None
    dir: Path | None = None
    finished: str | None = None
    manifest: dict[str, Any] | None = None
    error: str | None = None
    saw_tests: bool = False  # any test report arrived
    saw_checks: bool = False  # any collected item or report is a catalog check (has an `issue` marker)
    annotations: list[str] = field(default_factory=list)  # GitHub workflow commands, printed at the end
    not_gate: str | None = None  # why this bundle is not a gate run (its kind's label); `latest` stays put
    kind: RunKind | None = None  # gate, review, drill, replay, partial or none (checks.evidence.runkind)
    staging: Path | None = None  # the hidden sibling the bundle is written into until it is sealed
    latest_error: str | None = None  # `latest` was not the suite's pointer and was left alone
    unsigned: str | None = None  # why a --sign-key was not used (a replay of an unverified source)
    sign_key: Any = None  # --sign-key, loaded at configure (a bad key is a usage error before any read)
    signature: str | None = None  # the signing key's fingerprint once manifest.json.sig is written
    _provenance: dict[str, Any] | None = None
    secrets: list[str] = field(default_factory=list)  # the environment's secret values, read at configure (redact)
    previous: Path | None = None  # the bundle `latest` pointed at when the run started (the previous gate run)
    signers: Any = None  # --allowed-signers, loaded at configure: a replay checks its original's approvals
    governance: dict[str, Any] | None = None  # gate.json's waivers, changes and approvals (governance.py)

    @property
    def gated(self) -> bool:
        """Is this a compliance run? Not when tests ran and none of them is a check (e.g. `pytest selftest`)."""
        return self.saw_checks or not self.saw_tests or bool(self.run.incomplete)

    def reasons_incomplete(self) -> list[str]:
        return list(dict.fromkeys([*self.run.incomplete, *self.incomplete]))

    def caller(self) -> dict[str, Any]:
        snap = self.run.snapshot
        return dict(snap.meta.get("caller") or {}) if snap is not None else {}

    def replay_of(self) -> str | None:
        return str(self.run.replay.resolve()) if self.run.replay is not None else None

    def git_sha(self) -> str | None:
        return suite_state().get("commit") or None

    def provenance(self) -> dict[str, Any]:
        """The infra commit checked (as the snapshot recorded it; a replay shows its original's), the CI run
        making this bundle, and whether the suite's own tree was dirty."""
        if self._provenance is None:
            snap = self.run.snapshot
            if snap is not None and "infra_git" in snap.meta:
                infra = snap.meta["infra_git"]
            elif self.run.replay is not None:
                infra = {"commit": None, "reason": "not recorded by the replayed run"}
            else:
                infra = provenance.git_state(self.run.options.infra_repo)
            suite = suite_state()
            self._provenance = {"infra": infra, "ci": provenance.ci_run(os.environ),
                                "suite_dirty": suite.get("dirty")}
        return self._provenance

    def portable(self) -> list[tuple[str, str]]:
        """Absolute paths in bundle text and what they become (relative to the checkout, or the infra repo's name)."""
        return provenance.portable_paths(CHECKOUT, self.run.options.infra_repo)

    def meta(self) -> dict[str, Any]:
        env, caller = self.run.env, self.caller()
        snap = self.run.snapshot
        return {"env": env.name, "account": env.account, "region": env.region, "dr_region": env.dr_region,
                "caller_arn": caller.get("arn"), "caller_account": caller.get("account"),
                "caller_region": caller.get("region"), "suite_version": __version__, "git_sha": self.git_sha(),
                "run_id": self.run.run_id, "started": self.run.started, "finished": self.finished,
                "command": redact.text(invocation(self.config)),
                "endpoint": snap.meta.get("endpoint") if snap is not None else None,
                "offline": (snap.meta.get("offline") or "") if snap is not None else "",  # why no AWS was read
                "replay_of": self.replay_of(), "bundle": str(self.dir) if self.dir else None,
                "bundle_name": f"{self.dir.parent.name}/{self.dir.name}" if self.dir else None,
                "libraries": library_versions(), "provenance": self.provenance(),
                **(self.kind.to_dict() if self.kind is not None else {})}


def evidence_of(config: pytest.Config) -> Evidence | None:
    return config.stash.get(EVIDENCE, None)

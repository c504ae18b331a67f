"""The check record: what one test item of a catalog check decided, typed, from the hook that decides it
to every writer (results.json, SARIF, JUnit, the job summary, the report, replay and the index).

Built once per item by `checks.plugin.outcomes`; redaction and the evidence writers only read it (or make
a changed copy with `replace`). Under xdist it crosses to the controller as `to_dict()` and back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "error", "skipped", "waived"]
# "waived": a failed check an active waiver (an accepted risk, checks/core/waivers.py) matches; it no longer
# decides the gate. An error is never waived: what was not verified cannot be approved.
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "skipped", "waived")
BAD: tuple[str, ...] = ("failed", "error")  # the outcomes that are findings or unverified checks
# results.json's per-result fields (schema 1: fields are only ever added)
RESULT_FIELDS = ("check", "test", "resource", "outcome", "severity", "message", "remediation", "controls")
# and "waiver", on a row a waiver matched (waived, or its expiry or why it was not applied)


@dataclass(frozen=True)
class Location:
    """Where in the infra repo a finding is: a path relative to the repo, and a 1-based line."""
    file: str
    line: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}

    @classmethod
    def of(cls, value: Any) -> Location | None:
        if isinstance(value, Location):
            return value
        if not isinstance(value, Mapping) or not isinstance(value.get("file"), str) or not value.get("file"):
            return None
        try:
            line = max(1, int(value.get("line") or 1))
        except (TypeError, ValueError):
            line = 1
        return cls(value["file"], line)


@dataclass(frozen=True)
class CheckRecord:
    """One test item of a catalog check, as decided: its id, resource, outcome and why."""
    check: str  # the catalog id ("" for a failure outside any catalog check)
    title: str
    test: str  # the pytest node id
    name: str  # the test's name with its parameters
    resource: str
    outcome: Outcome
    severity: str
    area: str = ""  # the area package the check belongs to ("" when unknown)
    message: str = ""
    remediation: str = ""
    runbook: Mapping[str, str] = field(default_factory=dict)
    observations: tuple[Mapping[str, Any], ...] = ()
    location: Location | None = None
    controls: tuple[str, ...] = ()  # the controls it evidences, "<framework>:<id>" (catalog.toml)
    arn: str = ""  # the resource's ARN, when it is an AWS resource
    # the waiver that matched (Waiver.to_dict() with its `status`: applied, expired, not applied), else None
    waiver: Mapping[str, Any] | None = None

    @property
    def bad(self) -> bool:
        """A finding or an unverified check (what the gate and the report dwell on)."""
        return self.outcome in BAD

    def replace(self, **changes: Any) -> CheckRecord:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-able data (the form xdist carries and the self-tests read)."""
        return {"check": self.check, "title": self.title, "test": self.test, "name": self.name,
                "resource": self.resource, "outcome": self.outcome, "severity": self.severity, "area": self.area,
                "message": self.message, "remediation": self.remediation, "runbook": dict(self.runbook),
                "observations": [dict(o) for o in self.observations],
                "location": self.location.to_dict() if self.location else None,
                "controls": list(self.controls), "arn": self.arn,
                "waiver": dict(self.waiver) if self.waiver is not None else None}

    def result(self) -> dict[str, Any]:
        """The record's row in results.json."""
        row = {k: list(v) if isinstance(v := getattr(self, k), tuple) else v for k in RESULT_FIELDS}
        if self.waiver is not None:
            row["waiver"] = dict(self.waiver)
        return row

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckRecord:
        """A record from to_dict() or a results.json row (missing fields take their defaults)."""
        outcome = data.get("outcome")
        return cls(check=str(data.get("check") or ""), title=str(data.get("title") or ""),
                   test=str(data.get("test") or ""), name=str(data.get("name") or ""),
                   resource=str(data.get("resource") or ""),
                   outcome=outcome if outcome in OUTCOMES else "error",  # type: ignore[arg-type]
                   severity=str(data.get("severity") or ""), area=str(data.get("area") or ""),
                   message=str(data.get("message") or ""), remediation=str(data.get("remediation") or ""),
                   runbook=dict(data.get("runbook") or {}),
                   observations=tuple(o for o in data.get("observations") or () if isinstance(o, Mapping)),
                   location=Location.of(data.get("location")),
                   controls=tuple(str(c) for c in data.get("controls") or () if isinstance(c, str)),
                   arn=str(data.get("arn") or ""),
                   waiver=dict(data["waiver"]) if isinstance(data.get("waiver"), Mapping) else None)

    @classmethod
    def unevaluated(cls, test: str, when: str, detail: str) -> CheckRecord:
        """A failure outside any catalog check (e.g. a crashed xdist worker): it could not be evaluated."""
        return cls(check="", title="not a catalog check", test=test, name=test.split("::")[-1], resource="",
                   outcome="error", severity="P0", message=f"{when} failed: {detail}")

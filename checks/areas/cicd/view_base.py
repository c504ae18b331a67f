"""What every CI/CD view shares: the findings its last check found (for context()) and the snapshot's clock."""

from __future__ import annotations

import datetime as dt

from checks.areas.cicd.findings import Finding
from checks.core.outcome import Unverifiable
from checks.core.snapshot import Snapshot, parse_time


def collected_at(snapshot: Snapshot) -> dt.datetime:
    t = parse_time(snapshot.meta.get("collected_at"))
    if t is None:
        raise Unverifiable("the snapshot has no collected_at time to judge ages against")
    return t


def duration_text(td: dt.timedelta) -> str:
    """An age as the messages give it: `42 min`, `3 h 5 min`."""
    minutes = int(td.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


class CicdView:
    """A CI/CD view: its `name` (the resource) and the findings of its last check."""
    name: str = ""

    def __init__(self) -> None:
        self.last: list[Finding] = []

    def _keep(self, findings: list[Finding]) -> list[Finding]:
        self.last = findings
        return findings

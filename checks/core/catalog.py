"""The check catalog (catalog.toml): ids, severities and runbook text, in one place."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from checks.core import controls as ctl

SEVERITIES = ("P0", "P1", "P2", "P3")
ROLLBACK = {
    "P0": "emergency rollback",
    "P1": "standard rollback, or fix forward when the fix takes under 30 min",
    "P2": "fix forward",
    "P3": "fix forward (information only)",
}


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    severity: str
    symptom: str
    cause: str
    resolution: str
    prevention: str
    overrides: dict[str, str] = field(default_factory=dict)
    controls: tuple[str, ...] = ()  # what every test of the id evidences ("<framework>:<id>")
    test_controls: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what one test function adds

    def severity_for(self, test_name: str) -> str:
        return self.overrides.get(test_name.split("[")[0], self.severity)

    def controls_for(self, test_name: str) -> tuple[str, ...]:
        """The controls a test of this id provides evidence for, related requirements included."""
        return ctl.expand((*self.controls, *self.test_controls.get(test_name.split("[")[0], ())))

    def all_controls(self) -> tuple[str, ...]:
        """Every control any test of this id evidences."""
        return ctl.expand((*self.controls, *(r for refs in self.test_controls.values() for r in refs)))

    def remediation(self, **context: Any) -> str:
        return fill(self.resolution, context)

    def runbook(self, **context: Any) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "symptom": fill(self.symptom, context),
                "cause": self.cause, "resolution": self.remediation(**context),
                "prevention": self.prevention}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def placeholders(template: str) -> list[str]:
    """The {names} a template fills (an unknown one is shown as <name>)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill(template: str, context: dict[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _Blank({k: v for k, v in context.items() if v not in (None, "")}))


@cache
def catalog() -> dict[str, Entry]:
    out = {}
    for cid, e in ctl.raw().items():
        if cid in ctl.RESERVED:
            continue
        if isinstance(e.get("resolution"), list):  # one command (or "# prose") per line
            e = {**e, "resolution": "\n".join(e["resolution"])}
        tests = e.get("test_controls") or {}
        e = {**e, "controls": ctl.check_refs(cid, e.get("controls") or ()),
             "test_controls": {t: ctl.check_refs(f"{cid} {t}", refs) for t, refs in tests.items()}}
        entry = Entry(id=cid, **e)
        assert entry.severity in SEVERITIES, f"catalog {cid}: bad severity {entry.severity}"
        out[cid] = entry
    return out


def entry(check_id: str) -> Entry:
    return catalog()[check_id]

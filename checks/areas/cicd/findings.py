"""One finding: what is wrong, in which file, where, and the concrete fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str          # catalog id, e.g. "CICD-01"
    rule: str           # short rule name, e.g. "schema", "runner-label"
    path: str           # file (relative to the infra repo) or resource the finding is about
    message: str
    location: str = ""  # e.g. "jobs.apply.runs-on"
    line: int = 0
    fix: str = ""       # the concrete fix for this finding (the catalog keeps the runbook text)

    def where(self) -> str:
        at = f"{self.path}:{self.line}" if self.line else self.path
        return f"{at} {self.location}".rstrip()

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def report(expected: str, findings: list[Finding]) -> str:
    """An assertion message: what was expected, then each finding (and its fix) on its own line."""
    lines = [f"expected {expected}; found {len(findings)} problem(s):"]
    for f in findings:
        lines.append(f"  - {f}")
        if f.fix:
            lines.append(f"    fix: {f.fix}")
    return "\n".join(lines)


def fixes(findings: list[Finding]) -> str:
    """The distinct fixes of these findings, in order, for the record's remediation."""
    return "; ".join(dict.fromkeys(f"{f.where()}: {f.fix}" for f in findings if f.fix))

"""One finding: what is wrong, in which file, where."""

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

    def where(self) -> str:
        at = f"{self.path}:{self.line}" if self.line else self.path
        return f"{at} {self.location}".rstrip()

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def report(expected: str, findings: list[Finding]) -> str:
    """An assertion message: what was expected, then each finding on its own line."""
    lines = [f"expected {expected}; found {len(findings)} problem(s):"]
    lines += [f"  - {f}" for f in findings]
    return "\n".join(lines)

"""A static finding: what the Terraform declares wrong for an env, where, and the exact HCL that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.areas.static.model import Instance


@dataclass(frozen=True)
class Finding:
    check: str      # catalog id of the live check this is the shift-left half of, e.g. "DDB-03"
    resource: str   # Terraform address, e.g. aws_dynamodb_table.tenants
    file: str       # relative to the infra repo
    line: int
    message: str
    fix: str = ""   # the HCL (or action) that resolves it

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        fix = f"\n      fix: {self.fix}" if self.fix else ""
        return f"{self.where()} {self.resource}: {self.message}{fix}"


def report(expected: str, findings: list[Finding]) -> str:
    """An assertion message: what was expected, then each finding with its location and fix."""
    lines = [f"expected {expected}; found {len(findings)} problem(s):"]
    lines += [f"  - {f}" for f in findings]
    return "\n".join(lines)


def finding(check: str, i: Instance, attr: str, message: str, fix: str) -> Finding:
    """A finding about an instance, at the line that sets `attr` (the block's line without one)."""
    return Finding(check, i.address, i.file, i.line_of(attr) if attr else i.line, message, fix)

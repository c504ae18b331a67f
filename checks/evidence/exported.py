"""What the finding exports (OCSF, ASFF) share: which results are findings, the resource each names,
and its controls grouped by framework."""

from __future__ import annotations

from typing import Any

from checks.core import controls as ctl
from checks.core.record import CheckRecord

EXPORTED = ("failed", "waived", "error")  # a finding, an accepted one (issue 21's waivers), an unverified check
SEVERITY_LABEL = {"P0": "Critical", "P1": "High", "P2": "Medium", "P3": "Low"}


def findings(records: list[CheckRecord]) -> list[CheckRecord]:
    return sorted((r for r in records if r.outcome in EXPORTED), key=lambda r: (r.severity, r.check, r.test))


def resource(record: CheckRecord) -> dict[str, str]:
    """{uid, name, kind}: kind is "table", "bucket", "object" (an AWS resource, uid its ARN), "file" (an
    infra-repo file, uid its path) or "other" (uid the resource's name)."""
    arn = record.arn
    if arn.startswith("arn:aws:dynamodb:"):
        return {"uid": arn, "name": record.resource, "kind": "table"}
    if arn.startswith("arn:aws:s3:::"):
        return {"uid": arn, "name": record.resource, "kind": "object" if "/" in arn else "bucket"}
    if record.location is not None:
        return {"uid": record.location.file, "name": record.resource or record.location.file, "kind": "file"}
    return {"uid": record.resource or record.test, "name": record.resource or record.test, "kind": "other"}


def by_framework(record: CheckRecord) -> dict[str, list[str]]:
    """{framework key: [control ids]} of the record's controls, in the catalog's order."""
    out: dict[str, list[str]] = {}
    for ref in record.controls:
        framework, control = ctl.split(ref)
        out.setdefault(framework, []).append(control)
    return out


def requirements(record: CheckRecord) -> list[str]:
    """"NIST 800-53 r5 CP-9": the record's controls with their framework's short name."""
    out = []
    for ref in record.controls:
        framework, control = ctl.split(ref)
        fw = ctl.frameworks().get(framework)
        out.append(f"{fw.short if fw else framework} {control}")
    return out


def references(record: CheckRecord) -> list[str]:
    """The published pages the record's control mappings are taken from (its declared controls' own;
    a related requirement comes from the page of the control that names it)."""
    declared = ctl.declared()
    return list(dict.fromkeys(declared[ref].source for ref in record.controls if ref in declared))


def context(meta: dict[str, Any]) -> dict[str, Any]:
    return {"account": str(meta.get("account") or ""), "region": str(meta.get("region") or ""),
            "env": str(meta.get("env") or ""), "run_id": str(meta.get("run_id") or ""),
            "time": str(meta.get("finished") or meta.get("started") or "")}

"""findings.ocsf.json: one OCSF Detection Finding (class_uid 2004, schema 1.5.0) per failed, waived or
error result, for a SIEM or data lake that reads OCSF (Amazon Security Lake, Splunk, ...).

Each carries the finding (check, title, message), its severity, its status (a finding is New; an
accepted one Suppressed; a check that could not be evaluated is New with status_code ERROR), the
resource (its ARN for a table, bucket or object; the file for an infra-repo finding), the remediation
with the pages its control mappings come from, and the cloud account and region. Detection Finding has
no compliance attribute, so the controls go where OCSF puts a source's own fields: `unmapped.compliance`
({framework key: [control ids]}), as Prowler's OCSF output does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from checks import __version__
from checks.core.record import CheckRecord
from checks.core.snapshot import parse_time
from checks.evidence import exported

OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2004, 2, 1
SEVERITY_ID = {"Critical": 5, "High": 4, "Medium": 3, "Low": 2}
STATUS = {"failed": (1, "New"), "error": (1, "New"), "waived": (3, "Suppressed")}
RESOURCE_TYPE = {"table": "AWS::DynamoDB::Table", "bucket": "AWS::S3::Bucket", "object": "AWS::S3::Object",
                 "file": "File", "other": "Other"}
AWS_ACCOUNT_TYPE_ID = 10


def finding_uid(run_id: str, test: str) -> str:
    return f"bbws-checks-{run_id}-{hashlib.sha256(test.encode()).hexdigest()[:16]}"


def detection_finding(record: CheckRecord, ctx: dict[str, Any]) -> dict[str, Any]:
    when = parse_time(ctx["time"]) or dt.datetime.now(dt.UTC)
    ms = int(when.timestamp() * 1000)
    label = exported.SEVERITY_LABEL.get(record.severity, "Medium")
    status_id, status = STATUS.get(record.outcome, (1, "New"))
    res = exported.resource(record)
    title = f"{record.check} {record.title}: {res['name']}".strip()
    return {
        "metadata": {"version": OCSF_VERSION, "uid": finding_uid(ctx["run_id"], record.test),
                     "event_code": record.check, "profiles": ["cloud"],
                     "product": {"name": "bbws-checks", "vendor_name": "BBWS", "version": __version__}},
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Detection Finding: Create",
        "time": ms, "time_dt": when.isoformat(),
        "severity_id": SEVERITY_ID[label], "severity": label,
        "status_id": status_id, "status": status, "status_code": record.outcome.upper(),
        "status_detail": record.message, "message": record.message or title,
        "finding_info": {"uid": finding_uid(ctx["run_id"], record.test), "title": title,
                         "desc": record.message or record.title, "types": [record.area or "other"],
                         "created_time": ms, "created_time_dt": when.isoformat()},
        "resources": [{"uid": res["uid"], "name": res["name"], "type": RESOURCE_TYPE[res["kind"]],
                       "region": ctx["region"], "cloud_partition": "aws"}],
        "remediation": {"desc": record.remediation or record.runbook.get("resolution") or "see the runbook",
                        "references": exported.references(record)},
        "cloud": {"provider": "AWS", "region": ctx["region"],
                  "account": {"uid": ctx["account"], "name": ctx["env"] or ctx["account"],
                              "type": "AWS Account", "type_id": AWS_ACCOUNT_TYPE_ID}},
        "unmapped": {"compliance": exported.by_framework(record), "check": record.check, "test": record.test,
                     "outcome": record.outcome, "severity": record.severity, "env": ctx["env"],
                     "location": record.location.to_dict() if record.location else None},
    }


def ocsf(records: list[CheckRecord], meta: dict[str, Any]) -> list[dict[str, Any]]:
    ctx = exported.context(meta)
    return [detection_finding(r, ctx) for r in exported.findings(records)]

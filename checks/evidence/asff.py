"""findings.asff.json: the same findings in the AWS Security Finding Format, ready for
`aws securityhub batch-import-findings --findings file://findings.asff.json` (100 at a time).

Id is stable across runs (env and test), so a later import updates a finding instead of adding one.
Compliance.Status is FAILED for a finding, NOT_AVAILABLE for a check that could not be evaluated;
RelatedRequirements lists its controls (at most 32, as the API allows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from checks.core.record import CheckRecord
from checks.core.snapshot import parse_time
from checks.evidence import exported

SCHEMA_VERSION = "2018-10-08"
RESOURCE_TYPE = {"table": "AwsDynamoDbTable", "bucket": "AwsS3Bucket", "object": "AwsS3Object",
                 "file": "Other", "other": "Other"}
COMPLIANCE = {"failed": "FAILED", "waived": "FAILED", "error": "NOT_AVAILABLE"}
WORKFLOW = {"waived": "SUPPRESSED"}
MAX_REQUIREMENTS = 32


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def asff_finding(record: CheckRecord, ctx: dict[str, Any]) -> dict[str, Any]:
    when = (parse_time(ctx["time"]) or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    res = exported.resource(record)
    account, region = ctx["account"], ctx["region"]
    requirements = exported.requirements(record)
    remediation: dict[str, Any] = {"Text": _cut(record.remediation or record.runbook.get("resolution") or
                                                "see the runbook", 512)}
    refs = exported.references(record)
    if refs:
        remediation["Url"] = refs[0]
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": _cut(f"bbws-checks/{ctx['env']}/{record.test}", 512),
        "ProductArn": f"arn:aws:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": f"bbws-checks/{record.check}",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": when, "UpdatedAt": when,
        "Severity": {"Label": exported.SEVERITY_LABEL.get(record.severity, "Medium").upper(),
                     "Original": record.severity},
        "Title": _cut(f"{record.check} {record.title}: {res['name']}", 256),
        "Description": _cut(record.message or record.title or record.check, 1024),
        "Remediation": {"Recommendation": remediation},
        "ProductFields": {"bbws/check": record.check, "bbws/test": _cut(record.test, 2048),
                          "bbws/outcome": record.outcome, "bbws/run_id": ctx["run_id"]},
        "Resources": [{"Type": RESOURCE_TYPE[res["kind"]], "Id": _cut(res["uid"], 512), "Partition": "aws",
                       "Region": region}],
        "Compliance": {"Status": COMPLIANCE.get(record.outcome, "FAILED"),
                       "RelatedRequirements": requirements[:MAX_REQUIREMENTS]},
        "Workflow": {"Status": WORKFLOW.get(record.outcome, "NEW")},
        "RecordState": "ACTIVE",
    }


def asff(records: list[CheckRecord], meta: dict[str, Any]) -> list[dict[str, Any]]:
    ctx = exported.context(meta)
    return [asff_finding(r, ctx) for r in exported.findings(records)]

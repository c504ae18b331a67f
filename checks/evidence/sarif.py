"""results.sarif: the findings that have a file and line (CI/CD), as SARIF 2.1.0 for GitHub code scanning.

One result per failing, unevaluated or waived check record with a `location` ({file, line}, relative to the
infra repo); one rule per check id, carrying the runbook's title, remediation and severity. A waived finding
carries a suppression (kind `external`, status `accepted`, the waiver's justification), so code scanning
shows it as accepted, not open. Paths are the infra
repo's own, so the workflow uploads with `checkout_path` set to where it checked the infra repo out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from checks import __version__
from checks.core.catalog import catalog, fill
from checks.core.record import CheckRecord

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"P0": "error", "P1": "error", "P2": "warning", "P3": "note"}
SECURITY_SEVERITY = {"P0": "9.0", "P1": "7.0", "P2": "4.0", "P3": "1.0"}  # GitHub's critical/high/medium/low


def location_of(record: CheckRecord) -> tuple[str, int] | None:
    """The record's file (relative to the infra repo, never outside it) and line."""
    loc = record.location
    file = loc.file.strip() if loc else ""
    if not file or file.startswith("/") or ".." in file.split("/"):
        return None
    return file, loc.line


_BULLET = re.compile(r"^\s*- (?P<file>[^:]+?):(?P<line>\d+)(?:\s+(?P<text>.*))?$")


def spots(record: CheckRecord) -> list[tuple[str, int, str]]:
    """(file, line, text) of each problem: the message's "- file:line ..." lines in the record's file,
    or the record's own location with its message."""
    at = location_of(record)
    if at is None:
        return []
    message = record.message or record.title or record.check
    found = [(m.group("file"), int(m.group("line")), (m.group("text") or "").strip() or message)
             for line in message.splitlines() if (m := _BULLET.match(line)) and m.group("file") == at[0]]
    return found or [(at[0], at[1], message)]


def findings(records: Iterable[CheckRecord]) -> list[CheckRecord]:
    return [r for r in records if (r.bad or r.outcome == "waived") and location_of(r) is not None]


def suppressions(record: CheckRecord) -> list[dict[str, Any]]:
    """SARIF's suppression of a waived finding: accepted outside the code, by whom, why and until when."""
    if record.outcome != "waived" or record.waiver is None:
        return []
    w = record.waiver
    justification = f"{w.get('justification', '')} (approved by {w.get('approved_by', '')}" + \
        (f", {w['ticket']}" if w.get("ticket") else "") + f", expires {w.get('expires', '')})"
    return [{"kind": "external", "status": "accepted", "justification": justification,
             "properties": {"waiver": dict(w)}}]


def _rule(check: str, severity: str) -> dict[str, Any]:
    e = catalog().get(check)
    title = e.title if e else check
    rule: dict[str, Any] = {"id": check, "name": title.title().replace(" ", "").replace("-", ""),
                            "shortDescription": {"text": title},
                            "defaultConfiguration": {"level": LEVEL.get(severity, "error")},
                            "properties": {"severity": severity, "tags": ["bbws", "ci-cd"],
                                           "security-severity": SECURITY_SEVERITY.get(severity, "9.0")}}
    if e:
        # the runbook's templates with their placeholders shown as <name> (a rule is not one resource)
        rule["fullDescription"] = {"text": f"{fill(e.symptom, {})} Cause: {fill(e.cause, {})}"}
        rule["help"] = {"text": f"Resolution: {fill(e.resolution, {})}\nPrevention: {fill(e.prevention, {})}"}
    return rule


def sarif(records: Iterable[CheckRecord], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF log for these check records (an empty run when none has a location)."""
    found = sorted(findings(records), key=lambda r: (r.check, location_of(r), r.test))
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for r in found:
        check, sev = r.check or "unknown", r.severity or "P0"
        rules.setdefault(check, _rule(check, sev))
        for file, line, text in spots(r):
            if r.remediation:
                text += f"\nRemediation: {r.remediation}"
            result: dict[str, Any] = {
                "ruleId": check, "ruleIndex": list(rules).index(check), "level": LEVEL.get(sev, "error"),
                "message": {"text": text},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": quote(file), "uriBaseId": "SRCROOT"},
                                                    "region": {"startLine": line}}}],
                "partialFingerprints": {"bbwsCheck/v1": f"{check}:{file}:{line}:{r.resource}"},
                "properties": {"severity": sev, "outcome": r.outcome, "resource": r.resource, "test": r.test}}
            if r.outcome == "waived":
                result["suppressions"] = suppressions(r)
            results.append(result)
    run = {"tool": {"driver": {"name": "bbws-checks", "version": __version__, "rules": list(rules.values())}},
           "automationDetails": {"id": f"bbws-gate/{meta.get('env', '')}/{meta.get('run_id', '')}"},
           "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the infra repo's root"}}},
           "results": results}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def annotations(records: Iterable[CheckRecord]) -> list[str]:
    """GitHub workflow commands (`::error file=...,line=...::`) for the findings with a location."""
    out = []
    for r in sorted((r for r in findings(records) if r.bad), key=lambda r: (r.check, location_of(r))):
        kind = {"error": "error", "warning": "warning"}.get(LEVEL.get(r.severity, "error"), "notice")
        title = f"{r.check} {r.title}".strip()
        for file, line, text in spots(r):
            out.append(f"::{kind} file={_prop(file)},line={line},title={_prop(title)}::{_data(text)}")
    return out


def _data(text: str) -> str:
    """A workflow command's data: the runner decodes %25, %0D and %0A; other line separators, which some
    log readers break lines at, are shown escaped."""
    return (text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace("\x85", "\\x85").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")

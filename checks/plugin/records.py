"""The check record of every report: id, severity, resource, outcome, message, remediation, observations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from checks.core.catalog import entry
from checks.core.outcome import Missing, Unverifiable
from checks.plugin.pytest_internals import captured_sections
from checks.plugin.run import RUN


def first_part(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, AssertionError):
        text = text.split("\nassert ")[0]
    return text.strip()


def outcome_of(report: pytest.TestReport) -> str:
    if report.skipped:
        return "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed"


class VerdictReports:
    """A check that raises Missing or Unverifiable has a verdict, not a crash: its report gets the
    reason as text and no traceback (pytest would format one per test, source lines and all, only
    for the plugin's makereport wrapper to replace it). A plugin object, registered by the plugin."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        exc = call.excinfo.value if call.excinfo else None
        if not isinstance(exc, (Missing, Unverifiable)) or item.get_closest_marker("issue") is None:
            return None
        sections = captured_sections(item)
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", str(exc),
                                 call.when, sections, call.duration, call.start, call.stop,
                                 list(item.user_properties))


def resource_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params:
        return "/".join(str(v) for v in callspec.params.values())
    for value in getattr(item, "funcargs", {}).values():
        name = getattr(value, "name", None)
        if isinstance(name, str) and hasattr(value, "context"):
            return name
    return item.config.stash[RUN].env.name


def context_of(item: pytest.Item) -> dict[str, Any]:
    env = item.config.stash[RUN].env
    ctx: dict[str, Any] = {"env": env.name, "account": env.account, "region": env.region,
                           "dr_region": env.dr_region, "resource": resource_of(item)}
    for value in getattr(item, "funcargs", {}).values():
        if hasattr(value, "context") and callable(value.context):
            try:
                ctx.update({k: v for k, v in value.context().items() if v not in (None, "")})
            except (Unverifiable, Missing):
                pass
    return ctx


_AT = re.compile(r"^(?P<file>[^:]+?):(?P<line>\d+)(?:\s|$)")


def location_of(ctx: dict[str, Any]) -> dict[str, Any] | None:
    """{file, line} of a finding in a file (relative to the infra repo), from the view's context:
    its `file` and `line` keys, or a `location` of the form "path:line ..."."""
    file, line = ctx.get("file"), ctx.get("line")
    if not file and isinstance(ctx.get("location"), str) and (m := _AT.match(ctx["location"])):
        file, line = m.group("file"), m.group("line")
    if not file or not isinstance(file, str):
        return None
    try:
        return {"file": file, "line": max(1, int(line or 1))}
    except (TypeError, ValueError):
        return {"file": file, "line": 1}
def remediation_of(e: Any, ctx: dict[str, Any]) -> str:
    """A view's concrete fix for what it found (context "fix") wins; else the catalog's filled runbook text."""
    return str(ctx.get("fix") or e.remediation(**ctx))


def check_record(item: pytest.Item, report: pytest.TestReport, message: str) -> dict[str, Any]:
    check_id = item.get_closest_marker("issue").args[0]
    e = entry(check_id)
    snap = item.config.stash[RUN].snapshot
    reads = list(snap.reads or []) if snap is not None else []  # before context(), whose reads are not evidence
    # A finding carries its raw observations; a pass names what it read (responses stay in snapshot.json).
    full = outcome_of(report) in ("failed", "error")
    observations = [dict(vars(o)) if full else {k: v for k, v in vars(o).items() if k != "response"}
                    for k in reads if (o := snap.by_key(k)) is not None] if snap else []
    ctx = context_of(item)
    return {"check": check_id, "title": e.title, "test": item.nodeid, "name": item.name,
            "resource": ctx["resource"], "outcome": outcome_of(report),
            "severity": e.severity_for(item.name), "message": message,
            "remediation": remediation_of(e, ctx) if outcome_of(report) in ("failed", "error") else "",
            "runbook": e.runbook(**ctx), "observations": observations, "location": location_of(ctx)}



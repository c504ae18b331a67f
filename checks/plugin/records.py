"""How a check record is made from a test item: its id, severity, resource, message, remediation and observations."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from checks import areas
from checks.core.catalog import entry
from checks.core.outcome import Missing, Unverifiable
from checks.core.record import CheckRecord, Location, Outcome
from checks.plugin.run import RUN


def first_part(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, AssertionError):
        text = text.split("\nassert ")[0]
    return text.strip()


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
    for value in _views_in_order(item):
        if hasattr(value, "context") and callable(value.context):
            try:
                ctx.update({k: v for k, v in value.context().items() if v not in (None, "")})
            except (Unverifiable, Missing):
                pass
    return ctx


def _views_in_order(item: pytest.Item) -> list[Any]:
    """The test's fixture values, those it takes itself after the ones they build on, and among its own the
    parametrized ones last: their contexts win. test_template_replicated(template, dr_bucket) judges the
    template (S3-05's commands name its source bucket), not the DR bucket it looks in."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    try:
        own = set(inspect.signature(getattr(item, "obj", None)).parameters)
    except (TypeError, ValueError):
        own = set()
    funcargs = getattr(item, "funcargs", {})
    return [value for _, value in sorted(funcargs.items(), key=lambda kv: (kv[0] in own, kv[0] in params))]


_AT = re.compile(r"^(?P<file>[^:]+?):(?P<line>\d+)(?:\s|$)")


def location_of(ctx: dict[str, Any]) -> Location | None:
    """The file and line of a finding (relative to the infra repo), from the view's context: its `file`
    and `line` keys, or a `location` of the form "path:line ..."."""
    file, line = ctx.get("file"), ctx.get("line")
    if not file and isinstance(ctx.get("location"), str) and (m := _AT.match(ctx["location"])):
        file, line = m.group("file"), m.group("line")
    return Location.of({"file": file, "line": line}) if isinstance(file, str) else None


def remediation_of(e: Any, ctx: dict[str, Any]) -> str:
    """A view's concrete fix for what it found (context "fix") wins; else the catalog's filled runbook text."""
    return str(ctx.get("fix") or e.remediation(**ctx))


def arn_of(ctx: dict[str, Any]) -> str:
    """The ARN of the resource a view judged: its own (a table, a bucket), or an object's in its bucket."""
    arn = str(ctx.get("arn") or "")
    if arn.startswith("arn:aws:s3:::") and "/" not in arn and ctx.get("key") and ctx.get("resource") == ctx.get("key"):
        return f"{arn}/{ctx['key']}"
    return arn


def check_record(item: pytest.Item, outcome: Outcome, message: str) -> CheckRecord:
    check_id = item.get_closest_marker("issue").args[0]
    e = entry(check_id)
    snap = item.config.stash[RUN].snapshot
    reads = list(snap.reads or []) if snap is not None else []  # before context(), whose reads are not evidence
    # A finding carries its raw observations; a pass names what it read (responses stay in snapshot.json).
    full = outcome in ("failed", "error")
    observations = tuple(dict(vars(o)) if full else {k: v for k, v in vars(o).items() if k != "response"}
                         for k in reads if (o := snap.by_key(k)) is not None) if snap else ()
    ctx = context_of(item)
    return CheckRecord(check=check_id, title=e.title, test=item.nodeid, name=item.name, resource=ctx["resource"],
                       outcome=outcome, severity=e.severity_for(item.name), area=areas.area_of(str(item.path)),
                       message=message, remediation=remediation_of(e, ctx) if full else "",
                       runbook=e.runbook(**ctx), observations=observations, location=location_of(ctx),
                       controls=e.controls_for(item.name), arn=arn_of(ctx))

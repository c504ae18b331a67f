"""CICD-01 structure rules that need nothing but the workflow: runner labels and dispatch/call inputs."""

from __future__ import annotations

import json

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow
from checks.areas.cicd.shell import EXPR_RE
from checks.core import linear

INPUT_NAME_RE = linear.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# GitHub-hosted runner labels (docs: "GitHub-hosted runners" / "larger runners", 2025).
HOSTED_LABELS = frozenset({
    "ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-20.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
    "ubuntu-slim",
    "windows-latest", "windows-2025", "windows-2022", "windows-2019", "windows-11-arm",
    "macos-latest", "macos-15", "macos-14", "macos-13", "macos-26",
    "macos-latest-large", "macos-15-large", "macos-14-large", "macos-13-large",
    "macos-latest-xlarge", "macos-15-xlarge", "macos-14-xlarge", "macos-13-xlarge", "macos-15-intel",
})
DISPATCH_TYPES = {"string", "boolean", "choice", "number", "environment"}
CALL_TYPES = {"string", "boolean", "number"}
MAX_DISPATCH_INPUTS = 25


def runner_labels(wf: Workflow) -> list[Finding]:
    out = []
    for job in wf.jobs.values():
        if job.uses or "runs-on" not in job.raw:
            continue
        ro = job.raw["runs-on"]
        if isinstance(ro, dict):
            if ro.get("group"):
                continue
            ro = ro.get("labels", [])
        labels = [ro] if isinstance(ro, str) else [str(x) for x in ro] if isinstance(ro, list) else []
        if any(EXPR_RE.search(lb) for lb in labels) or "self-hosted" in labels:
            continue
        bad = [lb for lb in labels if lb not in HOSTED_LABELS]
        if bad or not labels:
            out.append(wf.finding(
                "runner-label", f"runs-on {', '.join(bad) or '(empty)'} is not a GitHub-hosted runner label "
                "(e.g. ubuntu-latest, ubuntu-24.04); use an exact larger-runner name via `group:` or `self-hosted`",
                "jobs", job.id, "runs-on", fix=f"jobs.{job.id}.runs-on: ubuntu-latest (or a runner group)"))
    return out


def dispatch_inputs(wf: Workflow) -> list[Finding]:
    out: list[Finding] = []
    declared: set[str] = set()
    has_inputs = False
    for trigger, types in (("workflow_dispatch", DISPATCH_TYPES), ("workflow_call", CALL_TYPES)):
        spec = wf.on.get(trigger)
        if not isinstance(spec, dict) or "inputs" not in spec:
            continue
        has_inputs = True
        inputs = spec.get("inputs") or {}
        at = ("on", trigger, "inputs")
        if not isinstance(inputs, dict):
            out.append(wf.finding("dispatch-inputs", "inputs must be a mapping", *at))
            continue
        if trigger == "workflow_dispatch" and len(inputs) > MAX_DISPATCH_INPUTS:
            out.append(wf.finding("dispatch-inputs", f"{len(inputs)} inputs; GitHub allows at most "
                                  f"{MAX_DISPATCH_INPUTS}", *at))
        for name, inp in inputs.items():
            declared.add(str(name))
            here = at + (name,)
            if not INPUT_NAME_RE.match(str(name)):
                out.append(wf.finding("dispatch-inputs", f"input name {name!r} is not valid (letters, digits, "
                                      "_ and -, starting with a letter or _)", *here))
            if not isinstance(inp, dict):
                out.append(wf.finding("dispatch-inputs", f"input {name!r} must be a mapping", *here))
                continue
            typ = inp.get("type", "string")
            if typ not in types:
                out.append(wf.finding("dispatch-inputs", f"input {name!r} has type {typ!r}; {trigger} allows "
                                      f"{', '.join(sorted(types))}", *here, "type"))
                continue
            default = inp.get("default")
            if typ == "choice":
                opts = inp.get("options")
                if not isinstance(opts, list) or not opts:
                    out.append(wf.finding("dispatch-inputs", f"choice input {name!r} needs a non-empty "
                                          "`options` list", *here))
                elif default is not None and str(default) not in [str(o) for o in opts]:
                    out.append(wf.finding("dispatch-inputs", f"default {default!r} of input {name!r} is not "
                                          f"one of its options {opts}", *here, "default"))
            elif "options" in inp:
                out.append(wf.finding("dispatch-inputs", f"input {name!r} of type {typ} has `options`; only "
                                      "choice inputs take options", *here, "options"))
            if typ == "boolean" and default is not None and not isinstance(default, bool) \
                    and not (isinstance(default, str) and EXPR_RE.search(default)):
                out.append(wf.finding("dispatch-inputs", f"boolean input {name!r} has default {default!r}; "
                                      "use true or false", *here, "default"))
            if typ == "number" and default is not None and not isinstance(default, (int, float)):
                out.append(wf.finding("dispatch-inputs", f"number input {name!r} has default {default!r}",
                                      *here, "default"))
    if has_inputs:
        text = json.dumps(wf.doc.get("jobs", {}), default=str)
        used = set(linear.findall(r"\b(?:github\.event\.)?inputs\.([A-Za-z_][A-Za-z0-9_-]*)", text))
        for name in sorted(used - declared):
            out.append(wf.finding("dispatch-inputs", f"`inputs.{name}` is used but not declared", "jobs"))
    return out


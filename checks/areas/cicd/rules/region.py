"""CICD-06 region: the workflow's AWS steps and the env's tfvars deploy to the env's region.

A wrapper workflow that only calls a reusable one deploys to the region the called workflow sets, with the
caller's `with:` values for its inputs: that region is judged, at the line that decides it.
"""

from __future__ import annotations

from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import AWS_CREDS_ACTION, Job, Repo, Workflow, steps
from checks.areas.cicd.shell import EXPR_RE, resolve
from checks.areas.cicd.tfrun import matrix_values, substitute
from checks.core import linear
from checks.core.outcome import Missing

REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
INPUT_RE = linear.compile(r"^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$")
Found = tuple[str, tuple, Workflow]  # (region, location, the workflow the location is in)


def _own(wf: Workflow) -> list[Found]:
    out = []
    for job, step in steps(wf):
        if step.uses.split("@")[0] == AWS_CREDS_ACTION and "aws-region" in step.with_:
            out.append((resolve(str(step.with_["aws-region"]), step.env, job.env, wf.env),
                        ("jobs", job.id, "steps", step.index, "with", "aws-region"), wf))
    if not out:
        for at, env in [(("env",), wf.env)] + [(("jobs", j.id, "env"), j.env) for j in wf.jobs.values()]:
            for var in REGION_VARS:
                if var in env:
                    out.append((resolve(str(env[var]), env, wf.env), at + (var,), wf))
    return out


def _from_caller(found: Found, caller: Workflow, job: Job) -> list[Found]:
    """A called workflow's region `${{ inputs.X }}` is the caller's `with: X` (or the input's default)."""
    region, at, callee = found
    m = INPUT_RE.match(region.strip())
    if not m:
        return [found]
    name = m.group(1)
    given = job.raw.get("with") if isinstance(job.raw.get("with"), dict) else {}
    if name in given:
        value = resolve(str(given[name]), job.env, caller.env)
        keys = linear.findall(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}", value)
        values = [value]
        for k in dict.fromkeys(keys):
            values = [substitute(v, ((f"matrix.{k}", x),)) for v in values for x in matrix_values(job, k)] or values
        return [(v, ("jobs", job.id, "with", name), caller) for v in values]
    spec = (callee.on.get("workflow_call") or {}).get("inputs") or {}
    default = spec.get(name, {}).get("default") if isinstance(spec.get(name), dict) else None
    return [(str(default), ("on", "workflow_call", "inputs", name, "default"), callee)] if default else [found]


def deploy_regions(wf: Workflow, repo: Repo | None = None, seen: frozenset[str] = frozenset()) -> list[Found]:
    """The regions this workflow's AWS steps use (aws-region, else AWS_REGION in env:), with their locations;
    for a workflow without its own, the regions of the local workflows it calls, as its calls set them."""
    out = _own(wf)
    if out or repo is None:
        return out
    for job in wf.jobs.values():
        callee = repo.callee(job)
        if callee is not None and callee.path not in seen | {wf.path}:
            for found in deploy_regions(callee, repo, seen | {wf.path}):
                out += _from_caller(found, wf, job)
    return out


def region(wf: Workflow, expected: str, repo: Repo | None = None) -> list[Finding]:
    found = deploy_regions(wf, repo)
    out = [w.finding("region", f"AWS credentials are configured for region {r!r}, expected {expected!r}"
                     + (f" (set for {wf.file} in {w.file})" if w is not wf else ""), *at, check="CICD-06",
                     fix=f"aws-region: {expected}" if at[-1] == "aws-region" else f"{at[-1]}: {expected}")
           for r, at, w in found if r != expected and not EXPR_RE.search(r)]
    if not found:
        remote = [j.uses for j in wf.jobs.values() if j.uses and not j.uses.startswith("./")]
        if remote:
            raise Missing(f"{wf.file} sets no region itself and calls {remote[0]} outside this repo, where its "
                          "region is set: judge that workflow in its own repo")
        out.append(wf.finding("region", f"no {AWS_CREDS_ACTION} step sets aws-region and no AWS_REGION is set",
                              "jobs", check="CICD-06", fix=f"set `aws-region: {expected}` on the credentials step"))
    return out


def tfvars_region(rel: str, body: dict[str, Any] | None, expected: str) -> list[Finding]:
    got = (body or {}).get("region")
    if isinstance(got, str) and got != expected:
        return [Finding("CICD-06", "region", rel, f"region = {got!r}, expected {expected!r}", "region",
                        fix=f'region = "{expected}" in {rel}')]
    return []

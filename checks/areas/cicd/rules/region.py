"""CICD-06 region: the workflow's AWS steps and the env's tfvars deploy to the env's region."""

from __future__ import annotations

from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import AWS_CREDS_ACTION, Workflow, steps
from checks.areas.cicd.shell import EXPR_RE, resolve

REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")


def deploy_regions(wf: Workflow) -> list[tuple[str, tuple]]:
    """The regions this workflow's AWS steps use (aws-region, else AWS_REGION in env:), with their locations."""
    out = []
    for job, step in steps(wf):
        if step.uses.split("@")[0] == AWS_CREDS_ACTION and "aws-region" in step.with_:
            out.append((resolve(str(step.with_["aws-region"]), step.env, job.env, wf.env),
                        ("jobs", job.id, "steps", step.index, "with", "aws-region")))
    if not out:
        for at, env in [(("env",), wf.env)] + [(("jobs", j.id, "env"), j.env) for j in wf.jobs.values()]:
            for var in REGION_VARS:
                if var in env:
                    out.append((resolve(str(env[var]), env, wf.env), at + (var,)))
    return out


def region(wf: Workflow, expected: str) -> list[Finding]:
    found = deploy_regions(wf)
    out = [wf.finding("region", f"AWS credentials are configured for region {r!r}, expected {expected!r}", *at,
                      check="CICD-06", fix=f"aws-region: {expected}")
           for r, at in found if r != expected and not EXPR_RE.search(r)]
    if not found:
        out.append(wf.finding("region", f"no {AWS_CREDS_ACTION} step sets aws-region and no AWS_REGION is set",
                              "jobs", check="CICD-06", fix=f"set `aws-region: {expected}` on the credentials step"))
    return out


def tfvars_region(rel: str, body: dict[str, Any] | None, expected: str) -> list[Finding]:
    got = (body or {}).get("region")
    if isinstance(got, str) and got != expected:
        return [Finding("CICD-06", "region", rel, f"region = {got!r}, expected {expected!r}", "region",
                        fix=f'region = "{expected}" in {rel}')]
    return []

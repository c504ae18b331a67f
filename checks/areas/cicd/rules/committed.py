"""CICD-03 committed artifacts: no Terraform state or saved plan file is in the repository.

A file that a .gitignore ignores is taken as a local leftover, not a committed one.
"""

from __future__ import annotations

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow, steps
from checks.areas.cicd.rules.lockfile import ignoring_line
from checks.core import linear

STATE_RE = linear.compile(r"(?:^|/)[^/]*\.tfstate(?:\.backup|\.\d+\.backup)?$")
PLAN_RE = linear.compile(r"(?:^|/)(?:[^/]*\.tfplan|tfplan(?:\.(?:out|bin|binary|zip))?|plan\.(?:out|tfplan)|"
                     r"terraform\.plan)$")


def committed(tree: list[str], gitignores: dict[str, str]) -> list[Finding]:
    out = []
    for f in tree:
        if ignoring_line(f, gitignores):
            continue
        if STATE_RE.search(f):
            out.append(Finding("CICD-03", "committed-state", f, "a Terraform state file is committed: it holds every "
                               "attribute of every resource, secrets included, and it is not the state the backend "
                               "uses (an apply from it would recreate what exists)", "", 1,
                               fix=f"git rm --cached {f}; add `*.tfstate` and `*.tfstate.*` to .gitignore; rotate "
                                   "every secret it holds"))
        elif PLAN_RE.search(f):
            out.append(Finding("CICD-03", "committed-plan", f, "a saved Terraform plan is committed: it holds "
                               "variable values (secrets included) and goes stale at the next state change", "", 1,
                               fix=f"git rm --cached {f}; add its name to .gitignore; hand plans from the plan job "
                                   "to the apply job as a workflow artifact"))
    return out


PUBLISH_STATE_RE = linear.compile(r"\bterraform\s+(?:-\S+\s+)*(?:show\s+-json|state\s+pull)\b")
GIT_WRITE_RE = linear.compile(r"\bgit\s+(?:add|commit|push)\b")


def published(workflows: list[Workflow]) -> list[Finding]:
    """A workflow step that writes the state (`terraform show -json`, `state pull`) into a commit."""
    out = []
    for wf in workflows:
        for job, step in steps(wf):
            if PUBLISH_STATE_RE.search(step.run) and GIT_WRITE_RE.search(step.run):
                out.append(wf.finding("committed-state", f"job {job.id} step {step.name!r} writes the Terraform state "
                                      "(terraform show -json / state pull) into a git commit: every secret in the "
                                      "state becomes part of the repository's history", "jobs", job.id, "steps",
                                      step.index, "run", check="CICD-03",
                                      fix="keep the state in the backend only; publish what you need as outputs "
                                          "(terraform output -json) or as a workflow artifact"))
    return out

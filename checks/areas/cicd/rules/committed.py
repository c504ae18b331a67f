"""CICD-03 committed artifacts: no Terraform state or saved plan file is in the repository.

A file that a .gitignore ignores is taken as a local leftover, not a committed one.
"""

from __future__ import annotations

import re

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.rules.lockfile import ignoring_line

STATE_RE = re.compile(r"(?:^|/)[^/]*\.tfstate(?:\.backup|\.\d+\.backup)?$")
PLAN_RE = re.compile(r"(?:^|/)(?:[^/]*\.tfplan|tfplan(?:\.(?:out|bin|binary|zip))?|plan\.(?:out|tfplan)|"
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

"""CICD-01 OIDC: every job that assumes an AWS role can mint an id-token, and assumes its own env's role."""

from __future__ import annotations

import json
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import AWS_CREDS_ACTION, Job, Repo, Step, Workflow, steps
from checks.core import linear

ARN_ACCOUNT_RE = linear.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/")
SECRET_RE = linear.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
FIX_ID_TOKEN = "add `permissions: {id-token: write, contents: read}` to the job (or the workflow)"


def effective_permissions(wf: Workflow, job: Job) -> Any:
    if "permissions" in job.raw:
        return job.raw["permissions"]
    return wf.doc.get("permissions", None)


def grants_id_token(perms: Any) -> bool:
    if perms == "write-all":
        return True
    return isinstance(perms, dict) and perms.get("id-token") == "write"


def assumes_role(step: Step) -> bool:
    w = step.with_
    return step.uses.split("@")[0] == AWS_CREDS_ACTION and "role-to-assume" in w and \
        "aws-access-key-id" not in w and "web-identity-token-file" not in w


def id_token(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    out = []
    callers = repo.callers(wf) if repo and "workflow_call" in wf.on else []
    for job in wf.jobs.values():
        if not any(assumes_role(s) for s in job.steps):
            continue
        perms = effective_permissions(wf, job)
        if perms is None and callers:
            bad = [f"{w.file} jobs.{j.id}" for w, j in callers if not grants_id_token(effective_permissions(w, j))]
            if bad:
                out.append(wf.finding("id-token", f"job {job.id} assumes an AWS role (OIDC) but its callers "
                                      f"({', '.join(bad)}) do not grant `id-token: write`", "jobs", job.id,
                                      fix=f"add `permissions: {{id-token: write}}` to {', '.join(bad)}"))
            continue
        if not grants_id_token(perms):
            why = "there is no permissions block (the default token has no id-token)" if perms is None else \
                f"its permissions are {json.dumps(perms)}"
            out.append(wf.finding("id-token", f"job {job.id} assumes an AWS role with {AWS_CREDS_ACTION} "
                                  f"(OIDC) but lacks `permissions: id-token: write`: {why}",
                                  "jobs", job.id, *(("permissions",) if "permissions" in job.raw else ()),
                                  fix=FIX_ID_TOKEN))
    if repo:
        for job in wf.jobs.values():
            callee = repo.callee(job)
            if callee is None or not needs_id_token(callee, repo, frozenset({wf.path})):
                continue
            perms = effective_permissions(wf, job)
            if not grants_id_token(perms):
                why = ("no permissions block, and the default token has no id-token" if perms is None else
                       f"its permissions are {json.dumps(perms)}")
                out.append(wf.finding("id-token", f"job {job.id} calls {callee.file}, which assumes an AWS role "
                                      f"over OIDC, without granting `id-token: write` ({why}); a called workflow "
                                      "can only keep or reduce its caller's permissions, so its role assumption "
                                      "fails", "jobs", job.id, *(("permissions",) if "permissions" in job.raw
                                                                 else ()),
                                      fix=f"add `permissions: {{id-token: write, contents: read}}` to job {job.id}"))
    return out


def needs_id_token(wf: Workflow, repo: Repo, seen: frozenset[str] = frozenset()) -> bool:
    """The workflow assumes an AWS role over OIDC, itself or through the local workflows it calls."""
    if any(assumes_role(s) for j in wf.jobs.values() for s in j.steps):
        return True
    for job in wf.jobs.values():
        callee = repo.callee(job)
        if callee is not None and callee.path not in seen and needs_id_token(callee, repo, seen | {wf.path}):
            return True
    return False


def role_secret(wf: Workflow, env: str, account: str = "",
                other_envs: tuple[str, ...] | list[str] = ()) -> list[Finding]:
    """The env's workflow does not assume another env's role.

    Any secret name is accepted (AWS_ROLE_ARN in per-environment secrets is a valid pattern); a finding needs
    evidence of the wrong env: a literal role ARN in another account, or a secret named for another env only.
    """
    out = []
    others = {o.upper() for o in other_envs if o and o.upper() != env.upper()}
    for job, step in steps(wf):
        if not assumes_role(step):
            continue
        v = str(step.with_["role-to-assume"])
        at = ("jobs", job.id, "steps", step.index, "with", "role-to-assume")
        m = ARN_ACCOUNT_RE.search(v)
        if m and account and m.group(1) != account:
            out.append(wf.finding("role-secret", f"job {job.id} assumes {v!r} in account {m.group(1)}, but env "
                                  f"{env} is account {account}", *at,
                                  fix=f"use the role of account {account} (e.g. "
                                      f"${{{{ secrets.AWS_ROLE_{env.upper()} }}}})"))
            continue
        for name in SECRET_RE.findall(v):
            words = set(linear.split(r"[_-]", name.upper()))
            wrong = sorted(words & others)
            if wrong and env.upper() not in words:
                out.append(wf.finding("role-secret", f"job {job.id} assumes the role in secrets.{name}, named for "
                                      f"env {wrong[0].lower()}, in the workflow of env {env}", *at,
                                      fix=f"role-to-assume: ${{{{ secrets.AWS_ROLE_{env.upper()} }}}} (or an "
                                          f"environment secret of the {env} environment)"))
    return out

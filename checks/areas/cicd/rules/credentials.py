"""CICD-01 credentials: no long-lived AWS access keys in a workflow (OIDC role assumption is the standard), and
no IAM user or access key that the Terraform creates for CI."""

from __future__ import annotations

from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow, steps
from checks.areas.cicd.shell import EXPR_RE, logical_lines
from checks.core import linear

KEY_RE = linear.compile(r"(?i)^aws[-_]?(?:access[-_]?key[-_]?id|secret[-_]?access[-_]?key)$")
RUN_RE = linear.compile(r"(?i)\baws_(?:access_key_id|secret_access_key)\b")
STORED_RE = linear.compile(r"\b(?:secrets|vars)\.")  # a value kept in the repo's settings: long-lived
KEY_ID_RE = linear.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
SECRET_RE = linear.compile(r"[A-Za-z0-9/+=]{40}")
CI_NAME_RE = linear.compile(r"(?i)(?:^|[^a-z])"
                            r"(?:github|gha|ci|cd|cicd|deploy|deployer|pipeline|actions|terraform|automation)"
                            r"(?:[^a-z]|$)")
FIX = ("assume a role over OIDC instead: `permissions: {id-token: write}` on the job and `role-to-assume: <the "
       "deploy role's ARN>` on aws-actions/configure-aws-credentials; then delete the key secrets and the IAM "
       "user's access key")


def _stored(value: Any) -> bool:
    """A long-lived value: read from secrets or vars, or a real key written into the file. A placeholder such as
    `test` (LocalStack, moto) is no key."""
    text = str(value).strip() if value is not None else ""
    if EXPR_RE.search(text):
        return bool(STORED_RE.search(text))
    return bool(KEY_ID_RE.fullmatch(text) or SECRET_RE.fullmatch(text))


def long_lived_keys(wf: Workflow) -> list[Finding]:
    """AWS access keys handed to a job: in `env:`, an action's `with:`, a called workflow's `secrets:`, or
    exported by a `run:` script."""
    out = []

    def add(where: str, keys: list[str], *at: Any) -> None:
        out.append(wf.finding("long-lived-keys", f"{where} gets {' and '.join(keys)} from stored values: a "
                              "long-lived IAM user key, where OIDC role assumption is the standard (a leaked key "
                              "works until someone rotates it)", *at, fix=FIX))

    blocks: list[tuple[str, dict[str, Any], tuple]] = [("the workflow's env:", wf.env, ("env",))]
    for job in wf.jobs.values():
        blocks.append((f"job {job.id} (env:)", job.env, ("jobs", job.id, "env")))
        secrets = job.raw.get("secrets")
        if isinstance(secrets, dict):
            blocks.append((f"job {job.id} (secrets: of {job.uses})", secrets, ("jobs", job.id, "secrets")))
    for job, step in steps(wf):
        at = ("jobs", job.id, "steps", step.index)
        blocks.append((f"job {job.id} step {step.name!r} (env:)", step.env, at + ("env",)))
        blocks.append((f"job {job.id} step {step.name!r} (with:)", step.with_, at + ("with",)))
        for line in logical_lines(step.run):
            if RUN_RE.search(line) and STORED_RE.search(line):
                add(f"job {job.id} step {step.name!r} (run:)", [RUN_RE.search(line).group(0)], *at, "run")
                break
    for where, block, at in blocks:
        keys = [str(k) for k, v in block.items() if KEY_RE.match(str(k)) and _stored(v)]
        if keys:
            add(where, keys, *at, keys[0])
    return out


def _line(text: str, kind: str, rtype: str, name: str) -> int:
    pat = linear.compile(rf'^\s*{kind}\s+"{linear.escape(rtype)}"\s+"{linear.escape(name)}"')
    return next((n for n, ln in enumerate(text.splitlines(), 1) if pat.match(ln)), 0)


def ci_access_keys(root: tfm.Root, texts: dict[str, str]) -> list[Finding]:
    """The Terraform creates an access key (or an IAM user named for CI) that a pipeline would keep as a secret."""
    out = []
    for r in root.resources():
        line = _line(texts.get(r.file, ""), "resource", r.type, r.name)
        if r.type == "aws_iam_access_key":
            out.append(Finding("CICD-01", "ci-access-key", r.file, f"{r.address} creates a long-lived access key "
                               "(its secret lands in the state and in a CI secret): use an IAM role that GitHub "
                               "assumes over OIDC", r.address, line,
                               fix=f"delete {r.address}; create an aws_iam_role whose trust policy allows "
                                   "token.actions.githubusercontent.com for this repo, and assume it in the workflow"))
        elif r.type == "aws_iam_user" and CI_NAME_RE.search(f"{r.name} {r.body.get('name', '')}"):
            out.append(Finding("CICD-01", "ci-access-key", r.file, f"{r.address} is an IAM user for CI "
                               f"({r.body.get('name', r.name)!r}): pipelines should assume a role over OIDC, with "
                               "no user and no key", r.address, line,
                               fix=f"replace {r.address} with an aws_iam_role trusted by GitHub's OIDC provider"))
    return out

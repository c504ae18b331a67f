"""CICD-05 concurrency: every terraform apply is in a group that never cancels a running apply."""

from __future__ import annotations

from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Repo, Workflow, runs_apply, step_commands, steps
from checks.areas.cicd.shell import EXPR_RE, TfCommand
from checks.core import linear

WRITES = ("apply", "destroy", "import", "taint", "untaint", "refresh")
# a command in a quoted string handed to a wrapper (`retry.sh "terraform apply -lock=false"`)
WRAPPED_RE = linear.compile(r""""terraform\s+(apply|destroy|import)\b[^"\n]*-lock=(?:false|0)\b"""
                        r"""|'terraform\s+(apply|destroy|import)\b[^'\n]*-lock=(?:false|0)\b""")


def concurrency(wf: Workflow, repo: Repo | None = None, env: str = "") -> list[Finding]:
    """Every job that runs terraform apply is in a concurrency group that never cancels a running apply."""
    repo = repo or Repo([wf])

    def ok(spec: Any) -> str | None:
        if isinstance(spec, str) and spec:
            return None
        if not isinstance(spec, dict) or not spec.get("group"):
            return "has no concurrency group"
        cip = spec.get("cancel-in-progress", False)
        if isinstance(cip, str) and EXPR_RE.search(cip) and "pull_request" in cip:
            return None  # cancels pull-request runs only (plans); a push's apply is never cancelled
        if cip is not False:
            shown = str(cip).lower() if isinstance(cip, bool) else cip
            return f"has cancel-in-progress: {shown} (a cancelled apply leaves the state locked)"
        return None

    fix = f"concurrency: {{group: terraform-{env or wf.file.rsplit('.', 1)[0]}, cancel-in-progress: false}}"
    out = []
    callers = repo.callers(wf) if "workflow_call" in wf.on else []
    for job in repo.apply_jobs(wf):
        problems = [ok(job.raw.get("concurrency")) if "concurrency" in job.raw else None,
                    ok(wf.doc.get("concurrency")) if "concurrency" in wf.doc else None]
        if "concurrency" in job.raw or "concurrency" in wf.doc:
            bad = [p for p in problems if p]
            if bad:
                callee = repo.callee(job)
                how = f"calls {callee.file}, which runs terraform apply," if callee is not None else \
                    "runs terraform apply"
                where = ("jobs", job.id, "concurrency") if problems[0] else ("concurrency",)
                out.append(wf.finding("concurrency", f"job {job.id} {how} and its concurrency {bad[0]}", *where,
                                      fix=fix))
            continue
        if callers and all("concurrency" in j.raw or "concurrency" in w.doc for w, j in callers):
            continue
        callee = repo.callee(job)
        if callee is not None and all("concurrency" in j.raw or "concurrency" in callee.doc
                                      for j in callee.jobs.values() if runs_apply(j)):
            continue  # the called workflow holds the group; it is judged there
        out.append(wf.finding("concurrency", f"job {job.id} runs terraform apply outside any `concurrency` group: "
                              "two runs can apply at once and fight over the state lock", "jobs", job.id, fix=fix))
    return out


def lock_disabled(wf: Workflow) -> list[Finding]:
    """No terraform command that writes the state runs with -lock=false."""
    out = []
    for job, step in steps(wf):
        wrapped = [m.group(1) or m.group(2) for m in WRAPPED_RE.finditer(step.run)]
        for c in step_commands(step) + [TfCommand(sub, ["-lock=false"], "") for sub in wrapped]:
            if c.sub in WRITES and any(a in ("-lock=false", "-lock=0") for a in c.args) and \
                    not any(f.location.startswith(f"jobs.{job.id}.steps[{step.index}]") for f in out):
                out.append(wf.finding("lock-disabled", f"job {job.id} step {step.name!r} runs `terraform {c.sub}` "
                                      "with -lock=false: two runs can write the state at once and corrupt it",
                                      "jobs", job.id, "steps", step.index, "run" if step.run else "with",
                                      check="CICD-05", fix=f"remove -lock=false from `terraform {c.sub}` (use "
                                      "-lock-timeout=5m to wait for a held lock)"))
    return out

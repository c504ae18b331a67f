"""CICD-01 reviewed plan: the apply job applies the plan file made (and reviewed) before approval."""

from __future__ import annotations

import fnmatch

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Step, Workflow, runs_apply, step_commands
from checks.areas.cicd.rules.approval import gate, needs_closure
from checks.areas.cicd.shell import EXPR_RE, resolve

FIX_SAVED = ("plan with `terraform plan -out=tfplan` in the plan job, upload it (actions/upload-artifact), "
             "download it in the apply job and run `terraform apply tfplan`")


def _uploads(job: Job, wf: Workflow) -> set[str]:
    return {resolve(str(s.with_.get("name", "artifact")), s.env, job.env, wf.env) for s in job.steps
            if s.uses.split("@")[0] == "actions/upload-artifact"}


def _downloads(job: Job) -> list[Step]:
    return [s for s in job.steps if s.uses.split("@")[0] == "actions/download-artifact"]


def _fetches(step: Step, job: Job, wf: Workflow, uploads: set[str]) -> bool:
    """Does this download step fetch one of the uploaded artifacts? (by name, by `pattern:`, or all of them)"""
    w = step.with_
    if "name" in w:
        name = resolve(str(w["name"]), step.env, job.env, wf.env)
        return name in uploads or bool(EXPR_RE.search(name)) or any(EXPR_RE.search(u) for u in uploads)
    if "pattern" in w:
        pat = EXPR_RE.sub("*", resolve(str(w["pattern"]), step.env, job.env, wf.env))
        return any(fnmatch.fnmatchcase(EXPR_RE.sub("*", u), pat) or fnmatch.fnmatchcase(u, pat) for u in uploads)
    return True  # no name and no pattern: every artifact of the run


def reviewed_plan(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    """The apply job applies the plan file made (and reviewed) before approval, not a fresh plan."""
    repo = repo or Repo([wf])
    targets: list[tuple[Workflow, Job]] = []
    for job in repo.apply_jobs(wf):
        callee = repo.callee(job)
        if callee is not None:
            targets += [(callee, j) for j in callee.jobs.values() if runs_apply(j)]
        else:
            targets.append((wf, job))
    if not targets:
        return [wf.finding("reviewed-plan", "no job runs terraform apply", "jobs")]
    out = []
    for w, job in targets:
        at = ("jobs", job.id)
        callers = repo.callers(w) if w is not wf else []
        gated = gate(w, job) or (callers and all(gate(cw, cj) for cw, cj in callers))
        when = "after approval" if gated else "with no approval before it, so no one reviews it"
        for s in job.steps:
            for c in step_commands(s):
                if c.sub == "apply" and not c.positionals:
                    out.append(w.finding("reviewed-plan", f"job {job.id} runs `{c.line}` without a saved plan file: "
                                         f"it plans afresh and applies at once, {when}", *at, "steps", s.index,
                                         "run" if s.run else "uses", fix=FIX_SAVED))
                if c.sub == "plan":
                    out.append(w.finding("reviewed-plan", f"job {job.id} makes a fresh plan (`{c.line}`) in the "
                                         f"apply job, {when}", *at, "steps", s.index, "run" if s.run else "uses",
                                         fix=FIX_SAVED))
        downloads = _downloads(job)
        uploads = set().union(*(_uploads(j, w) for j in needs_closure(w, job))) if job.needs else set()
        if not downloads:
            out.append(w.finding("reviewed-plan", f"job {job.id} does not download the plan artifact "
                                 "(actions/download-artifact)", *at, fix=FIX_SAVED))
        elif any("run-id" in s.with_ for s in downloads):
            continue  # an artifact of another run (e.g. the plan workflow's): not matched here
        elif not uploads:
            out.append(w.finding("reviewed-plan", f"job {job.id} downloads an artifact but no job it needs "
                                 "uploads one (actions/upload-artifact)", *at, "needs", fix=FIX_SAVED))
        elif not any(_fetches(s, job, w, uploads) for s in downloads):
            got = sorted(str(s.with_.get("name") or s.with_.get("pattern")) for s in downloads)
            out.append(w.finding("reviewed-plan", f"job {job.id} downloads {got} but the jobs it needs upload "
                                 f"{sorted(uploads)}: none of them is fetched", *at,
                                 fix="use the same artifact `name:` in upload-artifact and download-artifact"))
    return out

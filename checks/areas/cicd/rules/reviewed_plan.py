"""CICD-01 reviewed plan: the apply job applies the plan file made (and reviewed) before approval."""

from __future__ import annotations

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Step, Workflow, runs_apply
from checks.areas.cicd.rules.approval import needs_closure
from checks.areas.cicd.shell import terraform_commands

FIX_SAVED = ("plan with `terraform plan -out=tfplan` in the plan job, upload it (actions/upload-artifact), "
             "download it in the apply job and run `terraform apply tfplan`")


def _uploads(job: Job) -> set[str]:
    return {str(s.with_.get("name", "artifact")) for s in job.steps
            if s.uses.split("@")[0] == "actions/upload-artifact"}


def _downloads(job: Job) -> list[Step]:
    return [s for s in job.steps if s.uses.split("@")[0] == "actions/download-artifact"]


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
        for s in job.steps:
            for c in terraform_commands(s.run):
                if c.sub == "apply" and not c.positionals:
                    out.append(w.finding("reviewed-plan", f"job {job.id} runs `{c.line}` without a saved plan file: "
                                         "it plans afresh after approval, not the reviewed plan", *at, "steps",
                                         s.index, "run", fix=FIX_SAVED))
                if c.sub == "plan":
                    out.append(w.finding("reviewed-plan", f"job {job.id} makes a fresh plan (`{c.line}`) in the "
                                         "apply job, after approval", *at, "steps", s.index, "run", fix=FIX_SAVED))
        downloads = _downloads(job)
        uploads = set().union(*(_uploads(j) for j in needs_closure(w, job))) if job.needs else set()
        if not downloads:
            out.append(w.finding("reviewed-plan", f"job {job.id} does not download the plan artifact "
                                 "(actions/download-artifact)", *at, fix=FIX_SAVED))
        elif not uploads:
            out.append(w.finding("reviewed-plan", f"job {job.id} downloads an artifact but no job it needs "
                                 "uploads one (actions/upload-artifact)", *at, "needs", fix=FIX_SAVED))
        else:
            names = {str(s.with_.get("name", "artifact")) for s in downloads}
            if not names & uploads:
                out.append(w.finding("reviewed-plan", f"job {job.id} downloads {sorted(names)} but the plan job "
                                     f"uploads {sorted(uploads)}", *at,
                                     fix="use the same artifact `name:` in upload-artifact and download-artifact"))
    return out



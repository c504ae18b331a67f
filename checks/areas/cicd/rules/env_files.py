"""CICD-06 var files: a job that deploys one env does not plan or apply another env's var file.

An env is read from names: the job's approval `environment:`, the branches that trigger it (`develop`,
`release/prod`), the workflow's file name (`deploy-dev.yml`) and the var file's own name or folder.
Only names that say one env are used; `main` and `master` say none.
"""

from __future__ import annotations

import fnmatch

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Workflow
from checks.areas.cicd.shell import EXPR_RE
from checks.areas.cicd.tfrun import TfRun, tf_runs
from checks.core import linear

ENV_WORDS = {
    "dev": ("dev", "develop", "development"), "test": ("test", "testing"), "qa": ("qa",), "sit": ("sit",),
    "uat": ("uat",), "stage": ("stage", "staging", "stg"), "preprod": ("preprod",),
    "prod": ("prod", "production", "prd", "live"),
}
WORD_ENV = {w: env for env, words in ENV_WORDS.items() for w in words}
REF_RE = linear.compile(r"github\.(?:ref\s*==\s*'refs/heads/([^']+)'|ref_name\s*==\s*'([^']+)')")


def env_of(name: str) -> str | None:
    """The one env a name says (`prod-approval` -> prod), None when it says none or several."""
    found = {WORD_ENV[w] for w in linear.split(r"[^a-z0-9]+", name.lower()) if w in WORD_ENV}
    return found.pop() if len(found) == 1 else None


def file_env(path: str) -> str | None:
    """The env of a var file: its name (`prod.tfvars`), else its nearest folder (`envs/dev/main.tfvars`)."""
    parts = path.split("/")
    for part in [linear.sub(r"\.tfvars(\.json)?$", "", parts[-1]), *reversed(parts[:-1])]:
        got = env_of(part)
        if got:
            return got
        if any(w in WORD_ENV for w in linear.split(r"[^a-z0-9]+", part.lower())):
            return None  # a name that says several envs: not judged
    return None


def branches(wf: Workflow, job: Job) -> list[str]:
    """The branches a push runs this job on: the push filter, narrowed by a `github.ref ==` condition."""
    push = wf.on.get("push")
    if "push" not in wf.on or isinstance(push, dict) and "tags" in push and "branches" not in push:
        return []
    pats = [str(b) for b in (push or {}).get("branches", [])] if isinstance(push, dict) else []
    conds = " ".join(str(x) for x in [job.raw.get("if", "")] if x)
    refs = [a or b for a, b in REF_RE.findall(conds)] if "||" not in conds else []
    if refs:
        return [r for r in refs if not pats or any(fnmatch.fnmatchcase(r, p) for p in pats)]
    return pats


def _intent(wf: Workflow, job: Job) -> list[tuple[str, str]]:
    """(env, why) the job deploys, from its approval environment, its branches and the workflow's name."""
    out = []
    if job.environment and not EXPR_RE.search(job.environment) and env_of(job.environment):
        out.append((env_of(job.environment), f"environment {job.environment!r}"))
    for b in branches(wf, job):
        if env_of(b):
            out.append((env_of(b), f"a push to {b!r}"))
    if not out and env_of(wf.file.rsplit(".", 1)[0]):
        out.append((env_of(wf.file.rsplit(".", 1)[0]), f"the workflow {wf.file}"))
    return out


def wrong_var_files(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    """A plan or apply with another env's var file than the one the job deploys."""
    repo = repo or Repo([wf])
    if not repo.apply_jobs(wf):
        return []  # plans only: nothing is deployed with the wrong file
    out, seen = [], set()
    for run in tf_runs(wf, ("plan", "apply"), repo):
        for f in run.var_files:
            got = None if EXPR_RE.search(f) else file_env(f)
            wrong = [(env, why) for env, why in (_intent(wf, run.job) if got else []) if env != got]
            if wrong and (run.step.index, f) not in seen:
                seen.add((run.step.index, f))
                env = wrong[0][0]
                out.append(_finding(run, f, str(got), env, " and ".join(w for e, w in wrong if e == env)))
    return out


def _finding(run: TfRun, f: str, got: str, env: str, why: str) -> Finding:
    verb = "deploy" if " and " in why else "deploys"
    return run.finding("CICD-06", "var-file", f"{run.where} runs `terraform {run.cmd.sub}` with {f} (env {got}), "
                       f"but {why} {verb} env {env}: {env} gets {got}'s settings",
                       f"use the {env} var file for this job (or deploy {got} from a job whose environment, branch "
                       f"and name say {got})")

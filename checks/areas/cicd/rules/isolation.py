"""CICD-03/05 state isolation: one state per env and per root, and one workflow applying it per push.

A state is the S3 bucket and key a run's backend resolves to (the block, completed by that job's
`-backend-config`). It is judged only when both are known before the run: a key that varies with the env
(`envs/${{ matrix.env }}.tfstate`), a workspace, or a value read at run time leaves it unjudged.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Workflow
from checks.areas.cicd.rules.backend import cli_args
from checks.areas.cicd.rules.env_files import file_env
from checks.areas.cicd.rules.paths import Tree, _glob_re
from checks.areas.cicd.shell import EXPR_RE, resolve
from checks.areas.cicd.tfrun import TfRun, substitute, tf_runs
from checks.core import linear

WORKSPACE_RE = linear.compile(r"\bterraform\s+(?:-\S+\s+)?workspace\s+(?:select|new)\b")
STORED_RE = linear.compile(r"^\s*(?:vars|secrets)\.[A-Za-z0-9_]+\s*$")
ENVISH_RE = linear.compile(r"(?i)(?:inputs|matrix|github\.event\.inputs)\.[A-Za-z0-9_-]*(?:env|stage|account)")


@dataclass(frozen=True)
class State:
    bucket: str
    key: str
    scope: str = ""  # the job's environment, when bucket or key come from (environment-scoped) vars

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" + (f" (in environment {self.scope})" if self.scope else "")


def _workspace(run: TfRun) -> bool:
    envs = (run.wf.env, run.job.env, *(s.env for s in run.job.steps))
    return any("TF_WORKSPACE" in e for e in envs) or any(WORKSPACE_RE.search(s.run) for s in run.job.steps)


def _value(v: str | None, job: Job) -> tuple[str, str] | None:
    """(value, scope) of a bucket or key; None when it is known only at run time."""
    if not v:
        return None
    exprs = EXPR_RE.findall(v)
    if not exprs:
        return (v, "") if "$" not in v else None
    if all(STORED_RE.match(e) for e in exprs):
        return v, job.environment or ""
    return None


def state_of(run: TfRun, roots: dict[str, tfm.Root], files: dict[str, dict[str, Any]],
             inits: list[TfRun]) -> State | None:
    root = roots.get(run.dir)
    got = root.backend() if root is not None else None
    if got is None or got[0] != "s3" or _workspace(run):
        return None
    mine = [i for i in inits if i.job.id == run.job.id and i.dir == run.dir
            and all(dict(i.combo).get(k, v) == v for k, v in run.combo)]
    flags: list[str] = []
    if mine:
        i = mine[0]
        if cli_args(i.wf, i.job, i.step):
            return None
        envs = (i.step.env, i.job.env, i.wf.env)
        flags = [substitute(substitute(resolve(f, *envs), i.combo), run.combo)
                 for f in i.cmd.options("-backend-config")]
        if any("=" not in f and not (files.get(f) or files.get(f"{root.path}/{f}")) for f in flags):
            return None
    cfg = tfm.backend_settings(root, flags, files)
    bucket, key = _value(cfg.get("bucket"), run.job), _value(cfg.get("key"), run.job)
    if bucket is None or key is None:
        return None
    return State(bucket[0], key[0], bucket[1] or key[1])


def _runs(workflows: list[Workflow], repo: Repo, subs: tuple[str, ...]) -> list[tuple[TfRun, list[TfRun]]]:
    out = []
    for w in workflows:
        inits = tf_runs(w, ("init",), repo)
        out += [(r, inits) for r in tf_runs(w, subs, repo)]
    return out


def shared_state(roots: dict[str, tfm.Root], workflows: list[Workflow], files: dict[str, dict[str, Any]],
                 texts: dict[str, str], repo: Repo | None = None) -> list[Finding]:
    """One state for several envs (only the var file switches the env), or for two roots."""
    repo = repo or Repo(workflows)
    out = []
    by_state: dict[State, list[tuple[TfRun, str]]] = {}
    roots_of: dict[State, set[str]] = {}
    for run, inits in _runs(workflows, repo, ("plan", "apply")):
        state = state_of(run, roots, files, inits)
        if state is None:
            continue
        roots_of.setdefault(state, set()).add(run.dir)
        for f in run.var_files:
            env = file_env(f) if not EXPR_RE.search(f) else ("?" if ENVISH_RE.search(f) else None)
            if env:
                by_state.setdefault(state, []).append((run, f if env != "?" else f"{f} (its env is a run-time "
                                                                                  "value)"))
    for state, uses in by_state.items():
        envs = {file_env(f) or f for _, f in uses}
        if len(envs) > 1 or any("run-time" in f for _, f in uses):
            first = file_env(uses[0][1]) or uses[0][1]
            run, f = next(((r, x) for r, x in uses if (file_env(x) or x) != first), uses[-1])
            files_ = ", ".join(dict.fromkeys(f for _, f in uses))
            out.append(run.finding("CICD-03", "state-isolation", f"{state} is the state of every env: {files_} "
                                   f"all plan and apply against it (the env is switched only by the var file), so "
                                   f"each apply destroys what the other env created", "key it by env: "
                                   "-backend-config=\"key=<root>/<env>.tfstate\" with the env in it (or a bucket "
                                   "per env, or `terraform workspace select <env>`)"))
    for root in roots.values():  # a backend block with a literal bucket and key is a state of its own
        got = root.backend()
        if got and got[0] == "s3" and isinstance(got[1].get("bucket"), str) and isinstance(got[1].get("key"), str):
            cfg = got[1]
            if not EXPR_RE.search(cfg["bucket"] + cfg["key"]):
                roots_of.setdefault(State(cfg["bucket"], cfg["key"]), set()).add(root.path)
    for state, dirs in roots_of.items():
        if len(dirs) > 1:
            second = sorted(dirs)[1]
            f, line = _key_line(roots[second], texts)
            out.append(Finding("CICD-03", "state-isolation", f, f"roots {', '.join(sorted(d or '.' for d in dirs))} "
                               f"all keep their state in {state}: each apply deletes the other root's resources",
                               "key", line, fix=f"give {second or '.'} its own state key (e.g. "
                               f"key = \"{second or 'root'}/terraform.tfstate\")"))
    return out


def _key_line(root: tfm.Root, texts: dict[str, str]) -> tuple[str, int]:
    f = next((f for f, tf in root.terraform_blocks() if tf.get("backend")), next(iter(root.files), root.path))
    line = next((n for n, ln in enumerate(texts.get(f, "").splitlines(), 1) if linear.search(r"^\s*key\s*=", ln)), 0)
    return f, line


# ---- two workflows applying one state on the same push

def _push(wf: Workflow) -> tuple[list[str] | None, list[str] | None] | None:
    """(branch patterns, path patterns) of a push trigger (None: any); None when no branch push runs it."""
    if "push" not in wf.on:
        return None
    spec = wf.on.get("push") or {}
    if any(k in spec for k in ("tags", "tags-ignore")) and not any(k in spec for k in ("branches", "branches-ignore")):
        return None
    b, p = spec.get("branches"), spec.get("paths")
    return ([str(x) for x in b] if isinstance(b, list) else None), ([str(x) for x in p] if isinstance(p, list)
                                                                     else None)


def _overlap(a: tuple[list[str] | None, list[str] | None], b: tuple[list[str] | None, list[str] | None],
             tree: Tree) -> bool:
    (ba, pa), (bb, pb) = a, b
    if ba is not None and bb is not None and not any(
            x == y or fnmatch.fnmatchcase(x, y) or fnmatch.fnmatchcase(y, x) for x in ba for y in bb):
        return False
    if pa is None or pb is None:
        return True
    ra = [_glob_re(p) for p in pa if not p.startswith("!")]
    rb = [_glob_re(p) for p in pb if not p.startswith("!")]
    return any(any(r.match(f) for r in ra) and any(r.match(f) for r in rb) for f in tree.files)


def _on_push(job: Job) -> bool:
    cond = str(job.raw.get("if", ""))
    if "||" in cond:
        return True
    m = linear.search(r"github\.event_name\s*==\s*'([^']+)'", cond)
    return not (m and m.group(1) != "push") and not linear.search(r"github\.event_name\s*!=\s*'push'", cond)


def _group(wf: Workflow, job: Job) -> str:
    spec = job.raw.get("concurrency", wf.doc.get("concurrency"))
    g = spec.get("group") if isinstance(spec, dict) else spec
    return str(g) if isinstance(g, str) and not EXPR_RE.search(g) else ""


def _applies(wf: Workflow, repo: Repo, roots: dict[str, tfm.Root], files: dict[str, dict[str, Any]]
             ) -> dict[State, tuple[Job, str]]:
    """The states a push of this workflow applies, each with its (top-level) job and concurrency group."""
    out: dict[State, tuple[Job, str]] = {}
    for job in wf.jobs.values():
        if not _on_push(job) or not repo.applies(job):
            continue
        callee = repo.callee(job)
        w = callee if callee is not None else wf
        inits = tf_runs(w, ("init",), repo)
        for run in tf_runs(w, ("apply",), repo):
            if callee is None and run.job.id != job.id:
                continue
            state = state_of(run, roots, files, inits)
            if state is not None:
                out.setdefault(state, (job, _group(wf, job) or _group(w, run.job)))
    return out


def same_push(wf: Workflow, repo: Repo, roots: dict[str, tfm.Root], files: dict[str, dict[str, Any]],
              tree: Tree) -> list[Finding]:
    """Another workflow applies the same state on a push that runs this one too."""
    mine = _push(wf)
    if mine is None:
        return []
    applied = _applies(wf, repo, roots, files)
    out = []
    for other in repo.by_path.values():
        theirs = _push(other) if other is not wf else None
        if theirs is None or not _overlap(mine, theirs, tree):
            continue
        for state, (job, group) in _applies(other, repo, roots, files).items():
            if state in applied and not (group and group == applied[state][1]):
                me = applied[state][0]
                out.append(wf.finding("same-push", f"job {me.id} applies {state} and so does {other.file} (job "
                                      f"{job.id}) on the same push: two applies race for the state lock, and the "
                                      "later one applies a plan made before the first changed the state", "jobs",
                                      me.id, check="CICD-05",
                                      fix=f"apply {state.key} from one workflow only (make the other plan-only), "
                                          "or put both apply jobs in one concurrency group (cancel-in-progress: "
                                          "false)"))
    return out

"""GitHub Actions workflows: parse (YAML 1.2 booleans, line numbers), validate and judge (CICD-01/05/06).

Everything here is pure: text in, `Finding`s out. `lint(path)` is the stand-alone entry point
(schema + structure) used on any workflow file, e.g. the suite's own post-deploy gate.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.areas.cicd.findings import Finding
from checks.core.collect import read_bounded

CHECK = "CICD-01"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
EXPR_RE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
INPUT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# GitHub-hosted runner labels (docs: "GitHub-hosted runners" / "larger runners", 2025).
HOSTED_LABELS = frozenset({
    "ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-20.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
    "ubuntu-slim",
    "windows-latest", "windows-2025", "windows-2022", "windows-2019", "windows-11-arm",
    "macos-latest", "macos-15", "macos-14", "macos-13", "macos-26",
    "macos-latest-large", "macos-15-large", "macos-14-large", "macos-13-large",
    "macos-latest-xlarge", "macos-15-xlarge", "macos-14-xlarge", "macos-13-xlarge", "macos-15-intel",
})
SELF_HOSTED_LABELS = frozenset({"self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"})
DISPATCH_TYPES = {"string", "boolean", "choice", "number", "environment"}
CALL_TYPES = {"string", "boolean", "number"}
MAX_DISPATCH_INPUTS = 25
FIRST_PARTY_OWNERS = {"actions", "github"}
AWS_CREDS_ACTION = "aws-actions/configure-aws-credentials"
VALUE_FLAGS = {"-var", "-var-file", "-target", "-replace", "-chdir", "-backend-config", "-out", "-state",
               "-lock-timeout", "-parallelism"}
SHELL_OPS = {"|", "||", "&&", ";", "&", ";;", "(", ")", ">", ">>", "<", ">&", "<&", "|&"}
CMD_START = SHELL_OPS | {"then", "do", "else", "time", "exec", "!", "if", "while", "until", "{"}


# ---------------------------------------------------------------- YAML with YAML 1.2 booleans and lines

class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are YAML 1.2 (true/false only): `on:` stays the string "on"."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))

Path_ = tuple  # a location: keys and list indexes from the document root


@dataclass
class Parsed:
    data: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[tuple[str, int]] = field(default_factory=list)  # (message, line)


def load_yaml(text: str) -> Parsed:
    """Parse one YAML document; problems (syntax, duplicate keys, not one document) are reported, never raised."""
    out = Parsed()
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        out.problems.append((f"not valid YAML: {exc.problem or exc}" + (f" ({exc.context})" if exc.context else ""),
                             line))
        return out
    except yaml.YAMLError as exc:
        out.problems.append((f"not valid YAML: {exc}", 0))
        return out
    if node is None:
        out.problems.append(("the file is empty", 0))
        return out
    try:
        out.data = _build(loader, node, (), out)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        out.problems.append((f"not valid YAML: {exc}", node.start_mark.line + 1))
        out.data = None
    return out


def _build(loader: yaml.SafeLoader, node: yaml.Node, at: tuple, out: Parsed) -> Any:
    out.lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            k = loader.construct_object(k_node, deep=True)
            if not isinstance(k, (str, int, float, bool)) or k is None:
                k = str(k)
            if k in result:
                out.problems.append((f"duplicate key {k!r} in {_dotted(at) or 'the document'}",
                                     k_node.start_mark.line + 1))
            result[k] = _build(loader, v_node, at + (k,), out)
            out.lines[at + (k,)] = k_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, v, at + (i,), out) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(at: Iterable[Any]) -> str:
    s = ""
    for p in at:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s


# ---------------------------------------------------------------- the model

@dataclass
class Step:
    index: int
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.raw.get("uses") or f"step {self.index + 1}")

    @property
    def uses(self) -> str:
        v = self.raw.get("uses")
        return v if isinstance(v, str) else ""

    @property
    def run(self) -> str:
        v = self.raw.get("run")
        return v if isinstance(v, str) else ""

    @property
    def with_(self) -> dict[str, Any]:
        v = self.raw.get("with")
        return v if isinstance(v, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        v = self.raw.get("env")
        return v if isinstance(v, dict) else {}


@dataclass
class Job:
    id: str
    raw: dict[str, Any]

    @property
    def steps(self) -> list[Step]:
        v = self.raw.get("steps")
        return [Step(i, s) for i, s in enumerate(v) if isinstance(s, dict)] if isinstance(v, list) else []

    @property
    def uses(self) -> str:
        v = self.raw.get("uses")
        return v if isinstance(v, str) else ""

    @property
    def needs(self) -> list[str]:
        v = self.raw.get("needs")
        return [v] if isinstance(v, str) else [str(x) for x in v] if isinstance(v, list) else []

    @property
    def environment(self) -> str | None:
        v = self.raw.get("environment")
        if isinstance(v, dict):
            v = v.get("name")
        return str(v) if v not in (None, "") else None

    @property
    def env(self) -> dict[str, Any]:
        v = self.raw.get("env")
        return v if isinstance(v, dict) else {}

    @property
    def matrix(self) -> dict[str, list[Any]]:
        strategy = self.raw.get("strategy")
        m = strategy.get("matrix") if isinstance(strategy, dict) else None
        return {k: v for k, v in m.items() if isinstance(v, list)} if isinstance(m, dict) else {}


@dataclass
class Workflow:
    path: str                                  # relative to the infra repo, e.g. .github/workflows/deploy-prod.yml
    data: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # parse problems

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def ok(self) -> bool:
        return isinstance(self.data, dict) and not self.problems

    @property
    def doc(self) -> dict[str, Any]:
        return self.data if isinstance(self.data, dict) else {}

    @property
    def on(self) -> dict[str, Any]:
        v = self.doc.get("on")
        if isinstance(v, str):
            return {v: {}}
        if isinstance(v, list):
            return {str(x): {} for x in v}
        return {str(k): (x if isinstance(x, dict) else {}) for k, x in v.items()} if isinstance(v, dict) else {}

    @property
    def jobs(self) -> dict[str, Job]:
        v = self.doc.get("jobs")
        return {str(k): Job(str(k), j) for k, j in v.items() if isinstance(j, dict)} if isinstance(v, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        v = self.doc.get("env")
        return v if isinstance(v, dict) else {}

    def line(self, *at: Any) -> int:
        at_t = tuple(at)
        while at_t and at_t not in self.lines:
            at_t = at_t[:-1]
        return self.lines.get(at_t, 0)

    def finding(self, rule: str, message: str, *at: Any, check: str = CHECK) -> Finding:
        return Finding(check, rule, self.path, message, _dotted(at), self.line(*at))


def parse(path: str, text: str) -> Workflow:
    parsed = load_yaml(text)
    wf = Workflow(path, parsed.data, parsed.lines)
    wf.problems = [Finding(CHECK, "yaml", path, msg, "", line) for msg, line in parsed.problems]
    if not wf.problems and not isinstance(parsed.data, dict):
        kind = type(parsed.data).__name__
        wf.problems.append(Finding(CHECK, "yaml", path, f"a workflow must be a mapping, got {kind}"))
    elif not wf.problems:
        if "on" not in wf.doc:
            wf.problems.append(Finding(CHECK, "structure", path, "no `on:` trigger"))
        if not wf.jobs:
            wf.problems.append(Finding(CHECK, "structure", path, "no jobs"))
    return wf


# ---------------------------------------------------------------- schema (check-jsonschema's vendored schema)

@cache
def _validator() -> Any:
    import importlib.resources

    import jsonschema

    ref = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    schema = json.loads(ref.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _leaves(err: Any) -> list[Any]:
    """The errors that explain a oneOf/anyOf failure: those of the branch the document most nearly matches."""
    if not err.context:
        return [err]
    branches: dict[Any, list[Any]] = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0] if e.relative_schema_path else 0, []).append(e)

    def score(errs: list[Any]) -> tuple[int, int, int]:
        required = sum(1 for e in errs if e.validator in ("required", "type", "const", "enum")
                       and len(e.absolute_path) <= len(err.absolute_path))
        return (required, -max(len(e.absolute_path) for e in errs), len(errs))

    best = min(branches.values(), key=score)
    return [leaf for e in best for leaf in _leaves(e)]


def schema_errors(wf: Workflow) -> list[Finding]:
    """Each schema error as its own finding, at the deepest location the schema explains."""
    if not isinstance(wf.data, dict):
        return list(wf.problems)
    out, seen = [], set()
    for err in sorted(_validator().iter_errors(wf.data), key=lambda e: [str(p) for p in e.absolute_path]):
        for leaf in _leaves(err):
            at = tuple(leaf.absolute_path)
            msg = leaf.message if len(leaf.message) <= 240 else leaf.message[:237] + "..."
            if (at, msg) not in seen:
                seen.add((at, msg))
                out.append(wf.finding("schema", msg, *at))
    return list(wf.problems) + out


# ---------------------------------------------------------------- shell parsing helpers

def logical_lines(script: str) -> list[str]:
    """Shell lines with `\\` continuations joined."""
    return [ln.strip() for ln in re.sub(r"\\\r?\n", " ", script).splitlines() if ln.strip()]


def tokens(line: str) -> list[str]:
    try:
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        return list(lex)
    except ValueError:
        return line.split()


@dataclass
class TfCommand:
    sub: str                 # plan, apply, init, ...
    args: list[str]
    line: str
    piped: bool = False      # `terraform ... | something`
    or_true: bool = False    # `terraform ... || true`

    @property
    def positionals(self) -> list[str]:
        out, skip = [], False
        for a in self.args:
            if skip:
                skip = False
                continue
            if a.startswith("-"):
                skip = "=" not in a and a.split("=")[0] in VALUE_FLAGS
                continue
            out.append(a)
        return out

    def options(self, name: str) -> list[str]:
        vals, it = [], iter(self.args)
        for a in it:
            if a.startswith(name + "="):
                vals.append(a[len(name) + 1:])
            elif a == name:
                vals.append(next(it, ""))
        return vals


def terraform_commands(script: str) -> list[TfCommand]:
    cmds = []
    for line in logical_lines(script):
        toks = tokens(line)
        for i, t in enumerate(toks):
            if t != "terraform" or (i > 0 and toks[i - 1] not in CMD_START):
                continue
            j, pre = i + 1, []
            while j < len(toks) and toks[j].startswith("-"):
                pre.append(toks[j])
                j += 1
            if j >= len(toks) or toks[j] in SHELL_OPS:
                continue
            sub = toks[j]
            k = j + 1
            args = []
            while k < len(toks) and toks[k] not in SHELL_OPS:
                args.append(toks[k])
                k += 1
            if args and args[-1].isdigit() and k < len(toks) and toks[k] in {">", ">>", ">&", "<", "<&"}:
                args.pop()  # the fd of a redirection, e.g. 2>&1
            # skip redirections like 2>&1 and > file
            while k < len(toks) and toks[k] in {">", ">>", ">&", "<", "<&"}:
                k += 2
            nxt = toks[k] if k < len(toks) else ""
            after = toks[k + 1] if k + 1 < len(toks) else ""
            cmds.append(TfCommand(sub, pre + args, line, piped=nxt in {"|", "|&"},
                                  or_true=nxt == "||" and after in {"true", ":", "echo", "exit"} and
                                  not (after == "exit" and k + 2 < len(toks) and toks[k + 2] not in {"0"})))
    return cmds


def sets_pipefail(script: str) -> bool:
    return bool(re.search(r"\bset\b[^\n]*\bpipefail\b", script))


# ---------------------------------------------------------------- rules

def _steps(wf: Workflow) -> Iterable[tuple[Job, Step]]:
    for job in wf.jobs.values():
        for step in job.steps:
            yield job, step


def _runs_apply(job: Job) -> bool:
    return any(c.sub == "apply" for s in job.steps for c in terraform_commands(s.run))


def _local_callee(job: Job) -> str:
    u = job.uses
    return u[2:].split("@")[0] if u.startswith("./") else ""


class Repo:
    """All workflows of an infra repo, for rules that follow reusable-workflow calls."""

    def __init__(self, workflows: Iterable[Workflow]):
        self.by_path = {w.path: w for w in workflows}

    def callee(self, job: Job) -> Workflow | None:
        p = _local_callee(job)
        return self.by_path.get(p) if p else None

    def callers(self, wf: Workflow) -> list[tuple[Workflow, Job]]:
        return [(w, j) for w in self.by_path.values() for j in w.jobs.values() if _local_callee(j) == wf.path]

    def apply_jobs(self, wf: Workflow) -> list[Job]:
        out = []
        for job in wf.jobs.values():
            callee = self.callee(job)
            if _runs_apply(job) or (callee is not None and any(_runs_apply(j) for j in callee.jobs.values())):
                out.append(job)
        return out


def runner_labels(wf: Workflow) -> list[Finding]:
    out = []
    for job in wf.jobs.values():
        if job.uses or "runs-on" not in job.raw:
            continue
        ro = job.raw["runs-on"]
        if isinstance(ro, dict):
            if ro.get("group"):
                continue
            ro = ro.get("labels", [])
        labels = [ro] if isinstance(ro, str) else [str(x) for x in ro] if isinstance(ro, list) else []
        if any(EXPR_RE.search(lb) for lb in labels) or "self-hosted" in labels:
            continue
        bad = [lb for lb in labels if lb not in HOSTED_LABELS]
        if bad or not labels:
            out.append(wf.finding(
                "runner-label", f"runs-on {', '.join(bad) or '(empty)'} is not a GitHub-hosted runner label "
                "(e.g. ubuntu-latest, ubuntu-24.04); use an exact larger-runner name via `group:` or `self-hosted`",
                "jobs", job.id, "runs-on"))
    return out


def dispatch_inputs(wf: Workflow) -> list[Finding]:
    out: list[Finding] = []
    declared: set[str] = set()
    has_inputs = False
    for trigger, types in (("workflow_dispatch", DISPATCH_TYPES), ("workflow_call", CALL_TYPES)):
        spec = wf.on.get(trigger)
        if not isinstance(spec, dict) or "inputs" not in spec:
            continue
        has_inputs = True
        inputs = spec.get("inputs") or {}
        at = ("on", trigger, "inputs")
        if not isinstance(inputs, dict):
            out.append(wf.finding("dispatch-inputs", "inputs must be a mapping", *at))
            continue
        if trigger == "workflow_dispatch" and len(inputs) > MAX_DISPATCH_INPUTS:
            out.append(wf.finding("dispatch-inputs", f"{len(inputs)} inputs; GitHub allows at most "
                                  f"{MAX_DISPATCH_INPUTS}", *at))
        for name, inp in inputs.items():
            declared.add(str(name))
            here = at + (name,)
            if not INPUT_NAME_RE.match(str(name)):
                out.append(wf.finding("dispatch-inputs", f"input name {name!r} is not valid (letters, digits, "
                                      "_ and -, starting with a letter or _)", *here))
            if not isinstance(inp, dict):
                out.append(wf.finding("dispatch-inputs", f"input {name!r} must be a mapping", *here))
                continue
            typ = inp.get("type", "string")
            if typ not in types:
                out.append(wf.finding("dispatch-inputs", f"input {name!r} has type {typ!r}; {trigger} allows "
                                      f"{', '.join(sorted(types))}", *here, "type"))
                continue
            default = inp.get("default")
            if typ == "choice":
                opts = inp.get("options")
                if not isinstance(opts, list) or not opts:
                    out.append(wf.finding("dispatch-inputs", f"choice input {name!r} needs a non-empty "
                                          "`options` list", *here))
                elif default is not None and str(default) not in [str(o) for o in opts]:
                    out.append(wf.finding("dispatch-inputs", f"default {default!r} of input {name!r} is not "
                                          f"one of its options {opts}", *here, "default"))
            elif "options" in inp:
                out.append(wf.finding("dispatch-inputs", f"input {name!r} of type {typ} has `options`; only "
                                      "choice inputs take options", *here, "options"))
            if typ == "boolean" and default is not None and not isinstance(default, bool) \
                    and not (isinstance(default, str) and EXPR_RE.search(default)):
                out.append(wf.finding("dispatch-inputs", f"boolean input {name!r} has default {default!r}; "
                                      "use true or false", *here, "default"))
            if typ == "number" and default is not None and not isinstance(default, (int, float)):
                out.append(wf.finding("dispatch-inputs", f"number input {name!r} has default {default!r}",
                                      *here, "default"))
    if has_inputs:
        text = json.dumps(wf.doc.get("jobs", {}), default=str)
        used = set(re.findall(r"\b(?:github\.event\.)?inputs\.([A-Za-z_][A-Za-z0-9_-]*)", text))
        for name in sorted(used - declared):
            out.append(wf.finding("dispatch-inputs", f"`inputs.{name}` is used but not declared", "jobs"))
    return out


def _effective_permissions(wf: Workflow, job: Job) -> Any:
    if "permissions" in job.raw:
        return job.raw["permissions"]
    return wf.doc.get("permissions", None)


def _grants_id_token(perms: Any) -> bool:
    if perms == "write-all":
        return True
    return isinstance(perms, dict) and perms.get("id-token") == "write"


def _assumes_role(step: Step) -> bool:
    w = step.with_
    return step.uses.split("@")[0] == AWS_CREDS_ACTION and "role-to-assume" in w and \
        "aws-access-key-id" not in w and "web-identity-token-file" not in w


def id_token(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    out = []
    callers = repo.callers(wf) if repo and "workflow_call" in wf.on else []
    for job in wf.jobs.values():
        if not any(_assumes_role(s) for s in job.steps):
            continue
        perms = _effective_permissions(wf, job)
        if perms is None and callers:
            bad = [f"{w.file} jobs.{j.id}" for w, j in callers if not _grants_id_token(_effective_permissions(w, j))]
            if bad:
                out.append(wf.finding("id-token", f"job {job.id} assumes an AWS role (OIDC) but its callers "
                                      f"({', '.join(bad)}) do not grant `id-token: write`", "jobs", job.id))
            continue
        if not _grants_id_token(perms):
            why = "there is no permissions block (the default token has no id-token)" if perms is None else \
                f"its permissions are {json.dumps(perms)}"
            out.append(wf.finding("id-token", f"job {job.id} assumes an AWS role with {AWS_CREDS_ACTION} "
                                  f"(OIDC) but lacks `permissions: id-token: write`: {why}",
                                  "jobs", job.id, *(("permissions",) if "permissions" in job.raw else ())))
    if repo:
        for job in wf.jobs.values():
            callee = repo.callee(job)
            if callee is None:
                continue
            if any(_assumes_role(s) for j in callee.jobs.values() for s in j.steps):
                perms = _effective_permissions(wf, job)
                if perms is not None and not _grants_id_token(perms):
                    out.append(wf.finding("id-token", f"job {job.id} calls {callee.file}, which assumes an AWS "
                                          "role, without granting `id-token: write`", "jobs", job.id))
    return out


def _needs_closure(wf: Workflow, job: Job) -> list[Job]:
    jobs, seen, todo, out = wf.jobs, set(), list(job.needs), []
    while todo:
        n = todo.pop()
        if n in seen or n not in jobs:
            continue
        seen.add(n)
        out.append(jobs[n])
        todo.extend(jobs[n].needs)
    return out


def _approved(wf: Workflow, job: Job) -> str | None:
    """The approval environment that gates this job (its own or one up its needs chain)."""
    if job.environment:
        return job.environment
    for j in _needs_closure(wf, job):
        if j.environment:
            return j.environment
    return None


def approval(wf: Workflow, repo: Repo | None = None, *, exempt: bool = False,
             expected_environment: str = "") -> list[Finding]:
    if exempt:
        return []
    repo = repo or Repo([wf])
    out = []
    callers = repo.callers(wf) if "workflow_call" in wf.on else []
    for job in wf.jobs.values():
        if not _runs_apply(job):
            continue
        env_name = _approved(wf, job)
        if env_name is None and callers and all(_approved(w, j) for w, j in callers):
            env_name = _approved(*callers[0])
        if env_name is None:
            chain = ", ".join(j.id for j in _needs_closure(wf, job)) or "none"
            out.append(wf.finding("approval", f"job {job.id} runs terraform apply without an approval environment "
                                  f"(no `environment:` on it or on any job it needs: {chain})", "jobs", job.id))
        elif expected_environment and not EXPR_RE.search(env_name) and env_name != expected_environment:
            out.append(wf.finding("approval", f"job {job.id} is approved in environment {env_name!r}, expected "
                                  f"{expected_environment!r}", "jobs", job.id, "environment"))
    return out


def _shell(wf: Workflow, job: Job, step: Step) -> str | None:
    if "shell" in step.raw:
        return str(step.raw["shell"])
    for d in (job.raw.get("defaults"), wf.doc.get("defaults")):
        if isinstance(d, dict) and isinstance(d.get("run"), dict) and "shell" in d["run"]:
            return str(d["run"]["shell"])
    return None


def _pipefail(shell: str | None) -> bool:
    return shell == "bash" or (shell is not None and "pipefail" in shell)


def hidden_failures(wf: Workflow) -> list[Finding]:
    out = []
    for job, step in _steps(wf):
        cmds = [c for c in terraform_commands(step.run) if c.sub not in ("fmt", "version", "output", "show")]
        at = ("jobs", job.id, "steps", step.index)
        for c in cmds:
            if c.piped:
                shell = _shell(wf, job, step)
                if not _pipefail(shell) and not sets_pipefail(step.run.split(c.line)[0] if c.line in step.run
                                                                  else step.run):
                    how = "the implicit default shell (bash -e {0}, no pipefail)" if shell is None \
                        else f"shell {shell!r} (no pipefail)"
                    out.append(wf.finding("pipefail", f"step {step.name!r} pipes `terraform {c.sub}` under {how}: "
                                          "a failed terraform leaves the step green; set `shell: bash` on the step "
                                          "or in defaults.run, or `set -o pipefail`", *at, "run"))
            if c.or_true:
                out.append(wf.finding("pipefail", f"step {step.name!r} ignores the exit status of `terraform "
                                      f"{c.sub}` (`|| ...`)", *at, "run"))
        if cmds and step.raw.get("continue-on-error") is True and any(c.sub in ("plan", "apply") for c in cmds):
            out.append(wf.finding("pipefail", f"step {step.name!r} runs terraform with continue-on-error: true",
                                  *at, "continue-on-error"))
    return out


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
            targets += [(callee, j) for j in callee.jobs.values() if _runs_apply(j)]
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
                                         s.index, "run"))
                if c.sub == "plan":
                    out.append(w.finding("reviewed-plan", f"job {job.id} makes a fresh plan (`{c.line}`) in the "
                                         "apply job, after approval", *at, "steps", s.index, "run"))
        downloads = _downloads(job)
        uploads = set().union(*(_uploads(j) for j in _needs_closure(w, job))) if job.needs else set()
        if not downloads:
            out.append(w.finding("reviewed-plan", f"job {job.id} does not download the plan artifact "
                                 "(actions/download-artifact)", *at))
        elif not uploads:
            out.append(w.finding("reviewed-plan", f"job {job.id} downloads an artifact but no job it needs "
                                 "uploads one (actions/upload-artifact)", *at, "needs"))
        else:
            names = {str(s.with_.get("name", "artifact")) for s in downloads}
            if not names & uploads:
                out.append(w.finding("reviewed-plan", f"job {job.id} downloads {sorted(names)} but the plan job "
                                     f"uploads {sorted(uploads)}", *at))
    return out


def actions_pinned(wf: Workflow) -> list[Finding]:
    out = []
    refs: list[tuple[str, tuple]] = [(j.uses, ("jobs", j.id, "uses")) for j in wf.jobs.values() if j.uses]
    refs += [(s.uses, ("jobs", j.id, "steps", s.index, "uses")) for j, s in _steps(wf) if s.uses]
    for uses, at in refs:
        if uses.startswith(("./", "docker://")):
            continue
        name, _, ref = uses.partition("@")
        if name.split("/")[0].lower() in FIRST_PARTY_OWNERS:
            continue
        if not SHA_RE.match(ref):
            out.append(wf.finding("pinned", f"third-party action {name}@{ref or '(no ref)'} is not pinned to a full "
                                  "commit SHA", *at))
    return out


def concurrency(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    """Every job that runs terraform apply is in a concurrency group that never cancels a running apply."""
    repo = repo or Repo([wf])

    def ok(spec: Any) -> str | None:
        if isinstance(spec, str) and spec:
            return None
        if not isinstance(spec, dict) or not spec.get("group"):
            return "has no concurrency group"
        cip = spec.get("cancel-in-progress", False)
        if cip is not False:
            return f"has cancel-in-progress: {cip} (a cancelled apply leaves the state locked)"
        return None

    out = []
    callers = repo.callers(wf) if "workflow_call" in wf.on else []
    for job in repo.apply_jobs(wf):
        problems = [ok(job.raw.get("concurrency")) if "concurrency" in job.raw else None,
                    ok(wf.doc.get("concurrency")) if "concurrency" in wf.doc else None]
        if "concurrency" in job.raw or "concurrency" in wf.doc:
            bad = [p for p in problems if p]
            if bad:
                out.append(wf.finding("concurrency", f"job {job.id} runs terraform apply and its concurrency "
                                      f"{bad[0]}", "jobs", job.id))
            continue
        if callers and all("concurrency" in j.raw or "concurrency" in w.doc for w, j in callers):
            continue
        out.append(wf.finding("concurrency", f"job {job.id} runs terraform apply outside any `concurrency` group: "
                              "two runs can apply at once and fight over the state lock", "jobs", job.id))
    return out


def resolve(value: str, *envs: dict[str, Any]) -> str:
    """Substitute ${{ env.X }}, ${X} and $X from the given env mappings (innermost first)."""
    def lookup(name: str) -> str | None:
        for e in envs:
            if name in e:
                return str(e[name])
        return None

    def expr(m: re.Match) -> str:
        mm = re.fullmatch(r"env\.([A-Za-z_][A-Za-z0-9_]*)", m.group(1))
        found = lookup(mm.group(1)) if mm else None
        return found if found is not None else m.group(0)

    value = EXPR_RE.sub(expr, value)
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                  lambda m: lookup(m.group(1) or m.group(2)) or m.group(0), value)


def deploy_regions(wf: Workflow) -> list[tuple[str, tuple]]:
    """The regions this workflow's AWS steps use, resolved through env: values, with their locations."""
    out = []
    for job, step in _steps(wf):
        if step.uses.split("@")[0] == AWS_CREDS_ACTION and "aws-region" in step.with_:
            out.append((resolve(str(step.with_["aws-region"]), step.env, job.env, wf.env),
                        ("jobs", job.id, "steps", step.index, "with", "aws-region")))
    return out


def region(wf: Workflow, expected: str) -> list[Finding]:
    found = deploy_regions(wf)
    out = [wf.finding("region", f"AWS credentials are configured for region {r!r}, expected {expected!r}", *at,
                      check="CICD-06") for r, at in found if r != expected and not EXPR_RE.search(r)]
    if not found:
        out.append(wf.finding("region", f"no {AWS_CREDS_ACTION} step sets aws-region", "jobs", check="CICD-06"))
    return out


def role_secret(wf: Workflow, secret: str) -> list[Finding]:
    """The env's workflow assumes its own env's role (secrets.AWS_ROLE_<ENV>)."""
    out = []
    for job, step in _steps(wf):
        if _assumes_role(step):
            v = str(step.with_["role-to-assume"])
            if f"secrets.{secret}" not in v.replace(" ", ""):
                out.append(wf.finding("id-token", f"job {job.id} assumes {v!r}, expected secrets.{secret}",
                                      "jobs", job.id, "steps", step.index, "with", "role-to-assume"))
    return out


def init_commands(wf: Workflow) -> list[tuple[Job, Step, TfCommand, list[str]]]:
    """Every `terraform init` with the working directories it runs in (matrix expanded)."""
    out = []
    for job, step in _steps(wf):
        for c in terraform_commands(step.run):
            if c.sub != "init":
                continue
            wd = step.raw.get("working-directory")
            if wd is None:
                d = job.raw.get("defaults")
                wd = d.get("run", {}).get("working-directory") if isinstance(d, dict) and \
                    isinstance(d.get("run"), dict) else None
            chdir = c.options("-chdir")
            dirs = [str(x).strip("./") if str(x) not in (".", "./") else "" for x in ([wd] if wd else [""])]
            if chdir:
                dirs = [f"{d}/{chdir[0]}".strip("/") for d in dirs]
            expanded = []
            for d in dirs:
                keys = re.findall(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}", d)
                values = [d]
                for k in keys:
                    values = [re.sub(r"\$\{\{\s*matrix\." + re.escape(k) + r"\s*\}\}", str(v), x)
                              for x in values for v in job.matrix.get(k, [])] or values
                expanded += values
            out.append((job, step, c, expanded))
    return out


def structure(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    """Every structural rule that needs no env: labels, inputs, id-token, approval, pipefail, concurrency."""
    if not isinstance(wf.data, dict):
        return []
    return (runner_labels(wf) + dispatch_inputs(wf) + id_token(wf, repo) + approval(wf, repo)
            + hidden_failures(wf) + concurrency(wf, repo))


def lint(path: Path, *, root: Path | None = None, repo: Repo | None = None) -> list[Finding]:
    """Schema and structure findings for one workflow file on disk (never raises for bad content)."""
    rel = path.relative_to(root).as_posix() if root else path.name
    try:
        text = read_bounded(path, root)  # the suite's one file reader: no symlink out of root, bounded
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(CHECK, "read", rel, f"cannot read: {exc}")]
    wf = parse(rel, text)
    return schema_errors(wf) + structure(wf, repo)

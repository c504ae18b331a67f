"""Terraform runs in workflows: each terraform command with the directory it runs in and its var files.

A run is expanded once per matrix combination and per option of a `choice` dispatch input it uses, with
`env:` values resolved, so `-var-file=envs/${{ matrix.env }}.tfvars` becomes one run per env. A value that
stays unknown (a `workflow_call` input, a step output) keeps its `${{ }}`: rules leave it unjudged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Step, Workflow, action_dir, step_commands, steps
from checks.areas.cicd.shell import EXPR_RE, TfCommand, cd_before, resolve
from checks.core import linear

VALUE_RE = linear.compile(r"\$\{\{\s*(matrix|inputs|github\.event\.inputs)\.([A-Za-z0-9_-]+)\s*\}\}")
MAX_COMBOS = 64
Combo = tuple[tuple[str, str], ...]  # (name, value) pairs: ("matrix.env", "dev"), ("inputs.target", "prod")


@dataclass
class TfRun:
    wf: Workflow
    job: Job
    step: Step
    cmd: TfCommand
    dir: str                    # repo-relative, normalized ("." is the repo's top); may hold ${{ }}
    var_files: tuple[str, ...]  # repo-relative, in command order; may hold ${{ }}
    combo: Combo = ()

    @property
    def at(self) -> tuple[Any, ...]:
        return "jobs", self.job.id, "steps", self.step.index

    @property
    def where(self) -> str:
        return f"job {self.job.id} step {self.step.name!r}"

    @property
    def known(self) -> bool:
        """The directory and every var file are known before the workflow runs."""
        return not any(unknown(x) for x in (self.dir, *self.var_files))

    def finding(self, check: str, rule: str, message: str, fix: str, *more: Any) -> Finding:
        more = more or (("run",) if self.step.run else ("uses",))
        return self.wf.finding(rule, message, *self.at, *more, check=check, fix=fix)


def unknown(value: str) -> bool:
    return bool(EXPR_RE.search(value)) or "$" in value


def norm(*parts: str) -> str:
    bits: list[str] = []
    for p in "/".join(x for x in parts if x).replace("\\", "/").split("/"):
        if p in ("", "."):
            continue
        if p == ".." and bits and bits[-1] != "..":
            bits.pop()
            continue
        bits.append(p)
    return "/".join(bits) or "."


def _defaults(wf: Workflow, job: Job, key: str) -> Any:
    for d in (job.raw.get("defaults"), wf.doc.get("defaults")):
        if isinstance(d, dict) and isinstance(d.get("run"), dict) and key in d["run"]:
            return d["run"][key]
    return None


def choice_options(wf: Workflow) -> dict[str, list[str]]:
    """name -> options of every `choice` workflow_dispatch input."""
    spec = wf.on.get("workflow_dispatch")
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    out = {}
    for name, inp in (inputs.items() if isinstance(inputs, dict) else []):
        if isinstance(inp, dict) and inp.get("type") == "choice" and isinstance(inp.get("options"), list):
            out[str(name)] = [str(o) for o in inp["options"]]
    return out


def matrix_values(job: Job, name: str) -> list[str]:
    opts = job.matrix.get(name)
    if name in ("include", "exclude") or not opts or not all(isinstance(o, (str, int, float)) for o in opts):
        return []
    return [str(o) for o in opts]


def input_values(wf: Workflow, repo: Repo | None = None) -> dict[str, list[str]]:
    """name -> the values an input takes: a choice input's options; for a called workflow, the literal
    values its callers in this repo pass (`with:`, their matrix expanded)."""
    out = {k: list(v) for k, v in choice_options(wf).items()}
    if repo is None or "workflow_call" not in wf.on:
        return out
    for _, job in repo.callers(wf):
        w = job.raw.get("with")
        for name, raw in (w.items() if isinstance(w, dict) else []):
            text = str(raw)
            values = [text]
            for key in dict.fromkeys(linear.findall(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}", text)):
                values = [substitute(v, ((f"matrix.{key}", x),)) for v in values for x in matrix_values(job, key)]
            out.setdefault(str(name), [])
            out[str(name)] += [v for v in values if not unknown(v) and v not in out[str(name)]]
    return {k: v for k, v in out.items() if v}


def combos(wf: Workflow, job: Job, used: str, inputs: dict[str, list[str]] | None = None) -> list[Combo]:
    """Every combination of the matrix values and input values that `used` (a text) refers to."""
    inputs = choice_options(wf) if inputs is None else inputs
    dims: dict[str, list[str]] = {}
    for kind, name in dict.fromkeys(VALUE_RE.findall(used)):
        if kind == "matrix" and matrix_values(job, name):
            dims[f"matrix.{name}"] = matrix_values(job, name)
        elif kind != "matrix" and inputs.get(name):
            dims[f"inputs.{name}"] = inputs[name]
    out = [tuple(zip(dims, values, strict=True)) for values in itertools.product(*dims.values())]
    return out[:MAX_COMBOS] or [()]


def substitute(value: str, combo: Combo) -> str:
    got = dict(combo)

    def one(m: Any) -> str:
        key = f"{'matrix' if m.group(1) == 'matrix' else 'inputs'}.{m.group(2)}"
        return got.get(key, m.group(0))
    return VALUE_RE.sub(one, value)


def _dir(wf: Workflow, job: Job, step: Step, cmd: TfCommand) -> str:
    base = action_dir(step)
    if base is None:
        wd = step.raw.get("working-directory", _defaults(wf, job, "working-directory"))
        base = str(wd) if wd else ""
        cd = cd_before(step.run, cmd.line)
        if cd:
            base = cd if cd.startswith("/") else norm(base, cd)
    for chdir in cmd.options("-chdir"):
        base = norm(base, chdir)
    return base


def tf_runs(wf: Workflow, subs: tuple[str, ...] = (), repo: Repo | None = None) -> list[TfRun]:
    """Every terraform command of the workflow (only `subs` when given), expanded as the module says."""
    inputs = input_values(wf, repo)
    out = []
    for job, step in steps(wf):
        for cmd in step_commands(step):
            if subs and cmd.sub not in subs:
                continue
            envs = (step.env, job.env, wf.env)
            d = resolve(_dir(wf, job, step, cmd), *envs)
            files = [resolve(v, *envs) for v in cmd.options("-var-file")]
            used = " ".join([d, *(resolve(a, *envs) for a in cmd.args)])
            for combo in combos(wf, job, used, inputs):
                dd = norm(substitute(d, combo))
                vfs = tuple(v if v.startswith("/") else norm(dd, v) for v in (substitute(f, combo) for f in files))
                out.append(TfRun(wf, job, step, cmd, dd, vfs, combo))
    return out


def var_names(cmd: TfCommand) -> set[str]:
    """The variables a command sets with -var name=value."""
    return {v.split("=", 1)[0].strip() for v in cmd.options("-var") if "=" in v}

"""CICD-01 expressions: boolean inputs compared as the wrong type, and untrusted text put straight into `run:`."""

from __future__ import annotations

import fnmatch
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow
from checks.areas.cicd.shell import EXPR_RE
from checks.core import linear

# github.event.inputs.X holds strings; inputs.X keeps the declared type (boolean for a boolean input).
# (linear.compile: RE2, linear in the expression's length; no lookarounds, so the boundaries consume a character)
CMP_RE = linear.compile(r"(?P<ctx>github\.event\.inputs|inputs)\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)\s*"
                        r"(?P<op>==|!=)\s*(?P<lit>true|false|'true'|'false')(?:[^\w-]|$)")
CMP_RE_REV = linear.compile(r"(?P<lit>true|false|'true'|'false')\s*(?P<op>==|!=)\s*"
                            r"(?P<ctx>github\.event\.inputs|inputs)\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)")
UNTRUSTED_RE = linear.compile(
    r"github\.event\.inputs\.[A-Za-z0-9_-]+"
    r"|github\.head_ref"
    r"|github\.event\.(?:issue|pull_request|discussion|comment|review|review_comment|head_commit|workflow_run)"
    r"(?:\.[A-Za-z0-9_]+)*\.(?:title|body|message|ref|label|name|email|head_branch|display_title)\b"
    r"|github\.event\.commits\[[^]]*\]\.(?:message|author\.(?:name|email))"
    r"|github\.event\.pages\[[^]]*\]\.page_name")
INPUT_RE = linear.compile(r"(?:^|[^.\w])inputs\.([A-Za-z_][A-Za-z0-9_-]*)")


def _input_types(wf: Workflow, triggers: tuple[str, ...] = ("workflow_dispatch", "workflow_call")) -> dict[str, str]:
    out: dict[str, str] = {}
    for trigger in triggers:
        spec = wf.on.get(trigger)
        inputs = spec.get("inputs") if isinstance(spec, dict) else None
        for name, inp in (inputs.items() if isinstance(inputs, dict) else []):
            typ = str(inp.get("type", "string")) if isinstance(inp, dict) else "string"
            out.setdefault(str(name), typ)
            if out[str(name)] != typ:
                out[str(name)] = "string"  # declared differently by the two triggers: treat as free text
    return out


def _conditions(wf: Workflow) -> list[tuple[str, tuple]]:
    """Every `if:` of a job or a step, and every ${{ }} elsewhere in the jobs, with its location."""
    out: list[tuple[str, tuple]] = []

    def walk(v: Any, at: tuple) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, at + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, at + (i,))
        elif isinstance(v, str):
            if at and at[-1] == "if":
                out.append((v, at))
            else:
                out.extend((m.group(1), at) for m in EXPR_RE.finditer(v))
    walk(wf.doc.get("jobs", {}), ("jobs",))
    return out


def boolean_inputs(wf: Workflow) -> list[Finding]:
    """A boolean input compared with the other context's type: the condition never holds."""
    types = _input_types(wf)
    out = []
    for expr, at in _conditions(wf):
        for m in list(CMP_RE.finditer(expr)) + list(CMP_RE_REV.finditer(expr)):
            name, ctx, lit = m.group("name"), m.group("ctx"), m.group("lit")
            if types.get(name) != "boolean":
                continue
            quoted = lit[0] in "'\""
            word = lit.strip("'\"")
            if ctx == "github.event.inputs" and not quoted:
                out.append(wf.finding("expression-type", f"`{m.group(0)}`: github.event.inputs.{name} is the string "
                                      f"'{word}', never the boolean {word}, so this condition never holds "
                                      f"(the guarded {'job' if len(at) == 3 else 'step'} never runs as intended)",
                                      *at, fix=f"compare the typed input: `inputs.{name} {m.group('op')} {word}`"))
            elif ctx == "inputs" and quoted:
                out.append(wf.finding("expression-type", f"`{m.group(0)}`: inputs.{name} is a boolean, and a boolean "
                                      f"never equals the string '{word}'", *at,
                                      fix=f"compare with the boolean: `inputs.{name} {m.group('op')} {word}`"))
    return out


REF_RE = linear.compile(r"github\.(?:ref|ref_name|head_ref|base_ref)\s*(?:==|!=)\s*'(?P<lit>[^']*)'")


def ref_literals(wf: Workflow) -> list[Finding]:
    """A ref compared with a literal that holds quotes (`'refs/heads/"main"'`): no ref ever equals it."""
    out = []
    for expr, at in _conditions(wf):
        for m in REF_RE.finditer(expr):
            lit = m.group("lit")
            if '"' in lit:
                clean = lit.replace('"', "")
                out.append(wf.finding("expression-type", f"`{m.group(0)}`: the literal {lit!r} keeps its double "
                                      "quotes, so no ref equals it and the condition never holds", *at,
                                      fix=f"write the literal without inner quotes: '{clean}'"))
    return out


def _typed(expr: str, types: dict[str, str]) -> bool:
    """A dispatch input that is not free text: a choice, boolean, number or environment input."""
    name = expr[len("github.event.inputs."):] if expr.startswith("github.event.inputs.") else ""
    return bool(name) and types.get(name, "string") != "string"


def injection(wf: Workflow) -> list[Finding]:
    """Free text expanded into a `run:` script by ${{ }} is shell code: it must go through env:.

    Free text: event fields a user writes (titles, bodies, branch names) and string workflow_dispatch inputs
    (in either context); a choice, boolean, number or environment input can only hold the values it allows.
    A workflow_call input is the calling workflow's value; the caller is checked where the text enters.
    """
    types = _input_types(wf, ("workflow_dispatch",))
    out: list[Finding] = []
    seen: set[tuple[str, int, str, str]] = set()
    for job in wf.jobs.values():
        for step in job.steps:
            if not step.run:
                continue
            for m in EXPR_RE.finditer(step.run):
                expr = m.group(1)
                bad = [u.group(0) for u in UNTRUSTED_RE.finditer(expr) if not _typed(u.group(0), types)]
                bad += [f"inputs.{n}" for n in INPUT_RE.findall(expr) if types.get(n) == "string"
                        and f"github.event.inputs.{n}" not in bad]
                for b in dict.fromkeys(bad):
                    if (job.id, step.index, b, expr) in seen:
                        continue  # the same expression twice in one script: one finding
                    seen.add((job.id, step.index, b, expr))
                    var = linear.sub(r"[^A-Za-z0-9]+", "_", b.split(".")[-1]).upper()
                    out.append(wf.finding("injection", f"step {step.name!r} puts `${{{{ {expr} }}}}` straight into "
                                          f"its script: {b} is free text, so a value with `\"; ...` runs as shell",
                                          "jobs", job.id, "steps", step.index, "run",
                                          fix=f"move the input to env: (`env: {{{var}: ${{{{ {b} }}}}}}`) and use "
                                              f"\"${var}\" in the script"))
    return out


EVENT_RE = linear.compile(r"github\.event_name\s*==\s*'([^']+)'")
BRANCH_RE = linear.compile(r"github\.ref\s*==\s*'refs/heads/([^']+)'|github\.ref_name\s*==\s*'([^']+)'")


def _never(wf: Workflow, event: str, branch: str) -> str:
    """Why a run of this event never has this branch as its ref ("" when it can)."""
    if event not in wf.on:
        return f"the workflow has no `{event}` trigger"
    if event == "pull_request":
        return "on pull_request github.ref is refs/pull/<number>/merge, never a branch"
    spec = wf.on.get(event) or {}
    if event == "push" and isinstance(spec, dict):
        pats = spec.get("branches")
        if isinstance(pats, list) and not any(fnmatch.fnmatchcase(branch, str(p)) for p in pats
                                              if not str(p).startswith("!")):
            return f"push runs this workflow only for branches {', '.join(str(p) for p in pats)}"
        if "tags" in spec and "branches" not in spec and "branches-ignore" not in spec:
            return "push runs this workflow only for tags"
    return ""


def unreachable(wf: Workflow) -> list[Finding]:
    """An `if:` that asks for a branch on an event that never carries it: the guarded job or step never runs."""
    out = []
    for expr, at in _conditions(wf):
        if at[-1] != "if" or "||" in expr or "!" in expr.replace("!=", ""):
            continue  # only plain conjunctions are judged
        events = set(EVENT_RE.findall(expr))
        branches = [a or b for a, b in BRANCH_RE.findall(expr)]
        if len(events) != 1 or not branches:
            continue
        why = _never(wf, next(iter(events)), branches[0])
        if why:
            what = "job" if len(at) == 3 else "step"
            out.append(wf.finding("expression-type", f"`{expr}` never holds: {why}, so the guarded {what} never "
                                  "runs", *at, fix=f"add {branches[0]} to the trigger's branches, or make the "
                                  "condition name a branch and event the workflow runs on"))
    return out

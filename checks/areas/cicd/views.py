"""Views over the Snapshot for the CI/CD tests: pure reads, `Unverifiable` when a read failed.

Each view has a `name` (the resource) and `context()` (the catalog's remediation placeholders).
Rule methods return lists of Findings and remember them, so `context()` can name the first
finding's location.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Any

from checks.areas.cicd import plan as planmod
from checks.areas.cicd import state as st
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd import workflows as wfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.github import environment_path, pending_path, runs_path, waiting_path
from checks.core.config import Env, load
from checks.core.outcome import Missing, Unverifiable, read
from checks.core.read import lock_items
from checks.core.snapshot import Observation, Snapshot, parse_time

WORKFLOW_DIR = ".github/workflows"
GH_ABSENT = {"HTTP404"}


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
    """The infra repo as recorded: its file list and texts."""

    def __init__(self, snapshot: Snapshot, env: Env):
        super().__init__()
        self.snapshot, self.env = snapshot, env
        self.name = "infra-repo"
        self.root = snapshot.meta.get("infra_repo", "")

    @property
    def given(self) -> bool:
        return bool(self.root)

    @cached_property
    def files(self) -> list[str]:
        obs = self.snapshot.get("file", "", "List", path=".")
        if obs is None and not self.given:
            raise Missing("no infra repo: pass --infra-repo PATH or set infra_repo in environments.toml")
        return list(read(obs, f"the infra repo file list ({self.root})").get("files", []))

    def text(self, rel: str) -> str | None:
        """The file's text; None when it does not exist."""
        if rel not in self.files:
            return None
        got = read(self.snapshot.get("file", "", "Read", path=rel), rel, absent_ok=True)
        return None if got is None else str(got.get("text", ""))

    def abspath(self, rel: str) -> str:
        return str(Path(self.root) / rel) if self.root else rel

    @cached_property
    def workflows(self) -> dict[str, wfm.Workflow]:
        out = {}
        for rel in self.files:
            if rel.startswith(WORKFLOW_DIR + "/") and rel.endswith((".yml", ".yaml")):
                out[rel] = wfm.parse(rel, self.text(rel) or "")
        return out

    @cached_property
    def repo(self) -> wfm.Repo:
        return wfm.Repo(self.workflows.values())

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

    def workflow_envs(self) -> dict[str, Env]:
        """Which env each deploy workflow belongs to (github.workflow of every env in the same toml)."""
        try:
            envs = load(self.env.source) if self.env.source and Path(self.env.source).is_file() else {}
        except Exception:  # noqa: BLE001  (a replay may not have the toml; the run's env still maps)
            envs = {}
        envs = {**envs, self.env.name: self.env}
        return {e.github.workflow: e for e in envs.values() if e.github}

    def managed_identities(self) -> list[Finding]:
        """No resource is managed under two different state keys (two roots, or two workflows)."""
        owners: dict[tuple[str, str], set[tuple[str, str]]] = {}
        inits = [(w, job, c, dirs) for w in self.workflows.values() if w.ok for job, _, c, dirs in wfm.init_commands(w)]
        for path, root in self.roots.items():
            flags_by_source: dict[str, list[str]] = {"(backend block)": []}
            for w, job, c, dirs in inits:
                if path in dirs or (path == "." and "" in dirs):
                    flags = [wfm.resolve(f, job.env, w.env) for f in c.options("-backend-config")]
                    flags_by_source[f"{w.file} jobs.{job.id}"] = flags
            keys = set()
            for source, flags in flags_by_source.items():
                cfg = tfm.backend_settings(root, flags, self.backend_files())
                if cfg.get("key"):
                    keys.add((cfg.get("key", ""), f"{path} via {source}"))
            for r in root.resources():
                if r.type in tfm.STATEFUL:
                    for key, where in keys:
                        owners.setdefault((r.type, root.identity(r)), set()).add((key, where))
        out = []
        for (typ, ident), got in sorted(owners.items()):
            keys = {k for k, _ in got}
            if len(keys) > 1:
                roots = {k: sorted({w.split(" via ")[0] for kk, w in got if kk == k}) for k in keys}
                where = "; ".join(f"key {k} in {', '.join(r)}" for k, r in sorted(roots.items()))
                out.append(Finding("CICD-03", "state-key", typ, f"{typ} {ident!r} is managed under {len(keys)} state "
                                   f"keys: {where}; the second apply would try to create it again", ident))
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.abspath(f.path) if f else self.root, "location": f.where() if f else "",
                "address": f.location if f else ""}


class WorkflowView(_View):
    """One workflow file of the infra repo."""

    def __init__(self, infra: InfraRepo, file: str):
        super().__init__()
        self.infra, self.env = infra, infra.env
        self.name = file
        self.path = f"{WORKFLOW_DIR}/{file}"

    @cached_property
    def workflow(self) -> wfm.Workflow | None:
        if self.path in self.infra.workflows:
            return self.infra.workflows[self.path]
        alt = self.path[:-4] + ".yaml" if self.path.endswith(".yml") else self.path
        return self.infra.workflows.get(alt)

    def _wf(self) -> wfm.Workflow:
        wf = self.workflow
        if wf is None:
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)")
        if not wf.ok:
            raise Missing(f"{self.path} does not parse (see test_workflow_schema)")
        return wf

    @property
    def owner(self) -> Env | None:
        return self.infra.workflow_envs().get(self.name)

    def existence(self) -> list[Finding]:
        wf = self.workflow
        if wf is None:
            found = ", ".join(w.file for w in self.infra.workflows.values()) or "none"
            return self._keep([Finding("CICD-01", "missing", self.path, f"the deploy workflow {self.name} is not in "
                                       f"{WORKFLOW_DIR} (found: {found})")])
        return self._keep(list(wf.problems))

    def schema_errors(self) -> list[Finding]:
        wf = self.workflow
        if wf is None:
            raise Missing(f"{self.path} does not exist (see test_workflow_exists)")
        return self._keep(wfm.schema_errors(wf))

    def actionlint(self) -> list[Finding]:
        self._wf()
        obs = self.infra.snapshot.get("tool", "", "actionlint", path=WORKFLOW_DIR)
        if obs is not None and obs.code == "NotInstalled":
            raise Missing("actionlint is not on PATH: not run (install it to lint with it as well)")
        got = read(obs, "actionlint")
        return self._keep([Finding("CICD-01", "actionlint", self.path, f"{e.get('message')} [{e.get('kind')}]", "",
                                   int(e.get("line") or 0))
                           for e in got.get("errors", []) if str(e.get("filepath", "")).endswith(self.path)])

    def runner_labels(self) -> list[Finding]:
        return self._keep(wfm.runner_labels(self._wf()))

    def dispatch_inputs(self) -> list[Finding]:
        return self._keep(wfm.dispatch_inputs(self._wf()))

    def id_token(self) -> list[Finding]:
        wf = self._wf()
        out = wfm.id_token(wf, self.infra.repo)
        owner = self.owner
        if owner is not None and owner.github.role_secret:
            out += wfm.role_secret(wf, owner.github.role_secret)
        return self._keep(out)

    def approval(self) -> list[Finding]:
        owner = self.owner
        return self._keep(wfm.approval(self._wf(), self.infra.repo, exempt=bool(owner and owner.github.approval_exempt),
                                       expected_environment=owner.github.environment if owner else ""))

    def hidden_failures(self) -> list[Finding]:
        return self._keep(wfm.hidden_failures(self._wf()))

    def reviewed_plan(self) -> list[Finding]:
        return self._keep(wfm.reviewed_plan(self._wf(), self.infra.repo))

    def actions_pinned(self) -> list[Finding]:
        return self._keep(wfm.actions_pinned(self._wf()))

    def concurrency(self) -> list[Finding]:
        return self._keep(wfm.concurrency(self._wf(), self.infra.repo))

    def region(self) -> list[Finding]:
        out = wfm.region(self._wf(), self.env.region)
        for path in self.infra.roots:
            rel = f"{path}/environments/{self.env.name}.tfvars"
            text = self.infra.text(rel)
            if text is None:
                continue
            body, problems = tfm.parse_hcl(rel, text)
            out += [Finding("CICD-06", p.rule, p.path, p.message, p.location, p.line) for p in problems]
            got = (body or {}).get("region")
            if isinstance(got, str) and got != self.env.region:
                out.append(Finding("CICD-06", "region", rel, f"region = {got!r}, expected {self.env.region!r}",
                                   "region"))
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.infra.abspath(self.path), "location": f.where() if f else self.path,
                "workflow": self.name}


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

    def parse_problems(self) -> list[Finding]:
        self._root()
        out = list(self.infra.hcl_problems.get(self.name, []))
        for rel in self.infra.files:
            if rel.startswith(self.name + "/") and rel.endswith((".tfvars", ".tfbackend")):
                out += tfm.parse_hcl(rel, self.infra.text(rel) or "")[1]
        return self._keep(out)

    def gsi_attributes(self) -> list[Finding]:
        root = self._root()
        if self.infra.hcl_problems.get(self.name):
            raise Missing(f"{self.name} does not parse (see test_terraform_parses)")
        return self._keep(tfm.gsi_attributes(root))

    def lock_file(self) -> list[Finding]:
        self._root()
        rel = f"{self.name}/.terraform.lock.hcl" if self.name != "." else ".terraform.lock.hcl"
        if rel in self.infra.files:
            return self._keep([])
        return self._keep([Finding("CICD-03", "lock-file", rel, "the provider lock file is not committed: plan and "
                                   "apply can pick different provider versions and applying a saved plan fails; run "
                                   f"`terraform -chdir={self.name} providers lock` and commit it")])

    def backend(self) -> list[Finding]:
        root = self._root()
        if self.infra.hcl_problems.get(self.name):
            raise Missing(f"{self.name} does not parse (see test_terraform_parses)")
        got = root.backend()
        if got is None:
            return self._keep([])  # a module, not a root with state
        typ, _ = got
        out = []
        if typ != "s3":
            out.append(Finding("CICD-02", "backend", self.name, f"backend {typ!r}, expected \"s3\""))
        wf = self.infra.workflows.get(f"{WORKFLOW_DIR}/{self.env.github.workflow}")
        flags: list[str] = []
        for w in [wf] if wf is not None and wf.ok else []:
            for job, _, c, dirs in wfm.init_commands(w):
                if self.name in dirs:
                    flags = [wfm.resolve(f, job.env, w.env) for f in c.options("-backend-config")]
        cfg = tfm.backend_settings(root, flags, self.infra.backend_files())
        tf = self.env.terraform
        for k, want in (("bucket", tf.state_bucket),):
            if cfg.get(k) != want:
                out.append(Finding("CICD-02", "backend", self.name, f"backend {k} resolves to {cfg.get(k)!r} for "
                                   f"{self.env.github.workflow}, expected {want!r}", k))
        if cfg.get("dynamodb_table", tf.lock_table) != tf.lock_table and cfg.get("use_lockfile") != "true":
            out.append(Finding("CICD-02", "backend", self.name, f"backend dynamodb_table resolves to "
                               f"{cfg.get('dynamodb_table')!r}, expected {tf.lock_table!r}", "dynamodb_table"))
        if "dynamodb_table" not in cfg and str(cfg.get("use_lockfile")).lower() != "true":
            out.append(Finding("CICD-02", "backend", self.name, "the backend has no state locking (neither "
                               "dynamodb_table nor use_lockfile = true)", "dynamodb_table"))
        if not cfg.get("key"):
            out.append(Finding("CICD-02", "backend", self.name, "the backend has no state key", "key"))
        return self._keep(out)

    def context(self) -> dict[str, Any]:
        f = self.last[0] if self.last else None
        return {"path": self.name, "location": f.where() if f else self.name}


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

    def _get(self, service: str, op: str, **params: Any) -> Observation | None:
        return self.snapshot.get(service, self.region, op, **params)

    def bucket_problems(self) -> list[str]:
        b = self.tf.state_bucket
        if read(self._get("s3", "HeadBucket", Bucket=b), f"state bucket {b}", absent_ok=True) is None:
            return [f"state bucket {b} does not exist in {self.region}"]
        out = []
        ver = read(self._get("s3", "GetBucketVersioning", Bucket=b), f"versioning of {b}")
        if ver.get("Status") != "Enabled":
            out.append(f"state bucket {b} versioning is {ver.get('Status', 'never enabled')!r}, expected Enabled")
        enc = read(self._get("s3", "GetBucketEncryption", Bucket=b), f"encryption of {b}", absent_ok=True)
        if not enc or not enc.get("ServerSideEncryptionConfiguration", {}).get("Rules"):
            out.append(f"state bucket {b} has no default encryption")
        return out

    @cached_property
    def lock_table_desc(self) -> dict[str, Any] | None:
        got = read(self._get("dynamodb", "DescribeTable", TableName=self.tf.lock_table),
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
        got = read(self._get("dynamodb", "Scan", **lock_items(self.tf.lock_table).params),
                   f"items of {self.tf.lock_table}")
        return list(got.get("Items", []))

    def state_bytes(self, key: str | None = None) -> bytes | None:
        key = key or self.tf.state_key
        got = read(self._get("s3", "GetObject", Bucket=self.tf.state_bucket, Key=key),
                   f"state object s3://{self.tf.state_bucket}/{key}", absent_ok=True)
        return None if got is None else st.body_bytes(got.get("Body"))

    def state_problems(self) -> list[str]:
        data = self.state_bytes()
        where = f"s3://{self.tf.state_bucket}/{self.tf.state_key}"
        if data is None:
            return [f"the state object {where} does not exist"]
        _, why = st.parse_state(data)
        return [f"the state object {where} {why}"] if why else []

    def state(self, key: str | None = None) -> dict[str, Any] | None:
        data = self.state_bytes(key)
        return st.parse_state(data)[0] if data is not None else None

    def _require_state(self) -> dict[str, Any]:
        s = self.state()
        if s is None:
            raise Missing(f"the state object {self.tf.state_key} is missing or does not parse (see test_state_parses)")
        return s

    def digest_problems(self) -> list[str]:
        data = self.state_bytes()
        self._require_state()
        self.md5 = st.md5_hex(data or b"")
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
            obs = self.snapshot.get("dynamodb", region or self.region, "DescribeTable", TableName=ident)
            return read(obs, f"table {ident}", absent_ok=True) is not None
        obs = self.snapshot.get("s3", self.region, "HeadBucket", Bucket=ident)
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
            got = read(self._get("s3", "GetObject", Bucket=self.tf.state_bucket, Key=f"{key}.tflock"),
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

    def reviewers(self) -> list[str]:
        got = self._get(environment_path(self.repo, self.g.environment), f"environment {self.g.environment}",
                        absent_ok=True)
        if got is None:
            return [f"environment {self.g.environment!r} does not exist in {self.repo}: deployments are not gated"]
        rules = [r for r in got.get("protection_rules", []) if r.get("type") == "required_reviewers"]
        if not rules:
            return [f"environment {self.g.environment!r} has no required-reviewers rule (expected "
                    f"{self.g.required_approvers})"]
        n = sum(len(r.get("reviewers", [])) for r in rules)
        if n != self.g.required_approvers:
            return [f"environment {self.g.environment!r} has {n} required reviewer(s), expected "
                    f"{self.g.required_approvers}"]
        return []

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


class Caller(_View):
    def __init__(self, snapshot: Snapshot, env: Env):
        super().__init__()
        self.snapshot, self.env, self.name = snapshot, env, env.account

    def problems(self) -> list[str]:
        got = read(self.snapshot.get("sts", self.env.region, "GetCallerIdentity"), "the caller identity")
        if got.get("Account") != self.env.account:
            return [f"the credentials are for account {got.get('Account')} ({got.get('Arn')}), expected "
                    f"{self.env.account} for env {self.env.name}"]
        return []

    def context(self) -> dict[str, Any]:
        return {"workflow": self.env.github.workflow}

"""Views for tests/static: the env's Terraform model, built once per snapshot from its `file` observations.

A view's check method returns findings. When the resource is not declared it raises Missing (the
`*_declared` test reports that); when a value cannot be known before plan it raises Unverifiable
with the file:line and the reason, so nothing unresolvable ever passes.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable
from typing import Any

from checks.areas.static import backup_rules, reads, rules, s3_rules, version_rules
from checks.areas.static.envs import env_names
from checks.areas.static.findings import Finding
from checks.areas.static.model import Instance, Model, build
from checks.areas.static.values import Ref, Unresolved
from checks.core.config import CRON, Env
from checks.core.keys import Key
from checks.core.outcome import Missing, Unverifiable
from checks.core.snapshot import Snapshot
from checks.core.tf_versions import lock_path

NO_INFRA = "no infra repo: pass --infra-repo PATH or set infra_repo in environments.toml"
_CACHE: dict[tuple[int, str], Model] = {}
_LOCK = threading.Lock()


def repo_texts(snapshot: Snapshot) -> dict[str, str] | None:
    """The recorded .tf / .tfvars / lock file texts by repo path; None when no infra repo was read."""
    listing = reads.seen(snapshot, reads.listing())
    if listing is None:
        return None
    if not listing.ok:
        raise Unverifiable.of(listing, "the infra repo's Terraform")
    out = {}
    for rel in (listing.response or {}).get("files", []):
        if not rel.endswith(reads.SUFFIXES):
            continue
        obs = reads.seen(snapshot, reads.file_text(rel))
        if obs is None or not obs.ok:
            raise Unverifiable.of(obs, rel)
        out[rel] = (obs.response or {}).get("text", "")
    return out


def model_of(snapshot: Snapshot, env: Env) -> tuple[Model, dict[str, str]]:
    texts = repo_texts(snapshot)
    if texts is None:
        raise Unverifiable(NO_INFRA)
    key = (id(snapshot), env.name)
    with _LOCK:
        if key not in _CACHE:
            _CACHE.clear()
            names = snapshot.meta.get("static_envs") or env_names(env)
            _CACHE[key] = build(texts, env.name, list(names), env.terraform.tfvars if env.terraform else "")
        model = _CACHE[key]
    if model.errors:
        raise Unverifiable("cannot check the Terraform statically: " + "; ".join(model.errors))
    if not model.roots:
        raise Unverifiable("the infra repo has no Terraform root module (.tf files)")
    return model, texts


def judge(where: str, fn: Callable[..., list[Finding]], *args: Any) -> list[Finding]:
    try:
        return fn(*args)
    except Unresolved as exc:
        raise Unverifiable(f"{where}: cannot be resolved statically: {exc}") from None


def _reasons(unknown: list[str], limit: int = 5) -> str:
    more = f"; and {len(unknown) - limit} more" if len(unknown) > limit else ""
    return "; ".join(unknown[:limit]) + more


def _unknown(what: str, unknown: list[str]) -> Unverifiable:
    return Unverifiable(f"{what} is not among the resources whose names are known; cannot be resolved "
                        f"statically: {_reasons(unknown)}")


class StaticView:
    check = ""
    declared_by = ""  # the test that reports the resource undeclared (named in the message)
    reporter = ""  # and its reporter key (Missing's `by`)

    def __init__(self, snapshot: Snapshot, env: Env, name: str):
        self.snapshot, self.env, self.name = snapshot, env, name
        self.model, self.texts = model_of(snapshot, env)

    def context(self) -> dict[str, Any]:
        return {"resource": self.name}

    def _home(self, types: tuple[str, ...]) -> str:
        """Where a missing resource belongs: next to an expected table, else to related resources."""
        for t in self.env.tables:
            found, _ = self.model.find("aws_dynamodb_table", "name", t)
            if found:
                return found[0].file
        for r in self.model.roots:
            for i in r.instances:
                if i.type in types:
                    return i.file
        r = self.model.roots[0]
        return posixpath.join(r.dir, "main.tf") if r.dir else "main.tf"

    def _one(self, type_: str, attr: str, value: str, what: str) -> Instance:
        found, unknown = self.model.find(type_, attr, value)
        if found:
            return found[0]
        if unknown:
            raise _unknown(what, unknown)
        raise Missing(f"{what} is not declared in the Terraform for env {self.env.name} "
                      f"(reported by {self.declared_by})", by=self.reporter)

    def tfvars(self) -> str:
        used = sorted({f for r in self.model.roots for f in r.tfvars})
        return ", ".join(used) or f"no tfvars file for env {self.env.name}"


class TableTf(StaticView):
    declared_by = "test_table_declared"
    reporter = "DDB-01/table-declared"

    @property
    def table(self) -> Instance:
        return self._one("aws_dynamodb_table", "name", self.name, f"table {self.name}")

    def where(self) -> str:
        t = self.table
        return f"{t.file}:{t.line} {t.address}"

    def declared(self) -> list[Finding]:
        try:
            t = self.table
        except Missing:
            rk = f' range_key = "{Key.parse(self.env.dynamodb.range_key).name}"' \
                if self.env.dynamodb.range_key else ""
            return [Finding("DDB-01", f"aws_dynamodb_table.{self.name}", self._home(("aws_dynamodb_table",)), 0,
                            f"no aws_dynamodb_table named {self.name} for env {self.env.name} "
                            f"(tfvars: {self.tfvars()})",
                            f'resource "aws_dynamodb_table" "{self.name}" {{ name = "{self.name}" hash_key = '
                            f'"{Key.parse(self.env.dynamodb.hash_key).name}"{rk} ... }}')]
        return judge(self.where(), rules.table_keys, t, self.env)

    def rule(self, fn: Callable[..., list[Finding]], *args: Any) -> list[Finding]:
        return judge(self.where(), fn, self.table, self.env, *args)

    def block(self, check: str, name: str, **want: Any) -> list[Finding]:
        """The table's nested block `name` holds `want` (a check needs no rule of its own for this)."""
        return judge(self.where(), rules.nested_block, self.table, check, name, want)

    def tags(self) -> list[Finding]:
        return judge(self.where(), rules.tags, self.table, self.env.table_tags())


class BackupTf(StaticView):
    declared_by = "test_backup_plan_declared"
    reporter = "DDB-04/plan-declared"

    def vault(self) -> list[Finding]:
        vault = self.env.backup.vault
        found, unknown = self.model.find("aws_backup_vault", "name", vault)
        if found:
            return []
        if unknown:
            raise _unknown(f"backup vault {vault}", unknown)
        return [Finding("DDB-04", "aws_backup_vault", self._home(("aws_backup_plan", "aws_dynamodb_table")), 0,
                        f"no aws_backup_vault named {vault} for env {self.env.name}",
                        f'resource "aws_backup_vault" "this" {{ name = "{vault}" }}')]

    @property
    def plan(self) -> Instance:
        return self._one("aws_backup_plan", "name", self.env.backup.plan, f"backup plan {self.env.backup.plan}")

    def plan_rules(self) -> list[Finding]:
        want = self.env.backup
        try:
            p = self.plan
        except Missing:
            return [Finding("DDB-04", "aws_backup_plan", self._home(("aws_backup_vault", "aws_dynamodb_table")), 0,
                            f"no aws_backup_plan named {want.plan} for env {self.env.name}",
                            f'resource "aws_backup_plan" "this" {{ name = "{want.plan}" rule {{ rule_name = '
                            f'"{want.frequency}" target_vault_name = aws_backup_vault.this.name schedule = '
                            f'"{CRON[want.frequency]}" lifecycle {{ delete_after = '
                            f"{want.retention_days} }} }} }}")]
        return judge(f"{p.file}:{p.line} {p.address}", backup_rules.backup_plan, p, self.env)

    def copy(self) -> list[Finding]:
        p = self.plan
        return judge(f"{p.file}:{p.line} {p.address}", backup_rules.backup_copy, p, self.env, self.model)

    def selection_covers(self, table: TableTf) -> list[Finding]:
        p, t = self.plan, table.table
        sels, unknown = [], []
        for s in self.model.instances("aws_backup_selection"):
            try:
                ref = s.get("plan_id", None)
            except Unresolved as exc:
                unknown.append(f"{s.file}:{s.line} {s.address}.plan_id: {exc}")
                continue
            if isinstance(ref, Ref) and p.refers(ref) or ref == self.env.backup.plan:
                sels.append(s)
        unknown += self.model.skipped("aws_backup_selection")
        tags = self.env.table_tags()
        for s in sels:
            if judge(f"{s.file}:{s.line} {s.address}", lambda s=s: [True] if backup_rules.selection_covers(s, t, tags)
                     else []):
                return []
        if unknown:
            raise Unverifiable(f"no selection known to cover table {self.name}; cannot be resolved statically: "
                               + _reasons(unknown))
        at = sels[0] if sels else p
        what = (f"no aws_backup_selection of {p.address} covers table {table.name} by ARN or tag" if sels else
                f"no aws_backup_selection uses {p.address}")
        return [Finding("DDB-04", at.address, at.file, at.line_of("resources") if sels else 0, what,
                        f'resource "aws_backup_selection" "this" {{ name = "{self.env.backup.selection}" plan_id = '
                        f"{p.address}.id iam_role_arn = ... resources = [{t.address}.arn] }}" if not sels else
                        f"add {t.address}.arn to resources (or a selection_tag the table carries)")]


class BucketTf(StaticView):
    declared_by = "test_bucket_declared"
    reporter = "S3-01/bucket-declared"

    @property
    def bucket(self) -> Instance:
        return self._one("aws_s3_bucket", "bucket", self.name, f"bucket {self.name}")

    def where(self, i: Instance | None = None) -> str:
        i = i or self.bucket
        return f"{i.file}:{i.line} {i.address}"

    def declared(self) -> list[Finding]:
        try:
            _ = self.bucket
        except Missing:
            return [Finding("S3-01", "aws_s3_bucket", self._home(("aws_s3_bucket",)), 0,
                            f"no aws_s3_bucket named {self.name} for env {self.env.name} (tfvars: {self.tfvars()})",
                            f'resource "aws_s3_bucket" "templates" {{ bucket = "{self.name}" }}')]
        return []

    def subs(self, type_: str) -> list[Instance]:
        b = self.bucket
        found, unknown = s3_rules.attached(self.model, b, type_)
        if not found and unknown:
            raise Unverifiable(f"no {type_} known to belong to {b.address}; cannot be resolved statically: "
                               + _reasons(unknown))
        return found

    def rule(self, fn: Callable[..., list[Finding]], type_: str, *args: Any) -> list[Finding]:
        subs = self.subs(type_)
        return judge(self.where(subs[0] if subs else None), fn, self.bucket, subs, *args)

    def statements(self) -> tuple[list[Instance], list[dict[str, Any]]]:
        subs = self.subs("aws_s3_bucket_policy")
        st = judge(self.where(subs[0] if subs else None), s3_rules.policy_statements, self.model, self.bucket, subs)
        return subs, st

    def replication(self) -> list[Finding]:
        subs = self.subs("aws_s3_bucket_replication_configuration")
        return judge(self.where(subs[0] if subs else None), s3_rules.replication, self.model, self.bucket, subs,
                     self.env)

    def tags(self) -> list[Finding]:
        return judge(self.where(), rules.tags, self.bucket, self.env.bucket_tags())


class VersionsTf(StaticView):
    """required_version / required_providers of every root module."""

    def findings(self, kind: str) -> list[Finding]:
        out = []
        for r in self.model.roots:
            out += version_rules.versions(r.dir, r.terraform_blocks, self.texts, lock_path(r.dir) in self.texts,
                                          self.env, kind)
        return out

"""CI/CD views of the AWS side: state bucket, state objects, lock table, managed resources, the caller's account."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from checks.areas.cicd import reads
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.view_base import CicdView, collected_at, duration_text
from checks.core import tfstate as st
from checks.core.config import Env
from checks.core.outcome import Missing, read
from checks.core.read import Read
from checks.core.snapshot import Observation, Snapshot


class StateBackend(CicdView):
    """The state bucket, the state object(s) and the lock table, as recorded."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str = ""):
        super().__init__()
        self.snapshot, self.env, self.tf = snapshot, env, env.terraform
        self.name = name or self.tf.state_key
        self.region = env.region
        self.lock_id = ""
        self.md5 = ""
        self.fix = ""  # the one command for what the last problems method found

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
                          "test_lock_table_key)", by="CICD-02/lock-table")

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
            raise Missing(f"the state object {self.tf.state_key} is missing or does not parse (see test_state_parses)",
                          by="CICD-03/state")
        return s

    def digest_problems(self) -> list[str]:
        self._require_state()
        body = self.state_body()
        self.md5 = body[2] if body else ""
        lock_id = f"{self.tf.state_bucket}/{self.tf.state_key}-md5"
        digest = next((st.item_value(i, "Digest") for i in self.items if st.item_value(i, "LockID") == lock_id), None)
        self.fix = (f"aws dynamodb put-item --table-name {self.tf.lock_table} --region {self.region} --item "
                    f"'{{\"LockID\":{{\"S\":\"{lock_id}\"}},\"Digest\":{{\"S\":\"{self.md5}\"}}}}'")
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
                self.fix = self.fix or (f"terraform apply -target={r.address} (it recreates {r.identity}); if it was "
                                        f"removed on purpose: terraform state rm {r.address}")
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
                held = f"held for {duration_text(age)}" if age is not None else "with no readable Created time"
                out.append(f"{where} is {held} (limit {self.tf.stale_lock_minutes} min): {info.describe()}; "
                           f"if no run is active: terraform force-unlock {info.id}")
        return out

    def context(self) -> dict[str, Any]:
        return {"state_bucket": self.tf.state_bucket, "lock_table": self.tf.lock_table, "state_key": self.tf.state_key,
                "region": self.region, "md5": self.md5, "lock_id": self.lock_id, "path": ".", "fix": self.fix}


class ManagedResource(CicdView):
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
            self.fix = f"terraform import {self.address} {self.name}"
            return [f"{self.name} exists live but is not in the Terraform state ({self.env.terraform.state_key}): "
                    f"the next apply fails with 'already exists'; terraform import {self.address} {self.name}"]
        if in_state and not live:
            self.fix = (f"terraform apply -target={self.address} (it recreates {self.name}); if it was removed on "
                        f"purpose: terraform state rm {self.address}")
            return [f"{self.address} is in state but {self.name} does not exist live in {self.env.region}"]
        if not in_state and not live:
            self.fix = f"terraform apply -target={self.address}"
            return [f"{self.name} is neither in the Terraform state nor live: it was never applied"]
        return []

    fix = ""  # the one command for what problems() found

    def context(self) -> dict[str, Any]:
        return {**self.backend.context(), "address": self.address, "resource": self.name, "fix": self.fix}


class Caller(CicdView):
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

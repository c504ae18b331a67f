"""PDV views: what tests/pdv read, straight from the snapshot (so --replay judges the same)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from checks.areas.dynamodb import views as ddb
from checks.areas.pdv import parity
from checks.areas.pdv import reads as rq
from checks.areas.s3 import views as s3
from checks.core import tfstate as st
from checks.core import view
from checks.core.outcome import Missing, Unverifiable, read
from checks.core.snapshot import Observation


def _err(e: dict[str, Any] | None) -> str:
    return f"{e.get('code')}: {e.get('message')}" if e else ""


# --------------------------------------------------------------------------- PDV-02

class Design:
    """A table's billing mode, stream and deletion protection against the design."""

    def __init__(self, table: ddb.Table):
        self.table, self.name, self.env = table, table.name, table.env

    def problems(self) -> dict[str, str]:
        d, t = self.env.dynamodb, self.table
        out = {}
        if t.billing_mode != d.billing_mode:
            out["billing_mode"] = f"--billing-mode {d.billing_mode}"
        if t.stream_view_type != d.stream_view_type:
            out["stream"] = f"--stream-specification StreamEnabled=true,StreamViewType={d.stream_view_type}"
        if d.deletion_protection and not t.deletion_protection:
            out["deletion_protection"] = "--deletion-protection-enabled"
        if t.sse_kind != d.sse:
            out["sse"] = "--sse-specification " + ("Enabled=true,SSEType=KMS" if d.sse == "KMS" else "Enabled=false")
        return out

    def context(self) -> dict[str, Any]:
        try:
            fix = " ".join(self.problems().values())
        except (Missing, Unverifiable):
            fix = ""
        return {**self.table.context(), "fix": fix}


# --------------------------------------------------------------------------- PDV-03/04/05 canaries

class _Canary:
    operation = ""

    def __init__(self, resource: view.View, params: dict[str, Any]):
        self.resource, self.name, self.env = resource, resource.name, resource.env
        self.snapshot, self.region, self.params = resource.snapshot, resource.region, params

    @cached_property
    def record(self) -> dict[str, Any]:
        obs = self.snapshot.get(rq.CANARY, self.region, self.operation, **self.params)
        return read(obs, f"the canary record of {self.name}") or {}

    @property
    def enabled(self) -> bool:
        return bool(self.record.get("enabled"))

    def failed_steps(self) -> list[str]:
        """Each canary step that did not do its job, in words; [] when all of them did."""
        out = []
        for s in self.record.get("steps", []):
            what = s["step"] + (f" on {s['index']}" if s.get("index") else "")
            if s["step"] == "key schema":
                raise Unverifiable(f"the canary of {self.name} wrote nothing: {_err(s.get('error'))}")
            if s["step"] == "interrupted":
                out.append(f"the canary was interrupted by {_err(s.get('error'))}")
            elif not s.get("ok"):
                out.append(f"{what} failed ({_err(s.get('error'))})")
            elif s["step"] == "get" and not (s.get("found", True) and s.get("matches", True)):
                out.append("get did not return what was put")
            elif s["step"] == "query" and not s.get("found"):
                out.append(f"{what} did not find the canary after {s.get('attempts')} attempt(s) "
                           f"({s.get('seconds')}s)")
            elif s["step"] == "delete" and not s.get("gone", True):
                out.append("delete returned but the canary is still there")
        steps = self.record.get("steps", [])
        if not steps:
            return ["the canary was not attempted"]
        put_ok = any(s["step"] == "put" and s.get("ok") for s in steps)
        done = {(s["step"], s.get("index")) for s in steps}
        for step in self.expected_steps() if put_ok else []:
            if step not in done:
                out.append(f"{step[0]}{' on ' + step[1] if step[1] else ''} did not run")
        if ("delete", None) not in done:
            out.append("no delete was recorded")
        return out

    def expected_steps(self) -> list[tuple[str, str | None]]:
        return [("get", None)]

    def timings(self) -> str:
        return ", ".join(f"{s['step']}{'/' + s['index'] if s.get('index') else ''} {s.get('seconds')}s"
                         for s in self.record.get("steps", []))


class TableCanary(_Canary):
    """PDV-03: the DynamoDB canary of one table and the canary items earlier runs left."""

    operation = rq.DDB_CANARY

    def __init__(self, table: ddb.Table):
        super().__init__(table, {"TableName": table.name})
        self.table = table

    @property
    def pk(self) -> str:
        return rq.canary_pk(rq.run_id(self.snapshot))

    def leftovers(self) -> list[str]:
        """Canary items an earlier run left (the suite's marker on them), named partition/sort key."""
        obs = self.table.seen(rq.leftover_items(self.env, self.name))
        data = read(obs, f"the canary items of table {self.name}", absent_ok=True)
        if data is None:
            raise view.table_missing(self.name, self.region)
        _, sk = rq.key_names(self.env)
        own = rq.cid(self.snapshot)
        return sorted(f"{rq.CANARY_PK}/{i[sk]['S']}" for i in data.get("Items", [])
                      if rq.is_own_item(self.env, i) and i[sk]["S"] != own)

    def removed(self) -> dict[str, dict[str, Any]]:
        pk, sk = rq.key_names(self.env)
        return {f"{r['key'].get(pk, {}).get('S')}/{r['key'].get(sk, {}).get('S')}": r
                for r in self.record.get("removed", [])}

    def expected_steps(self) -> list[tuple[str, str | None]]:
        return [("get", None)] + [("query", index) for index in rq.gsi_keys(self.env, self.name)]

    def require_table(self) -> None:
        for s in self.record.get("steps", []):
            if s["step"] == "put" and (s.get("error") or {}).get("code") == "ResourceNotFoundException":
                raise view.table_missing(self.name, self.region)

    def context(self) -> dict[str, Any]:
        try:
            first = next(iter(self.leftovers()), None)
        except (Missing, Unverifiable):
            first = None
        pk, _, sk = (first or self.pk).partition("/")
        return {**self.table.context(), "pk": pk, "sk": sk}


class BucketCanary(_Canary):
    """PDV-04: the S3 canary of the bucket and the canary objects earlier runs left (both sides)."""

    operation = rq.S3_CANARY

    def __init__(self, bucket: s3.Bucket):
        super().__init__(bucket, {"Bucket": bucket.name})
        self.bucket = bucket

    @property
    def key(self) -> str:
        return rq.canary_key(rq.run_id(self.snapshot))

    def sides(self) -> list[tuple[str, str]]:
        rep = self.env.s3.replication
        return [(self.name, self.region)] + ([(rep.destination, self.env.dr_region)] if rep else [])

    def leftovers(self) -> list[tuple[str, str]]:
        """(bucket, key) of canary objects found before this run's canary."""
        out = []
        own = rq.canary_key(rq.run_id(self.snapshot))
        for bucket, region in self.sides():
            data = read(self.bucket.seen(rq.leftover_listing(bucket, region)),
                        f"the canary objects of bucket {bucket}", absent_ok=True)
            if data is None:
                if bucket == self.name:
                    raise view.bucket_missing(bucket)
                continue
            for o in data.get("Contents", []):
                if o["Key"] != own and rq.is_canary_object_key(o["Key"]) and self._marked(bucket, region, o["Key"]):
                    out.append((bucket, o["Key"]))
        return out

    def _marked(self, bucket: str, region: str, key: str) -> bool:
        """Does any version of the key carry the suite's marker? (Foreign data is never a leftover.)"""
        versions = read(self.bucket.seen(rq.object_versions(bucket, region, key)), f"the versions of s3://{bucket}/{key}")
        for vid in rq.version_ids(versions, key):  # each exact version, `null` included, as the collector read it
            head = read(self.bucket.seen(rq.head_object(bucket, region, key, vid)), f"s3://{bucket}/{key}",
                        absent_ok=True)
            if head is not None and rq.is_own_object(key, head):
                return True
        return False

    def removed(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["bucket"], r["key"]): r for r in self.record.get("removed", [])}

    def context(self) -> dict[str, Any]:
        try:
            first = next(iter(self.leftovers()), None)
        except (Missing, Unverifiable):
            first = None
        return {**self.bucket.context(), "key": first[1] if first else self.key}


class RoundTrip(_Canary):
    """PDV-05: the replication round trip of the canary object."""

    operation = rq.ROUND_TRIP

    def __init__(self, bucket: s3.Bucket):
        super().__init__(bucket, {"Bucket": bucket.name})
        self.bucket = bucket

    def context(self) -> dict[str, Any]:
        return {**self.bucket.context(), "key": rq.canary_key(rq.run_id(self.snapshot))}


# --------------------------------------------------------------------------- PDV-06 metrics

def _sums(obs: Observation | None, what: str, ids: dict[str, tuple[str, str]]) -> dict[tuple[str, str], float]:
    data = read(obs, what)
    sums: dict[tuple[str, str], float] = {ids[q]: 0.0 for q in ids}
    for result in data.get("MetricDataResults", []):
        if result.get("Id") in ids:
            sums[ids[result["Id"]]] += sum(float(v) for v in result.get("Values", []))
    for msg in data.get("Messages", []):
        if msg.get("Code") not in (None, "", "Complete"):
            raise Unverifiable(f"could not verify {what}: CloudWatch says {msg.get('Code')}: {msg.get('Value')}")
    return sums


class TableMetrics:
    def __init__(self, table: ddb.Table):
        self.table, self.name, self.env = table, table.name, table.env

    @cached_property
    def sums(self) -> dict[str, float]:
        self.table.table  # noqa: B018  (a table that is gone is DDB-01's finding: its old metrics judge nothing)
        spec, ids = rq.table_metrics(self.env, self.table.snapshot)
        obs = self.table.seen(spec)
        sums = _sums(obs, f"the CloudWatch metrics of table {self.name}", ids)
        return {metric: v for (table, metric), v in sums.items() if table == self.name}

    def context(self) -> dict[str, Any]:
        try:
            bad = [m for m, v in self.sums.items() if v > 0]
        except Unverifiable:
            bad = []
        start, end = rq.window(self.env, self.table.snapshot)
        return {**self.table.context(), "metric": bad[0] if bad else "ThrottledRequests", "start": start, "end": end,
                "namespace": "AWS/DynamoDB", "dimensions": f"Name=TableName,Value={self.table.name}"}


class BucketMetrics:
    def __init__(self, bucket: s3.Bucket):
        self.bucket, self.name, self.env = bucket, bucket.name, bucket.env

    @property
    def filters(self) -> list[str]:
        obs = self.bucket.seen(rq.bucket_metric_configs(self.name))
        if obs is not None and obs.code == "NoSuchBucket":
            raise view.bucket_missing(self.name)
        data = read(obs, f"the request metrics configurations of bucket {self.name}", absent_ok=True) or {}
        return [c["Id"] for c in data.get("MetricsConfigurationList", [])]

    @cached_property
    def sums(self) -> dict[str, float]:
        spec, ids = rq.bucket_metrics(self.env, self.bucket.snapshot, self.name, self.bucket.region, self.filters)
        obs = self.bucket.seen(spec)
        return {fid: v for (fid, _), v in _sums(obs, f"the 5xx errors of bucket {self.name}", ids).items()}

    def context(self) -> dict[str, Any]:
        start, end = rq.window(self.env, self.bucket.snapshot)
        return {**self.bucket.context(), "metric": "5xxErrors", "start": start, "end": end, "namespace": "AWS/S3",
                "dimensions": f"Name=BucketName,Value={self.bucket.name} Name=FilterId,Value=EntireBucket"}


# --------------------------------------------------------------------------- PDV-07 drift

STATE_TYPE = {"table": "aws_dynamodb_table", "bucket": "aws_s3_bucket"}


class Drift:
    """Expected (environments.toml), Terraform state and live, for one table or bucket."""

    def __init__(self, view: view.View, kind: str):
        self.view, self.kind, self.name, self.env = view, kind, view.name, view.env
        self.snapshot = view.snapshot

    def state_resources(self) -> list[st.StateResource]:
        tf = self.env.terraform
        obs = self.view.seen(rq.state_object(self.env))
        data = read(obs, f"the Terraform state s3://{tf.state_bucket}/{tf.state_key}", absent_ok=True)
        if data is None:
            raise Missing(f"the Terraform state s3://{tf.state_bucket}/{tf.state_key} does not exist "
                          "(reported by CICD-03)", by="CICD-03/state")
        parsed, why = st.parse_state(st.body_bytes(data.get("Body")))
        if parsed is None:
            raise Unverifiable(f"could not verify drift: the Terraform state {why}")
        return st.resources(parsed)

    def live_tables(self) -> set[str]:
        listing = read(self.view.seen(rq.live_tables(self.env)),
                       f"the table list in {self.env.region}")
        return set(listing.get("TableNames", []))

    def live_buckets(self) -> set[str]:
        listing = read(self.view.seen(rq.live_buckets(self.env)), "the account's bucket list")
        return {b.get("Name") for b in listing.get("Buckets", [])}

    def in_state(self) -> list[st.StateResource]:
        return [r for r in self.state_resources() if r.type == STATE_TYPE[self.kind] and r.identity == self.name]

    @property
    def live(self) -> bool:
        return self.name in (self.live_tables() if self.kind == "table" else self.live_buckets())

    def address(self) -> str:
        try:
            found = self.in_state()
        except (Missing, Unverifiable):
            found = []
        return found[0].address if found else f"{STATE_TYPE[self.kind]}.{self.name}"

    def problem(self) -> str:
        """'' when expected, state and live agree; otherwise which of the three lacks the resource."""
        in_state, live = bool(self.in_state()), self.live
        what = f"{self.kind} {self.name}"
        if in_state and live:
            return ""
        if live:
            return (f"{what} is expected and live but missing from Terraform state: import it "
                    f"(terraform import {self.address()} {self.name})")
        if in_state:
            return (f"{what} is expected and in Terraform state ({self.address()}) but not live: "
                    "it was deleted outside Terraform (terraform apply recreates it)")
        return f"{what} is expected but neither in Terraform state nor live: it was never deployed"

    def context(self) -> dict[str, Any]:
        return {**self.view.context(), "address": self.address(), "resource": self.name}


class Inventory:
    """PDV-07's 'nothing unexpected': the account's tables (in the env's region) and buckets, live and in the
    Terraform state, against what environments.toml expects. Its resource is the account."""

    def __init__(self, snapshot: Any, env: Any):
        self.snapshot, self.env, self.name = snapshot, env, env.account
        self.first_address = ""  # the state address of the first unexpected resource, for the remediation

    def unexpected(self) -> list[str]:
        """Tables and buckets in Terraform state, or tables live, that environments.toml does not expect."""
        env = self.env
        rep = env.s3.replication
        expected = {"table": set(env.tables), "bucket": {env.s3.bucket, *([rep.destination] if rep else [])}}
        probe = Drift(ddb.Table(self.snapshot, env, next(iter(env.tables), "")), "table")
        state = probe.state_resources()
        live_tables = probe.live_tables()
        live_buckets = probe.live_buckets()
        out = []
        for kind, rtype in STATE_TYPE.items():
            for r in state:
                if r.type == rtype and r.identity not in expected[kind]:
                    live = r.identity in (live_tables if kind == "table" else live_buckets)
                    self.first_address = self.first_address or r.address
                    out.append(f"{kind} {r.identity} is in Terraform state ({r.address}) and "
                               f"{'live' if live else 'not live'} but not expected by environments.toml")
        managed = {r.identity for r in state if r.type == STATE_TYPE["table"]}
        for name in sorted(live_tables - expected["table"] - managed - {env.terraform.lock_table}):
            out.append(f"table {name} is live in {env.region} but neither expected nor in Terraform state")
        return out

    def context(self) -> dict[str, Any]:
        fix = (f"terraform plan -refresh-only; expect each resource it lists in environments.toml, or take it out "
               f"of the deployment (e.g. terraform state rm {self.first_address}, then delete it)"
               if self.first_address else "")
        return {"resource": self.name, "address": self.first_address, "fix": fix}


# --------------------------------------------------------------------------- PDV-08 parity

class Parity:
    """This env's configuration against the other bundle's (recorded by the collector)."""

    def __init__(self, snapshot: Any, env: Any):
        self.snapshot, self.env, self.name = snapshot, env, env.name

    @property
    def given(self) -> bool:
        return bool(self.snapshot.meta.get("compare_with"))

    @cached_property
    def other(self) -> dict[str, Any]:
        path = self.snapshot.meta.get("compare_with")
        obs = self.snapshot.get("bundle", "", "Load", path=path)
        if obs is not None and obs.code == "BundleError":
            raise Unverifiable(f"could not compare with {path}: {obs.error['message']}", obs)
        return read(obs, f"the bundle {path}") or {}

    def differences(self) -> list[parity.Difference]:
        mine, unreadable = parity.configuration(self.snapshot, self.env)
        unreadable = [f"{self.env.name}: {u}" for u in unreadable] + [
            f"{self.other.get('env')}: {u}" for u in self.other.get("unreadable", [])]
        if unreadable:
            raise Unverifiable("could not compare the configurations: " + "; ".join(unreadable))
        declared = sorted(set(self.env.env_specific) | set(self.other.get("env_specific", [])))
        return parity.compare(self.other.get("configuration", {}), mine, declared)

    def context(self) -> dict[str, Any]:
        return {"resource": f"{self.other.get('env', '?')} -> {self.env.name}" if self.given else self.env.name}

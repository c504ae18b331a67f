"""Resource views: what the DynamoDB and S3 assertions read, straight from the snapshot.

A property returns data, raises Missing when the resource itself is absent (its own check
reports that), or raises Unverifiable when the read failed.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any

from .collect.aws_resources import bucket_region, role_arn, table_arn
from .config import Env, Gsi, Key
from .outcome import Missing, Unverifiable, read
from .snapshot import Observation, Snapshot


def table_missing(name: str, region: str) -> Missing:
    return Missing(f"table {name} does not exist in {region} (reported by DDB-01)", by="test_table_exists")


def bucket_missing(name: str) -> Missing:
    return Missing(f"bucket {name} does not exist (reported by S3-01)", by="test_bucket_exists")


def plan_missing(plan: str) -> Missing:
    return Missing(f"backup plan {plan} does not exist (reported by test_backup_plan)", by="test_backup_plan")


class View:
    def __init__(self, snapshot: Snapshot, env: Env, name: str, region: str | None = None):
        self.snapshot, self.env, self.name = snapshot, env, name
        self.region = region or env.region

    def obs(self, service: str, operation: str, region: str | None = None, **params: Any) -> Observation | None:
        return self.snapshot.get(service, region or self.region, operation, **params)

    def context(self) -> dict[str, Any]:
        return {"region": self.region, "resource": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Table(View):
    """One expected DynamoDB table in the env's primary region."""

    @property
    def arn(self) -> str:
        return table_arn(self.env, self.name, self.region)

    def context(self) -> dict[str, Any]:
        return {**super().context(), "table": self.name, "table_arn": self.arn, "arn": self.arn}

    @cached_property
    def description(self) -> dict[str, Any] | None:
        """DescribeTable's Table, or None when the table does not exist here."""
        data = read(self.obs("dynamodb", "DescribeTable", TableName=self.name), f"table {self.name}", absent_ok=True)
        return None if data is None else data.get("Table", {})

    @property
    def table(self) -> dict[str, Any]:
        if self.description is None:
            raise table_missing(self.name, self.region)
        return self.description

    @property
    def exists(self) -> bool:
        return self.description is not None

    def found_in(self) -> list[str]:
        """Other configured regions whose table list holds this name."""
        found = []
        for region in self.env.regions:
            if region == self.region:
                continue
            listing = read(self.obs("dynamodb", "ListTables", region), f"the table list in {region}")
            if self.name in listing.get("TableNames", []):
                found.append(region)
        return found

    @property
    def status(self) -> str:
        return self.table.get("TableStatus", "")

    @property
    def key_schema(self) -> dict[str, str]:
        return _keys(self.table.get("KeySchema", []), self.table.get("AttributeDefinitions", []))

    def expected_keys(self) -> dict[str, str]:
        d = self.env.dynamodb
        return _expected_keys(d.hash_key, d.range_key)

    @property
    def gsis(self) -> dict[str, dict[str, Any]]:
        return {g["IndexName"]: g for g in self.table.get("GlobalSecondaryIndexes", [])}

    def gsi(self, name: str) -> GsiView:
        return GsiView(self, name)

    @property
    def pitr_status(self) -> str:
        obs = self.obs("dynamodb", "DescribeContinuousBackups", TableName=self.name)
        data = read(obs, f"PITR of {self.name}", absent_ok=True)
        if data is None:
            raise table_missing(self.name, self.region)
        desc = data.get("ContinuousBackupsDescription", {})
        return desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")

    @property
    def tags(self) -> dict[str, str]:
        obs = self.obs("dynamodb", "ListTagsOfResource", ResourceArn=self.arn)
        data = read(obs, f"tags of {self.name}", absent_ok=True)
        if data is None:
            raise table_missing(self.name, self.region)
        return {t["Key"]: t["Value"] for t in data.get("Tags", [])}

    @property
    def replicas(self) -> dict[str, str]:
        return {r["RegionName"]: r.get("ReplicaStatus", "") for r in self.table.get("Replicas", [])}

    def replica(self, region: str) -> Table:
        return Table(self.snapshot, self.env, self.name, region)

    @property
    def billing_mode(self) -> str:
        return self.table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")

    @property
    def stream_view_type(self) -> str:
        spec = self.table.get("StreamSpecification", {})
        return spec.get("StreamViewType", "") if spec.get("StreamEnabled") else "disabled"

    @property
    def deletion_protection(self) -> bool:
        return bool(self.table.get("DeletionProtectionEnabled", False))

    @property
    def sse_type(self) -> str:
        sse = self.table.get("SSEDescription") or {}
        return sse.get("SSEType", "DEFAULT (AWS owned key)") if sse.get("Status", "ENABLED") == "ENABLED" else ""


class GsiView:
    def __init__(self, table: Table, name: str):
        self.table, self.name = table, name
        self.expected: Gsi = table.env.tables[table.name].gsis[name]

    def context(self) -> dict[str, Any]:
        return {**self.table.context(), "index": self.name}

    @property
    def actual(self) -> dict[str, Any] | None:
        return self.table.gsis.get(self.name)

    def problems(self) -> list[str]:
        """Each way the index differs from the design, one message each."""
        g = self.actual
        if g is None:
            return [f"index {self.name} is missing (found: {', '.join(self.table.gsis) or 'none'})"]
        out = []
        if g.get("IndexStatus") != "ACTIVE":
            out.append(f"index {self.name} is {g.get('IndexStatus')}, expected ACTIVE")
        if g.get("Backfilling"):
            out.append(f"index {self.name} is still backfilling")
        keys = _keys(g.get("KeySchema", []), self.table.table.get("AttributeDefinitions", []))
        want = _expected_keys(self.expected.hash_key, self.expected.range_key)
        if keys != want:
            out.append(f"index {self.name} keys are {_fmt_keys(keys)}, expected {_fmt_keys(want)}")
        projection = g.get("Projection", {}).get("ProjectionType")
        if projection != self.expected.projection:
            out.append(f"index {self.name} projection is {projection}, expected {self.expected.projection}")
        return out


def _keys(schema: list[dict], attrs: list[dict]) -> dict[str, str]:
    types = {a["AttributeName"]: a["AttributeType"] for a in attrs}
    return {k["KeyType"]: f"{k['AttributeName']}:{types.get(k['AttributeName'], '?')}" for k in schema}


def _expected_keys(hash_key: str, range_key: str) -> dict[str, str]:
    out = {"HASH": _key_text(hash_key)}
    if range_key:
        out["RANGE"] = _key_text(range_key)
    return out


def _key_text(text: str) -> str:
    k = Key.parse(text)
    return f"{k.name}:{k.type}"


def _fmt_keys(keys: dict[str, str]) -> str:
    return ", ".join(f"{t} {k}" for t, k in sorted(keys.items())) or "none"


class Backup(View):
    """The env's backup vault, plan, selections and recovery points."""

    def context(self) -> dict[str, Any]:
        b = self.env.backup
        ctx = {**super().context(), "vault": b.vault, "plan": b.plan, "selection": b.selection}
        try:
            ctx["plan_id"] = self.plan_id
        except Unverifiable:
            pass  # the remediation then shows <plan_id>
        return ctx

    def vault_exists(self, region: str | None = None) -> bool:
        obs = self.obs("backup", "DescribeBackupVault", region, BackupVaultName=self.env.backup.vault)
        return read(obs, f"backup vault {self.env.backup.vault}", absent_ok=True) is not None

    @property
    def plan_id(self) -> str | None:
        listing = read(self.obs("backup", "ListBackupPlans"), "the backup plan list")
        for p in listing.get("BackupPlansList", []):
            if p.get("BackupPlanName") == self.env.backup.plan:
                return p["BackupPlanId"]
        return None

    @property
    def plan(self) -> dict[str, Any]:
        if self.plan_id is None:
            raise plan_missing(self.env.backup.plan)
        got = read(self.obs("backup", "GetBackupPlan", BackupPlanId=self.plan_id), f"plan {self.env.backup.plan}")
        return got.get("BackupPlan", {})

    @property
    def rules(self) -> list[dict[str, Any]]:
        return self.plan.get("Rules", [])

    @property
    def selections(self) -> list[dict[str, Any]]:
        if self.plan_id is None:
            raise plan_missing(self.env.backup.plan)
        listing = read(self.obs("backup", "ListBackupSelections", BackupPlanId=self.plan_id), "backup selections")
        out = []
        for s in listing.get("BackupSelectionsList", []):
            got = read(self.obs("backup", "GetBackupSelection", BackupPlanId=self.plan_id,
                                SelectionId=s["SelectionId"]), f"selection {s.get('SelectionName')}")
            out.append(got.get("BackupSelection", {}))
        return out

    def recovery_points(self, resource_arn: str) -> list[dict[str, Any]]:
        obs = self.obs("backup", "ListRecoveryPointsByBackupVault", BackupVaultName=self.env.backup.vault)
        data = read(obs, f"recovery points in {self.env.backup.vault}", absent_ok=True) or {}
        return [p for p in data.get("RecoveryPoints", []) if p.get("ResourceArn") == resource_arn]


def covers(selection: dict[str, Any], arn: str, tags: dict[str, str]) -> bool:
    """Does a backup selection include this resource, by ARN (wildcards allowed) or by tag?"""
    from fnmatch import fnmatchcase

    if any(fnmatchcase(arn, pattern) for pattern in selection.get("Resources", [])):
        excluded = any(fnmatchcase(arn, p) for p in selection.get("NotResources", []))
        return not excluded
    for cond in selection.get("ListOfTags", []):
        if cond.get("ConditionType", "STRINGEQUALS") == "STRINGEQUALS" and \
                tags.get(cond.get("ConditionKey", "")) == cond.get("ConditionValue"):
            return True
    for cond in (selection.get("Conditions") or {}).get("StringEquals", []):
        key = cond.get("ConditionKey", "").removeprefix("aws:ResourceTag/")
        if tags.get(key) == cond.get("ConditionValue"):
            return True
    return False


class Bucket(View):
    """One expected S3 bucket."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str):
        super().__init__(snapshot, env, name, bucket_region(env, name))

    def context(self) -> dict[str, Any]:
        ctx = {**super().context(), "bucket": self.name, "arn": f"arn:aws:s3:::{self.name}"}
        if self.env.s3.replication:
            ctx.update(dr_bucket=self.env.s3.replication.destination, dr_region=self.env.dr_region)
        return ctx

    def _get(self, operation: str, what: str) -> dict[str, Any] | None:
        """A bucket read; None when the configuration is absent; Missing when the bucket is."""
        obs = self.obs("s3", operation, Bucket=self.name)
        if obs is not None and obs.code == "NoSuchBucket":
            raise bucket_missing(self.name)
        return read(obs, f"{what} of bucket {self.name}", absent_ok=True)

    @property
    def exists(self) -> bool:
        obs = self.obs("s3", "HeadBucket", Bucket=self.name)
        return read(obs, f"bucket {self.name}", absent_ok=True) is not None

    def require(self) -> None:
        if not self.exists:
            raise bucket_missing(self.name)

    @property
    def location(self) -> str:
        data = self._get("GetBucketLocation", "the location") or {}
        return data.get("LocationConstraint") or "us-east-1"

    @property
    def owned(self) -> bool:
        listing = read(self.obs("s3", "ListBuckets", self.env.region), "the account's bucket list")
        return any(b.get("Name") == self.name for b in listing.get("Buckets", []))

    @property
    def versioning(self) -> str:
        data = self._get("GetBucketVersioning", "versioning") or {}
        return data.get("Status", "never enabled")

    @property
    def encryption_rules(self) -> list[dict[str, Any]]:
        data = self._get("GetBucketEncryption", "default encryption") or {}
        return data.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])

    @property
    def public_access_block(self) -> dict[str, bool]:
        data = self._get("GetPublicAccessBlock", "the public access block") or {}
        return data.get("PublicAccessBlockConfiguration", {})

    @property
    def policy(self) -> dict[str, Any]:
        data = self._get("GetBucketPolicy", "the bucket policy") or {}
        try:
            return json.loads(data.get("Policy") or "{}")
        except json.JSONDecodeError as exc:
            raise Unverifiable(f"the policy of bucket {self.name} is not valid JSON: {exc}") from None

    @property
    def statements(self) -> list[dict[str, Any]]:
        st = self.policy.get("Statement", [])
        return st if isinstance(st, list) else [st]

    @property
    def lifecycle_rules(self) -> list[dict[str, Any]]:
        data = self._get("GetBucketLifecycleConfiguration", "the lifecycle configuration") or {}
        return data.get("Rules", [])

    @property
    def logging(self) -> dict[str, Any]:
        data = self._get("GetBucketLogging", "access logging") or {}
        return data.get("LoggingEnabled", {})

    @property
    def replication(self) -> dict[str, Any] | None:
        data = self._get("GetBucketReplication", "the replication configuration")
        return None if data is None else data.get("ReplicationConfiguration", {})

    @property
    def tags(self) -> dict[str, str]:
        data = self._get("GetBucketTagging", "tags") or {}
        return {t["Key"]: t["Value"] for t in data.get("TagSet", [])}

    @property
    def keys(self) -> set[str]:
        self.require()
        data = self._get("ListObjectsV2", "the object list") or {}
        return {o["Key"] for o in data.get("Contents", [])}

    def template(self, key: str) -> Template:
        return Template(self, key)


class Account(View):
    """Account-level facts: the caller and the account's S3 public access block."""

    @property
    def caller(self) -> dict[str, Any]:
        return read(self.obs("sts", "GetCallerIdentity"), "the caller identity")

    @property
    def public_access_block(self) -> dict[str, bool] | None:
        obs = self.obs("s3control", "GetPublicAccessBlock", AccountId=self.env.account)
        data = read(obs, f"the account public access block of {self.env.account}", absent_ok=True)
        return None if data is None else data.get("PublicAccessBlockConfiguration", {})

    def context(self) -> dict[str, Any]:
        return {**super().context(), "account": self.env.account}


class Template(View):
    """One template object, as GetObject saw it."""

    def __init__(self, bucket: Bucket, key: str):
        super().__init__(bucket.snapshot, bucket.env, key, bucket.region)
        self.bucket, self.key = bucket, key

    def context(self) -> dict[str, Any]:
        return {**self.bucket.context(), "key": self.key, "resource": self.key}

    @cached_property
    def object(self) -> dict[str, Any] | None:
        self.bucket.require()
        obs = self.obs("s3", "GetObject", Bucket=self.bucket.name, Key=self.key)
        return read(obs, f"s3://{self.bucket.name}/{self.key}", absent_ok=True)

    @property
    def exists(self) -> bool:
        return self.object is not None

    @property
    def body(self) -> str:
        body = (self.object or {}).get("Body", "")
        return body if isinstance(body, str) else ""

    @property
    def size(self) -> int:
        return int((self.object or {}).get("ContentLength", len(self.body.encode())))

    @property
    def content_type(self) -> str:
        return (self.object or {}).get("ContentType", "")

    @property
    def replication_status(self) -> str:
        return (self.object or {}).get("ReplicationStatus", "")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


def dr_bucket(snapshot: Snapshot, env: Env) -> Bucket | None:
    rep = env.s3.replication
    return Bucket(snapshot, env, rep.destination) if rep else None


def replication_role_exists(snapshot: Snapshot, env: Env) -> bool:
    rep = env.s3.replication
    assert rep is not None
    obs = snapshot.get("iam", env.region, "GetRole", RoleName=rep.role)
    return read(obs, f"IAM role {rep.role}", absent_ok=True) is not None


class AppRole(View):
    """An application role's permissions, by IAM policy simulation."""

    @property
    def arn(self) -> str:
        return role_arn(self.env, self.name)

    def context(self) -> dict[str, Any]:
        return {**super().context(), "principal_arn": self.arn, "role": self.name}

    def denied(self) -> list[tuple[str, str, str]]:
        """(action, resource, decision) for every simulated action that is not allowed."""
        need = self.env.iam.app_roles[self.name]
        out = []
        role = read(self.obs("iam", "GetRole", RoleName=self.name), f"IAM role {self.name}", absent_ok=True)
        if role is None:
            return [("*", self.arn, "the role does not exist")]
        for actions, resources in ((need.table_actions, [table_arn(self.env, t) for t in self.env.tables]),
                                   (need.bucket_actions, [f"arn:aws:s3:::{self.env.s3.bucket}/*"])):
            if not actions:
                continue
            data = read(self.obs("iam", "SimulatePrincipalPolicy", PolicySourceArn=self.arn, ActionNames=actions,
                                 ResourceArns=resources), f"the permissions of {self.name}")
            for r in data.get("EvaluationResults", []):
                if r.get("EvalDecision") != "allowed":
                    out.append((r.get("EvalActionName", "?"), r.get("EvalResourceName", "*"),
                                r.get("EvalDecision", "?")))
        return out


def scope_of(obs: Observation, scopes: list[str]) -> str:
    """The scope (table, bucket, or 'account' for everything else) an observation belongs to."""
    res = obs.resource()
    for scope in scopes:
        if res == scope or res.endswith(f"/{scope}"):
            return scope
    return "account"


def denied_reads(snapshot: Snapshot, scope: str, scopes: list[str]) -> list[Observation]:
    """AWS reads refused with an access error, in this scope."""
    return [o for o in snapshot.denied() if o.service not in ("file", "github") and scope_of(o, scopes) == scope]


class Reads(View):
    """DDB-06: the suite's own reads for one scope (a table, a bucket, or the account)."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str, scopes: list[str]):
        super().__init__(snapshot, env, name)
        self.scopes = scopes

    @property
    def denied(self) -> list[Observation]:
        return denied_reads(self.snapshot, self.name, self.scopes)

    def context(self) -> dict[str, Any]:
        ctx = {**super().context(), "principal_arn": (self.snapshot.meta.get("caller") or {}).get("arn")}
        first = next(iter(self.denied), None)
        if first is not None:
            res = first.resource()
            ctx.update(action=f"{first.service}:{first.operation}",
                       resource_arn=res if res.startswith("arn:") else
                       table_arn(self.env, res) if res in self.env.tables else f"arn:aws:s3:::{res}")
        return ctx

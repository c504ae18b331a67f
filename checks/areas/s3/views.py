"""S3 views: the bucket's configuration, its templates, the DR bucket and the account-level block."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any

from checks.areas.s3 import policy as pol
from checks.areas.s3 import reads as r
from checks.core.arns import bucket_arn, bucket_region, role_arn
from checks.core.config import Env
from checks.core.outcome import Unverifiable, read
from checks.core.read import caller_identity, get_role
from checks.core.snapshot import Snapshot
from checks.core.tags import tag_arg
from checks.core.view import View, bucket_missing, setting


class Bucket(View):
    """One expected S3 bucket."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str):
        super().__init__(snapshot, env, name, bucket_region(env, name))

    def context(self) -> dict[str, Any]:
        ctx = {**super().context(), "bucket": self.name, "arn": bucket_arn(self.name),
               "expected_tags": tag_arg(self.env.bucket_tags())}
        if self.env.s3.replication:
            ctx.update(dr_bucket=self.env.s3.replication.destination, dr_region=self.env.dr_region)
        if self.env.s3.templates:  # an object for the bucket-level commands: the first FAILED template, or the first
            failed = [k for k in self.env.s3.templates if self._replication_status(k) == "FAILED"]
            ctx["key"] = (failed or self.env.s3.templates)[0]
        return ctx

    def _replication_status(self, key: str) -> str:
        obs = self.seen(r.get_object(self.name, key))
        return ((obs.response or {}) if obs is not None and obs.ok else {}).get("ReplicationStatus", "")

    def _get(self, operation: str, what: str) -> dict[str, Any] | None:
        """A bucket read; None when the configuration is absent; Missing when the bucket is."""
        obs = self.seen(r.bucket_config(operation, self.name))
        if obs is not None and obs.code == "NoSuchBucket":
            raise bucket_missing(self.name)
        return read(obs, f"{what} of bucket {self.name}", absent_ok=True)

    @property
    def exists(self) -> bool:
        obs = self.seen(r.head_bucket(self.name))
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
        return any(b.get("Name") == self.name for b in self._listing.get("Buckets", []))

    @property
    def owner_id(self) -> str | None:
        """The account's canonical user id (the bucket list's Owner)."""
        return (self._listing.get("Owner") or {}).get("ID")

    @property
    def _listing(self) -> dict[str, Any]:
        return read(self.seen(r.list_buckets()), "the account's bucket list")

    @setting
    def versioning(self) -> str:
        data = self._get("GetBucketVersioning", "versioning") or {}
        return data.get("Status", "never enabled")

    @setting
    def encryption_rules(self) -> list[dict[str, Any]]:
        data = self._get("GetBucketEncryption", "default encryption") or {}
        return data.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])

    @setting
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

    @setting
    def statements(self) -> list[dict[str, Any]]:
        st = self.policy.get("Statement", [])
        return st if isinstance(st, list) else [st]

    def external_grants(self) -> list[pol.Grant]:
        """Allow grants to principals outside the account that s3.external_principals does not list."""
        statements = self.statements
        owner = self.owner_id if pol.needs_owner(statements) else None
        return [g for s in statements for g in pol.grants(s)
                if pol.outside(g, self.env.account, owner) and not pol.expected(g, self.env.s3.external_principals)]

    @property
    def tls_denies(self) -> list[dict[str, Any]]:
        return pol.tls_denies(self.statements)

    def tls_gaps(self) -> list[str]:
        """What the TLS-only Deny leaves open of the bucket and its objects (empty when it covers both)."""
        return pol.tls_gaps(self.statements, self.name)

    @setting
    def lifecycle_rules(self) -> list[dict[str, Any]]:
        data = self._get("GetBucketLifecycleConfiguration", "the lifecycle configuration") or {}
        return data.get("Rules", [])

    @setting
    def logging(self) -> dict[str, Any]:
        data = self._get("GetBucketLogging", "access logging") or {}
        return data.get("LoggingEnabled", {})

    @setting
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
        listing = self.seen(r.list_objects(self.name))
        data = read(listing, f"the object list of bucket {self.name}", absent_ok=True) or {}
        return {o["Key"] for o in data.get("Contents", [])}

    def template(self, key: str) -> Template:
        return Template(self, key)


class Account(View):
    """Account-level facts: the caller and the account's S3 public access block."""

    @property
    def caller(self) -> dict[str, Any]:
        return read(self.seen(caller_identity()), "the caller identity")

    @property
    def public_access_block(self) -> dict[str, bool] | None:
        obs = self.seen(r.account_public_access_block(self.env.account))
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
        obs = self.seen(r.get_object(self.bucket.name, self.key))
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


class ReplicationRole(View):
    """The IAM role S3 assumes to replicate the bucket (S3-05)."""

    @property
    def exists(self) -> bool:
        return read(self.seen(get_role(self.name)), f"IAM role {self.name}", absent_ok=True) is not None

    def context(self) -> dict[str, Any]:  # S3-05's commands name the source bucket and a template
        source = Bucket(self.snapshot, self.env, self.env.s3.bucket).context()
        return {**source, **super().context(), "role": self.name, "role_arn": role_arn(self.env, self.name)}


def replication_role(snapshot: Snapshot, env: Env) -> ReplicationRole | None:
    rep = env.s3.replication
    return ReplicationRole(snapshot, env, rep.role) if rep else None


def filter_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a replication rule keeps: the V2 `Filter`'s (alone or inside `And`), or the V1 rule's
    `Prefix`. A tag in the filter narrows it further by the objects' tags, which S3-05 judges by where the
    templates actually are (test_template_replicated), not here."""
    filt = rule.get("Filter")
    if not isinstance(filt, dict):
        return str(rule.get("Prefix") or "")
    both = filt.get("And")
    return str((both if isinstance(both, dict) else filt).get("Prefix") or "")

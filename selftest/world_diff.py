"""What a fault changes in the world, as the suite's own collectors read it (selftest/test_faults.py).

`observed` reads every area's collectors from a world (no canary); `observed_of` keys a run's snapshot the same
way; `FaultProbe` is a plugin that, once the suite's world is built, reads it, injects one fault, and keeps what
the run then read: one world and one suite run give both the fault's changed reads and its failed checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import boto3
import pytest

from checks import areas
from checks.core.aws import Aws
from checks.core.collect import Context, Options, collect_all
from checks.core.config import Env
from checks.core.read import caller_identity
from checks.core.snapshot import Observation, Snapshot
from checks.plugin.run import RUN
from checks.world import World, adapt_client
from checks.world.patches import s3replication

Reads = dict[tuple[str, str, str], Any]


def observed_of(observations: Iterable[Observation]) -> Reads:
    """(service:operation, region, parameters) -> (answer, error code), AWS reads only. A metrics window
    (StartTime/EndTime) is left out of the key: it moves with the clock."""
    out = {}
    for o in observations:
        if o.service in ("file", "canary"):
            continue
        params = {k: v for k, v in o.params.items() if k not in ("StartTime", "EndTime")}
        key = (f"{o.service}:{o.operation}", o.region or "", json.dumps(params, sort_keys=True, default=str))
        out[key] = (o.response, o.error.get("code") if o.error else None)
    return out


def observed(w: World, env: Env, options: Options | None = None) -> Reads:
    """What the suite's collectors read from the world (every area, no canary)."""
    aws = Aws(env, Snapshot({"run_id": "world-diff"}), allowed=areas.allowlist(), endpoint_url=w.endpoint_url,
              adapt=adapt_client, session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                                        region_name=env.region))
    aws.read(caller_identity())
    collect_all(Context(env, aws, aws.snapshot, options or Options()), areas.collectors())
    return observed_of(aws.snapshot)


def changed_reads(before: Reads, after: Reads) -> dict[str, list[str]]:
    """service:operation -> the parameters of each read whose answer differs."""
    out: dict[str, list[str]] = {}
    for key in set(before) | set(after):
        if before.get(key) != after.get(key):
            out.setdefault(key[0], []).append(key[2])
    return out


class FaultProbe:
    """Injects `fid` on `resource` into the suite's own world after reading it once; keeps the reads before, the
    run's reads after, and what the deeper checks of the world (check_fault) found, while the world still runs."""

    def __init__(self, fid: str | None, resource: str | None = None):  # no fid: read before and after, inject nothing
        self.fid, self.resource = fid, resource
        self.before: Reads = {}
        self.after: Reads = {}
        self.problems: list[str] = []
        self.world: World | None = None
        self.config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_bbws_world_ready(self, world: World) -> None:
        run = self.config.stash.get(RUN, None) if self.config is not None else None
        s3replication.run_pending()
        self.before = observed(world, world.env, run.options if run is not None else None)
        if self.fid:
            world.inject(self.fid, self.resource)
            s3replication.run_pending()
        self.world = world

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        run = session.config.stash.get(RUN, None)
        if run is None or run.snapshot is None or self.world is None:
            self.problems.append("the run built no world or read nothing")
            return
        self.after = observed_of(run.snapshot)
        try:
            if self.fid:
                check_fault(self.fid, self.world, self.resource)
        except AssertionError as exc:
            self.problems.append(f"{self.fid}: {exc}")


def check_fault(fid: str, w: World, resource: str | None) -> None:
    """Deeper checks of some faults, on the world itself (optional: a new fault needs none)."""
    env = w.env
    tf, bucket, dr, dr_bucket = env.terraform, env.s3.bucket, env.dr_region, env.s3.replication.destination
    ddb, s3 = w.client("dynamodb"), w.client("s3")
    if fid == "DDB-01":
        assert resource not in ddb.list_tables()["TableNames"]
        assert w.client("dynamodb", dr).describe_table(TableName=resource)["Table"]["TableStatus"] == "ACTIVE"
    elif fid == "S3-04":
        kept = [v["Key"] for v in w.client("s3", dr).list_object_versions(Bucket=dr_bucket).get("Versions", [])]
        assert resource in kept, "the DR copy stays"
    elif fid == "S3-05":
        s3.put_object(Bucket=bucket, Key="selftest/after.html", Body=b"z")
        s3replication.run_pending()
        assert "ReplicationStatus" not in s3.head_object(Bucket=bucket, Key="selftest/after.html")
    elif fid == "S3-05.filter":  # the world replicates by the filter: a key outside it stays put
        prefix = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"][0]["Filter"]["Prefix"]
        s3.put_object(Bucket=bucket, Key="selftest/outside.html", Body=b"o")
        s3.put_object(Bucket=bucket, Key=f"{prefix}inside.html", Body=b"i")
        s3replication.run_pending()
        assert "ReplicationStatus" not in s3.head_object(Bucket=bucket, Key="selftest/outside.html")
        assert s3.head_object(Bucket=bucket, Key=f"{prefix}inside.html")["ReplicationStatus"] == "COMPLETED"
    elif fid == "DDB-04.vault":  # UpdateBackupPlan (a moto patch) keeps the plan's id
        backup = w.client("backup")
        (plan,) = backup.list_backup_plans()["BackupPlansList"]
        rule = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"][0]
        assert rule["TargetBackupVaultName"] == f"{env.backup.vault}-old" and "RuleId" in rule
        backup.describe_backup_vault(BackupVaultName=rule["TargetBackupVaultName"])
    elif fid == "CICD-05":
        item = ddb.get_item(TableName=tf.lock_table, Key={"LockID": {"S": f"{tf.state_bucket}/{tf.state_key}"}})
        info = json.loads(item["Item"]["Info"]["S"])
        created = dt.datetime.fromisoformat(info["Created"].replace("Z", "+00:00"))
        assert info["Operation"] == "OperationTypeApply" and info["Path"] == f"{tf.state_bucket}/{tf.state_key}"
        assert dt.timedelta(minutes=110) < dt.datetime.now(dt.UTC) - created < dt.timedelta(minutes=130)
    elif fid == "PDV-07":
        body = s3.get_object(Bucket=tf.state_bucket, Key=tf.state_key)["Body"].read()
        assert resource not in [r["name"] for r in json.loads(body)["resources"] if r["type"] == "aws_dynamodb_table"]
        item = ddb.get_item(TableName=tf.lock_table, Key={"LockID": {"S": f"{tf.state_bucket}/{tf.state_key}-md5"}})
        assert item["Item"]["Digest"]["S"] == hashlib.md5(body).hexdigest()

"""Issue 10.3: least privilege. The guard's allowlist is exactly what the collectors call, and the
shipped IAM policies and the README's permission list are exactly the allowlist.

Every collector (all areas, canaries on, the CI/CD collector with the selftest infra repo, an
earlier run's canaries planted so the leftover clean-up runs too) is run against the embedded
world, and every operation a guarded client is asked for is recorded by a botocore event.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from checks import areas
from checks.core import config
from checks.core.aws import Aws
from checks.core.collect import Context, Options, collect_all
from checks.core.guard import CANARY_META, CANARY_OPS, CANARY_PK, iam_action
from checks.core.read import caller_identity
from checks.core.snapshot import Snapshot
from checks.plugin.run import Run
from checks.world import World, adapt_client

REPO = Path(__file__).resolve().parent.parent
ENV = config.load()["local"]
READONLY = REPO / "iam" / "bbws-checks-readonly.json"
CANARY = REPO / "iam" / "bbws-checks-canary.json"
OLD = "bbws~20200101T000000Z-abcdef"


@pytest.fixture(scope="module")
def world():
    w = World(ENV).start()
    ddb, s3 = w.client("dynamodb"), w.client("s3")
    for table in ENV.tables:  # an earlier run's leftovers, with the suite's marker
        ddb.put_item(TableName=table, Item={"PK": {"S": CANARY_PK}, "SK": {"S": OLD}, "bbws_canary": {"S": OLD}})
    s3.put_object(Bucket=ENV.s3.bucket, Key=f"healthcheck/bbws-canary/{OLD}.txt", Body=b"x",
                  Metadata={CANARY_META: OLD})
    yield w
    w.stop()


def called(world: World) -> tuple[set[tuple[str, str]], Aws]:
    seen: set[tuple[str, str]] = set()
    run = Run(env=ENV, options=Options(), args=[])
    aws = Aws(ENV, Snapshot({"run_id": run.run_id}), allowed=areas.allowlist(), endpoint_url=world.endpoint_url,
              canary=True, adapt=adapt_client,
              session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=ENV.region))

    def hook(client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register("before-parameter-build",
                                    lambda model, **_: seen.add((service, model.name)))

    aws.client_hooks.append(hook)
    aws.read(caller_identity())  # the account guard's first read
    options = Options(infra_repo=REPO / "selftest" / "infra_repo")
    collect_all(Context(ENV, aws, aws.snapshot, options), areas.collectors())
    return seen, aws


def test_the_allowlist_is_exactly_what_the_collectors_call(world):
    seen, aws = called(world)
    refused = sorted({o.label for o in aws.snapshot if o.code == "WriteRefused"})
    assert refused == [], f"the guard refused a collector's call: {refused}"
    reads = {op for op in seen if op not in CANARY_OPS}
    allowed = areas.allowlist()
    assert sorted(reads - allowed) == [], "called but not declared by any area (add it to that area's reads.py READS)"
    assert sorted(allowed - reads) == [], "declared but never called: remove it from READS (least privilege)"
    assert {op for op in seen if op in CANARY_OPS} == set(CANARY_OPS), "every canary write was exercised"


def _actions(path: Path) -> dict[str, set[str]]:
    policy = json.loads(path.read_text())
    assert policy["Version"] == "2012-10-17"
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and not any(a.endswith("*") for a in statement["Action"])
        out[statement["Sid"]] = set(statement["Action"])
    return out


def test_the_readonly_policy_grants_exactly_the_allowlist():
    granted = set().union(*_actions(READONLY).values())
    assert granted == {iam_action(s, o) for s, o in areas.allowlist()}


def test_the_canary_policy_grants_only_the_canary_writes_on_the_canary_keys():
    policy = json.loads(CANARY.read_text())
    granted = set().union(*_actions(CANARY).values())
    assert granted == {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "s3:PutObject",
                       "s3:DeleteObjectVersion", "s3:DeleteObject"}
    for statement in policy["Statement"]:
        if any(a.startswith("s3:") for a in statement["Action"]):
            assert all(r.endswith("/healthcheck/bbws-canary/*") for r in statement["Resource"])
        elif statement["Sid"] != "CanaryGsiQuery":
            leading = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
            assert leading == [CANARY_PK]


def test_the_readme_lists_exactly_the_policy():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- iam-readonly:begin -->(.*?)<!-- iam-readonly:end -->", readme, re.S)
    assert block, "README has no generated permission list"
    listed = set(re.findall(r"`([a-z0-9]+:[A-Za-z0-9]+)`", block.group(1)))
    assert listed == set().union(*_actions(READONLY).values())

"""Issues 7.4 and 10.3: the read-only guard against every operation botocore's models list.

The guard allows a closed allowlist (checks.core.guard.READS), not read-named operations. This
file proves, against the models, that every allowlisted operation is a true read (no side
effect) and that every other operation, read-named ones included (ecr:GetAuthorizationToken,
sts:GetSessionToken, ...), is refused before a request exists.

The oracle below is written from the service models, independently of the allowlist:
- the operation's verb (its first CamelCase word; "BatchGet" counts as one) must be a read
  verb; every other verb (Create, Put, Delete, Update, Tag, Start, Generate, Encrypt,
  Transact, Execute, Select, ...) is a write, and an unknown verb fails closed;
- for REST protocols the HTTP method must be GET or HEAD, except the few POST reads listed
  in POST_READS (a request body that carries the query, no side effect);
- operations whose name reads but whose effect writes are listed in SIDE_EFFECTS, each with
  its reason (they mint credentials or create key material);
- sts:AssumeRole and sts:AssumeRoleWithWebIdentity are the suite's own sanctioned credential
  exchanges (env.role_arn, CI's OIDC role).

Every operation is then called on a real, guarded client (`Aws.client`, so `install_guard`
as the suite uses it) whose transport is a before-send hook that records and answers: a
refused operation must raise WriteRefused with nothing recorded; a read must get past the
guard (it may then fail parameter validation, which is botocore's business, not the guard's).
"""

from __future__ import annotations

import re

import boto3
import botocore.session
import pytest

from checks import areas
from checks.core import config
from checks.core.aws import Aws
from checks.core.guard import CREDENTIAL_EXCHANGES, WriteRefused, is_read
from checks.core.snapshot import Snapshot
from selftest.transport import response

SERVICES = ("dynamodb", "s3", "s3control", "backup", "iam", "sts", "cloudwatch", "kms", "ecr", "sso", "redshift")
READ_VERBS = {"Describe", "Get", "List", "Head", "Query", "Scan", "BatchGet", "Simulate", "Lookup"}
POST_READS = {  # REST operations sent as POST that only read
    ("backup", "GetBackupPlanFromJSON"), ("backup", "ListBackupAccessPointsByRecoveryPoint"),
    ("backup", "ListBackupAccessPointsByResource"),
}
SIDE_EFFECTS = {
    ("sts", "GetSessionToken"), ("sts", "GetFederationToken"), ("sts", "GetDelegatedAccessToken"),
    ("sts", "GetWebIdentityToken"), ("s3control", "GetDataAccess"), ("kms", "GetParametersForImport"),
}
SANCTIONED = {("sts", "AssumeRole"), ("sts", "AssumeRoleWithWebIdentity")}

ENV = config.load()["local"]
_models = botocore.session.get_session()


def verb(operation: str) -> str:
    words = re.findall(r"[A-Z][a-z]*", operation)
    if words[:2] == ["Batch", "Get"]:
        return "BatchGet"
    return words[0] if words else operation


def oracle_is_read(service: str, operation: str) -> bool:
    if (service, operation) in SANCTIONED:
        return True
    if (service, operation) in SIDE_EFFECTS or verb(operation) not in READ_VERBS:
        return False
    model = _models.get_service_model(service)
    if model.protocol.startswith("rest-"):
        method = model.operation_model(operation).http.get("method", "POST")
        return method in ("GET", "HEAD") or (service, operation) in POST_READS
    return True


def all_operations() -> list[tuple[str, str]]:
    return [(s, op) for s in SERVICES for op in _models.get_service_model(s).operation_names]


def test_the_models_are_big_enough_to_mean_something():
    ops = all_operations()
    assert len(ops) > 600
    assert sum(oracle_is_read(s, o) for s, o in ops) > 250
    assert sum(not oracle_is_read(s, o) for s, o in ops) > 350
    # a few the oracle must get right on its own
    assert not oracle_is_read("kms", "GenerateDataKey") and not oracle_is_read("kms", "Decrypt")
    assert not oracle_is_read("dynamodb", "TransactWriteItems") and not oracle_is_read("s3", "SelectObjectContent")
    assert oracle_is_read("dynamodb", "BatchGetItem") and oracle_is_read("s3", "HeadObject")


@pytest.fixture(scope="module")
def guarded():
    """Guarded clients (the suite's own Aws layer) whose transport records and answers 200 {}."""
    sent: list[str] = []

    def transport(request, **_):
        sent.append(request.url)
        return response(request.url, 200)

    aws = Aws(ENV, Snapshot(), allowed=areas.allowlist(), endpoint_url="http://127.0.0.1:9",
              session=boto3.Session(aws_access_key_id="AKIDGUARDTEST", aws_secret_access_key="x",
                                    region_name="us-east-1"))
    aws.client_hooks.append(lambda c: c.meta.events.register("before-send", transport))
    return aws, sent


def _call(aws: Aws, service: str, operation: str) -> BaseException | None:
    client = aws.client(service, "us-east-1")
    try:
        getattr(client, _method(client, operation))()
    except Exception as exc:  # noqa: BLE001  (validation and parsing errors are expected for reads)
        return exc
    return None


def _method(client, operation: str) -> str:
    return {v: k for k, v in client.meta.method_to_api_mapping.items()}[operation]


def test_every_allowlisted_operation_exists_and_is_a_true_read():
    for service, operation in areas.allowlist() | CREDENTIAL_EXCHANGES:
        assert operation in _models.get_service_model(service).operation_names, f"{service}:{operation}"
        assert oracle_is_read(service, operation), f"{service}:{operation} is allowlisted but is not a read"


@pytest.mark.parametrize("service", SERVICES)
def test_guard_allows_exactly_the_allowlist(guarded, service):
    aws, sent = guarded
    wrongly_allowed, wrongly_refused = [], []
    for operation in _models.get_service_model(service).operation_names:
        if (service, operation) == ("dynamodb", "Scan"):
            continue  # allowlisted for the lock table only: test_guard.py
        before = len(sent)
        outcome = _call(aws, service, operation)
        refused = isinstance(outcome, WriteRefused)
        if is_read(service, operation, areas.allowlist()):
            if refused:
                wrongly_refused.append(operation)
        else:
            if not refused:
                wrongly_allowed.append(f"{operation} ({type(outcome).__name__ if outcome else 'sent'})")
            assert len(sent) == before, f"{service}:{operation} reached the transport"
            assert operation in str(outcome) and "only reads are allowed" in str(outcome)
    assert wrongly_allowed == [], f"{service}: the guard lets these through"
    assert wrongly_refused == [], f"{service}: the guard refuses these allowlisted reads"


def test_a_read_is_actually_sent(guarded):
    aws, sent = guarded
    before = len(sent)
    aws.client("dynamodb", "us-east-1").list_tables()
    aws.client("s3", "us-east-1").list_buckets()
    assert len(sent) == before + 2


def test_read_named_operations_that_mint_credentials_are_refused(guarded):
    aws, _ = guarded
    for service, call, params in (("sts", "get_session_token", {}), ("ecr", "get_authorization_token", {}),
                                  ("sso", "get_role_credentials", {"roleName": "r", "accountId": "1" * 12,
                                                                   "accessToken": "t"}),
                                  ("redshift", "get_cluster_credentials", {"DbUser": "u"})):
        with pytest.raises(WriteRefused, match="not in the suite's read allowlist"):
            getattr(aws.client(service, "us-east-1"), call)(**params)


def test_canary_mode_still_refuses_every_other_write(guarded):
    _, _ = guarded
    sent: list[str] = []
    aws = Aws(ENV, Snapshot(), allowed=areas.allowlist(), endpoint_url="http://127.0.0.1:9", canary=True,
              session=boto3.Session(aws_access_key_id="AKIDGUARDTEST", aws_secret_access_key="x",
                                    region_name="us-east-1"))
    aws.client_hooks.append(lambda c: c.meta.events.register(
        "before-send", lambda request, **_: sent.append(request.url) or response(request.url, 200)))
    for service, operation in all_operations():
        if is_read(service, operation, areas.allowlist()):
            continue
        outcome = _call(aws, service, operation)
        assert isinstance(outcome, WriteRefused), f"canary mode let {service}:{operation} through"
    assert sent == []


def test_guard_holds_for_batch_writes_and_lets_paginated_reads_through(guarded):
    aws, sent = guarded
    before = len(sent)
    with pytest.raises(WriteRefused):
        aws.client("dynamodb", "us-east-1").batch_write_item(
            RequestItems={"t": [{"DeleteRequest": {"Key": {"PK": {"S": "x"}}}}]})
    assert len(sent) == before
    list(aws.client("s3", "us-east-1").get_paginator("list_objects_v2").paginate(Bucket="b"))
    assert len(sent) == before + 1

"""Issue 7.4: the read-only guard against every operation botocore's models list.

The oracle below is written from the service models, independently of `checks.aws.is_read`:
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

from checks.core import config
from checks.core.aws import Aws, WriteRefused
from checks.core.snapshot import Snapshot
from selftest.transport import response

SERVICES = ("dynamodb", "s3", "s3control", "backup", "iam", "sts", "cloudwatch", "kms")
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

    aws = Aws(ENV, Snapshot(), endpoint_url="http://127.0.0.1:9",
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


@pytest.mark.parametrize("service", SERVICES)
def test_guard_agrees_with_the_model_oracle(guarded, service):
    aws, sent = guarded
    wrongly_allowed, wrongly_refused = [], []
    for operation in _models.get_service_model(service).operation_names:
        before = len(sent)
        outcome = _call(aws, service, operation)
        refused = isinstance(outcome, WriteRefused)
        if oracle_is_read(service, operation):
            if refused:
                wrongly_refused.append(operation)
        else:
            if not refused:
                wrongly_allowed.append(f"{operation} ({type(outcome).__name__ if outcome else 'sent'})")
            assert len(sent) == before, f"{service}:{operation} reached the transport"
            assert operation in str(outcome) and "only reads are allowed" in str(outcome)
    assert wrongly_allowed == [], f"{service}: the guard lets these non-reads through"
    assert wrongly_refused == [], f"{service}: the guard refuses these reads"


def test_a_read_is_actually_sent(guarded):
    aws, sent = guarded
    before = len(sent)
    aws.client("dynamodb", "us-east-1").list_tables()
    aws.client("s3", "us-east-1").list_buckets()
    assert len(sent) == before + 2


def test_side_effect_reads_say_why(guarded):
    aws, _ = guarded
    with pytest.raises(WriteRefused, match="mints temporary credentials"):
        aws.client("sts", "us-east-1").get_session_token()
    with pytest.raises(WriteRefused, match="wrapping key"):
        aws.client("kms", "us-east-1").get_parameters_for_import(KeyId="k", WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                                  WrappingKeySpec="RSA_2048")


def test_canary_mode_still_refuses_every_other_write(guarded):
    _, _ = guarded
    sent: list[str] = []
    aws = Aws(ENV, Snapshot(), endpoint_url="http://127.0.0.1:9", canary=True,
              session=boto3.Session(aws_access_key_id="AKIDGUARDTEST", aws_secret_access_key="x",
                                    region_name="us-east-1"))
    aws.client_hooks.append(lambda c: c.meta.events.register(
        "before-send", lambda request, **_: sent.append(request.url) or response(request.url, 200)))
    for service, operation in all_operations():
        if oracle_is_read(service, operation):
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

"""Issue 7.1-7.3: throttling, AccessDenied on each read, bad credentials and no region.

Each case is a full in-process suite run against a fresh moto world, compared with a clean
run of the same suite (`clean`, run once per session and shared).

The AccessDenied sweep denies one (service, operation) at a time. By default it covers a
representative subset (one or more reads per collector and service); BBWS_FULL_SWEEP=1
sweeps every read the clean run made (31 full runs, 5.7 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest

from checks import areas
from checks.areas.dynamodb.access import scope_of, scopes
from checks.core.config import load
from selftest.transport import json_error, operation_of, xml_error

ENV = load()["local"]
NON_AWS = {"file", "tool", "github", "canary"}
_clean: dict[str, Any] = {}


def clean(suite) -> Any:
    """The clean run (shared by every test here: the world and the suite are deterministic)."""
    if "result" not in _clean:
        r = suite.run()
        assert r.failed == set() and r.errors == set(), r.stdout[-3000:]
        _clean["result"] = r
        _clean["snapshot"] = json.loads((r.bundle / "snapshot.json").read_text())
    return _clean["result"]


def reads_of(snapshot: dict[str, Any]) -> set[tuple[str, str]]:
    return {(o["service"], o["operation"]) for o in snapshot["observations"] if o["service"] not in NON_AWS}


# Reads whose parameters come from another read's answer (checks/areas/*/collector.py):
# denying the first also takes the second away from whoever needs it.
DERIVED = {
    ("backup", "ListBackupPlans"): {("backup", "GetBackupPlan"), ("backup", "ListBackupSelections"),
                                    ("backup", "GetBackupSelection")},
    ("backup", "ListBackupSelections"): {("backup", "GetBackupSelection")},
}


def uses(record: dict[str, Any], service: str, operation: str) -> bool:
    needed = {(service, operation), *DERIVED.get((service, operation), ())}
    return any((o["service"], o["operation"]) in needed for o in record["observations"])


def changed(a: dict[str, str], b: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    return {t: (a.get(t), b.get(t)) for t in set(a) | set(b) if a.get(t) != b.get(t)}


# ----------------------------------------------------------------------------- throttling

class Throttle:
    """A botocore before-send hook answering ThrottlingException (DynamoDB) / SlowDown (S3).

    A request is picked when crc32 of its method, URL and body falls in 1/`every`; a picked
    request is throttled on its first `times` attempts (retries are the same request). An
    operation in `always` is throttled on every attempt: beyond any retry budget.

    Retries do not sleep: the suite's clients use botocore's standard retries here, whose
    backoff is recorded in `delays` (the delay botocore asked for) and then skipped, and
    adaptive mode's client-side rate limiter is left out (it only paces, it never decides
    whether a read is retried). So the run takes the same time on any machine.
    """

    def __init__(self, every: int = 3, times: int = 1, always: tuple[str, ...] = (), max_attempts: int = 0):
        self.every, self.times, self.always, self.max_attempts = every, times, set(always), max_attempts
        self.attempts: dict[bytes, int] = {}
        self.throttled = 0
        self._lock = threading.Lock()

        self.delays: list[float] = []

    def skip_backoff(self, monkeypatch: pytest.MonkeyPatch) -> Throttle:
        from botocore.retries.standard import ExponentialBackoff
        computed = ExponentialBackoff.delay_amount

        def delay_amount(backoff, context) -> float:
            with self._lock:
                self.delays.append(computed(backoff, context))
            return 0.0
        monkeypatch.setattr(ExponentialBackoff, "delay_amount", delay_amount)
        return self

    def pytest_bbws_aws_ready(self, aws):
        update: dict[str, Any] = {"retry_mode": "standard"}
        if self.max_attempts:
            update["max_attempts"] = self.max_attempts
        aws.env = aws.env.model_copy(update=update)
        aws.client_hooks.append(lambda client: client.meta.events.register("before-send", self.send))

    def send(self, request, event_name: str, **_):
        service, operation = operation_of(event_name)
        if service not in ("dynamodb", "s3"):
            return None
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        ident = f"{request.method} {request.url} ".encode() + body
        with self._lock:
            n = self.attempts[ident] = self.attempts.get(ident, 0) + 1
            picked = operation in self.always or (zlib.crc32(ident) % self.every == 0 and n <= self.times)
            self.throttled += picked
        if not picked:
            return None
        if service == "dynamodb":
            return json_error(request.url, 400, "ThrottlingException", "Rate of requests exceeds the throughput.")
        return xml_error(request.url, 503, "SlowDown", "Please reduce your request rate.")


def test_throttling_within_the_retry_budget_changes_nothing(suite, monkeypatch):
    base = clean(suite)
    throttle = Throttle(every=3, times=1).skip_backoff(monkeypatch)
    result = suite.run(plugins=[throttle])
    assert throttle.throttled >= 10, "the hook throttled too little to prove anything"
    assert len(throttle.delays) == throttle.throttled, "each throttled attempt was retried once, after a backoff"
    assert all(0 <= d <= 1 for d in throttle.delays), throttle.delays  # first retry: rand(0, 1) s
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert changed(base.outcomes, result.outcomes) == {}
    assert result.ret == base.ret


def test_throttling_beyond_the_retry_budget_is_an_error_naming_the_operation(suite, monkeypatch):
    base = clean(suite)
    throttle = Throttle(every=10**9, always=("DescribeContinuousBackups", "GetBucketVersioning"),
                        max_attempts=2).skip_backoff(monkeypatch)
    result = suite.run(plugins=[throttle])
    assert 0 < len(throttle.delays) < throttle.throttled, "retried, and then out of attempts"
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    diff = changed(base.outcomes, result.outcomes)
    assert diff, "throttling every attempt changed nothing"
    for test, (before, after) in diff.items():
        assert (before, after) == ("passed", "error"), f"{test}: {before} -> {after} (never a pass, never a finding)"
        msg = result.records[test]["message"]
        assert "DescribeContinuousBackups" in msg or "GetBucketVersioning" in msg, msg
        assert "Throttling" in msg or "SlowDown" in msg, msg
    needing = {t for t, rec in base.records.items()
               if uses(rec, "dynamodb", "DescribeContinuousBackups") or uses(rec, "s3", "GetBucketVersioning")}
    assert set(diff) == needing
    assert result.failed == set() and result.ret != 0


# ----------------------------------------------------------------------------- AccessDenied

# Every read the collectors make in a clean `pytest --env local` run (no --canary): what the areas declare
# (AREA.reads, from each area's reads.py READS), and the account guard's first read.
ALL_READS = sorted(areas.reads() | {("sts", "GetCallerIdentity")})
SUBSET = [  # one read of each kind: a table's, a bounded Scan, a bucket's, the account's, IAM's, metrics, the guard's
    ("dynamodb", "DescribeContinuousBackups"), ("dynamodb", "Scan"), ("s3", "HeadBucket"),
    ("s3control", "GetPublicAccessBlock"), ("iam", "SimulatePrincipalPolicy"), ("cloudwatch", "GetMetricData"),
    ("sts", "GetCallerIdentity"),
]
SWEEP = ALL_READS if os.environ.get("BBWS_FULL_SWEEP") else SUBSET
SWEEP_PARAMS = [pytest.param(s, o, id=f"{s}:{o}") for s, o in SWEEP]


def test_sweep_covers_every_read(suite):
    clean(suite)
    made = reads_of(_clean["snapshot"])
    assert made - set(ALL_READS) == set(), "made but no area declares it: add it to that area's reads.py READS"
    assert set(ALL_READS) - made == set(), "declared but never made: remove it from READS (least privilege)"
    assert set(SUBSET) <= set(ALL_READS)


def expected_scopes(service: str, operation: str) -> set[str]:
    """The DDB-06 scopes whose test_reads_allowed must fail when this read is denied."""
    sc = scopes(ENV)
    from checks.core.snapshot import Observation
    return {scope_of(Observation(**o), sc) for o in _clean["snapshot"]["observations"]
            if o["service"] == service and o["operation"] == operation}


@pytest.mark.parametrize("service,operation", SWEEP_PARAMS)
def test_access_denied_errors_exactly_the_assertions_that_need_the_read(suite, service, operation):
    base = clean(suite)

    class Deny:
        def pytest_bbws_world_ready(self, world):
            world.deny(service, operation)

    result = suite.run(plugins=[Deny()])
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert "Traceback" not in result.stdout
    if (service, operation) == ("sts", "GetCallerIdentity"):  # the account guard: one message, no check runs
        assert result.outcomes == {} and result.ret != 0
        assert "sts:GetCallerIdentity failed with AccessDenied" in result.stdout
        return
    denied_tests = {f"test_reads_allowed[{s}]" for s in expected_scopes(service, operation)}
    needing = {t for t, rec in base.records.items() if uses(rec, service, operation)} - denied_tests
    diff = changed(base.outcomes, result.outcomes)
    errors = {t for t, (_, after) in diff.items() if after == "error"}
    # Exactly the assertions whose verdict read this operation (a record's observations are
    # the reads of the assertion itself, not of its remediation text) become errors.
    assert errors == {t for t in needing if base.outcomes[t] in ("passed", "skipped")}, (
        f"errored: {sorted(errors)}; reading {operation}: {sorted(needing)}")
    assert result.failed == denied_tests, f"DDB-06 findings: {sorted(result.failed)}, expected {sorted(denied_tests)}"
    assert set(diff) == errors | denied_tests, f"a test changed other than to error or DDB-06: {diff}"
    for t in errors:
        assert operation in result.records[t]["message"], result.records[t]["message"]
    for t in denied_tests:
        assert f"{service}:{operation}" in result.records[t]["message"]


# ----------------------------------------------------------------------------- credentials, region

def non_embedded_env(tmp_path: Path, **changes: str) -> Path:
    """An environments.toml whose env `remote` is the dev env (a real account: not embedded)."""
    text = Path(ENV.source).read_text()
    extra = "".join(f'{k} = "{v}"\n' for k, v in changes.items())
    path = tmp_path / "environments.toml"
    path.write_text(text + f'\n[envs.remote]\naccount = "536580886816"\nregion = "eu-west-1"\n{extra}')
    return path


class Answer:
    """Answer every AWS request with one auth error (no request leaves the process)."""

    def __init__(self, code: str, message: str):
        self.code, self.message, self.sent = code, message, []

    def pytest_bbws_aws_ready(self, aws):
        def send(request, event_name, **_):
            self.sent.append(event_name)
            return xml_error(request.url, 403, self.code, self.message, query=True)
        aws.client_hooks.append(lambda client: client.meta.events.register("before-send", send))


LOOPBACK = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "AKIAEXPIREDEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "expired/secret/example0000",
            "AWS_SESSION_TOKEN": "expired-session-token-example"}
PROFILE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def assert_one_clear_message(result, *needles: str) -> None:
    assert result.outcomes == {}, "a check ran"
    assert result.ret != 0
    assert "Traceback" not in result.stdout and "INTERNALERROR" not in result.stdout, result.stdout[-3000:]
    for needle in needles:
        assert needle in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("code,message", [
    ("ExpiredToken", "The security token included in the request is expired"),
    ("InvalidClientTokenId", "The security token included in the request is invalid."),
])
def test_bad_credentials_stop_before_any_check(suite, tmp_path, monkeypatch, code, message):
    for k in PROFILE_VARS:
        monkeypatch.delenv(k, raising=False)
    path = non_embedded_env(tmp_path)
    answer = Answer(code, message)
    result = suite.run("--environments", str(path), env="remote", plugins=[answer], environ=LOOPBACK)
    assert_one_clear_message(result, code, "remote", "GetCallerIdentity")
    assert answer.sent and all("sts" in e for e in answer.sent), answer.sent  # nothing but the identity call
    assert LOOPBACK["AWS_SECRET_ACCESS_KEY"] not in result.stdout and LOOPBACK["AWS_SESSION_TOKEN"] not in result.stdout


def test_no_credentials_at_all_is_one_message(suite, tmp_path, monkeypatch):
    path = non_embedded_env(tmp_path)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
              "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(k, raising=False)
    answer = Answer("ShouldNotBeSent", "no request may be signed without credentials")
    result = suite.run("--environments", str(path), env="remote", plugins=[answer], environ={
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config")})
    assert_one_clear_message(result, "NoCredentialsError", "remote")
    assert answer.sent == []


def test_no_region_is_one_message(suite, tmp_path, monkeypatch):
    for k in (*PROFILE_VARS, "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(k, raising=False)
    text = Path(ENV.source).read_text()
    path = tmp_path / "environments.toml"
    path.write_text(text + '\n[envs.remote]\naccount = "536580886816"\nregion = ""\n')
    answer = Answer("ShouldNotBeSent", "no request without a region")
    environ = {k: v for k, v in LOOPBACK.items() if k != "AWS_ENDPOINT_URL"}  # the hook answers, if anything
    result = suite.run("--environments", str(path), env="remote", plugins=[answer], environ=environ)
    assert_one_clear_message(result, "key 'envs.remote.region' is empty", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert answer.sent == []

"""Issue 11.4 and 11.8: a moto server the suite did not start (as LocalStack or a sandbox account would be
used), and assume-role credentials that renew themselves.

The server is a plain `moto.server.ThreadedMotoServer` on 127.0.0.1; the deployment is built into it with the
world's builder; the suite runs as a subprocess from outside the checkout with AWS_ENDPOINT_URL and an env with
`embedded = false`. The suite's own code has no idea the server is moto.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from checks import areas
from checks.core.aws import Aws
from checks.core.config import load
from checks.core.read import caller_identity
from checks.core.snapshot import Snapshot
from checks.world import World, patches
from checks.world import build as world_build
from selftest.test_realworld_paths import REPO, run
from selftest.transport import response

ACCOUNT = "123456789012"  # moto's default account: the server answers for it


def moto_env_file(tmp_path: Path) -> Path:
    """environments.toml with env `sandbox`: the PROD-shaped local env, but a real (non-embedded) account."""
    text = (REPO / "environments.toml").read_text()
    local = text[text.index("[envs.local]"):]
    sandbox = (local.replace("[envs.local.s3]", "[envs.sandbox.s3]").replace("[envs.local]", "[envs.sandbox]")
               .replace("embedded = true", "embedded = false"))
    sandbox = re.sub(r'^infra_repo = .*$', "", sandbox, flags=re.M)
    path = tmp_path / "environments.toml"
    path.write_text(text + "\n" + sandbox)
    return path


@pytest.fixture
def sandbox(tmp_path: Path):
    patches.apply()  # the moto gaps the builder needs (moto's own process-wide patches, not the suite's layer)
    patches.reset()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    path = moto_env_file(tmp_path)
    env = load(path)["sandbox"]
    assert not env.embedded and env.account == ACCOUNT
    world = World(env)
    world.endpoint_url = url  # build through the world's builder, into the server we started
    world_build.build(world)
    world.wait_replication()
    try:
        yield url, path
    finally:
        server.stop()
        patches.reset()


def test_suite_against_a_moto_server_it_did_not_start(sandbox, tmp_path):
    url, environments = sandbox
    cwd, reports = tmp_path / "cwd", tmp_path / "reports"
    cwd.mkdir()
    r = run(cwd, "--env", "sandbox", "-m", "(dynamodb or s3) and not canary", f"--environments={environments}",
            "--reports", str(reports), environ={
                "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})
    out = r.stdout + r.stderr
    bundle = next(p.parent for p in reports.glob("sandbox/*/manifest.json") if p.parent.name != "latest")
    results = json.loads((bundle / "results.json").read_text())
    outcome = {x["test"].split("::")[-1]: x["outcome"] for x in results["results"]}
    bad = {t: o for t, o in outcome.items() if o in ("failed", "error")}
    assert r.returncode == 0 and not bad, (bad, out[-4000:])
    snapshot = json.loads((bundle / "snapshot.json").read_text())
    assert snapshot["meta"]["endpoint"] == url and snapshot["meta"]["caller"]["account"] == ACCOUNT
    # the account-level public access block came through s3control on the custom endpoint
    pab = [o for o in snapshot["observations"] if o["service"] == "s3control"]
    assert pab and all(o["error"] is None for o in pab), pab
    assert outcome["test_account_public_access_block"] == "passed"
    # DynamoDB, S3 and AWS Backup checks all ran there
    checks = {x["check"] for x in results["results"] if x["outcome"] == "passed"}
    assert {"DDB-01", "DDB-03", "DDB-04", "S3-01", "S3-02", "S3-03"} <= checks, checks
    assert any(o["service"] == "backup" and o["error"] is None for o in snapshot["observations"])


# ----------------------------------------------------------------------------- assume-role refresh

class FakeSts:
    """AssumeRole answers with credentials that are already inside botocore's refresh window
    (5 minutes left); GetCallerIdentity answers with the key that signed it. Nothing leaves the process."""

    def __init__(self):
        self.issued: list[str] = []
        self.signed_with: list[str] = []

    def hook(self, client):
        client.meta.events.register("before-send", self.send)

    def send(self, request, event_name, **_):
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        if "Action=AssumeRole" in body:
            key = f"ASIAFAKE{len(self.issued):012d}"
            self.issued.append(key)
            expires = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
            xml = (f"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId>"
                   f"<SecretAccessKey>secret{len(self.issued)}</SecretAccessKey><SessionToken>token</SessionToken>"
                   f"<Expiration>{expires}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:x"
                   f"</AssumedRoleId><Arn>arn:aws:sts::{ACCOUNT}:assumed-role/r/x</Arn></AssumedRoleUser>"
                   f"</AssumeRoleResult></AssumeRoleResponse>")
            return response(request.url, 200, xml.encode(), {"content-type": "text/xml"})
        signer = re.search(r"Credential=([A-Z0-9]+)/", request.headers.get("Authorization", b"").decode()
                           if isinstance(request.headers.get("Authorization"), bytes)
                           else request.headers.get("Authorization", ""))
        self.signed_with.append(signer.group(1) if signer else "")
        xml = (f"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::{ACCOUNT}:assumed-role/r/x"
               f"</Arn><UserId>x</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
               f"</GetCallerIdentityResponse>")
        return response(request.url, 200, xml.encode(), {"content-type": "text/xml"})


def with_role(env):
    """The local env as a real account that assumes a role (Env is a pydantic model or a dataclass)."""
    changes = {"embedded": False, "role_arn": f"arn:aws:iam::{ACCOUNT}:role/bbws-read"}
    return env.model_copy(update=changes) if hasattr(env, "model_copy") else dataclasses.replace(env, **changes)


def test_role_credentials_refresh_before_they_expire(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOURCEEXAMPLE000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    env = with_role(load()["local"])
    aws = Aws(env, Snapshot({}), allowed=areas.allowlist(), endpoint_url="http://127.0.0.1:9")
    sts = FakeSts()
    aws.client_hooks.append(sts.hook)
    credentials = aws.session.get_credentials()
    assert sts.issued == []  # deferred: nothing is assumed before the first use
    first = credentials.get_frozen_credentials().access_key
    second = credentials.get_frozen_credentials().access_key
    assert sts.issued == [first, second] and first != second  # inside the refresh window: renewed on use
    assert aws.read(caller_identity()).ok
    assert sts.signed_with == [sts.issued[-1]]  # each request is signed with the renewed key
    assert len(sts.issued) == 3


def test_role_credentials_are_not_renewed_while_fresh(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOURCEEXAMPLE000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")
    env = with_role(load()["local"])
    aws = Aws(env, Snapshot({}), allowed=areas.allowlist(), endpoint_url="http://127.0.0.1:9")

    class LongLived(FakeSts):
        def send(self, request, event_name, **kw):
            got = super().send(request, event_name, **kw)
            if self.issued and got.raw.body.startswith(b"<AssumeRoleResponse>"):
                later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                got.raw.body = re.sub(rb"<Expiration>[^<]+<", f"<Expiration>{later}<".encode(), got.raw.body)
            return got

    sts = LongLived()
    aws.client_hooks.append(sts.hook)
    credentials = aws.session.get_credentials()
    keys = {credentials.get_frozen_credentials().access_key for _ in range(3)}
    assert len(sts.issued) == 1 and keys == set(sts.issued)

"""Issue 7.6: no access key, secret key, session token or GitHub token value in the evidence.

The values are set in the environment of a real run (environ= of suite.run) where they are
used: the GitHub token authenticates every request to a fake GitHub API on 127.0.0.1, and an
AWS error message echoes the access key id and the session token (as some services do).
Every file of the bundle, the terminal output and the HTML are then searched for each value
in its raw, JSON-escaped, HTML-escaped and URL-encoded forms.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from selftest.fakegithub import FakeGitHub
from selftest.transport import xml_error

ACCESS_KEY = "AKIAFAKESECRETID7Q2X"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKEKEY9z&<q>"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjFAKE/session+token==\"quoted\"zz"
GITHUB_TOKEN = "ghp_FAKEgithubTOKENvalue0123456789abcd"
SECRETS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_SESSION_TOKEN": SESSION_TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN}


def forms(value: str) -> set[str]:
    escaped = json.dumps(value)[1:-1]
    return {value, escaped, html.escape(value), html.escape(escaped), quote(value, safe=""),
            json.dumps(escaped)[1:-1]}


def leaks(text: str) -> list[str]:
    return [f"{name} ({form!r})" for name, value in SECRETS.items() for form in forms(value) if form in text]


class EchoCredentials:
    """An AWS error whose message echoes the caller's access key id and session token."""

    def pytest_bbws_aws_ready(self, aws):
        def send(request, event_name, **_):
            if event_name.endswith(".GetBucketPolicy"):
                return xml_error(request.url, 403, "InvalidAccessKeyId",
                                 f"The AWS Access Key Id {ACCESS_KEY} with token {SESSION_TOKEN} is not valid")
            return None
        aws.client_hooks.append(lambda c: c.meta.events.register("before-send", send))


def test_no_secret_in_terminal_bundle_or_html(suite):
    with FakeGitHub(token=GITHUB_TOKEN) as fake:
        fake.clean()
        environ = {**SECRETS, "GITHUB_REPOSITORY": fake.repo, "GITHUB_API_URL": fake.url}
        result = suite.run("-rA", faults="DDB-06:tenants", plugins=[EchoCredentials()], environ=environ)
        assert fake.requests, "the GitHub token was never used"
        assert all(GITHUB_TOKEN in h for h in fake.auth_headers)
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert result.bundle is not None and result.failed, result.stdout[-2000:]
    # the echoed key reached a check: its record is in the evidence (masked), not only dropped
    assert any("InvalidAccessKeyId" in r["message"] for r in result.records.values())
    assert leaks(result.stdout) == []
    assert "The AWS Access Key Id *** with token *** is not valid" in (result.bundle / "results.json").read_text()
    files = [p for p in result.bundle.rglob("*") if p.is_file()]
    assert {"report.html", "results.json", "junit.xml", "snapshot.json", "manifest.json"} <= {p.name for p in files}
    for path in files:
        assert leaks(path.read_bytes().decode("utf-8", "replace")) == [], path.name
    # and the whole reports directory (the "latest" pointer, anything else written there)
    for path in result.reports_dir.rglob("*"):
        if path.is_file():
            assert leaks(path.read_bytes().decode("utf-8", "replace")) == [], str(path)


def test_deep_redaction_copies_only_what_it_masks():
    from checks.evidence import redact

    secret = "AKIA" + "ABCDEFGHIJKLMNOP"
    clean = {"observations": [{"response": {"Name": "a"}}], "message": "ok"}
    assert redact.deep(clean, []) is clean  # nothing to mask: shared, not copied
    dirty = {"observations": [{"response": {"Key": secret}}, {"response": {"Name": "b"}}], "message": "ok"}
    masked = redact.deep(dirty, [])
    assert secret not in json.dumps(masked) and secret in json.dumps(dirty), "the original is left as it was"
    assert masked["observations"][1] is dirty["observations"][1], "the untouched observation is shared"

"""Issue 5: the evidence bundle, the gate end to end, replay, interrupted runs, secrets.

Two harnesses:
- `fake`: pytester runs of small synthetic check files with the evidence plugin alone and a
  fake `report.bbws` (the core plugin is disabled), to drive every gate case quickly;
- `suite` (selftest/conftest.py): the real tests/ against a fresh moto world, for replay,
  tamper refusal and xdist.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from checks.evidence import bundle as bundle_mod
from checks.evidence.hooks import export_names
from checks.evidence.replay import BundleError, verified_snapshot, verify

AWS_SUITES = ("tests/dynamodb", "tests/s3")
FILES = {"report.html", "results.json", "results.sarif", "junit.xml", "snapshot.json", "gate.json", "manifest.json",
         *export_names()}
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
TOKEN = "ghp_0123456789abcdefFAKEtokenFORtests00"

CONFTEST = '''
import os

import pytest

from checks.core import config as cfg
from checks.core.collect import Options
from checks.core.record import CheckRecord
from checks.plugin.run import RUN, Run
from checks.core.snapshot import Snapshot


def pytest_configure(config):
    config.addinivalue_line("markers", "issue(id): catalog id")
    config.addinivalue_line("markers", "sev(s): severity")
    env = cfg.load()["local"]
    run = Run(env=env, options=Options(), args=[])
    run.snapshot = Snapshot({"env_name": env.name, "run_id": run.run_id, "caller": {
        "arn": "arn:aws:sts::123456789012:user/moto", "account": env.account, "region": env.region}})
    run.snapshot.meta["token_seen"] = os.environ.get("GITHUB_TOKEN", "")
    if os.environ.get("FAKE_OFFLINE"):  # a review that read no AWS (live.offline_reason)
        run.snapshot.meta["offline"] = os.environ["FAKE_OFFLINE"]
    if os.environ.get("FAKE_FAULTS"):  # a drill
        run.faults = [tuple(f.split(":")) for f in os.environ["FAKE_FAULTS"].split(",")]
    config.stash[RUN] = run
    config.pluginmanager.import_plugin("checks.evidence.hooks")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    if hasattr(session.config, "workerinput"):
        return
    run = session.config.stash[RUN]
    if os.environ.get("FAKE_CRASH"):
        run.incomplete.append("collector dynamodb crashed: RuntimeError: boom")
    if os.environ.get("FAKE_GUARD"):
        msg = "PDV-01 account guard: the credentials are for account 999999999999. No check was run."
        run.incomplete.append(msg)
        pytest.exit(msg, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    mark = item.get_closest_marker("issue")
    if mark is None or call.when == "teardown" or (call.when == "setup" and rep.passed):
        return
    sev = item.get_closest_marker("sev")
    result = "skipped" if rep.skipped else "passed" if rep.passed else "failed" if call.when == "call" else "error"
    msg = str(call.excinfo.value).split("\\n")[0] if call.excinfo else ""
    rb = {"id": mark.args[0], "title": "Synthetic", "symptom": "it broke", "cause": "a fault",
          "resolution": "aws s3api put-thing --bucket res", "prevention": "do not break it"}
    rep.bbws = CheckRecord.from_dict({
        "check": mark.args[0], "title": "Synthetic", "test": item.nodeid, "name": item.name,
        "resource": "res-" + item.name, "outcome": result, "severity": sev.args[0] if sev else "P1",
        "message": msg, "remediation": rb["resolution"] if result in ("failed", "error") else "",
        "runbook": rb, "observations": getattr(item, "obs", []), "location": getattr(item, "bbws_location", None)})
'''


class Fake:
    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
        self.pytester, self.monkeypatch = pytester, monkeypatch
        pytester.makeconftest(CONFTEST)
        for k in ("GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                  "AWS_ACCESS_KEY_ID", "FAKE_CRASH", "FAKE_GUARD", "FAKE_OFFLINE", "FAKE_FAULTS", "GITHUB_ACTIONS",
                  "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
            monkeypatch.delenv(k, raising=False)

    def run(self, body: str, *args: str, **environ: str) -> tuple[Any, Path | None]:
        self.pytester.makepyfile(test_checks="import pytest\n\n" + textwrap.dedent(body))
        for k, v in environ.items():
            self.monkeypatch.setenv(k, v)
        argv = ("-p", "no:checks.plugin", "-p", "no:randomly", "-p", "no:hypothesispytest", *args)
        if "KeyboardInterrupt" in body:  # runpytest would re-raise the inner Ctrl-C in this test
            r = self.pytester.inline_run(*argv, no_reraise_ctrlc=True)
        else:
            r = self.pytester.runpytest_inprocess(*argv)
        found = bundles(self.pytester.path / "reports")
        return r, found[-1] if found else None


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return Fake(pytester, monkeypatch)


def bundles(reports: Path) -> list[Path]:
    """Bundle directories under a --reports dir, oldest first (the `latest` pointer excluded)."""
    return sorted(p.parent for p in reports.glob("*/*/manifest.json") if not p.parent.is_symlink())


def load(bundle: Path, name: str) -> Any:
    return json.loads((bundle / name).read_text())


PASS = '''
@pytest.mark.issue("DDB-01")
@pytest.mark.sev("P0")
def test_p0_ok():
    pass

@pytest.mark.issue("DDB-03")
def test_p1_ok():
    pass
'''


def failing(sev: str) -> str:
    return PASS + f'''
@pytest.mark.issue("X-01")
@pytest.mark.sev("{sev}")
def test_fails():
    assert False, "the {sev} thing is wrong"
'''


ERROR = PASS + '''
@pytest.fixture
def unreadable():
    raise RuntimeError("AccessDenied on GetBucketPolicy")

@pytest.mark.issue("S3-02")
@pytest.mark.sev("P3")
def test_errors(unreadable):
    pass
'''


# ----- the decision, end to end -----

@pytest.mark.parametrize(("body", "decision", "ret"), [
    pytest.param(PASS, "GO", 0, id="all-pass"),
    pytest.param(failing("P0"), "NO-GO", 1, id="P0"),
    pytest.param(failing("P1"), "NO-GO", 1, id="P1"),
    pytest.param(failing("P2"), "CONDITIONAL GO", 0, id="P2"),
    pytest.param(failing("P3"), "GO", 0, id="P3"),
    pytest.param(ERROR, "NO-GO", 1, id="error"),
])
def test_decision_and_exit_status(fake: Fake, body: str, decision: str, ret: int) -> None:
    r, bundle = fake.run(body)
    assert r.ret == ret, r.stdout.str()
    assert bundle is not None
    gate = load(bundle, "gate.json")
    assert gate["decision"] == decision and gate["complete"] is True
    assert load(bundle, "results.json")["decision"] == decision
    r.stdout.fnmatch_lines([f"*BBWS gate: {decision}*"])
    html = (bundle / "report.html").read_text()
    assert f"Gate decision: {decision}" in html


def test_no_check_ran_is_no_go(fake: Fake) -> None:
    r, bundle = fake.run(PASS, "-m", "nothing_matches_this")
    assert r.ret == 5 and bundle is not None
    gate = load(bundle, "gate.json")
    assert gate["decision"] == "NO-GO" and not gate["complete"] and "no check ran" in gate["incomplete"][0]
    html = (bundle / "report.html").read_text()  # issue 20: said in the report's banner, not only the terminal
    assert "NOT A GATE RUN" in html and "not a gate run: no check was selected (exit 5)" in html
    assert "No check failed" not in html and "No check was evaluated: this is not a gate run." in html


def test_keyboard_interrupt_writes_an_incomplete_bundle(fake: Fake) -> None:
    body = PASS + '''
@pytest.mark.issue("S3-01")
def test_ctrl_c():
    raise KeyboardInterrupt

@pytest.mark.issue("S3-03")
def test_never_runs():
    pass
'''
    r, bundle = fake.run(body)
    assert r.ret == 2 and bundle is not None
    manifest, gate = load(bundle, "manifest.json"), load(bundle, "gate.json")
    assert manifest["complete"] is False and gate["decision"] == "NO-GO"
    assert any("interrupted" in m for m in gate["incomplete"])
    verify(bundle)


def test_collector_crash_is_incomplete(fake: Fake) -> None:
    r, bundle = fake.run(PASS, FAKE_CRASH="1")
    assert r.ret == 1 and bundle is not None
    gate = load(bundle, "gate.json")
    assert gate["decision"] == "NO-GO" and gate["incomplete"] == ["collector dynamodb crashed: RuntimeError: boom"]
    assert load(bundle, "manifest.json")["complete"] is False


def test_account_guard_exit_still_writes_the_bundle(fake: Fake) -> None:
    r, bundle = fake.run(PASS, FAKE_GUARD="1")
    assert r.ret == 4 and bundle is not None
    gate = load(bundle, "gate.json")
    assert gate["decision"] == "NO-GO" and gate["complete"] is False
    assert gate["incomplete"][0] == ("PDV-01 account guard: the credentials are for account 999999999999. "
                                     "No check was run.")


def test_collection_error_is_incomplete(fake: Fake) -> None:
    fake.pytester.makepyfile(test_broken="import nonexistent_module_xyz\n")
    r, bundle = fake.run(PASS)
    assert r.ret != 0 and bundle is not None
    assert any("collection error in test_broken.py" in m for m in load(bundle, "gate.json")["incomplete"])


# ----- the bundle -----

def test_bundle_files_hashes_manifest_and_latest(fake: Fake) -> None:
    r, bundle = fake.run(failing("P2"))
    assert {p.name for p in bundle.iterdir()} == FILES
    manifest = verify(bundle)
    assert set(manifest["files"]) == FILES - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert bundle_mod.sha256(bundle / name) == entry["sha256"]
    assert manifest["complete"] is True and manifest["decision"] == "CONDITIONAL GO"
    assert manifest["suite"]["version"] and manifest["caller"]["arn"] == "arn:aws:sts::123456789012:user/moto"
    assert manifest["account"] == manifest["caller"]["account"] and manifest["region"]
    assert manifest["started"] <= manifest["finished"] and "-p no:randomly" in manifest["command"]
    latest = bundle.parent / "latest"
    assert latest.resolve() == bundle.resolve()
    assert bundle.parent.name == "local" and bundle.name.endswith("Z")
    results = load(bundle, "results.json")
    assert set(results) >= {"env", "decision", "started", "finished", "results"}
    assert {tuple(sorted(x)) for x in results["results"]} == {
        ("check", "controls", "message", "outcome", "remediation", "resource", "severity", "test")}
    junit = (bundle / "junit.xml").read_text()
    assert "<testsuite" in junit and "test_fails" in junit
    assert not list(bundle.parent.glob(".*"))  # no temporary files left behind


def test_html_is_the_sign_off_page(fake: Fake) -> None:
    body = failing("P1").replace("def test_fails():", "def test_fails(request):\n    "
                                 "request.node.obs = [{'service': 's3', 'operation': 'GetBucketPolicy', "
                                 "'response': {'Policy': 'allow-star'}}]")
    r, bundle = fake.run(body)
    html = (bundle / "report.html").read_text()
    for text in ("Gate decision: NO-GO", "standard rollback", "Caller ARN", "arn:aws:sts::123456789012:user/moto",
                 "Suite version", "Sign-off", "Product Owner", "Tech Lead", "Operations Lead",
                 "Checks by area", "Root cause", "aws s3api put-thing --bucket res", "allow-star",
                 "Raw observations (1) as JSON", "<script"):
        assert text in html, text
    assert 'href="http' not in html.split("<footer>")[0].replace('href="https://pypi.python.org', "")


def test_step_summary_markdown(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    r, bundle = fake.run(failing("P2"), GITHUB_STEP_SUMMARY=str(summary))
    text = summary.read_text()
    assert text.startswith("before\n") and "CONDITIONAL GO" in text and "| P2 | 0 | 1 | 0 | 0 |" in text
    assert "fix forward" in text


def test_secrets_never_reach_the_bundle(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    body = failing("P1").replace("def test_fails():", f'''def test_fails(request):
    import os
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    request.node.obs = [{{"service": "sts", "params": {{"key": secret}}, "response": {{"token": "{TOKEN}"}}}}]
    print("leaking", secret, os.environ["GITHUB_TOKEN"])''').replace('"the P1 thing is wrong"',
                                                                    'f"the P1 thing is wrong: {secret}"')
    r, bundle = fake.run(body, "-k", f"not {TOKEN}", AWS_SECRET_ACCESS_KEY=SECRET, GITHUB_TOKEN=TOKEN,
                         GITHUB_STEP_SUMMARY=str(summary))
    assert r.ret == 1 and bundle is not None
    for path in [*bundle.iterdir(), summary]:
        data = path.read_text()
        for value in (SECRET, TOKEN, json.dumps(SECRET)[1:-1]):
            assert value not in data, f"{value} in {path.name}"
    assert "***" in (bundle / "results.json").read_text() and "***" in load(bundle, "manifest.json")["command"]
    verify(bundle)


def test_xdist_writes_one_bundle(fake: Fake) -> None:
    r, _ = fake.run(failing("P1") + PASS.replace("test_p0_ok", "test_more_a").replace("test_p1_ok", "test_more_b"),
                    "-n", "2")
    found = bundles(fake.pytester.path / "reports")
    assert len(found) == 1, found
    bundle = found[0]
    verify(bundle)
    assert r.ret == 1 and load(bundle, "gate.json")["decision"] == "NO-GO"
    assert len(load(bundle, "results.json")["results"]) == 5
    gate = load(bundle, "gate.json")  # issue 20: the workers' selection reaches the controller
    assert gate["kind"] == "gate" and gate["selection"]["selected"] == 5 and gate["selection"]["deselected"] == 0


def test_selftest_style_session_is_not_gated(fake: Fake) -> None:
    r, bundle = fake.run("def test_plain():\n    assert True\n")
    assert r.ret == 0 and bundle is None


# ----- replay refuses a tampered bundle -----

@pytest.fixture
def good_bundle(fake: Fake) -> Path:
    _, bundle = fake.run(PASS)
    verified_snapshot(bundle)
    return bundle


def test_one_byte_change_to_snapshot_is_refused(good_bundle: Path) -> None:
    snap = good_bundle / "snapshot.json"
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x01
    snap.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"^snapshot\.json has been modified"):
        verified_snapshot(good_bundle)


@pytest.mark.parametrize(("damage", "match"), [
    (lambda b: (b / "junit.xml").unlink(), r"^junit\.xml is listed in manifest\.json but missing"),
    (lambda b: (b / "gate.json").write_text("{}"), r"^gate\.json has been modified"),
    (lambda b: (b / "manifest.json").write_text("{not json"), r"^manifest\.json is malformed"),
    (lambda b: (b / "manifest.json").unlink(), r"^manifest\.json is missing"),
])
def test_damaged_bundles_are_refused(good_bundle: Path, damage: Any, match: str) -> None:
    damage(good_bundle)
    with pytest.raises(BundleError, match=match):
        verified_snapshot(good_bundle)


# ----- the real suite -----

def test_real_run_replay_reproduces_results(suite: Any) -> None:
    live = suite.run("--fault", "S3-02,DDB-03", env="local", tests=AWS_SUITES)
    assert live.ret == 1 and live.bundle is not None, live.stdout[-3000:]
    verify(live.bundle)
    assert live.results_json["decision"] == "NO-GO"
    replay = suite.run("--replay", str(live.bundle), env="", tests=AWS_SUITES)
    assert replay.bundle is not None and replay.bundle != live.bundle, replay.stdout[-3000:]
    verify(replay.bundle)
    assert replay.results_json["results"] == live.results_json["results"]
    assert replay.results_json["decision"] == live.results_json["decision"]
    assert replay.ret == live.ret
    manifest = load(replay.bundle, "manifest.json")
    assert manifest["replay_of"]["path"] == str(live.bundle.resolve())
    assert manifest["replay_of"]["manifest_sha256"] == bundle_mod.sha256(live.bundle / "manifest.json")
    assert load(replay.bundle, "snapshot.json")["meta"]["replay_of"] == str(live.bundle)


def test_real_replay_refuses_tampered_snapshot(suite: Any) -> None:
    live = suite.run(env="local", tests=AWS_SUITES)
    assert live.ret == 0 and live.bundle is not None, live.stdout[-3000:]
    snap = live.bundle / "snapshot.json"
    snap.write_bytes(snap.read_bytes().replace(b"ENABLED", b"ENABLEd", 1))
    repo = Path(__file__).resolve().parent.parent
    r = suite.pytester.runpytest_inprocess(*(str(repo / t) for t in AWS_SUITES), "-c", str(repo / "pytest.ini"),
                                           "--rootdir", str(repo), "--replay", str(live.bundle))
    assert r.ret == 4
    r.stderr.fnmatch_lines(["*--replay *snapshot.json has been modified*refusing to replay a tampered bundle*"])


def test_real_run_under_xdist_one_verified_bundle(suite: Any) -> None:
    r = suite.run("-n", "2", "--fault", "S3-02", tests=AWS_SUITES)
    assert len(bundles(r.reports_dir)) == 1 and r.ret == 1, r.stdout[-3000:]
    verify(r.bundle)
    assert r.results_json["decision"] == "NO-GO"
    assert {x["check"] for x in r.results_json["results"] if x["outcome"] == "failed"} == {"S3-02"}

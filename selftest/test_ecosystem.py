"""Issue 25: the suite as a good citizen of pytest's ecosystem.

- 25.2 the plugin acts only in the suite's own runs (its rootdir, an ini that requires it, or a suite option);
- 25.5 one-line usage errors: --reports, an unreachable endpoint, guard stops without pytest's exception name;
- 25.6 messages: a review's job summary and terminal, reasons said of many resources, PDV-08's other bundle;
- 25.7 pytest conventions: the cache (--lf, --ff, --sw), exit codes in --help, the default env from the
  environment or the ini file.

The wheel install and the dependency ranges are in test_install.py, the README in test_readme.py, a plain
pytest in another project in test_realworld_paths.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from checks.areas.pdv import parity
from checks.core import config as cfg
from checks.core.record import CheckRecord
from checks.core.snapshot import Snapshot
from checks.evidence import bundle as bundle_mod
from checks.evidence.gate import decide
from checks.evidence.summary import markdown, terminal_lines
from checks.plugin.options import DEFAULT_ENV, EXIT_CODES, env_name, suite_run

REPO = Path(__file__).resolve().parent.parent
PLAIN = ("-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")  # as pytest.ini


# ----------------------------------------------------------------------------- 25.2 whose run it is

def test_another_projects_run_is_not_the_suites(pytester):
    config = pytester.parseconfig(*PLAIN)
    assert not suite_run(config)
    assert not any(m.startswith("smoke") for m in config.getini("markers"))


def test_an_ini_that_requires_the_suite_makes_its_runs_the_suites(pytester):
    pytester.makeini("[pytest]\nrequired_plugins = bbws-checks>=0.1\n")
    assert suite_run(pytester.parseconfig(*PLAIN))


def test_a_suite_option_makes_the_run_the_suites(pytester):
    config = pytester.parseconfig(*PLAIN, "--env", "local")
    assert suite_run(config) and config.rootpath == REPO  # run from elsewhere: the checkout's tests


# ----------------------------------------------------------------------------- 25.7 pytest conventions

def test_the_default_env_comes_from_the_option_the_environment_or_the_ini(pytester, monkeypatch):
    monkeypatch.delenv("BBWS_ENV", raising=False)
    assert env_name(pytester.parseconfig(*PLAIN)) == DEFAULT_ENV
    pytester.makeini("[pytest]\nbbws_env = sit\n")
    assert env_name(pytester.parseconfig(*PLAIN)) == "sit"
    monkeypatch.setenv("BBWS_ENV", "dev")
    assert env_name(pytester.parseconfig(*PLAIN)) == "dev"
    assert env_name(pytester.parseconfig(*PLAIN, "--env", "prod")) == "prod"


def test_help_ends_with_the_exit_codes(pytester):
    out = pytester.runpytest_inprocess("--help", *PLAIN).stdout.str()
    tail = out.split("exit status (non-zero exactly when the gate says NO-GO):", 1)[1]
    for code, text in EXIT_CODES:
        assert f"  {code}  {text}" in tail, tail


def test_the_suites_runs_keep_pytests_cache(pytester):
    """--lf, --ff and --sw need the cache provider, which the suite's pytest.ini used to switch off."""
    config = pytester.parseconfig("-c", str(REPO / "pytest.ini"), "--rootdir", str(REPO), "-p", "no:randomly",
                                  "--lf", "--env", "local")
    assert config.pluginmanager.has_plugin("cacheprovider") and config.getoption("lf")
    assert "no:cacheprovider" not in (REPO / "pytest.ini").read_text()


# ----------------------------------------------------------------------------- 25.5 usage errors

def test_reports_that_cannot_hold_a_bundle_are_a_usage_error(suite, tmp_path):
    afile = tmp_path / "not-a-dir"
    afile.write_text("")
    for target, says in ((afile, "is a file, not a directory"), (afile / "below", "cannot write to")):
        r = suite.run("--reports", str(target), "-m", "static")
        assert r.ret == pytest.ExitCode.USAGE_ERROR and r.outcomes == {}, r.stdout[-2000:]
        lines = [ln for ln in r.stdout.splitlines() if "--reports" in ln and says in ln]
        assert len(lines) == 1 and "Traceback" not in r.stdout, r.stdout[-2000:]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_is_said_as_such(suite, monkeypatch):
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    r = suite.run("-m", "dynamodb and smoke", env="sit", environ={
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 40})
    assert r.ret == pytest.ExitCode.USAGE_ERROR and r.outcomes == {}, r.stdout[-3000:]
    assert f"cannot reach {endpoint}" in r.stdout and "Check your credentials" not in r.stdout, r.stdout[-3000:]
    assert "_pytest.outcomes.Exit" not in r.stdout, r.stdout[-3000:]
    last = r.stdout.strip().splitlines()[-1]
    assert "stopped before any check (exit 4)" in last, last


# ----------------------------------------------------------------------------- 25.6 messages

def _record(check: str, resource: str, outcome: str, message: str, severity: str = "P1",
            remediation: str = "") -> CheckRecord:
    return CheckRecord(check=check, title=f"{check} title", test=f"tests/x.py::t[{resource}]", name="t",
                       resource=resource, outcome=outcome, severity=severity, message=message,
                       remediation=remediation)  # type: ignore[arg-type]


NOT_READ = "could not verify state object s3://b/k: s3:GetObject in af-south-1 failed with NoVerifiedCaller: s3 not " \
           "read: no AWS credentials (credential-free review)"
REVIEW_RECORDS = [
    _record("CICD-06", "093646564004", "error", "could not verify the caller identity: sts:GetCallerIdentity in "
            "af-south-1 failed with NoVerifiedCaller: sts not read: no AWS credentials (credential-free review)",
            "P0", "aws sts get-caller-identity"),
    _record("CICD-01", "deploy-prod.yml", "failed", "expected every apply gated by approval; found 1 problem(s):\n"
            "- .github/workflows/deploy-prod.yml:40 jobs.apply: no environment\n  fix: add `environment: prod`"),
    *(_record("CICD-03", name, "error", NOT_READ) for name in ("tenants", "products", "campaigns")),
]
REVIEW_META = {"env": "prod", "account": "093646564004", "region": "af-south-1", "gate_run": False,
               "kind_label": "review: no AWS read, -m cicd",
               "offline": "credential-free review of cicd: no AWS credentials for env 'prod'; ..."}


def test_a_reviews_job_summary_is_titled_and_led_by_what_to_fix():
    md = markdown(decide(REVIEW_RECORDS), REVIEW_META)
    assert md.startswith("## BBWS review: no AWS read, -m cicd: **NO-GO** (not a gate run)"), md.split("\n")[0]
    assert "post-deploy" not in md.split("\n")[0] and "**Credential-free review:** not a deployment" in md
    what = md.split("### What to fix", 1)[1].split("\n\n| effect", 1)[0]
    assert "**Rollback:**" not in md and "rollback" not in what.lower(), md
    assert "aws sts get-caller-identity" not in what and what.strip().startswith("1. **NO-GO** P1 `CICD-01`"), what
    announced = what.split("found 1 problem(s):", 1)[1].splitlines()
    assert announced[1].startswith("   - .github/workflows/deploy-prod.yml:40"), what  # not "found N:" and nothing
    assert "**Not verified without AWS credentials** (4): CICD-06 093646564004, CICD-03 campaigns, CICD-03 products, " \
           "CICD-03 tenants." in what


def test_a_gate_run_keeps_its_title_and_rollback():
    md = markdown(decide(REVIEW_RECORDS[1:2]), {"env": "sit"})
    assert md.startswith("## ⛔ BBWS post-deploy gate: **NO-GO**") and "**Rollback:** standard rollback" in md


def test_the_terminal_says_a_reason_of_many_resources_once():
    lines = terminal_lines(decide(REVIEW_RECORDS), "/r/prod/x", REVIEW_META)
    state = [ln for ln in lines if "could not verify state object" in ln]
    assert len(state) == 1 and "CICD-03 ×3 (campaigns, products, tenants)" in state[0], lines
    assert not any(ln.strip().startswith("rollback:") for ln in lines), lines
    assert "credential-free review: not a deployment: nothing to roll back" in "\n".join(lines)


def test_parity_refuses_a_bundle_whose_run_read_no_aws(tmp_path):
    env = cfg.load()["sit"]
    bundle = tmp_path / "sit-review"
    bundle.mkdir()
    Snapshot({"env_name": "sit", "env": env.model_dump(), "run_id": "r1",
              "offline": "no selected check reads AWS (static): no AWS call"}).dump(bundle / "snapshot.json")
    bundle_mod.write_manifest(bundle, {"env": "sit"})
    with pytest.raises(parity.BundleError) as exc:
        parity.bundle_side(bundle)
    message = str(exc.value)
    assert "read no AWS" in message and "pytest --env sit -m smoke" in message
    assert "absent" not in message and "this run" not in message

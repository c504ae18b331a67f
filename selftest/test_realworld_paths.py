"""Issue 11.1 and 11.6: path options anywhere, runs from another directory, selection mistakes.

Real subprocess runs of the installed suite (its pytest11 entry point), started from a directory outside the
checkout, with every path option in both forms (`--opt PATH` and `--opt=PATH`) and paths outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest"]


def run(cwd: Path, *args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "GITHUB_")) and k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    env.update(environ or {})
    return subprocess.run([*PYTEST, "-p", "no:randomly", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def both_forms(option: str, value: Path, form: str) -> list[str]:
    return [option, str(value)] if form == "space" else [f"{option}={value}"]


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, Path]:
    """A working directory and user files, all outside the checkout."""
    (tmp_path / "work").mkdir()
    files = {"cwd": tmp_path / "work", "environments": tmp_path / "cfg" / "environments.toml",
             "infra": tmp_path / "infra", "plan": tmp_path / "plan" / "plan.json",
             "compare": tmp_path / "other-bundle", "reports": tmp_path / "out"}
    files["environments"].parent.mkdir()
    shutil.copy(REPO / "environments.toml", files["environments"])
    shutil.copytree(REPO / "selftest" / "infra_repo", files["infra"])
    files["plan"].parent.mkdir()
    files["plan"].write_text(json.dumps({"format_version": "1.2", "resource_changes": []}))
    files["compare"].mkdir()
    files["reports"].mkdir()
    return files


OPTIONS = [("--environments", "environments"), ("--infra-repo", "infra"), ("--plan-json", "plan"),
           ("--compare-with", "compare"), ("--reports", "reports")]


@pytest.mark.parametrize("form", ["space", "equals"])
@pytest.mark.parametrize("option,key", OPTIONS, ids=[o for o, _ in OPTIONS])
def test_path_option_keeps_the_checkout_as_rootdir(outside, option, key, form):
    r = run(outside["cwd"], "--env", "local", "--collect-only", "-q", *both_forms(option, outside[key], form))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "selftest/" not in out and "duplicate" not in out.lower(), out[-3000:]
    collected = [ln for ln in r.stdout.splitlines() if "::" in ln]
    assert collected and all(ln.startswith("tests/") for ln in collected), out[-3000:]


def test_the_header_names_the_checkout_rootdir_and_inifile(outside):
    r = run(outside["cwd"], "--env", "local", "--collect-only", "--infra-repo", str(outside["infra"]))
    assert f"rootdir: {REPO}" in r.stdout and "configfile: pytest.ini" in r.stdout, r.stdout[:2000]


def test_a_real_run_from_another_directory_with_both_forms(outside):
    r = run(outside["cwd"], "--env", "local", "-m", "cicd and not canary",
            "--environments", str(outside["environments"]), f"--infra-repo={outside['infra']}",
            "--reports", str(outside["reports"]))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    bundles = [p.parent for p in outside["reports"].glob("local/*/manifest.json") if p.parent.name != "latest"]
    assert len(bundles) == 1, out[-3000:]
    results = json.loads((bundles[0] / "results.json").read_text())
    # a partial selection (issue 20): recorded as such, never a gate run
    assert results["decision"] == "GO" and results["gate_run"] is False and results["kind"] == "partial"
    assert {x["check"] for x in results["results"]} == {f"CICD-0{i}" for i in range(1, 7)}
    snapshot = json.loads((bundles[0] / "snapshot.json").read_text())
    # issue 20: no runner path in the bundle: the infra repo and environments.toml by name, outside the checkout
    assert snapshot["meta"]["infra_repo"] == outside["infra"].name
    assert snapshot["meta"]["env"]["source"] == outside["environments"].name
    assert str(outside["infra"]) not in (bundles[0] / "junit.xml").read_text()
    assert not (outside["cwd"] / "reports").exists()


def test_plain_pytest_in_another_project_is_left_alone(outside):
    """Issue 25.2: the plugin is installed for every pytest of the venv; another project's run (one passing test,
    or none) gets no file, no line and no exit status from it."""
    (outside["cwd"] / "test_theirs.py").write_text("def test_their_own():\n    assert True\n")
    r = run(outside["cwd"])
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "1 passed" in out, out[-2000:]
    said = [ln for ln in out.splitlines() if "bbws" in ln.lower() and not ln.startswith("plugins:")]
    assert said == [], said  # pytest's header lists the installed plugins, ours too: nothing else is ours
    ours = [p.name for p in outside["cwd"].rglob("*") if not {"__pycache__", ".pytest_cache"} & set(p.parts)]
    assert ours == ["test_theirs.py"], ours  # pytest's own .pytest_cache aside, nothing was written
    (outside["cwd"] / "test_theirs.py").unlink()
    empty = run(outside["cwd"])
    assert empty.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, empty.stdout + empty.stderr
    assert "checkout" not in empty.stdout + empty.stderr and not (outside["cwd"] / "reports").exists()


# ----------------------------------------------------------------------------- -m mistakes, exit 4/5


def test_unknown_marker_is_a_usage_error_naming_the_markers(suite):
    r = suite.run("-m", "smok")
    assert r.ret == pytest.ExitCode.USAGE_ERROR and r.outcomes == {}
    line = next(ln for ln in r.stdout.splitlines() if "unknown marker" in ln)
    assert "'smok' (did you mean 'smoke'?)" in line
    listed = line.split("the suite's markers:")[1]
    for marker in ("smoke", "extended", "canary", "dynamodb", "s3", "cicd", "pdv", "static", "issue"):
        assert marker in listed, line
    for builtin in ("xfail", "skipif", "parametrize", "usefixtures", "filterwarnings"):
        assert builtin not in listed, line  # pytest's own markers are not what a user of the suite meant
    assert r.bundles == []


def test_known_markers_in_an_expression_pass_the_check(suite):
    r = suite.run("-m", "issue and (cicd or pdv) and not canary and not extended", "--collect-only")
    assert r.ret == 0, r.stdout[-2000:]


def test_nothing_selected_is_not_a_gate_run_and_latest_stays(suite):
    from checks.evidence.bundle import point_latest

    first = suite.run("-m", "cicd and smoke and not canary")
    assert first.ret == 0, first.stdout[-3000:]
    latest = first.reports_dir / "local" / "latest"
    assert not latest.exists(), "a partial selection moved latest"
    point_latest(first.bundle)  # as if it had been a gate run
    # the second run writes into the same reports dir
    r = suite.run("-m", "canary and cicd", "--reports", str(first.reports_dir))
    assert r.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    marked = [b for b in (first.reports_dir / "local").iterdir() if b.name != "latest" and b != first.bundle]
    assert len(marked) == 1
    gate = json.loads((marked[0] / "gate.json").read_text())
    manifest = json.loads((marked[0] / "manifest.json").read_text())
    assert gate["gate_run"] is False and manifest["gate_run"] is False and gate["decision"] == "NO-GO"
    assert "not a gate run" in gate["not_gate_run"] and "not a gate run" in r.stdout
    assert latest.resolve() == first.bundle.resolve(), "an exit-5 run moved latest"

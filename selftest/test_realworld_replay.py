"""Issue 11.7 and 11.1: a replay reproduces its original's decision and reasons, and writes its bundle under
the checkout's reports/ (never inside the bundle it replays), with --replay in both forms from anywhere."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from selftest.test_realworld_paths import REPO, both_forms, run
from selftest.test_realworld_review import NO_CREDENTIALS, no_credentials
from selftest.test_reliability import non_embedded_env

AWS_SUITES = ("tests/dynamodb", "tests/s3")


def gate_of(bundle: Path) -> dict:
    return json.loads((bundle / "gate.json").read_text())


def manifest_files(bundle: Path) -> int:
    return len(json.loads((bundle / "manifest.json").read_text())["files"])


def reasons(gate: dict) -> list[tuple[str, str, str, str]]:
    return [(r["outcome"], r["check"], r["resource"], r["message"]) for r in gate["reasons"]]


def test_replay_of_a_run_stopped_on_missing_credentials(suite, tmp_path, monkeypatch):
    for k in NO_CREDENTIALS:
        monkeypatch.delenv(k, raising=False)
    original = suite.run("--environments", str(non_embedded_env(tmp_path)), env="remote",
                         environ=no_credentials(tmp_path))
    assert original.ret == pytest.ExitCode.USAGE_ERROR and original.bundle is not None
    before = gate_of(original.bundle)
    assert before["decision"] == "NO-GO" and any("Unable to locate credentials" in m for m in before["incomplete"])
    run_id = before["run_id"]

    replay = suite.run("--replay", str(original.bundle), env="")
    after = gate_of(replay.bundle)
    assert f"replay of {run_id}: {manifest_files(original.bundle)} files verified" in replay.stdout
    assert replay.outcomes == {}, "the replay evaluated checks its original never ran"
    assert after["decision"] == before["decision"] == "NO-GO"
    assert after["incomplete"] == before["incomplete"] and reasons(after) == reasons(before)
    assert after["rollback"] == before["rollback"] and "emergency" not in (after["rollback"] or "")
    assert after["replay_of"] == str(original.bundle.resolve())


def test_replay_of_a_partial_selection_evaluates_the_same_checks(suite):
    original = suite.run("-m", "smoke and dynamodb", "--fault", "DDB-03", tests=AWS_SUITES)
    assert original.ret == 1, original.stdout[-3000:]
    replay = suite.run("--replay", str(original.bundle), env="", tests=AWS_SUITES)  # no -m: the same checks
    assert replay.outcomes == original.outcomes
    before, after = gate_of(original.bundle), gate_of(replay.bundle)
    assert after["decision"] == before["decision"] and reasons(after) == reasons(before)
    assert after["counts"] == before["counts"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """One real bundle, made from outside the checkout, for both option forms to replay."""
    tmp = tmp_path_factory.mktemp("made")
    reports, cwd = tmp / "made", tmp / "cwd"
    cwd.mkdir()
    first = run(cwd, "--env", "local", "-m", "cicd and smoke and not canary", "--reports", str(reports))
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    return next(p.parent for p in reports.glob("local/*/manifest.json") if p.parent.name != "latest")


@pytest.mark.parametrize("form", ["space", "equals"])
def test_replay_from_outside_the_checkout_writes_under_the_checkout(tmp_path, made, form):
    """--replay /tmp/bundle: pytest used to take /tmp/bundle as rootdir and write into /tmp/bundle/reports."""
    bundle = tmp_path / "elsewhere" / "bundle"
    shutil.copytree(made, bundle)
    ours = REPO / "reports" / "local"
    existing = set(ours.iterdir()) if ours.is_dir() else set()
    latest = ours / "latest"
    pointed = os.readlink(latest) if latest.is_symlink() else None
    r = run(bundle, *both_forms("--replay", bundle, form))  # from inside the bundle, even
    out = r.stdout + r.stderr
    try:
        assert r.returncode == 0, out[-3000:]
        assert f"replay of {gate_of(made)['run_id']}: {manifest_files(made)} files verified" in out
        assert not (bundle / "reports").exists() and sorted(p.name for p in bundle.iterdir()) == sorted(
            p.name for p in made.iterdir())
        assert len(ours_of(ours, existing, bundle)) == 1
        assert (os.readlink(latest) if latest.is_symlink() else None) == pointed, "a replay moved latest"
    finally:  # leave the checkout's reports/ as it was (another test's run may be writing there too)
        for p in ours_of(ours, existing, bundle, markers=True):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


def ours_of(reports: Path, existing: set[Path], source: Path, markers: bool = False) -> list[Path]:
    """The bundles (and with markers, the started-run markers) a replay of `source` wrote under `reports`."""
    out = []
    for p in set(reports.iterdir()) - existing if reports.is_dir() else ():
        doc = p / "gate.json" if p.is_dir() else p
        if (p.is_dir() and not p.name.startswith(".")) or (markers and p.name.endswith(".started.json")):
            try:
                if json.loads(doc.read_text()).get("replay_of") == str(source):
                    out.append(p)
            except (OSError, ValueError):
                continue
    return out

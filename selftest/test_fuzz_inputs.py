"""Issue 7.5: bad input, fuzzed with hypothesis. Never a traceback: a usage error or a finding.

- environments.toml: mutated text of the real file and random TOML documents -> `config.load`
  returns envs or raises ConfigError, nothing else;
- plan JSON, state JSON, lock Info and workflow YAML -> the CI/CD parsers and rules return
  findings, never raise;
- the bundle given to --replay, corrupted, truncated, missing files or re-sealed with a
  mutated snapshot -> `verified_snapshot` raises BundleError or returns a Snapshot.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from checks.areas.cicd import plan as plan_mod
from checks.areas.cicd import workflows as wf_mod
from checks.core import config
from checks.core import tfstate as state_mod
from checks.core.outcome import Missing, Unverifiable
from checks.core.snapshot import Snapshot

REPO = Path(__file__).resolve().parent.parent
TOML_TEXT = config.DEFAULT_PATH.read_text(encoding="utf-8")
WORKFLOWS = sorted((REPO / "selftest/infra_repo/.github/workflows").glob("*.yml"))
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

# ----------------------------------------------------------------------------- generic mutators

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


@st.composite
def mutated(draw, text: str) -> str:
    """The text with a few line-level and character-level edits."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        kind = draw(st.sampled_from(["drop", "dup", "junk", "cut", "swap", "char"]))
        if not lines:
            break
        if kind == "drop":
            lines.pop(i)
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "junk":
            lines.insert(i, draw(st.text(max_size=30)))
        elif kind == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(st.sampled_from(list("=[]{}\"'#,.\\\n\t0x-:"))) + lines[i][pos:]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- environments.toml

def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v) if v == v and v not in (float("inf"), float("-inf")) else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items() if x is not None) + "}"
    return '""'


@st.composite
def structural_change(draw) -> str:
    """The real file plus an override: a known key set to a random value, or a random key."""
    env = draw(st.sampled_from(["dev", "sit", "prod", "local", "new"]))
    key = draw(st.one_of(st.sampled_from([
        "account", "region", "concurrency", "retry_mode", "max_attempts", "dynamodb", "s3", "backup", "tags",
        "dynamodb.tables", "dynamodb.replicas", "s3.replication", "s3.lifecycle", "s3.templates", "iam.app_roles",
        "github.required_approvers", "terraform", "pdv", "embedded", "dr_region", "backup.frequency",
    ]), st.text(min_size=1, max_size=8)))
    value = draw(json_values)
    head, _, leaf = key.rpartition(".")
    table = f"envs.{env}" + (f".{head}" if head else "")
    return TOML_TEXT + f"\n[{table}]\n{json.dumps(leaf)} = {toml_value(value)}\n"


def load_only_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "environments.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        envs = config.load(path)
    except config.ConfigError as exc:
        assert str(path) in str(exc)  # names the file
        return
    assert all(isinstance(e, config.Env) for e in envs.values())


@FUZZ
@given(text=mutated(TOML_TEXT))
def test_mutated_environments_toml_is_a_config_error(tmp_path, text):
    load_only_config_errors(tmp_path, text)


@FUZZ
@given(text=structural_change())
def test_wrongly_typed_environments_toml_is_a_config_error(tmp_path, text):
    note(text[len(TOML_TEXT):])
    load_only_config_errors(tmp_path, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(["defaults", "envs", "x"]), json_values, max_size=3))
def test_random_toml_documents_are_config_errors(tmp_path, data):
    text = "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items() if v is not None)
    load_only_config_errors(tmp_path, text)


# ----------------------------------------------------------------------------- plan, state, lock

PLAN = json.dumps({"format_version": "1.2", "resource_changes": [
    {"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table", "mode": "managed",
     "change": {"actions": ["delete", "create"]}, "action_reason": "replace_because_cannot_update"},
    {"address": "aws_s3_bucket.templates", "type": "aws_s3_bucket", "change": {"actions": ["update"]}}],
    "errored": False, "complete": True}, indent=1)


def check_plan(text: str) -> None:
    plan, findings = plan_mod.parse("plan.json", text)
    assert all(f.check == "CICD-02" for f in findings)
    if plan is not None:
        plan_mod.errored("plan.json", plan)
        plan_mod.stateful_destroys("plan.json", plan, ["aws_s3_bucket.x"])


@FUZZ
@given(text=st.one_of(mutated(PLAN), json_values.map(json.dumps)))
def test_plan_json_gives_findings_never_raises(text):
    check_plan(text)


@FUZZ
@given(change=json_values, rc=st.one_of(json_values, st.lists(json_values, max_size=3)))
def test_plan_json_with_odd_resource_changes(change, rc):
    check_plan(json.dumps({"format_version": "1", "resource_changes": [
        {"address": "a.b", "type": "aws_dynamodb_table", "change": change}] if not isinstance(rc, list) else rc}))


STATE = json.dumps({"version": 4, "terraform_version": "1.6.0", "serial": 3, "lineage": "x", "resources": [
    {"mode": "managed", "type": "aws_dynamodb_table", "name": "tenants", "provider": "p",
     "instances": [{"attributes": {"name": "tenants", "arn": "arn:aws:dynamodb:x"}}]}]})


@FUZZ
@given(data=st.one_of(mutated(STATE).map(str.encode), json_values.map(lambda v: json.dumps(v).encode()),
                      st.binary(max_size=40)))
def test_state_json_gives_a_reason_never_raises(data):
    state, why = state_mod.parse_state(data)
    if state is None:
        assert why
    else:
        state_mod.resources(state)


@FUZZ
@given(resources=st.lists(json_values, max_size=3))
def test_state_resources_of_any_shape(resources):
    state, _ = state_mod.parse_state(json.dumps({"version": 4, "resources": resources}).encode())
    if state is not None:
        state_mod.resources(state)


@FUZZ
@given(text=st.one_of(json_values.map(json.dumps), st.text(max_size=30), json_values))
def test_lock_info_never_raises(text):
    info, why = state_mod.parse_lock_info(text)
    assert info is not None or why


# ----------------------------------------------------------------------------- workflow YAML

def lint_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "wf.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    findings = wf_mod.lint(path, root=tmp_path)
    assert all(f.check for f in findings)
    wf = wf_mod.parse("wf.yml", text)
    if not wf.problems:
        wf_mod.reviewed_plan(wf)
        wf_mod.actions_pinned(wf)
        try:
            wf_mod.region(wf, "eu-west-1")
        except (Missing, Unverifiable) as verdict:  # a verdict ("judge that workflow in its own repo"), not a crash
            assert str(verdict)
        wf_mod.role_secret(wf, "AWS_ROLE_DEV")
        wf_mod.init_commands(wf)


@FUZZ
@given(source=st.sampled_from(WORKFLOWS), data=st.data())
def test_mutated_workflow_yaml_gives_findings(tmp_path, source, data):
    lint_text(tmp_path, data.draw(mutated(source.read_text())))


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["on", "jobs", "permissions", "env", "concurrency", "name", "x"]),
                           json_values, max_size=5),
       jobs=st.dictionaries(st.text(min_size=1, max_size=5), st.dictionaries(
           st.sampled_from(["runs-on", "steps", "needs", "environment", "permissions", "uses", "with", "if",
                            "defaults", "env", "concurrency"]), json_values, max_size=5), max_size=3))
def test_random_workflow_structures_give_findings(tmp_path, doc, jobs):
    doc = {**doc, "jobs": jobs} if jobs else doc
    lint_text(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(steps=st.lists(st.dictionaries(st.sampled_from(["name", "run", "uses", "with", "shell", "env", "id", "if"]),
                                      st.one_of(st.text(max_size=60), json_values), max_size=4), max_size=4))
def test_random_steps_give_findings(tmp_path, steps):
    doc = {"on": {"push": None, "workflow_dispatch": {"inputs": {"env": {"type": "choice", "options": ["dev"]}}}},
           "permissions": {"id-token": "write"},
           "jobs": {"apply": {"runs-on": "ubuntu-24.04", "environment": "dev", "steps": steps}}}
    lint_text(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


# ----------------------------------------------------------------------------- replay bundles

def make_bundle(root: Path) -> Path:
    """A minimal sealed bundle: snapshot.json and results.json listed in the manifest."""
    from checks.evidence.bundle import write_manifest
    bundle = root / "bundle"
    bundle.mkdir()
    env = config.load()["local"]
    snap = Snapshot({"env_name": "local", "env": env.model_dump(), "run_id": "r"})
    snap.dump(bundle / "snapshot.json")
    (bundle / "results.json").write_text(json.dumps({"results": []}))
    write_manifest(bundle, {"run_id": "r"})
    return bundle


def reseal(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in manifest.get("files", {}):
        if (bundle / name).is_file():
            manifest["files"][name]["sha256"] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def replay_only_bundle_errors(bundle: Path) -> None:
    from checks.evidence.replay import BundleError, verified_snapshot
    try:
        snap = verified_snapshot(bundle)
    except BundleError as exc:
        assert str(exc)
        return
    assert isinstance(snap, Snapshot)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("pristine"))


def test_pristine_bundle_replays(pristine):
    from checks.evidence.replay import verified_snapshot
    assert verified_snapshot(pristine).meta["env_name"] == "local"


@FUZZ
@given(name=st.sampled_from(["manifest.json", "snapshot.json", "results.json"]),
       how=st.sampled_from(["truncate", "garbage", "delete", "flip", "json"]), value=json_values,
       cut=st.integers(0, 400), sealed=st.booleans())
def test_corrupted_bundle_is_a_bundle_error(tmp_path_factory, pristine, name, how, value, cut, sealed):
    bundle = tmp_path_factory.mktemp("b") / "bundle"
    shutil.copytree(pristine, bundle)
    path = bundle / name
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[:cut])
    elif how == "garbage":
        path.write_bytes(b"\xff\xfe" + data[cut:])
    elif how == "delete":
        path.unlink()
    elif how == "flip":
        i = cut % max(1, len(data))
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:] if data else b"x")
    else:
        path.write_text(json.dumps(value))
    if sealed and name != "manifest.json":
        reseal(bundle)  # a bundle whose digests match a mutated file: only the content can be refused
    replay_only_bundle_errors(bundle)


@FUZZ
@given(mutation=st.one_of(json_values, st.fixed_dictionaries({"meta": json_values, "observations": json_values}),
                          st.fixed_dictionaries({"meta": st.just({}), "observations": st.lists(json_values,
                                                                                                 max_size=3)})))
def test_resealed_mutated_snapshot_is_a_bundle_error(tmp_path_factory, pristine, mutation):
    bundle = tmp_path_factory.mktemp("m") / "bundle"
    shutil.copytree(pristine, bundle)
    (bundle / "snapshot.json").write_text(json.dumps(mutation))
    reseal(bundle)
    replay_only_bundle_errors(bundle)


def test_missing_and_non_directory_bundles(tmp_path):
    replay_only_bundle_errors(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    replay_only_bundle_errors(tmp_path / "file")
    replay_only_bundle_errors(tmp_path)

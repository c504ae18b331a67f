"""Fixtures for tests/cicd: one view per workflow, Terraform root, backend resource, plan and GitHub object.

Registered by the plugin (`import_plugin("checks.cicd.fixtures")`). `pytest_generate_tests`
parametrizes at collection time from the env and the run options, so ids read
`test_workflow_schema[deploy-prod.yml]` or `test_lock_not_stale[terraform-state-lock-prod]`.
A missing input (no infra repo, no plan, no GitHub token) skips with what to set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks.areas.cicd import views
from checks.areas.cicd.collector import SKIP_DIRS
from checks.core.config import ConfigError, Env, load
from checks.core.snapshot import Snapshot

NO_INFRA = "no infra repo: pass --infra-repo PATH or set infra_repo in environments.toml"
NO_PLAN = "no plan given: pass --plan-json PATH (the output of `terraform show -json <planfile>`)"
PARAMS = pytest.StashKey[dict[str, list[Any]]]()


def expected_workflows(env: Env) -> list[str]:
    """The deploy workflows of every real env in the same environments.toml, plus this env's."""
    names = [env.github.workflow]
    try:
        others = load(env.source).values() if env.source and Path(env.source).is_file() else []
    except ConfigError:  # e.g. a replayed env, whose source is the bundle's snapshot: this env alone
        others = []
    names += [e.github.workflow for e in others if not e.embedded and e.github]
    return sorted(set(names))


def listed_workflows(root: Path | None) -> list[str]:
    d = root / ".github" / "workflows" if root else None
    return sorted(p.name for p in d.iterdir() if p.suffix in (".yml", ".yaml")) if d and d.is_dir() else []


def listed_roots(root: Path | None) -> list[str]:
    if root is None or not root.is_dir():
        return []
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if any(f.endswith(".tf") for f in filenames):
            out.add(Path(dirpath).relative_to(root).as_posix())
    return sorted(out)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An env without [terraform] or [github] does not check CI/CD: those checks skip with the reason."""
    from checks.plugin.run import env_of

    reason = env_of(config).absent("terraform", "github")
    for item in items if reason else []:
        if item.get_closest_marker("cicd"):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    params = _params(metafunc.config)
    for name, values in params.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values, indirect=True, ids=[str(v) for v in values])


def _params(config: pytest.Config) -> dict[str, list[Any]]:
    """Every parametrized fixture's values, computed once per run (they read environments.toml and walk the repo)."""
    from checks.plugin.run import env_of, options_of

    if PARAMS in config.stash:
        return config.stash[PARAMS]
    try:
        env, options = env_of(config), options_of(config)
    except KeyError:
        return {}
    if env.absent("terraform", "github"):
        return {}  # the area's checks skip (pytest_collection_modifyitems)
    root = Path(options.infra_repo) if options.infra_repo else None
    tf = env.terraform
    expected = expected_workflows(env)
    config.stash[PARAMS] = {
        "workflow": sorted(set(expected) | set(listed_workflows(root))),
        "expected_workflow": expected,
        "deploy_workflow": [env.github.workflow],
        "tf_root": listed_roots(root) or ["terraform"],
        "state_bucket": [tf.state_bucket],
        "lock_table": [tf.lock_table],
        "state_object": [tf.state_key],
        "managed_resource": [*env.tables, env.s3.bucket],
        "plan": [Path(options.plan_json).name if options.plan_json else "plan.json"],
        "approval_environment": [env.github.environment],
        "deploy_runs": [env.github.workflow],
        "caller": [env.account],
        "infra": ["infra-repo"],
    }
    return config.stash[PARAMS]


@pytest.fixture(scope="session")
def infra_repo_view(snapshot: Snapshot, env: Env) -> views.InfraRepo:
    return views.InfraRepo(snapshot, env)


def _infra(view: views.InfraRepo) -> views.InfraRepo:
    if not view.given:
        pytest.skip(NO_INFRA)
    return view


@pytest.fixture
def infra(request: pytest.FixtureRequest, infra_repo_view: views.InfraRepo) -> views.InfraRepo:
    return _infra(infra_repo_view)


@pytest.fixture
def workflow(request: pytest.FixtureRequest, infra_repo_view: views.InfraRepo) -> views.WorkflowView:
    return views.WorkflowView(_infra(infra_repo_view), request.param)


@pytest.fixture
def expected_workflow(request: pytest.FixtureRequest, infra_repo_view: views.InfraRepo) -> views.WorkflowView:
    return views.WorkflowView(_infra(infra_repo_view), request.param)


@pytest.fixture
def deploy_workflow(request: pytest.FixtureRequest, infra_repo_view: views.InfraRepo) -> views.WorkflowView:
    return views.WorkflowView(_infra(infra_repo_view), request.param)


@pytest.fixture
def tf_root(request: pytest.FixtureRequest, infra_repo_view: views.InfraRepo) -> views.TerraformRoot:
    return views.TerraformRoot(_infra(infra_repo_view), request.param)


def _backend(snapshot: Snapshot, env: Env, name: str) -> views.StateBackend:
    return views.StateBackend(snapshot, env, name)


@pytest.fixture
def state_bucket(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def lock_table(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def state_object(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def managed_resource(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.ManagedResource:
    return views.ManagedResource(_backend(snapshot, env, env.terraform.state_key), request.param)


@pytest.fixture
def plan(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.PlanView:
    path = snapshot.meta.get("plan_json")
    if not path:
        pytest.skip(NO_PLAN)
    return views.PlanView(snapshot, env, path)


def _github(snapshot: Snapshot, env: Env, name: str) -> views.GitHubView:
    view = views.GitHubView(snapshot, env, name)
    if view.skipped:
        pytest.skip(view.skipped)
    return view


@pytest.fixture
def approval_environment(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.GitHubView:
    return _github(snapshot, env, request.param)


@pytest.fixture
def deploy_runs(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.GitHubView:
    return _github(snapshot, env, request.param)


@pytest.fixture
def caller(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.Caller:
    return views.Caller(snapshot, env)

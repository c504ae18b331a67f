"""Fixtures for tests/cicd: one view per workflow, Terraform root, backend resource, plan and GitHub object.

Registered by the plugin (`import_plugin("checks.areas.cicd.fixtures")`). `pytest_generate_tests`
parametrizes at collection time from the env and the run options, so ids read
`test_workflow_schema[deploy-prod.yml]` or `test_lock_not_stale[terraform-state-lock-prod]`.
A missing input (no infra repo, no plan, no GitHub token) skips with what to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checks.areas.cicd import backend_views, github_views, views
from checks.areas.cicd.model import parse, runs_apply
from checks.core.collect import read_bounded
from checks.core.config import ConfigError, Env, load
from checks.core.repo import WORKFLOW_DIR, RepoListingError, repo_files, repo_tree
from checks.core.repo import is_bound as repo_bound
from checks.core.snapshot import Snapshot

NO_INFRA = "no infra repo: pass --infra-repo PATH or set infra_repo in environments.toml"
NO_PLAN = "no plan given: pass --plan-json PATH (the output of `terraform show -json <planfile>`)"
PARAMS = pytest.StashKey[dict[str, list[Any]]]()


def env_workflows(env: Env) -> dict[str, str]:
    """env name -> github.workflow for every real env of the same environments.toml, plus this env."""
    try:
        envs = load(env.source) if env.source and Path(env.source).is_file() else {}
    except ConfigError:  # e.g. a replayed env, whose source is the bundle's snapshot: this env alone
        envs = {}
    out = {e.name: e.github.workflow for e in envs.values() if not e.embedded and e.github}
    out[env.name] = env.github.workflow
    return out


def is_bound(env: Env, names: list[str]) -> bool:
    return repo_bound(env.embedded, env.github.workflow if env.github else "", names)


def listing(env: Env, root: Path | None) -> dict[str, Any]:
    """What parametrization needs from disk, read once before collection and recorded into snapshot.meta:
    workflow names, which of them run terraform apply, the Terraform roots, the other envs' workflows."""
    try:  # the recorded listing's workflows: a symlinked workflow directory is never entered
        tree = repo_tree(root) if root is not None and root.is_dir() else []
    except RepoListingError:
        tree = []  # the collector records why; every check of the repo is an error
    names = sorted(f.rsplit("/", 1)[1] for f in repo_files(root, tree) if f.startswith(WORKFLOW_DIR + "/")
                   and f.endswith((".yml", ".yaml"))) if root is not None else []
    applies = []
    for n in names:
        try:
            wf = parse(f"{WORKFLOW_DIR}/{n}", read_bounded(root / WORKFLOW_DIR / n, root))
        except (OSError, UnicodeDecodeError):
            continue
        if isinstance(wf.data, dict) and any(runs_apply(j) for j in wf.jobs.values()):
            applies.append(n)
    roots = set()
    for f in tree:
        if f.endswith(".tf"):
            roots.add(f.rsplit("/", 1)[0] if "/" in f else ".")
    return {"workflows": names, "apply_workflows": applies, "roots": sorted(roots),
            "env_workflows": env_workflows(env), "bound": is_bound(env, names)}


class _RecordListing:
    """Puts the pre-collection listing into the live snapshot as soon as it exists (before collecting)."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def pytest_bbws_aws_ready(self, aws: Any) -> None:
        aws.snapshot.meta[views.LISTING] = self.data


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An env without [terraform] or [github] does not check CI/CD: those checks skip with the reason."""
    from checks.plugin.run import env_of

    reason = env_of(config).absent("terraform", "github")
    for item in items if reason else []:
        if item.get_closest_marker("cicd"):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Take the listing before collection in every process, so an xdist controller (which collects no
    tests) records it into the live snapshot as well."""
    _params(session.config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    params = _params(metafunc.config)
    for name, values in params.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values, indirect=True, ids=[str(v) for v in values])


def _params(config: pytest.Config) -> dict[str, list[Any]]:
    """Every parametrized fixture's values, once per run: from the replayed snapshot, or a listing of the
    repo taken now and recorded into the live snapshot, so a replay parametrizes exactly as the run did."""
    from checks.plugin.run import run_of

    if PARAMS in config.stash:
        return config.stash[PARAMS]
    try:
        run = run_of(config)
    except KeyError:
        return {}
    env, options = run.env, run.options
    if env.absent("terraform", "github"):
        return {}  # the area's checks skip (pytest_collection_modifyitems)
    if run.replay is not None and run.snapshot is not None:
        got = run.snapshot.meta.get(views.LISTING) or {}
    else:
        got = listing(env, Path(options.infra_repo) if options.infra_repo else None)
        if not config.pluginmanager.has_plugin("bbws-cicd-listing"):
            config.pluginmanager.register(_RecordListing(got), "bbws-cicd-listing")
    config.stash[PARAMS] = params(env, got, options.plan_json)
    return config.stash[PARAMS]


def params(env: Env, got: dict[str, Any], plan_json: Any = None) -> dict[str, list[Any]]:
    """Every parametrized fixture's values for this env and repo listing."""
    tf = env.terraform
    others = {w for e, w in (got.get("env_workflows") or {}).items() if e != env.name}
    expected = [env.github.workflow]  # this env's deploy workflow; another env's is that env's run to demand
    deploy = sorted({env.github.workflow} | {w for w in got.get("apply_workflows", []) if w not in others}) \
        if got.get("bound", True) else sorted(got.get("apply_workflows", [])) or [env.github.workflow]
    return {
        "workflow": sorted(set(expected) | set(got.get("workflows", []))),
        "expected_workflow": expected,
        "deploy_workflow": deploy,
        "tf_root": list(got.get("roots", [])) or ["terraform"],
        "state_bucket": [tf.state_bucket],
        "lock_table": [tf.lock_table],
        "state_object": [tf.state_key],
        "managed_resource": [*env.tables, env.s3.bucket],
        "plan": [Path(plan_json).name if plan_json else "plan.json"],
        "approval_environment": [env.github.environment],
        "deploy_runs": [env.github.workflow],
        "caller": [env.account],
        "infra": ["infra-repo"],
    }


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


def _backend(snapshot: Snapshot, env: Env, name: str) -> backend_views.StateBackend:
    return backend_views.StateBackend(snapshot, env, name)


@pytest.fixture
def state_bucket(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> backend_views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def lock_table(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> backend_views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def state_object(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> backend_views.StateBackend:
    return _backend(snapshot, env, request.param)


@pytest.fixture
def managed_resource(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> backend_views.ManagedResource:
    return backend_views.ManagedResource(_backend(snapshot, env, env.terraform.state_key), request.param)


@pytest.fixture
def plan(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.PlanView:
    path = snapshot.meta.get("plan_json")
    if not path:
        pytest.skip(NO_PLAN)
    return views.PlanView(snapshot, env, path)


def _github(snapshot: Snapshot, env: Env, name: str) -> github_views.GitHubView:
    view = github_views.GitHubView(snapshot, env, name)
    if view.skipped:
        pytest.skip(view.skipped)
    return view


@pytest.fixture
def approval_environment(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> github_views.GitHubView:
    return _github(snapshot, env, request.param)


@pytest.fixture
def deploy_runs(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> github_views.GitHubView:
    return _github(snapshot, env, request.param)


@pytest.fixture
def caller(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> backend_views.Caller:
    return backend_views.Caller(snapshot, env)

"""The pytest plugin: options, the run's lifecycle (world, collection, guard), outcomes.

Registered by the root conftest.py and as the `pytest11` entry point `checks.plugin`.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from . import config as cfg
from .aws import Aws
from .catalog import entry
from .collect import CollectorCrashed, Context, Options, collect_all
from .outcome import Missing, Unverifiable
from .snapshot import Snapshot, iso, now

AREA_PLUGINS = ("checks.fixtures", "checks.cicd.fixtures", "checks.pdv.fixtures", "checks.evidence.plugin")
AUTH_ERRORS = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
               "NoCredentialsError", "NoRegionError", "SignatureDoesNotMatch", "PartialCredentialsError",
               "TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError", "ProfileNotFound",
               "EndpointConnectionError", "CredentialRetrievalError", "InvalidSignatureException"}


@dataclass
class Run:
    """Everything about this run that the fixtures, hooks and evidence need."""
    env: cfg.Env
    options: Options
    args: list[str]
    canary: bool = False
    faults: list[tuple[str, str | None]] = field(default_factory=list)
    replay: Path | None = None
    run_id: str = field(default_factory=lambda: now().strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6])
    started: str = field(default_factory=lambda: iso(now()))
    snapshot: Snapshot | None = None
    aws: Aws | None = None
    world: Any = None
    endpoint_url: str | None = None
    incomplete: list[str] = field(default_factory=list)  # why the evidence is incomplete
    snapshot_path: Path | None = None  # set by a worker's controller under xdist
    selected: set[str] = field(default_factory=set)  # test function names in this run
    passive: bool = False  # a session that tests the suite itself: it reads no AWS and writes no bundle

    @property
    def complete(self) -> bool:
        return not self.incomplete


RUN = pytest.StashKey[Run]()


def run_of(config: pytest.Config) -> Run:
    return config.stash[RUN]


def env_of(config: pytest.Config) -> cfg.Env:
    return config.stash[RUN].env


def options_of(config: pytest.Config) -> Options:
    return config.stash[RUN].options


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks
    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bbws", "BBWS storage compliance")
    g.addoption("--env", default="local", help="env in environments.toml (default: local, the embedded moto world)")
    g.addoption("--environments", default=None, help="path to environments.toml")
    g.addoption("--infra-repo", default=None, help="the infra repo (.github/workflows, terraform) for CI/CD checks")
    g.addoption("--plan-json", default=None, help="a `terraform show -json` plan to gate")
    g.addoption("--canary", action="store_true", help="run the canary write checks (PDV-03..05)")
    g.addoption("--fault", default="", help="inject runbook faults into the local world, e.g. DDB-03,S3-02")
    g.addoption("--replay", default=None, help="re-evaluate an evidence bundle offline")
    g.addoption("--compare-with", default=None, help="PDV-08: an evidence bundle of another env to compare with")
    g.addoption("--reports", default=None, help="where bundles go (default: <rootdir>/reports)")
    g.addoption("--concurrency", type=int, default=None, help="parallel AWS reads (default: from environments.toml)")


def pytest_configure(config: pytest.Config) -> None:
    if config.option.help:
        return
    opt = config.option
    replay = Path(opt.replay) if opt.replay else None
    replayed: Snapshot | None = None
    if replay is not None:
        env, replayed = _replayed(replay)
    else:
        env = _load_env(opt.environments, opt.env)
    if opt.concurrency is not None:
        if opt.concurrency < 1:
            raise pytest.UsageError(f"--concurrency must be at least 1, got {opt.concurrency}")
        env = dataclasses.replace(env, concurrency=opt.concurrency)
    run = Run(env=env, options=_options(env, opt), args=list(config.invocation_params.args),
              canary=bool(replayed.meta.get("canary")) if replayed else bool(opt.canary), replay=replay,
              snapshot=replayed)
    if opt.fault:
        if not env.embedded:
            raise pytest.UsageError(f"--fault needs the embedded world; env {env.name!r} is a real account")
        from .world import parse_faults
        try:
            run.faults = parse_faults(opt.fault, env)
        except ValueError as exc:
            raise pytest.UsageError(f"--fault: {exc}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        run.snapshot_path = Path(workerinput["bbws_snapshot"])
        run.endpoint_url = workerinput.get("bbws_endpoint") or None
        run.run_id = workerinput["bbws_run_id"]
    config.stash[RUN] = run
    for name in AREA_PLUGINS:
        config.pluginmanager.import_plugin(name)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(run, config), "bbws-xdist")


def _load_env(path: str | None, name: str) -> cfg.Env:
    try:
        envs = cfg.load(path)
    except cfg.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if name not in envs:
        raise pytest.UsageError(f"--env {name!r} is not in {path or cfg.DEFAULT_PATH}; valid envs: {', '.join(envs)}")
    return envs[name]


def _replayed(bundle: Path) -> tuple[cfg.Env, Snapshot]:
    """The env and the snapshot of a verified bundle: replay reads both, and no AWS."""
    from .evidence import replay as replay_mod
    try:
        snapshot = replay_mod.verified_snapshot(bundle)
    except replay_mod.BundleError as exc:
        raise pytest.UsageError(f"--replay {bundle}: {exc}") from None
    try:
        env = cfg.from_dict(snapshot.meta["env"], f"{bundle}/snapshot.json")
    except (KeyError, TypeError, AttributeError, cfg.ConfigError) as exc:
        raise pytest.UsageError(f"--replay {bundle}: the snapshot has no usable env: {exc}") from None
    snapshot.meta["replay_of"] = str(bundle)
    return env, snapshot


def _options(env: cfg.Env, opt: Any) -> Options:
    infra = opt.infra_repo or (str(Path(env.source).parent / env.infra_repo) if env.infra_repo else None)
    plan = Path(opt.plan_json) if opt.plan_json else None
    if plan is not None and not plan.is_file():
        raise pytest.UsageError(f"--plan-json {plan}: no such file")
    if opt.infra_repo and not Path(opt.infra_repo).is_dir():
        raise pytest.UsageError(f"--infra-repo {opt.infra_repo}: no such directory")
    compare = Path(opt.compare_with) if opt.compare_with else None
    if compare is not None and not compare.is_dir():
        raise pytest.UsageError(f"--compare-with {compare}: no such bundle directory")
    return Options(infra_repo=Path(infra).resolve() if infra else None, plan_json=plan, compare_with=compare,
                   github_token=os.environ.get("GITHUB_TOKEN", ""),
                   github_api_url=os.environ.get("GITHUB_API_URL", "") or env.github.api_url,
                   github_repo=env.github.repo or os.environ.get("GITHUB_REPOSITORY", ""))


class _XdistController:
    """Under xdist the controller collects once and hands the snapshot to the workers."""

    def __init__(self, run: Run, config: pytest.Config):
        self.run, self.config = run, config

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Runs before the controller schedules any test, so workers find the snapshot ready.
        if ids and not self.config.option.collectonly and not self.run.passive:
            prepare_snapshot(self.config, self.run)

    def pytest_configure_node(self, node: Any) -> None:
        path = self.run.snapshot_path
        node.workerinput["bbws_snapshot"] = str(path) if path else ""
        node.workerinput["bbws_endpoint"] = self.run.endpoint_url or ""
        node.workerinput["bbws_run_id"] = self.run.run_id


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def shared_snapshot_path(config: pytest.Config, run: Run) -> Path:
    """Where the controller leaves the snapshot for xdist workers (inside the run's temp dir)."""
    return Path(config.rootpath) / ".pytest_cache" / "bbws" / f"{run.run_id}.snapshot.json"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None and not is_worker(session.config):
        run.snapshot_path = shared_snapshot_path(session.config, run)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Collect (or load) the snapshot before the first check runs."""
    config = session.config
    run = config.stash[RUN]
    if config.option.collectonly or is_worker(config) or run.passive or not has_checks(session.items):
        return
    prepare_snapshot(config, run)


def has_checks(items: list[pytest.Item]) -> bool:
    """Only a session that runs checks reads AWS (the self-tests' own session does not)."""
    return any(item.get_closest_marker("issue") for item in items)


def prepare_snapshot(config: pytest.Config, run: Run) -> None:
    if run.snapshot is not None:  # a replay's snapshot was loaded and verified with its env
        return
    start_live(run, config.hook)
    if run.snapshot_path is not None:
        run.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        run.snapshot.dump(run.snapshot_path)


def start_live(run: Run, hook: Any) -> None:
    """Start the world when embedded, build the guarded layer, guard the account, collect."""
    env = run.env
    session = None
    adapt = None
    if env.embedded:
        from .world import World, adapt_client
        try:
            run.world = World(env, run.faults).start()
        except Exception as exc:  # noqa: BLE001  (a world that cannot be built is one clear message)
            run.incomplete.append(f"the embedded moto world could not be built: {type(exc).__name__}: {exc}")
            pytest.exit(run.incomplete[-1], returncode=pytest.ExitCode.INTERNAL_ERROR)
        hook.pytest_bbws_world_ready(world=run.world)
        run.endpoint_url = run.world.endpoint_url
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name=env.region)
        adapt = adapt_client
    snapshot = Snapshot({"env_name": env.name, "env": asdict(env), "run_id": run.run_id, "started": run.started,
                         "canary": run.canary, "faults": [list(f) for f in run.faults],
                         "endpoint": "embedded moto world" if env.embedded else (os.environ.get("AWS_ENDPOINT_URL")
                                                                                  or "AWS")})
    run.snapshot = snapshot
    run.aws = Aws(env, snapshot, endpoint_url=run.endpoint_url, canary=not canary_skip_reason(run), adapt=adapt,
                  session=session)
    hook.pytest_bbws_aws_ready(aws=run.aws)
    guard_account(run)
    try:
        collect_all(Context(env, run.aws, snapshot, run.options))
    except CollectorCrashed as exc:
        run.incomplete.append(str(exc))


def _identity_problem(run: Run) -> str | None:
    try:
        run.aws.session  # noqa: B018  (assume-role happens here)
    except Exception as exc:  # noqa: BLE001  (any credential failure is one clear message)
        return f"cannot get credentials for env {run.env.name!r}: {type(exc).__name__}: {exc}"
    obs = run.aws.call("sts", "GetCallerIdentity")
    if obs.ok:
        return None
    return (f"cannot verify who is calling for env {run.env.name!r}: sts:GetCallerIdentity failed with "
            f"{obs.code}: {obs.error['message']}. Check your credentials (expired session? run `aws sso login` "
            f"or refresh the role), the profile {run.env.profile or '(default chain)'} and the region.")


def guard_account(run: Run) -> None:
    """PDV-01: stop before any check when the caller is not in the env's account."""
    problem = _identity_problem(run)
    if problem is None:
        ident = run.aws.snapshot.get("sts", run.env.region, "GetCallerIdentity").response
        run.aws.snapshot.meta["caller"] = {"arn": ident.get("Arn"), "account": ident.get("Account"),
                                           "region": run.env.region}
        if ident.get("Account") != run.env.account:
            how = (f"role {run.env.role_arn}" if run.env.role_arn else
                   f"profile {run.env.profile}" if run.env.profile else
                   f"the default credential chain ({os.environ.get('AWS_PROFILE') or 'no AWS_PROFILE'})")
            problem = (f"PDV-01 account guard: the credentials are for account {ident.get('Account')} "
                       f"({ident.get('Arn')}), but env {run.env.name!r} is account {run.env.account}; "
                       f"credentials come from {how}. No check was run.")
    if problem:
        run.incomplete.append(problem)
        pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Canary checks run only with --canary, and only where the env allows writes."""
    run = config.stash[RUN]
    reason = canary_skip_reason(run)
    if reason:
        for item in items:
            if item.get_closest_marker("canary"):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_collection_finish(session: pytest.Session) -> None:
    """The final selection (after -m / -k), for Missing's 'reported by' rule."""
    run = session.config.stash[RUN]
    run.selected = {getattr(item, "originalname", item.name) for item in session.items}


def canary_skip_reason(run: Run) -> str:
    if not run.canary:
        return "canary checks write to AWS; run with --canary to include them"
    if not run.env.canary_allowed:
        return f"env {run.env.name} does not allow canaries (canary_allowed = false in environments.toml)"
    return ""


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None and run.world is not None:
        run.world.stop()
        run.world = None


def snapshot_of(config: pytest.Config) -> Snapshot:
    """The run's snapshot; an xdist worker loads the one its controller collected."""
    run = config.stash[RUN]
    if run.snapshot is None:
        if run.snapshot_path is None or not run.snapshot_path.is_file():
            raise Unverifiable("no snapshot was collected for this run")
        run.snapshot = Snapshot.load(run.snapshot_path)
    return run.snapshot


# ----- outcomes and check metadata on every report -----

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    run = item.config.stash.get(RUN, None)
    snap = run.snapshot if run else None
    if snap is not None:
        snap.reads = []
    yield
    if snap is not None:
        snap.reads = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("issue")
    if marker is None:
        return
    if call.when == "teardown" or (call.when == "setup" and report.passed):
        return
    exc = call.excinfo.value if call.excinfo else None
    message = ""
    if isinstance(exc, Missing) and exc.by and exc.by not in item.config.stash[RUN].selected:
        exc = Unverifiable(f"{exc.reason}, and {exc.by} is not part of this run")
    if isinstance(exc, Missing):
        report.outcome = "skipped"
        path, line, _ = item.reportinfo()
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {exc.reason}")
        message = exc.reason
    elif isinstance(exc, Unverifiable):
        report.outcome = "failed"
        report.when = "setup"  # an error outcome: the check could not be evaluated
        report.longrepr = f"ERROR (could not be evaluated): {exc.reason}"
        message = exc.reason
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed and exc is not None:
        message = _first_part(exc)
    report.bbws = check_record(item, report, message)
    if report.failed and report.when == "call":
        rb = report.bbws["runbook"]
        report.sections.append((f"runbook {rb['id']}: {rb['title']}",
                                f"symptom:     {rb['symptom']}\nroot cause:  {rb['cause']}\n"
                                f"remediation: {rb['resolution']}\nprevention:  {rb['prevention']}"))


def _first_part(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, AssertionError):
        text = text.split("\nassert ")[0]
    return text.strip()


def outcome_of(report: pytest.TestReport) -> str:
    if report.skipped:
        return "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed"


def resource_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params:
        return "/".join(str(v) for v in callspec.params.values())
    for value in getattr(item, "funcargs", {}).values():
        name = getattr(value, "name", None)
        if isinstance(name, str) and hasattr(value, "context"):
            return name
    return item.config.stash[RUN].env.name


def context_of(item: pytest.Item) -> dict[str, Any]:
    env = item.config.stash[RUN].env
    ctx: dict[str, Any] = {"env": env.name, "account": env.account, "region": env.region,
                           "dr_region": env.dr_region, "resource": resource_of(item)}
    for value in getattr(item, "funcargs", {}).values():
        if hasattr(value, "context") and callable(value.context):
            try:
                ctx.update({k: v for k, v in value.context().items() if v not in (None, "")})
            except (Unverifiable, Missing):
                pass
    return ctx


def check_record(item: pytest.Item, report: pytest.TestReport, message: str) -> dict[str, Any]:
    check_id = item.get_closest_marker("issue").args[0]
    e = entry(check_id)
    snap = item.config.stash[RUN].snapshot
    reads = list(snap.reads or []) if snap is not None else []  # before context(), whose reads are not evidence
    # A finding carries its raw observations; a pass names what it read (responses stay in snapshot.json).
    full = outcome_of(report) in ("failed", "error")
    observations = [dict(vars(o)) if full else {k: v for k, v in vars(o).items() if k != "response"}
                    for k in reads if (o := snap.by_key(k)) is not None] if snap else []
    ctx = context_of(item)
    return {"check": check_id, "title": e.title, "test": item.nodeid, "name": item.name,
            "resource": ctx["resource"], "outcome": outcome_of(report),
            "severity": e.severity_for(item.name), "message": message,
            "remediation": e.remediation(**ctx) if outcome_of(report) in ("failed", "error") else "",
            "runbook": e.runbook(**ctx), "observations": observations}


def invocation(config: pytest.Config) -> str:
    return shlex.join(["pytest", *config.invocation_params.args])

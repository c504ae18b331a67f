"""A live run: start the embedded world when asked, guard the account (PDV-01), collect once."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from checks import areas
from checks.core.aws import UNREACHABLE, Aws, new_session
from checks.core.collect import CollectorCrashed, Context, collect_all
from checks.core.read import caller_identity
from checks.core.snapshot import Snapshot
from checks.evidence.provenance import git_state
from checks.plugin.run import Run, canary_skip_reason


def shared_snapshot_path(config: pytest.Config, run: Run) -> Path:
    """Where the controller leaves the snapshot for xdist workers: a private (0700) temporary
    directory, removed when the run ends. The snapshot there is not redacted (the workers judge
    what was read), so it never goes under the project (.pytest_cache) or outlives the run."""
    private = Path(tempfile.mkdtemp(prefix="bbws-run-"))
    config.add_cleanup(lambda: shutil.rmtree(private, ignore_errors=True))
    return private / f"{run.run_id}.snapshot.json"


def has_checks(items: list[pytest.Item]) -> bool:
    """Only a session that runs checks reads AWS (the self-tests' own session does not)."""
    return any(item.get_closest_marker("issue") for item in items)


def selected_areas(items: list[pytest.Item]) -> dict[str, str]:
    """The areas of the selected checks, each with how much of it reads AWS (its AREA's aws_reads)."""
    return areas_of_ids([str(item.path) for item in items if item.get_closest_marker("issue") is not None])


def has_credentials(run: Run) -> bool:
    """Does the credential chain (or the env's profile / role source) hold any credentials at all?"""
    try:
        return run.aws.session.get_credentials() is not None
    except Exception:  # noqa: BLE001  (a missing profile, no source credentials for the role: none)
        return False


def offline_reason(run: Run, selected: dict[str, str]) -> tuple[str, str] | None:
    """Why this run reads no AWS as (a few words for each refused read, the one line the run prints), or None.

    A run whose checks read only files calls no STS. A review of areas that read files and AWS, with no
    credentials at all, runs its file checks and every AWS read is refused before a request exists (the
    checks that need one cannot be evaluated). Never for the embedded world."""
    if run.env.embedded or not selected or "all" in selected.values():
        return None
    if "some" not in selected.values():
        return ("no selected check reads AWS",
                f"no selected check reads AWS ({', '.join(selected)}): no AWS call and no account guard needed")
    if has_credentials(run):
        return None
    return ("no AWS credentials (credential-free review)",
            f"credential-free review of {', '.join(selected)}: no AWS credentials for env {run.env.name!r}; the "
            f"checks that read only files run, and each check that needs AWS is an error (not evaluated). "
            f"No AWS read is made without a verified caller.")


def areas_of_ids(nodeids: list[str]) -> dict[str, str]:
    """The areas of these tests (paths or node ids), each with how much of it reads AWS."""
    names = {areas.area_of(n) for n in nodeids}
    if "" in names:  # a test outside the areas: do not guess
        return {}
    declared = areas.declared()
    return {name: declared[name].aws_reads for name in sorted(names)}


def prepare_snapshot(config: pytest.Config, run: Run, items: list[pytest.Item] | None = None,
                     ids: list[str] | None = None) -> None:
    if run.snapshot is not None:  # a replay's snapshot was loaded and verified with its env
        return
    selected = selected_areas(items) if items is not None else areas_of_ids(ids or [])
    start_live(run, config.hook, selected, config.pluginmanager.get_plugin("terminalreporter"))
    if run.snapshot_path is not None:
        run.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        run.snapshot.dump(run.snapshot_path)


def start_live(run: Run, hook: Any, selected: dict[str, str] | None = None, terminal: Any = None) -> None:
    """Start the world when embedded, build the guarded layer, guard the account, collect."""
    env = run.env
    session = None
    adapt = None
    if env.embedded:
        from checks.world import World, adapt_client  # moto costs ~1 s of start-up: only for the embedded world
        try:
            run.world = World(env, run.faults).start()
        except Exception as exc:  # noqa: BLE001  (a world that cannot be built is one clear message)
            stop(run, f"the embedded moto world could not be built: {type(exc).__name__}: {exc}",
                 pytest.ExitCode.INTERNAL_ERROR)
        hook.pytest_bbws_world_ready(world=run.world)
        run.endpoint_url = run.world.endpoint_url
        session = new_session(aws_access_key_id="testing", aws_secret_access_key="testing",
                              region_name=env.region)
        adapt = adapt_client
    snapshot = Snapshot({"env_name": env.name, "env": env.model_dump(), "run_id": run.run_id, "started": run.started,
                         "canary": run.canary, "faults": [list(f) for f in run.faults],
                         "infra_git": git_state(run.options.infra_repo),  # provenance: the infra commit checked
                         "endpoint": "embedded moto world" if env.embedded else (os.environ.get("AWS_ENDPOINT_URL")
                                                                                  or "AWS")})
    run.snapshot = snapshot
    run.aws = Aws(env, snapshot, allowed=areas.allowlist(), endpoint_url=run.endpoint_url,
                  canary=not canary_skip_reason(run), adapt=adapt, session=session)
    hook.pytest_bbws_aws_ready(aws=run.aws)
    offline = offline_reason(run, selected or {})
    collectors = areas.collectors()
    if offline:
        run.aws.offline, snapshot.meta["offline"] = offline
        snapshot.meta["endpoint"] = "none (no AWS read)"
        collectors = areas.collectors_of(list(selected))
        if terminal is not None:
            terminal.write_line(offline[1], yellow=True)
    else:
        guard_account(run)
    try:
        collect_all(Context(env, run.aws, snapshot, run.options), collectors)
    except CollectorCrashed as exc:
        run.incomplete.append(str(exc))


def _identity_problem(run: Run) -> str | None:
    try:
        run.aws.session  # noqa: B018  (assume-role happens here)
    except Exception as exc:  # noqa: BLE001  (any credential failure is one clear message)
        return f"cannot get credentials for env {run.env.name!r}: {type(exc).__name__}: {exc}"
    obs = run.aws.read(caller_identity())
    if obs.ok:
        return None
    if obs.code in UNREACHABLE:
        return (f"cannot reach {_endpoint(run, 'sts')} for env {run.env.name!r} ({obs.code}): check the network, a "
                f"proxy (HTTPS_PROXY) or AWS_ENDPOINT_URL; nothing was read")
    return (f"cannot verify who is calling for env {run.env.name!r}: sts:GetCallerIdentity failed with "
            f"{obs.code}: {obs.error['message']}. Check your credentials (expired session? run `aws sso login` "
            f"or refresh the role), the profile {run.env.profile or '(default chain)'} and the region.")


def _endpoint(run: Run, service: str) -> str:
    try:
        return str(run.aws.client(service).meta.endpoint_url)
    except Exception:  # noqa: BLE001  (only for the message: the service and region say enough)
        return f"the {service} endpoint of {run.env.region}"


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
        stop(run, problem, pytest.ExitCode.USAGE_ERROR)


def stop(run: Run, problem: str, code: int) -> None:
    """End the run before any check. The reason is said once, in the gate summary, which pytest's own last line
    points to; pytest prints no summary after an internal error, so that line says it then."""
    run.incomplete.append(problem)
    said = (f"stopped before any check: {problem}" if code == pytest.ExitCode.INTERNAL_ERROR else
            f"stopped before any check (exit {int(code)}): the reason is in the BBWS gate summary above")
    exc = pytest.exit.Exception(said, returncode=code)
    exc.bbws_reason = problem  # type: ignore[attr-defined]  (the evidence recorder knows it already)
    raise exc

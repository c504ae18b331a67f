"""A live run: start the embedded world when asked, guard the account (PDV-01), collect once."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest

from checks import areas
from checks.core.aws import Aws
from checks.core.collect import CollectorCrashed, Context, collect_all
from checks.core.read import caller_identity
from checks.core.snapshot import Snapshot
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
        from checks.world import World, adapt_client  # moto costs ~1 s of start-up: only for the embedded world
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
        collect_all(Context(env, run.aws, snapshot, run.options), areas.collectors())
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



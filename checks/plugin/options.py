"""Command-line options and what they resolve to: the env (or a replayed bundle's env) and the run options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks.core import config as cfg
from checks.core.collect import Options
from checks.core.snapshot import Snapshot
from checks.evidence import replay as replay_mod


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
    g.addoption("--sign-key", default=os.environ.get("BBWS_SIGN_KEY") or None,
                help="sign the bundle's manifest with this Ed25519 private key (ssh-keygen -t ed25519; default "
                "$BBWS_SIGN_KEY): manifest.json.sig, checked by ssh-keygen -Y verify -n bbws-evidence")
    g.addoption("--verify-key", default=None, help="with --replay: refuse the bundle unless manifest.json.sig "
                "verifies with this ssh-ed25519 public key")
    g.addoption("--concurrency", type=int, default=None, help="parallel AWS reads (default: from environments.toml)")


def load_env(path: str | None, name: str) -> cfg.Env:
    try:
        envs = cfg.load(path)
    except cfg.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if name not in envs:
        raise pytest.UsageError(f"--env {name!r} is not in {path or cfg.DEFAULT_PATH}; valid envs: {', '.join(envs)}")
    return envs[name]


def replayed(bundle: Path, verify_key: str | None = None) -> tuple[cfg.Env, Snapshot]:
    """The env and the snapshot of a verified bundle: replay reads both, and no AWS."""
    try:
        snapshot = replay_mod.verified_snapshot(bundle, Path(verify_key) if verify_key else None)
    except replay_mod.BundleError as exc:
        raise pytest.UsageError(f"--replay {bundle}: {exc}") from None
    try:
        env = cfg.from_dict(snapshot.meta["env"], f"{bundle}/snapshot.json")
    except (KeyError, TypeError, AttributeError, cfg.ConfigError) as exc:
        raise pytest.UsageError(f"--replay {bundle}: the snapshot has no usable env: {exc}") from None
    try:
        replay_mod.check_paths(snapshot, env)
    except replay_mod.BundleError as exc:
        raise pytest.UsageError(f"--replay {bundle}: {exc}") from None
    snapshot.meta["replay_of"] = str(bundle)
    return env, snapshot


def run_options(env: cfg.Env, opt: Any) -> Options:
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



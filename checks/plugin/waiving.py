"""Which waivers file a run judges with, loaded at configure (a bad file is a usage error before any AWS read).

A live run reads `--waivers PATH` (relative to where pytest was started) or the env's `waivers` key
(relative to environments.toml); a replay reads the copy in the bundle it replays, verified with the rest
of the bundle, and judges it against the original run's start, so it reproduces the original decision.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks.core import config as cfg
from checks.core import waivers as waivers_mod
from checks.core.snapshot import Snapshot


def waivers_for(config: pytest.Config, env: cfg.Env, started: str,
                replayed: Snapshot | None = None) -> waivers_mod.Waivers | None:
    """The waivers this run applies (None when it has none). Raises pytest.UsageError saying why."""
    opt = config.option
    if replayed is not None:
        if opt.waivers:
            raise pytest.UsageError("--waivers: a replay judges with the waivers file of the bundle it replays "
                                    f"({waivers_mod.BUNDLE_NAME}, covered by its manifest); it cannot be replaced")
        from checks.evidence.bundle import MANIFEST, resolve
        from checks.evidence.replay import BundleError, load_json

        copy = resolve(Path(opt.replay)) / waivers_mod.BUNDLE_NAME
        try:
            sealed = waivers_mod.BUNDLE_NAME in (load_json(copy.parent / MANIFEST, MANIFEST).get("files") or {})
        except (BundleError, OSError, AttributeError):
            sealed = False
        if not sealed:
            if copy.exists() or copy.is_symlink():
                raise pytest.UsageError(f"--replay {opt.replay}: {waivers_mod.BUNDLE_NAME} is not listed in "
                                        f"{MANIFEST}; refusing a waivers file the bundle did not seal")
            return None
        return _load(copy, env, str(replayed.meta.get("started") or started), (), f"--replay {opt.replay}: ",
                     waivers_mod.BUNDLE_NAME)
    here = config.invocation_params.dir
    if opt.waivers:
        path = here / opt.waivers
    elif env.waivers:
        path = Path(env.source).parent / env.waivers
    else:
        return None
    return _load(path, env, started, _known_envs(opt), "", os.path.relpath(path, here))


def _load(path: Path, env: cfg.Env, started: str, known: Any, prefix: str,
          name: str | None = None) -> waivers_mod.Waivers:
    """The waivers file at `path`, shown (in messages and gate.json) as `name`: no runner-local path."""
    try:
        return waivers_mod.load(path, env, started, known, name)
    except waivers_mod.WaiverError as exc:
        raise pytest.UsageError(f"{prefix}{exc}") from None


def _known_envs(opt: Any) -> list[str]:
    try:
        return list(cfg.load(opt.environments))
    except cfg.ConfigError:
        return []

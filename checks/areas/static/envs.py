"""The env names of the environments.toml an env came from: roots named for another env are not this env's."""

from __future__ import annotations

from pathlib import Path

from checks.core.config import ConfigError, Env, load


def env_names(env: Env) -> list[str]:
    try:
        names = list(load(env.source)) if env.source and Path(env.source).is_file() else []
    except ConfigError:
        names = []
    return sorted(set(names) | {env.name})

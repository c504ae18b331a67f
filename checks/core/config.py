"""environments.toml: load, merge defaults with the env, substitute {env}, validate.

The schema is the pydantic models of env_model.py (frozen, strict, no unknown keys); `schema()`
(env_schema.py) is the JSON Schema shipped as environments.schema.json for editors. Every problem
in the file is reported at once, at the path the user wrote (`defaults.backup.x` or
`envs.dev.backup.x`), with its line (config_messages.py).

Areas: `[backup]`, `[s3.lifecycle]`, `[terraform]` and `[github]` are optional. An env checks an
area only when it has the area's table; `omit = ["terraform", ...]` drops a table the env would
get from `[defaults]`. The area's checks then skip with `Env.absent(area)` as the reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from checks.core.config_messages import Lines, dotted, kind_of, phrase
from checks.core.env_model import (
    CRON,
    OPTIONAL_AREAS,
    S3,
    AppRole,
    Backup,
    DynamoDB,
    Env,
    GitHub,
    Gsi,
    Iam,
    Lifecycle,
    Pdv,
    Replication,
    TableSpec,
    Terraform,
)
from checks.core.env_schema import honoured, key_table, keys, schema, schema_text
from checks.core.files import FileRefused, read_bounded
from checks.core.keys import Key
from checks.core.nesting import deepest

# What `checks.core.config` has always offered (the models, the schema and Key live in their own modules).
__all__ = ["CRON", "DEFAULT_PATH", "FILE_NAME", "MAX_DEPTH", "OPTIONAL_AREAS", "AppRole", "Backup", "ConfigError",
           "DynamoDB", "Env", "GitHub", "Gsi", "Iam", "Key", "Lifecycle", "Pdv", "Replication", "S3", "TableSpec",
           "Terraform", "default_path", "from_dict", "honoured", "key_table", "keys", "load", "schema", "schema_text"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "environments.toml"  # the checkout's (a source install)
FILE_NAME = "environments.toml"
MAX_CONFIG_BYTES = 1024 * 1024  # environments.toml is a few KiB
MAX_DEPTH = 32  # deeper TOML is refused before validation (Python's recursion limit is not a usage error)


class ConfigError(Exception):
    """A problem in environments.toml, already phrased for the user."""


def default_path(project: Path | None = None) -> Path:
    """The environments.toml used when none is named: the project's (pytest's rootdir), the checkout's when
    the suite runs from its source (an editable install), else the one in the working directory (a wheel
    install has no checkout: its site-packages hold no environments.toml)."""
    candidates = [*([project / FILE_NAME] if project is not None else []), DEFAULT_PATH, Path.cwd() / FILE_NAME]
    return next((c for c in candidates if c.is_file()), candidates[0])


def load(path: Path | str | None = None) -> dict[str, Env]:
    """All envs in the file, validated. Raises ConfigError listing every problem with file, key path and line."""
    path = Path(path) if path else default_path()
    try:  # bounded: `--environments /dev/zero` is one line of usage error, not a read without end
        text = read_bounded(path, None, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except FileRefused as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    _depth_guard(text, path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested deeper than {MAX_DEPTH} levels") from None
    lines = Lines(text)
    problems: list[str] = []

    def problem(where: str, message: str) -> None:
        line = lines.of(where)
        entry = f"{path}:{line}: {message}" if line else f"{path}: {message}"
        if entry not in problems:
            problems.append(entry)

    for key in raw:
        if key not in ("defaults", "envs"):
            problem(key, f"unknown key '{key}'; known keys here: defaults, envs")
    defaults = raw.get("defaults", {})
    envs = raw.get("envs")
    if not isinstance(defaults, dict):
        problem("defaults", "key 'defaults' must be a table")
        defaults = {}
    if not isinstance(envs, dict) or not envs:
        problem("envs", "key 'envs' is missing or empty; define at least [envs.<name>]")
        envs = {}
    out = {}
    for name, overrides in envs.items():
        if not isinstance(overrides, dict):
            problem(f"envs.{name}", f"key 'envs.{name}' must be a table, got {kind_of(overrides)}")
            continue
        merged = _substitute(_merge(defaults, overrides), name)
        merged = _drop_omitted(merged)
        merged["name"], merged["source"] = name, str(path)
        try:
            out[name] = Env.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                where = _origin(err["loc"], defaults, overrides, name)
                problem(where, phrase(err, where))
    if problems:
        head = f"{path}: {len(problems)} problem(s):\n  " if len(problems) > 1 else ""
        raise ConfigError(head + "\n  ".join(problems))
    return out


def from_dict(data: dict[str, Any], where: str) -> Env:
    """An Env from its model_dump() form (as saved in a snapshot), validated like the file."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the env must be a table, got {kind_of(data)}")
    try:
        return Env.model_validate(data)
    except ValidationError as exc:
        name = data.get("name", "?")
        raise ConfigError("\n".join(f"{where}: {phrase(e, dotted(('envs', name, *e['loc'])))}"
                                    for e in exc.errors())) from None


def _depth_guard(text: str, path: Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH: tomllib recurses per level and would raise RecursionError."""
    if deepest(text, quotes="\"'", comments=True, floor=True, limit=MAX_DEPTH) > MAX_DEPTH:
        raise ConfigError(f"{path}: not valid TOML here: arrays or tables nested deeper than {MAX_DEPTH} levels")


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for k, v in over.items():
            merged[k] = _merge(base[k], v) if k in base else v
        return merged
    return over


def _substitute(value: Any, env: str) -> Any:
    if isinstance(value, str):
        return value.replace("{env}", env).replace("{ENV}", env.upper())
    if isinstance(value, dict):
        return {_substitute(k, env): _substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env) for v in value]
    return value


def _drop_omitted(merged: dict[str, Any]) -> dict[str, Any]:
    omit = merged.get("omit")
    if not isinstance(omit, list):
        return merged
    for area in omit:
        if area == "s3.lifecycle" and isinstance(merged.get("s3"), dict):
            merged["s3"] = {k: v for k, v in merged["s3"].items() if k != "lifecycle"}
        elif area in OPTIONAL_AREAS:
            merged.pop(area, None)
    return merged


def _origin(loc: tuple, defaults: dict, overrides: dict, name: str) -> str:
    """The path the user wrote for a problem at `loc` of the merged env: where the longest part of the path
    was written, in [envs.name] (preferred on a tie) or in [defaults]."""
    parts = [p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "literal[")))]
    best: tuple[int, list, list] = (-1, [], [])
    for root, prefix in ((overrides, ["envs", name]), (defaults, ["defaults"])):
        written = _written(root, parts, name)
        if len(written) > best[0]:
            best = (len(written), prefix, written)
    _, prefix, written = best
    return dotted((*prefix, *written, *parts[len(written):]))


def _written(root: Any, parts: list, name: str) -> list:
    """The raw keys (before {env} substitution) of the longest prefix of `parts` that is in root."""
    out, node = [], root
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                break
            out.append(part)
            node = node[part]
            continue
        key = next((k for k in node if _substitute(k, name) == part), None) if isinstance(node, dict) else None
        if key is None:
            break
        out.append(key)
        node = node[key]
    return out

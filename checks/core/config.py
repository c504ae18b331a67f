"""environments.toml: load, merge defaults with the env, substitute {env}, validate.

The schema is the dataclasses below. Validation walks their type hints, so a new field
is one line here and the README's schema table.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "environments.toml"


class ConfigError(Exception):
    """A problem in environments.toml, already phrased for the user."""


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # S | N | B

    @classmethod
    def parse(cls, text: str) -> Key:
        name, _, typ = text.partition(":")
        return cls(name, typ or "S")


@dataclass(frozen=True)
class Gsi:
    hash_key: str
    range_key: str = ""
    projection: str = "ALL"


@dataclass(frozen=True)
class TableSpec:
    gsis: dict[str, Gsi] = field(default_factory=dict)


@dataclass(frozen=True)
class DynamoDB:
    tables: dict[str, TableSpec]
    hash_key: str = "PK:S"
    range_key: str = "SK:S"
    billing_mode: str = "PAY_PER_REQUEST"
    stream_view_type: str = "NEW_AND_OLD_IMAGES"
    pitr: bool = True
    sse: str = "KMS"
    deletion_protection: bool = False
    replicas: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


# The schedule each `backup.frequency` means (the world builds it; DDB-04 accepts any cron of that frequency).
CRON = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 2 * * ? *)"}


@dataclass(frozen=True)
class Backup:
    vault: str
    plan: str
    selection: str
    frequency: str = "daily"
    retention_days: int = 7
    copy_to_region: str = ""


@dataclass(frozen=True)
class Lifecycle:
    rule: str
    noncurrent_days: int


@dataclass(frozen=True)
class Replication:
    rule: str
    destination: str
    role: str
    delete_markers: bool = True
    time_control_minutes: int = 15


@dataclass(frozen=True)
class S3:
    bucket: str
    templates: list[str]
    lifecycle: Lifecycle
    versioning: bool = True
    encryption: str = "AES256"
    bucket_key: bool = True
    account_public_access_block: bool = True
    policy_statements: list[str] = field(default_factory=list)
    logging_bucket: str = ""
    template_manifest: str = ""
    replication: Replication | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AppRole:
    table_actions: list[str] = field(default_factory=list)
    bucket_actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Iam:
    app_roles: dict[str, AppRole] = field(default_factory=dict)


@dataclass(frozen=True)
class Terraform:
    state_bucket: str
    lock_table: str
    state_key: str
    required_version: str = ">= 1.6"
    aws_provider: str = "~> 5.0"
    stale_lock_minutes: int = 15
    allow_destroy: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GitHub:
    workflow: str
    environment: str
    repo: str = ""
    api_url: str = "https://api.github.com"
    required_approvers: int = 1
    approval_timeout_hours: float = 6
    approval_exempt: bool = False
    role_secret: str = ""
    release_tag: str = ""


@dataclass(frozen=True)
class Pdv:
    metrics_window_minutes: int = 60
    replication_timeout_seconds: int = 900


@dataclass(frozen=True)
class Env:
    name: str
    account: str
    region: str
    dynamodb: DynamoDB
    s3: S3
    backup: Backup
    terraform: Terraform
    github: GitHub
    dr_region: str = ""
    profile: str = ""
    role_arn: str = ""
    embedded: bool = False
    concurrency: int = 16
    retry_mode: str = "adaptive"
    max_attempts: int = 6
    canary_allowed: bool = True
    infra_repo: str = ""
    approvers: list[str] = field(default_factory=list)
    env_specific: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    iam: Iam = field(default_factory=Iam)
    pdv: Pdv = field(default_factory=Pdv)
    source: str = ""  # the file this env came from, for messages

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.dr_region] if self.dr_region else [])

    def table_tags(self) -> dict[str, str]:
        return {**self.tags, **self.dynamodb.tags}

    def bucket_tags(self) -> dict[str, str]:
        return {**self.tags, **self.s3.tags}

    @property
    def tables(self) -> dict[str, TableSpec]:
        return self.dynamodb.tables


CHOICES = {
    "retry_mode": ("standard", "adaptive"),
    "backup.frequency": ("daily", "hourly"),
    "dynamodb.billing_mode": ("PAY_PER_REQUEST", "PROVISIONED"),
    "dynamodb.sse": ("KMS", "AES256", "DEFAULT"),
    "s3.encryption": ("AES256", "aws:kms", "aws:kms:dsse"),
}


def load(path: Path | str | None = None) -> dict[str, Env]:
    """All envs in the file, validated. Raises ConfigError with file and key path."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _no_unknown(raw, {"defaults", "envs"}, path, "")
    defaults = raw.get("defaults", {})
    envs = raw.get("envs")
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: key 'defaults' must be a table")
    if not isinstance(envs, dict) or not envs:
        raise ConfigError(f"{path}: key 'envs' is missing or empty; define at least [envs.<name>]")
    out = {}
    for name, overrides in envs.items():
        if not isinstance(overrides, dict):
            raise ConfigError(f"{path}: key 'envs.{name}' must be a table")
        merged = _substitute(_merge(defaults, overrides), name)
        merged["name"] = name
        merged["source"] = str(path)
        env = _build(Env, merged, path, f"envs.{name}")
        _check_choices(env, path)
        out[name] = env
    return out


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


def _no_unknown(raw: dict, known: set[str], path: Path, where: str) -> None:
    for key in raw:
        if key not in known:
            at = f"{where}.{key}" if where else key
            raise ConfigError(f"{path}: unknown key '{at}'; known keys here: {', '.join(sorted(known))}")


def _build(cls: type, raw: Any, path: Path, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: key '{where}' must be a table, got {_kind(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(raw, set(fields), path, where)
    kwargs = {}
    for name, f in fields.items():
        at = f"{where}.{name}"
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{path}: required key '{at}' is missing")
            continue
        kwargs[name] = _coerce(hints[name], raw[name], path, at)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: Path, at: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
        return _coerce(inner, value, path, at)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path, at)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: key '{at}' must be a list, got {_kind(value)}")
        return [_coerce(item, v, path, f"{at}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: key '{at}' must be a table, got {_kind(value)}")
        return {k: _coerce(item, v, path, f"{at}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (str, int, bool, float):
        if type(value) is not hint:
            raise ConfigError(f"{path}: key '{at}' must be {_kind_of(hint)}, got {_kind(value)} {value!r}")
        return value
    raise ConfigError(f"{path}: key '{at}' has an unsupported type")  # pragma: no cover


def _kind_of(t: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", float: "a number"}[t]


def _kind(v: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(v), type(v).__name__)


def _check_choices(env: Env, path: Path) -> None:
    for dotted, allowed in CHOICES.items():
        value: Any = env
        for part in dotted.split("."):
            value = getattr(value, part)
        if value not in allowed:
            raise ConfigError(f"{path}: key 'envs.{env.name}.{dotted}' is {value!r}; "
                              f"expected one of {', '.join(allowed)}")
    for key in [env.dynamodb.hash_key, env.dynamodb.range_key] + [
        k for t in env.tables.values() for g in t.gsis.values() for k in (g.hash_key, g.range_key) if k
    ]:
        if Key.parse(key).type not in ("S", "N", "B"):
            raise ConfigError(f"{path}: envs.{env.name}: key '{key}' must be NAME or NAME:S|N|B")
    for dotted, value in (("concurrency", env.concurrency), ("max_attempts", env.max_attempts)):
        if value < 1:
            raise ConfigError(f"{path}: key 'envs.{env.name}.{dotted}' must be at least 1, got {value}")
    if not env.region.strip():
        raise ConfigError(f"{path}: key 'envs.{env.name}.region' is empty; give the env's primary region")
    if env.s3.replication and not env.dr_region:
        raise ConfigError(f"{path}: key 'envs.{env.name}.s3.replication' needs 'dr_region' to be set")
    if not (env.account.isdigit() and len(env.account) == 12):
        raise ConfigError(f"{path}: key 'envs.{env.name}.account' must be a 12-digit account id, "
                          f"got {env.account!r}")


def from_dict(data: dict[str, Any], where: str) -> Env:
    """An Env from its asdict() form (as saved in a snapshot), validated like the file."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the env must be a table, got {_kind(data)}")
    data = {k: v for k, v in data.items() if v is not None}
    if isinstance(data.get("s3"), dict) and data["s3"].get("replication") is None:
        data["s3"] = {k: v for k, v in data["s3"].items() if k != "replication"}
    env = _build(Env, data, Path(where), f"envs.{data.get('name', '?')}")
    _check_choices(env, Path(where))
    return env

"""environments.toml: load, merge defaults with the env, substitute {env}, validate.

The schema is the pydantic models below (frozen, strict, no unknown keys); `schema()` is the
JSON Schema shipped as environments.schema.json for editors. Every problem in the file is
reported at once, at the path the user wrote (`defaults.backup.x` or `envs.dev.backup.x`), with
its line.

Areas: `[backup]`, `[s3.lifecycle]`, `[terraform]` and `[github]` are optional. An env checks an
area only when it has the area's table; `omit = ["terraform", ...]` drops a table the env would
get from `[defaults]`. The area's checks then skip with `Env.absent(area)` as the reason.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from checks.core.keys import Key as Key  # re-exported: checks.core.config.Key
from checks.core.nesting import deepest

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "environments.toml"
MAX_DEPTH = 32  # deeper TOML is refused before validation (Python's recursion limit is not a usage error)


class ConfigError(Exception):
    """A problem in environments.toml, already phrased for the user."""


KeyText = Annotated[str, Field(pattern=r"^[^:]+(:[SNB])?$", description="NAME or NAME:S|N|B")]
Count = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Gsi(_Model):
    hash_key: KeyText
    range_key: KeyText | Literal[""] = ""
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"


class TableSpec(_Model):
    gsis: dict[str, Gsi] = {}


class DynamoDB(_Model):
    tables: dict[str, TableSpec]
    hash_key: KeyText = "PK:S"
    range_key: KeyText = "SK:S"
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    stream_view_type: Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"] = "NEW_AND_OLD_IMAGES"
    pitr: bool = True
    sse: Literal["KMS", "DEFAULT"] = "KMS"
    deletion_protection: bool = False
    replicas: list[str] = []
    tags: dict[str, str] = {}


# The schedule each `backup.frequency` means (the world builds it; DDB-04 accepts any cron of that frequency).
CRON = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 2 * * ? *)"}


class Backup(_Model):
    vault: str
    plan: str
    selection: str = ""
    frequency: Literal["daily", "hourly"] = "daily"
    retention_days: Count = 7
    copy_to_region: str = ""
    copy_vault: str = ""


class Lifecycle(_Model):
    rule: str
    noncurrent_days: Count


class Replication(_Model):
    rule: str
    destination: str
    role: str
    delete_markers: bool = True
    time_control_minutes: Count = 15


class S3(_Model):
    bucket: str
    templates: list[str]
    lifecycle: Lifecycle | None = None
    versioning: bool = True
    encryption: Literal["AES256", "aws:kms", "aws:kms:dsse"] = "AES256"
    bucket_key: bool = True
    account_public_access_block: bool = True
    policy_statements: list[str] = []
    logging_bucket: str = ""
    template_manifest: str = ""
    replication: Replication | None = None
    tags: dict[str, str] = {}


class AppRole(_Model):
    table_actions: list[str] = []
    bucket_actions: list[str] = []


class Iam(_Model):
    app_roles: dict[str, AppRole] = {}


class Terraform(_Model):
    state_bucket: str
    lock_table: str
    state_key: str
    required_version: str = ">= 1.6"
    aws_provider: str = "~> 5.0"
    stale_lock_minutes: Count = 15
    allow_destroy: list[str] = []
    tfvars: str = ""  # the env\'s tfvars file relative to each Terraform root; "" looks for the usual names


class GitHub(_Model):
    workflow: str
    environment: str
    repo: str = ""
    api_url: str = "https://api.github.com"
    required_approvers: Annotated[int, Field(ge=0)] = 1
    approval_timeout_hours: Annotated[float, Field(gt=0)] = 6
    approval_exempt: bool = False
    role_secret: str = ""
    release_tag: str = ""


class Pdv(_Model):
    metrics_window_minutes: Count = 60
    replication_timeout_seconds: Count = 900


OPTIONAL_AREAS = ("backup", "s3.lifecycle", "terraform", "github")


class Env(_Model):
    name: str
    account: Annotated[str, Field(pattern=r"^\d{12}$", description="the 12-digit account id")]
    region: Annotated[str, Field(pattern=r"\S")]
    dynamodb: DynamoDB
    s3: S3
    backup: Backup | None = None
    terraform: Terraform | None = None
    github: GitHub | None = None
    omit: list[Literal["backup", "s3.lifecycle", "terraform", "github"]] = []
    dr_region: str = ""
    profile: str = ""
    role_arn: str = ""
    embedded: bool = False
    concurrency: Count = 16
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: Count = 6
    canary_allowed: bool = True
    infra_repo: str = ""
    approvers: list[str] = []
    env_specific: list[str] = []
    tags: dict[str, str] = {}
    iam: Iam = Iam()
    pdv: Pdv = Pdv()
    source: str = ""  # the file this env came from, for messages

    @field_validator("account", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"must be a string (quote it: \"{value:012d}\"), got an integer {value}")
        return value

    @model_validator(mode="after")
    def _dr_region_for_replication(self) -> Env:
        if self.s3.replication is not None and not self.dr_region:
            raise ValueError("s3.replication needs 'dr_region' to be set")
        return self

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

    def absent(self, *areas: str) -> str:
        """Why the env does not check these areas ('' when it has them all): the skip reason of their checks."""
        for area in areas:
            value: Any = self
            for part in area.split("."):
                value = getattr(value, part)
            if value is None:
                how = "its `omit` drops it" if area in self.omit else "it has no such table"
                return f"env {self.name} does not check [{area}]: {how} in environments.toml"
        return ""


def schema() -> dict[str, Any]:
    """The JSON Schema of environments.toml (committed as environments.schema.json).

    A table of the file is only part of an env (`[defaults]` and `[envs.<name>]` are merged), so
    the schema checks names, types and choices, and the loader checks what is required."""
    env = _optional(Env.model_json_schema())
    defs = env.pop("$defs")
    defs["Env"] = {**env, "properties": {k: v for k, v in env["properties"].items() if k not in ("name", "source")}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "BBWS environments.toml",
            "type": "object", "additionalProperties": False, "required": ["envs"],
            "properties": {"defaults": {"$ref": "#/$defs/Env"},
                           "envs": {"type": "object", "minProperties": 1,
                                    "additionalProperties": {"$ref": "#/$defs/Env"}}},
            "$defs": defs}


def _optional(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _optional(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional(v) for v in node]
    return node


NAMES = {"tables": "<table>", "gsis": "<index>", "app_roles": "<role>"}


def keys(model: type[BaseModel] = Env, prefix: str = "") -> list[str]:
    """Every leaf key path of the schema, e.g. `backup.copy_vault`, `dynamodb.tables.<table>.gsis.<index>.hash_key`."""
    out = []
    for name, info in model.model_fields.items():
        if model is Env and name in ("name", "source"):
            continue
        inner, path = _inner(info.annotation), f"{prefix}{name}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            is_dict = getattr(info.annotation, "__origin__", None) is dict
            out += keys(inner, f"{path}.{NAMES.get(name, '<name>')}." if is_dict else f"{path}.")
        else:
            out.append(path)
    return out


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------- loading

def load(path: Path | str | None = None) -> dict[str, Env]:
    """All envs in the file, validated. Raises ConfigError listing every problem with file, key path and line."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    _depth_guard(text, path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested deeper than {MAX_DEPTH} levels") from None
    lines = _Lines(text)
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
            problem(f"envs.{name}", f"key 'envs.{name}' must be a table, got {_kind(overrides)}")
            continue
        merged = _substitute(_merge(defaults, overrides), name)
        merged = _drop_omitted(merged)
        merged["name"], merged["source"] = name, str(path)
        try:
            out[name] = Env.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                where = _origin(err["loc"], defaults, overrides, name)
                problem(where, _message(err, where))
    if problems:
        head = f"{path}: {len(problems)} problem(s):\n  " if len(problems) > 1 else ""
        raise ConfigError(head + "\n  ".join(problems))
    return out


def from_dict(data: dict[str, Any], where: str) -> Env:
    """An Env from its model_dump() form (as saved in a snapshot), validated like the file."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the env must be a table, got {_kind(data)}")
    try:
        return Env.model_validate(data)
    except ValidationError as exc:
        name = data.get("name", "?")
        raise ConfigError("\n".join(f"{where}: {_message(e, _dotted(('envs', name, *e['loc'])))}"
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
    return _dotted((*prefix, *written, *parts[len(written):]))


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


def _dotted(parts: tuple | list) -> str:
    text = ""
    for p in parts:
        if isinstance(p, int):
            text += f"[{p}]"
        else:
            p = str(p)
            p = p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else json.dumps(p)
            text += f".{p}" if text else p
    return text


KINDS = {"string_type": "a string", "int_type": "an integer", "bool_type": "true or false",
         "float_type": "a number", "dict_type": "a table", "list_type": "a list", "model_type": "a table",
         "model_attributes_type": "a table", "int_parsing": "an integer"}


def _message(err: dict[str, Any], where: str) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return f"required key '{where}' is missing"
    if kind == "extra_forbidden":
        return f"unknown key '{where}'; known keys here: {', '.join(_known(err['loc']))}"
    if kind in KINDS:
        return f"key '{where}' must be {KINDS[kind]}, got {_kind(value)} {value!r}"
    if kind == "literal_error":
        return f"key '{where}' is {value!r}; expected one of {ctx.get('expected', '').replace(chr(39), '')}"
    if kind == "string_pattern_mismatch":
        if where.endswith(".account"):
            return f"key '{where}' must be a 12-digit account id, got {value!r}"
        if where.endswith(".region"):
            return f"key '{where}' is empty; give the env's primary region"
        return f"key '{where}' is {value!r}; it must be NAME or NAME:S|N|B"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"key '{where}' must be {'at least' if kind == 'greater_than_equal' else 'above'} {bound}, got {value!r}"
    if kind == "value_error":
        reason = ctx.get("error", err["msg"])
        return f"key '{where}' {reason}" if err["loc"] else f"{where}: {reason}"
    return f"key '{where}': {err['msg']}"


def _known(loc: tuple) -> list[str]:
    """The keys a model accepts at the parent of `loc` (for an unknown-key message)."""
    model: Any = Env
    named = False  # the next part is a name in a dict of models (a table, a role)
    for part in loc[:-1]:
        if isinstance(part, int) or named:
            named = False
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        model = _inner(info.annotation)
        named = getattr(info.annotation, "__origin__", None) is dict
    return sorted(k for k in getattr(model, "model_fields", {}) if k not in ("name", "source"))


def _inner(hint: Any) -> Any:
    """The model inside Optional[...] / dict[str, ...] / list[...], or the hint itself."""
    for arg in getattr(hint, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return hint


def _kind(v: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(v), type(v).__name__)


class _Lines:
    """The line of a dotted key path in the TOML text: its `key =` line under its table header,
    a header line, or the line of the closest enclosing key (an inline table)."""

    TOKEN = re.compile(r"\s*(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([A-Za-z0-9_-]+))\s*")

    def __init__(self, text: str):
        self.at: dict[tuple, int] = {}
        self.text_of: dict[tuple, str] = {}
        table: tuple = ()
        for n, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("["):
                header = s.strip("[").split("]")[0]
                table = self._keys(header) or ()
                self.at.setdefault(table, n)
                self.text_of.setdefault(table, line)
                continue
            key, eq, _ = s.partition("=")
            if eq:
                keys = self._keys(key)
                if keys:
                    self.at.setdefault(table + keys, n)
                    self.text_of.setdefault(table + keys, line)

    def _keys(self, text: str) -> tuple | None:
        out, rest = [], text
        while True:
            m = self.TOKEN.match(rest)
            if not m:
                return None
            out.append(next(g for g in m.groups() if g is not None))
            rest = rest[m.end():]
            if not rest:
                return tuple(out)
            if not rest.startswith("."):
                return None
            rest = rest[1:]

    def of(self, where: str) -> int | None:
        parts = tuple(quoted or bare for quoted, bare in re.findall(r'"((?:[^"\\]|\\.)*)"|([^.\[\]]+)', where))
        for end in range(len(parts), 0, -1):
            if parts[:end] in self.at:
                return self.at[parts[:end]]
        return None

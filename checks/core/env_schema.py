"""The JSON Schema of environments.toml (committed as environments.schema.json) and every key path it allows."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from checks.core.env_model import Env, Honoured, inner_model


def schema() -> dict[str, Any]:
    """The JSON Schema of environments.toml (committed as environments.schema.json).

    A table of the file is only part of an env (`[defaults]` and `[envs.<name>]` are merged), so
    the schema checks names, types and choices, and the loader checks what is required. Each key's
    description is what its declaration says it means (an editor shows it)."""
    env = _optional(Env.model_json_schema())
    defs = env.pop("$defs")
    _describe(Env, env, defs, set())
    defs["Env"] = {**env, "properties": {k: v for k, v in env["properties"].items() if k not in ("name", "source")}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "BBWS environments.toml",
            "type": "object", "additionalProperties": False, "required": ["envs"],
            "properties": {"defaults": {"$ref": "#/$defs/Env"},
                           "envs": {"type": "object", "minProperties": 1,
                                    "additionalProperties": {"$ref": "#/$defs/Env"}}},
            "$defs": defs}


def _describe(model: type[BaseModel], node: dict[str, Any], defs: dict[str, Any], seen: set[str]) -> None:
    for name, info in model.model_fields.items():
        h = next((m for m in info.metadata if isinstance(m, Honoured)), None)
        prop = node.get("properties", {}).get(name)
        if h is not None and h.means and isinstance(prop, dict):
            prop["description"] = h.means
        inner = inner_model(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner.__name__ in defs \
                and inner.__name__ not in seen:
            seen.add(inner.__name__)
            _describe(inner, defs[inner.__name__], defs, seen)


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
        inner, path = inner_model(info.annotation), f"{prefix}{name}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            is_dict = getattr(info.annotation, "__origin__", None) is dict
            out += keys(inner, f"{path}.{NAMES.get(name, '<name>')}." if is_dict else f"{path}.")
        else:
            out.append(path)
    return out


def honoured(model: type[BaseModel] = Env, prefix: str = "") -> dict[str, Honoured]:
    """Every key that declares what honours it (leaves, and tables such as `dynamodb.tables`), by key path."""
    out: dict[str, Honoured] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        found = next((m for m in info.metadata if isinstance(m, Honoured)), None)
        if found is not None:
            out[path] = found
        inner = inner_model(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            is_dict = getattr(info.annotation, "__origin__", None) is dict
            out.update(honoured(inner, f"{path}.{NAMES.get(name, '<name>')}." if is_dict else f"{path}."))
    return out


def key_table() -> str:
    """README's table of environments.toml keys: each key, its type and default, what it means, what honours it."""
    rows = ["| key | type | default | meaning | honoured by |", "|---|---|---|---|---|"]
    for key, h in honoured().items():
        info = _field(key)
        typ = _type_text(info.annotation)
        default = "required" if info.is_required() else _default_text(info.default)
        by = h.by.split("::")[-1]
        rows.append(f"| `{key}` | {typ} | {default} | {h.means.replace('|', chr(92) + '|')} | `{by}` |")
    return "\n".join(rows) + "\n"


def _field(key: str) -> Any:
    model: Any = Env
    info = None
    for part in key.split("."):
        if part.startswith("<"):
            continue
        info = model.model_fields[part]
        model = inner_model(info.annotation)
    return info


def _type_text(hint: Any) -> str:
    args = getattr(hint, "__args__", ()) or ()
    origin = getattr(hint, "__origin__", None)
    if origin is dict:
        return "table"
    if origin is list:
        return "list"
    if str(origin) == "typing.Literal":
        return " / ".join(f"`{a}`" for a in args if a != "")
    if args:  # a union: the first concrete kind
        return " / ".join(t for t in dict.fromkeys(_type_text(a) for a in args if a is not type(None)) if t)
    return {bool: "bool", int: "int", float: "number", str: "string"}.get(hint, getattr(hint, "__name__", "table"))


def _default_text(value: Any) -> str:
    if value in ("", [], {}, None):
        return "–"
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"

"""The JSON Schema of environments.toml (committed as environments.schema.json) and every key path it allows."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from checks.core.env_model import Env, Honoured, inner_model


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


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"

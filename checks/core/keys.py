"""DynamoDB keys: as environments.toml spells them (`NAME:S`) and as DescribeTable returns them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # S | N | B

    @classmethod
    def parse(cls, text: str) -> Key:
        name, _, typ = text.partition(":")
        return cls(name, typ or "S")


def key_schema(schema: list[dict[str, Any]], attrs: list[dict[str, Any]]) -> dict[str, str]:
    """KeyType -> `name:type` of a KeySchema, the types from its AttributeDefinitions ('?' when not defined)."""
    types = {a["AttributeName"]: a["AttributeType"] for a in attrs}
    return {k["KeyType"]: f"{k['AttributeName']}:{types.get(k['AttributeName'], '?')}" for k in schema}


def expected_keys(hash_key: str, range_key: str) -> dict[str, str]:
    """KeyType -> `name:type` of the keys environments.toml designs, in key_schema's form."""
    out = {"HASH": _key_text(hash_key)}
    if range_key:
        out["RANGE"] = _key_text(range_key)
    return out


def _key_text(text: str) -> str:
    k = Key.parse(text)
    return f"{k.name}:{k.type}"

"""How a problem in environments.toml is told: its key path as the user wrote it, its line, and the message."""

from __future__ import annotations

import json
import re
from typing import Any

from checks.core.env_model import Env, inner_model


def dotted(parts: tuple | list) -> str:
    """A key path as the user writes it: `envs.dev.backup.vault`, `dynamodb.replicas[0]`, quoted where needed."""
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


def phrase(err: dict[str, Any], where: str) -> str:
    """The message for one pydantic validation error of the key at `where`."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return f"required key '{where}' is missing"
    if kind == "extra_forbidden":
        return f"unknown key '{where}'; known keys here: {', '.join(_known(err['loc']))}"
    if kind in KINDS:
        return f"key '{where}' must be {KINDS[kind]}, got {kind_of(value)} {value!r}"
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
        model = inner_model(info.annotation)
        named = getattr(info.annotation, "__origin__", None) is dict
    return sorted(k for k in getattr(model, "model_fields", {}) if k not in ("name", "source"))


def kind_of(v: Any) -> str:
    """What a TOML value is, in the user's words ("a table", "an integer")."""
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(v), type(v).__name__)


class Lines:
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

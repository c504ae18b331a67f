"""What a Terraform expression evaluates to (literals, Ref, Unknown) and the operations on those values."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Unresolved(Exception):
    """The value cannot be known before `terraform plan`."""


@dataclass(frozen=True)
class Ref:
    """A reference to another object's attribute: aws_s3_bucket.templates[0].arn -> (type, name, key, attr)."""
    type: str
    name: str
    key: Any = None
    attr: str = ""

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def __str__(self) -> str:
        if self.type == "(interpolation)":
            return f'"{self.name}"'
        idx = "" if self.key is None else f"[{json.dumps(self.key)}]"
        return f"{self.address}{idx}{'.' + self.attr if self.attr else ''}"


@dataclass(frozen=True)
class Unknown:
    """A map or list element that cannot be evaluated; the rest of the value still can."""
    reason: str

    def __str__(self) -> str:
        return f"(unknown: {self.reason})"


def soft(fn: Callable[[], Any]) -> Any:
    """A value, or Unknown (why not) when it cannot be evaluated: one element must not spoil its list or map."""
    try:
        return fn()
    except Unresolved as exc:
        return Unknown(str(exc))


def as_text(v: Any) -> str:
    """A value as Terraform interpolates it into a string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def fail(reason: str) -> Any:
    """Raise Unresolved (in an expression, where a raise statement cannot stand)."""
    raise Unresolved(reason)


def attribute(v: Any, name: str) -> Any:
    """`v.name`: a map's key, or a deeper Ref."""
    require_known(v, refs=False)
    if isinstance(v, Ref):
        return Ref(v.type, v.name, v.key, f"{v.attr}.{name}" if v.attr else name)
    if isinstance(v, dict):
        if name in v:
            return v[name]
        raise Unresolved(f"the object has no attribute {name!r}")
    raise Unresolved(f"cannot take .{name} of {v!r}")


def index(v: Any, k: Any) -> Any:
    """`v[k]` of a map, a list, or a Ref to an instance of a count / for_each resource."""
    require_known(v, k, refs=False)
    if isinstance(v, Ref):
        if v.attr or v.key is not None:
            raise Unresolved(f"{v}[{k!r}] is known only after apply")
        return Ref(v.type, v.name, k)
    if isinstance(v, dict):
        if as_text(k) in v:
            return v[as_text(k)]
        raise Unresolved(f"the map has no key {k!r}")
    if isinstance(v, list) and isinstance(k, int) and -len(v) <= k < len(v):
        return v[k]
    raise Unresolved(f"cannot index {v!r} with {k!r}")


def require_known(*vals: Any, refs: bool = True) -> None:
    """Raise Unresolved for an Unknown value (and, with refs, for a Ref)."""
    for v in vals:
        if isinstance(v, Unknown):
            raise Unresolved(v.reason)
        if refs and isinstance(v, Ref):
            raise Unresolved(f"{v} is known only after apply")


def truth(v: Any) -> bool:
    """A known boolean (Terraform converts the strings "true" and "false")."""
    require_known(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in ("true", "false"):
        return v == "true"
    raise Unresolved(f"{v!r} is not a boolean")


def number(v: Any) -> float:
    """A known number (Terraform converts a numeric string)."""
    require_known(v)
    if isinstance(v, bool):
        raise Unresolved(f"{v!r} is not a number")
    if isinstance(v, (int, float)):
        return v
    try:
        return float(v) if "." in str(v) else int(v)
    except (TypeError, ValueError):
        raise Unresolved(f"{v!r} is not a number") from None


def binop(op: str, a: Callable[[], Any], b: Callable[[], Any]) -> Any:
    """`a op b`; `||` and `&&` evaluate `b` only when they need it."""
    if op == "||":
        return truth(a()) or truth(b())
    if op == "&&":
        return truth(a()) and truth(b())
    x, y = a(), b()
    require_known(x, y)
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    x, y = number(x), number(y)
    return {"<": lambda: x < y, ">": lambda: x > y, "<=": lambda: x <= y, ">=": lambda: x >= y,
            "+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
            "/": lambda: x / y if y else fail("division by zero"),
            "%": lambda: x % y if y else fail("modulo 0")}[op]()


def sequence(v: Any) -> list[Any]:
    """A list, or a map's values (what `for` and the list functions iterate)."""
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return list(v.values())
    require_known(v)
    raise Unresolved(f"{v!r} is not a list")


def is_true(v: Any) -> bool:
    """A flag Terraform takes as true (`true` or "true"); a value known only after apply cannot be judged."""
    if isinstance(v, Ref):
        raise Unresolved(f"{v} is known only after apply")
    return v is True or v == "true"

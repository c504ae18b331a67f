"""What a Terraform expression evaluates to (literals, Ref, Unknown) and the operations on those values."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Unresolved(Exception):
    """The value cannot be known before `terraform plan`."""


class Invalid(Unresolved):
    """Terraform itself would raise this error when it evaluates the expression (a missing attribute or key of
    a value known in full, an index out of range, a conversion that fails). The only error `try()` and `can()`
    may catch: a fallback is taken only when Terraform would take it too."""


class LimitExceeded(Unresolved):
    """Evaluation went past one of the bounds in limits.py: it stops, whatever would catch an Unresolved."""


class Open(dict):  # type: ignore[type-arg]
    """A map whose declared type (`object({...})`, `optional(...)`) may give attributes the value lacks: a
    missing attribute of it is unknown, not an error."""


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
    """A map or list element that cannot be evaluated; the rest of the value still can. `invalid`: Terraform
    would raise the error too (so a `try()` around the whole value would fall back)."""
    reason: str
    invalid: bool = False

    def __str__(self) -> str:
        return f"(unknown: {self.reason})"


def soft(fn: Callable[[], Any]) -> Any:
    """A value, or Unknown (why not) when it cannot be evaluated: one element must not spoil its list or map."""
    try:
        return fn()
    except LimitExceeded:
        raise
    except Unresolved as exc:
        return Unknown(str(exc), isinstance(exc, Invalid))


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
        raise _absent(v, f"the object has no attribute {name!r}")
    raise Invalid(f"cannot take .{name} of {_short(v)}")


def opened(v: Any) -> Any:
    """A variable's value whose declared type has object attributes: every map in it becomes Open."""
    if isinstance(v, dict):
        return Open({k: opened(x) for k, x in v.items()})
    if isinstance(v, list):
        return [opened(x) for x in v]
    return v


def _absent(v: dict[str, Any], why: str) -> Unresolved:
    if isinstance(v, Open):
        return Unresolved(f"{why}, and its declared type may give it a default")
    return Invalid(why)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


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
        raise _absent(v, f"the map has no key {_short(k)}")
    if isinstance(v, list) and isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(v):
        return v[k]
    raise Invalid(f"cannot index {_short(v)} with {_short(k)}")


def require_known(*vals: Any, refs: bool = True) -> None:
    """Raise Unresolved for an Unknown value (and, with refs, for a Ref)."""
    for v in vals:
        if isinstance(v, Unknown):
            raise (Invalid if v.invalid else Unresolved)(v.reason)
        if refs and isinstance(v, Ref):
            raise Unresolved(f"{v} is known only after apply")


def truth(v: Any) -> bool:
    """A known boolean (Terraform converts the strings "true" and "false")."""
    require_known(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in ("true", "false"):
        return v == "true"
    raise Invalid(f"{_short(v)} is not a boolean")


def number(v: Any) -> float:
    """A known number (Terraform converts a numeric string)."""
    require_known(v)
    if isinstance(v, bool):
        raise Invalid(f"{v!r} is not a number")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and len(v) > 400:
        raise Invalid(f"{_short(v)} is not a number")  # int() of a long digit string is quadratic
    try:
        return float(v) if "." in str(v) else int(v)
    except (TypeError, ValueError):
        raise Invalid(f"{_short(v)} is not a number") from None


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
            "/": lambda: x / y if y else _invalid("division by zero"),
            "%": lambda: x % y if y else _invalid("modulo 0")}[op]()


def _invalid(reason: str) -> Any:
    raise Invalid(reason)


def sequence(v: Any) -> list[Any]:
    """A list, or a map's values (what `for` and the list functions iterate)."""
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return list(v.values())
    require_known(v)
    raise Invalid(f"{_short(v)} is not a list")


def is_true(v: Any) -> bool:
    """A flag Terraform takes as true (`true` or "true"); a value known only after apply cannot be judged."""
    if isinstance(v, Ref):
        raise Unresolved(f"{v} is known only after apply")
    return v is True or v == "true"

"""The pure Terraform functions the static evaluator knows (`merge`, `lookup`, `concat`, `format`, ...).

Each builds its result only after checking its size (limits.py). `try()` and `can()` catch only an error
Terraform would raise too (`Invalid`); an argument that cannot be resolved statically leaves the whole
call unresolved, so a fallback is never taken where Terraform might not take it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from checks.areas.static import limits
from checks.areas.static.values import (
    Invalid,
    Open,
    Ref,
    Unknown,
    Unresolved,
    as_text,
    number,
    require_known,
    sequence,
    truth,
)


def _merge(*maps: Any) -> dict[str, Any]:
    known = []
    for m in maps:
        if m is None:
            continue
        require_known(m)
        if not isinstance(m, dict):
            raise Invalid(f"merge() of {type(m).__name__}, which is not a map")
        known.append(m)
    limits.items(sum(len(m) for m in known), "merge()")
    out: dict[str, Any] = Open() if any(isinstance(m, Open) for m in known) else {}
    for m in known:
        out.update(m)
    return out


def _lookup(m: Any, k: Any, *default: Any) -> Any:
    require_known(m)
    if isinstance(m, dict) and as_text(k) in m:
        return m[as_text(k)]
    if isinstance(m, Open):
        raise Unresolved(f"lookup() of key {as_text(k)[:80]!r}, which the map's declared type may give a default")
    if default:
        return default[0]
    raise Invalid(f"lookup() of missing key {as_text(k)[:80]!r}")


def settled(value: Any) -> Any:
    """A value as `try()` sees it: an element Terraform would fail on fails the whole value (Invalid); an
    element that cannot be resolved statically makes it unresolved (Terraform may or may not fail on it)."""
    stack, unresolved = [value], None
    while stack:
        v = stack.pop()
        if isinstance(v, Unknown):
            if v.invalid:
                raise Invalid(v.reason)
            unresolved = unresolved or v.reason
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    if unresolved is not None:
        raise Unresolved(unresolved)
    return value


def _try(args: list[Callable[[], Any]]) -> Any:
    errors = []
    for a in args:
        try:
            return settled(a())
        except Invalid as exc:
            errors.append(str(exc))
        except Unresolved as exc:
            why = f" after {'; '.join(errors)}" if errors else ""
            raise Unresolved(f"try() cannot choose{why}: {exc}") from None
    raise Invalid(f"no argument of try() succeeded: {'; '.join(errors)}")


def _can(args: list[Callable[[], Any]]) -> bool:
    if len(args) != 1:
        raise Invalid("can() takes one argument")
    try:
        settled(args[0]())
    except Invalid:
        return False
    except Unresolved as exc:
        raise Unresolved(f"can() cannot decide: {exc}") from None
    return True


def _coalesce(args: list[Callable[[], Any]]) -> Any:
    for a in args:
        v = a()
        require_known(v)
        if v not in (None, ""):
            return v
    raise Invalid("coalesce() has no non-empty argument")


def _text(v: Any) -> str:
    require_known(v)
    if isinstance(v, Ref):
        raise Unresolved(f"{v} is known only after apply")
    if isinstance(v, (dict, list)):
        raise Invalid(f"a {'map' if isinstance(v, dict) else 'list'} is not a string")
    return as_text(v)


def _distinct(v: Any) -> list[Any]:
    items = sequence(v)
    try:
        return list(dict.fromkeys(items))
    except TypeError:  # maps or lists as elements: compare them by their JSON text
        seen: dict[str, Any] = {}
        for x in items:
            seen.setdefault(json.dumps(x, sort_keys=True, default=str), x)
        return list(seen.values())


def _format(fmt: Any, *args: Any) -> str:
    texts = [_text(a) for a in args]
    fmt = _text(fmt)
    limits.chars(len(fmt) + sum(len(t) for t in texts), "format()")
    parts = iter(texts)
    return re.sub(r"%[sdv]", lambda m: next(parts, ""), fmt).replace("%%", "%")


def _join(sep: Any, ls: Any) -> str:
    sep, items = _text(sep), [_text(x) for x in sequence(ls)]
    limits.chars(sum(len(t) for t in items) + len(sep) * max(0, len(items) - 1), "join()")
    return sep.join(items)


def _replace(s: Any, a: Any, b: Any) -> str:
    s, a, b = _text(s), _text(a), _text(b)
    if a:
        limits.chars(len(s) + s.count(a) * (len(b) - len(a)), "replace()")
    return s.replace(a, b) if a else s


def _concat(*ls: Any) -> list[Any]:
    seqs = [sequence(v) for v in ls]
    limits.items(sum(len(x) for x in seqs), "concat()")
    return [x for v in seqs for x in v]


def _flatten(v: Any) -> list[Any]:
    out: list[Any] = []
    for x in sequence(v):
        part = sequence(x) if isinstance(x, (list, dict, Unknown)) else [x]
        limits.items(len(out) + len(part), "flatten()")
        out.extend(part)
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge, "tomap": lambda m: _merge(m), "lookup": _lookup, "try": _try, "can": _can,
    "coalesce": _coalesce, "concat": _concat,
    "jsonencode": lambda v: v,  # kept structured: the policy checks read Statement[].Sid from it
    "lower": lambda s: _text(s).lower(), "upper": lambda s: _text(s).upper(),
    "format": _format, "contains": lambda ls, v: v in sequence(ls),
    "length": lambda v: (require_known(v), len(v))[1], "keys": lambda m: list(_merge(m)),
    "values": lambda m: list(_merge(m).values()), "toset": _distinct,
    "tolist": lambda v: sequence(v), "tostring": lambda v: _text(v), "tonumber": number,
    "tobool": truth, "join": _join, "replace": _replace,
    "distinct": _distinct,
    "flatten": _flatten,
}
LAZY = ("try", "can", "coalesce")  # functions that get their arguments unevaluated

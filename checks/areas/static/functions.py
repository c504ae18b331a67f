"""The pure Terraform functions the static evaluator knows (`merge`, `lookup`, `concat`, `format`, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks.areas.static.values import Unresolved, as_text, number, require_known, sequence, truth


def _merge(*maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        require_known(m)
        if not isinstance(m, dict):
            raise Unresolved(f"merge() of {m!r}, which is not a map")
        out.update(m)
    return out


def _lookup(m: Any, k: Any, *default: Any) -> Any:
    require_known(m)
    if isinstance(m, dict) and as_text(k) in m:
        return m[as_text(k)]
    if default:
        return default[0]
    raise Unresolved(f"lookup() of missing key {k!r}")


def _try(args: list[Callable[[], Any]]) -> Any:
    for a in args:
        try:
            return a()
        except Unresolved:
            continue
    raise Unresolved("no argument of try() can be evaluated statically")


def _coalesce(args: list[Callable[[], Any]]) -> Any:
    for a in args:
        v = a()
        require_known(v)
        if v not in (None, ""):
            return v
    raise Unresolved("coalesce() has no non-empty argument")


def _format(fmt: Any, *args: Any) -> str:
    require_known(fmt, *args)
    parts = iter(args)
    return re.sub(r"%[sdv]", lambda m: as_text(next(parts, "")), str(fmt)).replace("%%", "%")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge, "tomap": lambda m: _merge(m), "lookup": _lookup, "try": _try, "coalesce": _coalesce,
    "concat": lambda *ls: [x for v in ls for x in sequence(v)],
    "jsonencode": lambda v: v,  # kept structured: the policy checks read Statement[].Sid from it
    "lower": lambda s: (require_known(s), str(s).lower())[1], "upper": lambda s: (require_known(s), str(s).upper())[1],
    "format": _format, "contains": lambda ls, v: v in sequence(ls),
    "length": lambda v: (require_known(v), len(v))[1], "keys": lambda m: list(_merge(m)),
    "values": lambda m: list(_merge(m).values()), "toset": lambda v: list(dict.fromkeys(sequence(v))),
    "tolist": lambda v: sequence(v), "tostring": lambda v: as_text(v), "tonumber": number,
    "tobool": truth, "join": lambda sep, ls: str(sep).join(as_text(x) for x in sequence(ls)),
    "replace": lambda s, a, b: (require_known(s), str(s).replace(str(a), str(b)))[1],
    "distinct": lambda v: list(dict.fromkeys(sequence(v))),
    "flatten": lambda v: [y for x in sequence(v) for y in sequence(x)],
}

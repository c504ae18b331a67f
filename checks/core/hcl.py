"""HCL files read by python-hcl2, normalized to plain values.

python-hcl2 8 keeps quotes around strings and labels and marks blocks with `__is_block__`;
`normalize` turns its output into plain values ("tenants", not "\\"tenants\\"").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PARSER_KEYS = ("__is_block__", "__comments__")  # python-hcl2's own markers, not the file's attributes
BOM = "\ufeff"  # a UTF-8 byte-order mark: Terraform reads a file that starts with one


@dataclass(frozen=True)
class HclError:
    """Why a file does not parse, and its line when the parser knows it (else 0)."""
    message: str
    line: int = 0


CACHED_TEXT = 1 << 20  # parses of files up to 1 MiB are kept: the CI/CD and static areas read the same .tf files


def parse(text: str) -> tuple[dict[str, Any] | None, HclError | None]:
    """The normalized HCL body (the caller's own copy), or None and why it does not parse."""
    body, error = _parse_cached(text) if len(text) <= CACHED_TEXT else _parse(text)
    return copy.deepcopy(body), error


@lru_cache(maxsize=256)
def _parse_cached(text: str) -> tuple[dict[str, Any] | None, HclError | None]:
    return _parse(text)


def _parse(text: str) -> tuple[dict[str, Any] | None, HclError | None]:
    import hcl2

    try:
        raw = hcl2.loads(text.removeprefix(BOM))
    except Exception as exc:  # noqa: BLE001  lark raises many types: UnexpectedToken, UnexpectedCharacters, VisitError...
        line = getattr(exc, "line", 0) or 0
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first if len(first) <= 300 else first[:297] + "..."  # lark quotes the whole offending token
        return None, HclError(f"does not parse as HCL ({type(exc).__name__}): {first}",
                              int(line) if isinstance(line, int) else 0)
    return normalize(raw), None


def unquote(v: Any) -> Any:
    if isinstance(v, str) and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1].replace('\\"', '"')
    return v


def normalize(v: Any) -> Any:
    if isinstance(v, dict):
        return {unquote(k): normalize(x) for k, x in v.items() if k not in PARSER_KEYS}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return unquote(v)


def blocks(body: Any) -> list[dict[str, Any]]:
    """A block or list of blocks as a list of dicts."""
    if isinstance(body, dict):
        return [body]
    return [b for b in body if isinstance(b, dict)] if isinstance(body, list) else []

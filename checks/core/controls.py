"""The controls the checks provide evidence for: the frameworks and controls declared in catalog.toml
(`[framework.<key>]`, `[control."<framework>:<id>"]`) and what a check's `controls` expand to.

A control is named "<framework>:<id>" ("securityhub:S3.5", "nist-800-53-r5:SC-8"). A declared control
has the published page its mapping is taken from (`source`) and the controls that page names as related
(`related`): a check that evidences it evidences those too, on the same source.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).with_name("catalog.toml")
RESERVED = ("framework", "control")  # catalog.toml's tables that are not check ids


@dataclass(frozen=True)
class Framework:
    key: str
    title: str
    source: str
    order: int
    short: str = ""


@dataclass(frozen=True)
class Control:
    ref: str  # "<framework>:<id>"
    title: str
    source: str
    related: tuple[str, ...] = ()

    @property
    def framework(self) -> str:
        return split(self.ref)[0]

    @property
    def id(self) -> str:
        return split(self.ref)[1]


@cache
def raw() -> dict[str, Any]:
    return tomllib.loads(CATALOG.read_text(encoding="utf-8"))


def split(ref: str) -> tuple[str, str]:
    framework, sep, control = ref.partition(":")
    if not (sep and framework and control):
        raise ValueError(f"a control is '<framework>:<id>', got {ref!r}")
    return framework, control


@cache
def frameworks() -> dict[str, Framework]:
    out = {}
    for i, (key, f) in enumerate((raw().get("framework") or {}).items()):
        _need_source(f"framework {key}", f.get("source"))
        out[key] = Framework(key=key, title=str(f["title"]), source=str(f["source"]), order=i,
                             short=str(f.get("short") or f["title"]))
    return out


@cache
def declared() -> dict[str, Control]:
    """Every control with its own table in catalog.toml, by ref."""
    out = {}
    for ref, c in (raw().get("control") or {}).items():
        _known(ref)
        _need_source(f"control {ref}", c.get("source"))
        related = tuple(c.get("related") or ())
        for r in related:
            _known(r)
        out[ref] = Control(ref=ref, title=str(c.get("title") or ""), source=str(c["source"]), related=related)
    return out


def _known(ref: str) -> None:
    framework, _ = split(ref)
    if framework not in frameworks():
        raise ValueError(f"control {ref!r}: unknown framework {framework!r}; known: {', '.join(frameworks())}")


def _need_source(what: str, source: Any) -> None:
    if not isinstance(source, str) or not source.startswith("https://"):
        raise ValueError(f"catalog.toml {what}: needs `source`, the https page it is taken from")


def check_refs(owner: str, refs: Iterable[str]) -> tuple[str, ...]:
    """A check's own control list, each declared (with a source) in catalog.toml."""
    out = tuple(refs)
    for ref in out:
        if ref not in declared():
            raise ValueError(f"catalog {owner}: control {ref!r} has no [control.\"{ref}\"] table with its source")
    return out


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def sort_key(ref: str) -> tuple[Any, ...]:
    framework, control = split(ref)
    f = frameworks().get(framework)
    return (f.order if f else len(frameworks()), _natural(control))


def expand(refs: Iterable[str]) -> tuple[str, ...]:
    """The controls named and those their pages name as related, once each, by framework then id."""
    out = set()
    for ref in refs:
        out.add(ref)
        out.update(declared()[ref].related if ref in declared() else ())
    return tuple(sorted(out, key=sort_key))


def sources(ref: str) -> tuple[str, ...]:
    """The pages a control's mapping is taken from: its own table's, and every declared control's that
    names it as related."""
    own = [declared()[ref].source] if ref in declared() else []
    via = [c.source for c in declared().values() if ref in c.related]
    return tuple(dict.fromkeys([*own, *via]))


def title(ref: str) -> str:
    c = declared().get(ref)
    return c.title if c else ""


def of_framework(refs: Iterable[str], framework: str) -> list[str]:
    return [r for r in refs if split(r)[0] == framework]

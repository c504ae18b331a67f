"""YAML for GitHub workflows: YAML 1.2 booleans (`on:` stays a key) and the line of every key and item.

Problems (syntax, duplicate keys, not one document) are reported as (message, line), never raised.
Anchors and aliases are allowed (GitHub Actions accepts them), but what they expand to is bounded
(MAX_NODES): a document of nested aliases (a "billion laughs") is refused, with the reason in
`Parsed.refused`, before it takes memory or time.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are YAML 1.2 (true/false only): `on:` stays the string "on"."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))

Path_ = tuple  # a location: keys and list indexes from the document root
MAX_NODES = 50_000  # values a workflow may expand to (aliases included); a real one has a few thousand


class _TooLarge(Exception):
    """The document expands past MAX_NODES."""


@dataclass
class Parsed:
    data: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[tuple[str, int]] = field(default_factory=list)  # (message, line)
    refused: str = ""  # why the document was not built at all (it expands past the bounds)
    nodes: int = 0
    merged: dict[int, int] = field(default_factory=dict, repr=False)  # mapping node id -> pairs after merges


def load_yaml(text: str) -> Parsed:
    """Parse one YAML document; problems (syntax, duplicate keys, not one document) are reported, never raised.
    The caller gets its own copy; a workflow's parse is kept (a run and its checks read each file several times)."""
    return copy.deepcopy(_load_cached(text)) if len(text) <= 1 << 20 else _load(text)


@lru_cache(maxsize=256)
def _load_cached(text: str) -> Parsed:
    return _load(text)


def _load(text: str) -> Parsed:
    out = Parsed()
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        out.problems.append((f"not valid YAML: {exc.problem or exc}" + (f" ({exc.context})" if exc.context else ""),
                             line))
        return out
    except yaml.YAMLError as exc:
        out.problems.append((f"not valid YAML: {exc}", 0))
        return out
    if node is None:
        out.problems.append(("the file is empty", 0))
        return out
    try:
        out.data = _build(loader, node, (), out)
    except _TooLarge:
        out.refused = (f"refused: its anchors and aliases expand to more than {MAX_NODES} values (an alias bomb); "
                       "the file was not evaluated")
        out.problems.append((out.refused, node.start_mark.line + 1))
        out.data, out.lines = None, {}
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        out.problems.append((f"not valid YAML: {exc}", node.start_mark.line + 1))
        out.data = None
    return out


def _build(loader: yaml.SafeLoader, node: yaml.Node, at: tuple, out: Parsed) -> Any:
    out.nodes += 1
    if out.nodes > MAX_NODES:
        raise _TooLarge
    out.lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _pairs(node, out.merged)  # what `<<:` merges would expand to, bounded before PyYAML expands it
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            if isinstance(k_node, yaml.ScalarNode):
                k = loader.construct_object(k_node, deep=True)
            else:  # a mapping or list as a key: never built (an alias there could be a bomb of its own)
                k = f"({k_node.id} key at line {k_node.start_mark.line + 1})"
            if not isinstance(k, (str, int, float, bool)) or k is None:
                k = str(k)
            if k in result:
                out.problems.append((f"duplicate key {k!r} in {dotted(at) or 'the document'}",
                                     k_node.start_mark.line + 1))
            result[k] = _build(loader, v_node, at + (k,), out)
            out.lines[at + (k,)] = k_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, v, at + (i,), out) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


MERGE = "tag:yaml.org,2002:merge"


def _pairs(node: yaml.MappingNode, memo: dict[int, int]) -> int:
    """How many (key, value) pairs the mapping holds once its `<<:` merges are flattened (each merged
    mapping counted once per use, as PyYAML copies it); _TooLarge past MAX_NODES."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = MAX_NODES + 1  # a merge cycle counts as too large
    total = 0
    for k, v in node.value:
        if k.tag == MERGE:
            subs = [v] if isinstance(v, yaml.MappingNode) else v.value if isinstance(v, yaml.SequenceNode) else []
            total += sum(_pairs(x, memo) for x in subs if isinstance(x, yaml.MappingNode))
        else:
            total += 1
        if total > MAX_NODES:
            raise _TooLarge
    memo[id(node)] = total
    return total


def dotted(at: Iterable[Any]) -> str:
    s = ""
    for p in at:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s



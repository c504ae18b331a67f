"""The infra repo's Terraform as one env would plan it: roots, tfvars, providers and resource instances.

Built from file texts only (the snapshot's `file` observations), so it is pure and replayable.
A root module is a directory of .tf files that no other directory uses as a local module source;
roots named for another env (`envs/prod/` while checking dev) are left out. Per root, variables
come from their defaults, then terraform.tfvars, *.auto.tfvars and the env's tfvars file.
`count` and `for_each` expand into instances; local modules (`source = "./..."`) are followed.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from checks.areas.static.expr import Scope, evaluate
from checks.areas.static.limits import Budget
from checks.areas.static.values import Ref, Unknown, Unresolved, fail, opened
from checks.core import hcl
from checks.core.hcl import blocks

TFVARS_CANDIDATES = (
    "environments/{env}.tfvars", "envs/{env}.tfvars", "env/{env}.tfvars", "vars/{env}.tfvars",
    "tfvars/{env}.tfvars", "config/{env}.tfvars", "{env}.tfvars", "terraform.{env}.tfvars",
    "{env}/*.tfvars", "environments/{env}/*.tfvars", "envs/{env}/*.tfvars", "env/{env}/*.tfvars",
)
MAX_MODULE_DEPTH = 5
# A module from outside the repo can hide a resource type only if its name or source hints at it
# (terraform-aws-modules/s3-bucket/aws, cloudposse/dynamodb/aws, ...).
REMOTE_HINTS = {"aws_dynamodb_table": ("dynamo", "table"), "aws_s3_bucket": ("s3", "bucket", "storage"),
                "aws_backup": ("backup",), "aws_iam_role": ("iam", "role"),
                "data.aws_iam_policy_document": ("iam", "policy")}
_MISSING = object()


@dataclass
class Provider:
    alias: str
    body: dict[str, Any]
    file: str
    scope: Scope

    def region(self) -> Any:
        return evaluate(self.body.get("region", _MISSING), self.scope) if "region" in self.body else fail(
            f"provider aws{'.' + self.alias if self.alias else ''} ({self.file}) sets no region")

    def default_tags(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dt in blocks(self.body.get("default_tags")):
            tags = evaluate(dt.get("tags", {}), self.scope)
            if isinstance(tags, Ref):
                raise Unresolved(f"provider default_tags ({self.file}) are {tags}, known only after apply")
            out.update(tags or {})
        return out


@dataclass
class Node:
    """A resource instance or one of its (possibly dynamic) nested blocks, with the scope to evaluate it in."""
    body: dict[str, Any]
    scope: Scope
    file: str
    line: int
    lines: list[str] = field(default_factory=list, repr=False)
    span: tuple[int, int] = (0, 0)  # the resource block's line range in its file

    def has(self, attr: str) -> bool:
        return attr in self.body

    def get(self, attr: str, default: Any = _MISSING) -> Any:
        if attr not in self.body:
            if default is _MISSING:
                raise Unresolved(f"{attr} is not set")
            return default
        value = evaluate(self.body[attr], self.scope)
        if isinstance(value, Unknown):
            raise Unresolved(value.reason)
        return value

    def blocks(self, name: str) -> list[Node]:
        """The nested blocks called `name`, static ones and those a `dynamic "name"` block generates."""
        out = [self._child(b) for b in blocks(self.body.get(name))]
        for dyn in blocks(self.body.get("dynamic")):
            spec = dyn.get(name)
            for d in blocks(spec):
                items = evaluate(d.get("for_each", []), self.scope)
                if isinstance(items, Ref):
                    raise Unresolved(f'dynamic "{name}" iterates over {items}, known only after apply')
                iterator = str(d.get("iterator", name))
                pairs = list(items.items()) if isinstance(items, dict) else list(enumerate(items or []))
                if not isinstance(items, (dict, list)):
                    raise Unresolved(f'dynamic "{name}" for_each is not a list or map')
                for content in blocks(d.get("content")):
                    for k, v in pairs:
                        out.append(Node(content, self.scope.bind(**{iterator: {"key": k, "value": v}}), self.file,
                                        self.line_of("dynamic"), self.lines, self.span))
        return out

    def _child(self, body: dict[str, Any]) -> Node:
        return Node(body, self.scope, self.file, self.line, self.lines, self.span)

    def line_of(self, name: str) -> int:
        """The first line in this resource block that sets `name` (attribute or block); else the block's line."""
        start, end = self.span
        pat = re.compile(rf'^\s*(?:{re.escape(name)}\s*[={{]|dynamic\s+"{re.escape(name)}")')
        for n in range(max(start, 1), min(end, len(self.lines)) + 1):
            if pat.match(self.lines[n - 1]):
                return n
        return self.line


@dataclass
class Instance(Node):
    type: str = ""
    name: str = ""
    key: Any = None
    module: str = ""  # "module.tables[\"x\"]." prefix, or ""
    provider: Provider | None = None
    root: str = ""

    @property
    def address(self) -> str:
        idx = "" if self.key is None else (f"[{self.key}]" if isinstance(self.key, int) else f'["{self.key}"]')
        return f"{self.module}{self.type}.{self.name}{idx}"

    def refers(self, ref: Any) -> bool:
        """Does a Ref (aws_s3_bucket.templates.id, aws_dynamodb_table.t["x"].arn) point at this instance?"""
        return (isinstance(ref, Ref) and ref.type == self.type and ref.name == self.name
                and (ref.key == self.key or ref.key is None and self.key in (None, 0)))


@dataclass
class Skipped:
    """A resource or module whose count/for_each could not be evaluated: it may or may not exist."""
    address: str
    type: str
    file: str
    line: int
    reason: str
    remote: bool = False  # a module from outside the repo (registry, git): not followed

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.address}: {self.reason}"


@dataclass
class Root:
    dir: str
    tfvars: list[str]
    instances: list[Instance] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    providers: dict[str, Provider] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    terraform_blocks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (file, terraform {})
    budget: Budget = field(default_factory=Budget, repr=False)  # what evaluating this env's model may spend


@dataclass
class Model:
    env: str
    roots: list[Root]
    errors: list[str] = field(default_factory=list)  # files that do not parse

    def instances(self, type_: str) -> list[Instance]:
        return [i for r in self.roots for i in r.instances if i.type == type_]

    def skipped(self, type_: str) -> list[str]:
        """Why some instances of a type may exist unseen: unresolved count/for_each, unfollowed modules."""
        mine = [s for r in self.roots for s in r.skipped if s.type in (type_, "module")]
        out = [str(s) for s in mine if not s.remote]
        hints = next((h for prefix, h in REMOTE_HINTS.items() if type_.startswith(prefix)), None)
        remote = [s for s in mine if s.remote and (hints is None or any(
            x in f"{s.address} {s.reason}".lower() for x in hints))]
        if remote:
            out.append(f"{len(remote)} module(s) from outside the repo are not followed (first: {remote[0].file}:"
                       f"{remote[0].line} {remote[0].address} source {remote[0].reason})")
        return out

    def find(self, type_: str, attr: str, value: str) -> tuple[list[Instance], list[str]]:
        """Instances of a type whose `attr` evaluates to value, and why others could not be judged."""
        found, unknown = [], []
        for i in self.instances(type_):
            try:
                got = i.get(attr, None)
            except Unresolved as exc:
                unknown.append(f"{i.file}:{i.line} {i.address}.{attr}: {exc}")
                continue
            if isinstance(got, Ref):
                unknown.append(f"{i.file}:{i.line} {i.address}.{attr} is {got}, known only after apply")
            elif got == value:
                found.append(i)
        return found, unknown + self.skipped(type_)


# building ---------------------------------------------------------------------------------------------------------

def module_dirs(paths: list[str]) -> dict[str, list[str]]:
    """Directory -> its .tf files."""
    out: dict[str, list[str]] = {}
    for p in sorted(paths):
        if p.endswith(".tf"):
            out.setdefault(posixpath.dirname(p), []).append(p)
    return out


def _local_source(base: str, source: Any) -> str | None:
    if isinstance(source, str) and source.startswith(("./", "../")):
        return posixpath.normpath(posixpath.join(base, source)) if base else posixpath.normpath(source)
    return None


def build(texts: dict[str, str], env: str, other_envs: list[str], tfvars_pattern: str = "") -> Model:
    """The model of every root for one env. texts: repo-relative path -> file text (.tf and .tfvars)."""
    parsed: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for path, text in texts.items():
        if path.endswith((".tf", ".tfvars")):
            body, error = hcl.parse(text)
            if error is not None:
                errors.append(f"{path}:{error.line} {error.message}" if error.line else f"{path}: {error.message}")
            else:
                parsed[path] = body
    dirs = module_dirs(list(parsed))
    used = set()
    for d, files in dirs.items():
        for f in files:
            for m in blocks(parsed[f].get("module")):
                for spec in m.values():
                    for s in blocks(spec):
                        src = _local_source(d, s.get("source"))
                        if src is not None:
                            used.add(src)
    roots = []
    others = [e for e in other_envs if e != env]
    budget = Budget()
    for d in sorted(dirs):
        segs = set(d.split("/")) if d else set()
        if d in used or (segs & set(others) and env not in segs):
            continue
        roots.append(_root(d, dirs, parsed, texts, env, tfvars_pattern, budget))
    return Model(env, roots, errors)


def find_tfvars(d: str, paths: set[str], env: str, pattern: str = "") -> list[str]:
    """The tfvars files terraform would read for this root and env, in load order."""
    def rel(p: str) -> str:
        return posixpath.normpath(posixpath.join(d, p)) if d else posixpath.normpath(p)
    out = [p for p in (rel("terraform.tfvars"),) if p in paths]
    out += sorted(p for p in paths if posixpath.dirname(p) == d and p.endswith(".auto.tfvars"))
    patterns = [pattern] if pattern else list(TFVARS_CANDIDATES)
    for pat in patterns:
        cand = pat.replace("{env}", env)
        for p in (rel(cand), posixpath.normpath(cand)):
            if "*" in p:
                matches = sorted(x for x in paths if x.endswith(".tfvars") and fnmatchcase(x, p) and x not in out)
                if matches:
                    return out + matches
            elif p in paths and p not in out:
                return out + [p]
    return out


def _root(d: str, dirs: dict[str, list[str]], parsed: dict[str, dict[str, Any]], texts: dict[str, str],
          env: str, pattern: str, budget: Budget) -> Root:
    tfvars = find_tfvars(d, set(parsed), env, pattern)
    values: dict[str, Any] = {}
    for f in tfvars:
        values.update(parsed[f])
    root = Root(d, tfvars, budget=budget)
    where = ", ".join(tfvars) if tfvars else f"no tfvars file for env {env}"
    _module(root, d, dirs, parsed, texts, env, values, where, {}, "", 0)
    return root


def _variables(files: list[str], parsed: dict[str, dict[str, Any]], given: dict[str, Any],
               where: str) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    variables: dict[str, Any] = {}
    missing: dict[str, str] = {}
    typed: set[str] = set()  # variables whose type declares object attributes (which may have defaults)
    for f in files:
        for group in blocks(parsed[f].get("variable")):
            for name, spec in group.items():
                for s in blocks(spec):
                    if re.search(r"\b(?:object|optional)\s*\(", str(s.get("type", ""))):
                        typed.add(name)
                    if "default" in s:
                        variables[name] = s["default"]
                    else:
                        missing[name] = f"var.{name} ({f}) has no default and no value in {where}"
    for name, value in given.items():
        if isinstance(value, _Why):
            missing[name] = value.reason
            variables.pop(name, None)
        else:
            variables[name] = value
            missing.pop(name, None)
    return variables, missing, typed


@dataclass
class _Why:
    reason: str


def _module(root: Root, d: str, dirs: dict[str, list[str]], parsed: dict[str, dict[str, Any]],
            texts: dict[str, str], env: str, given: dict[str, Any], where: str,
            providers: dict[str, Provider], prefix: str, depth: int) -> None:
    files = dirs.get(d, [])
    variables, missing, typed = _variables(files, parsed, given, where)
    local_raw: dict[str, Any] = {}
    local_at: dict[str, str] = {}
    for f in files:
        for b in blocks(parsed[f].get("locals")):
            local_raw.update(b)
        if "locals" in parsed[f]:
            local_at.update(_local_lines(f, texts.get(f, "")))
    scope = Scope({k: v for k, v in variables.items()}, local_raw, {"terraform": {"workspace": env},
                                                                   "path": {"module": d, "root": root.dir}},
                  missing, budget=root.budget, local_at=local_at)
    # variable defaults and tfvars values are literals in practice, but may hold `${...}`: evaluate lazily
    for k, v in list(scope.variables.items()):
        try:
            scope.variables[k] = evaluate(v, scope) if isinstance(v, (str, dict, list)) else v
            if k in typed:
                scope.variables[k] = opened(scope.variables[k])
        except Unresolved as exc:
            del scope.variables[k]
            missing[k] = f"var.{k}: {exc}"
    mine = dict(providers)
    for f in files:
        for group in blocks(parsed[f].get("provider")):
            for ptype, spec in group.items():
                if ptype != "aws":
                    continue
                for p in blocks(spec):
                    alias = str(p.get("alias", ""))
                    mine[alias] = Provider(alias, p, f, scope)
        if not prefix:
            root.terraform_blocks += [(f, tf) for tf in blocks(parsed[f].get("terraform"))]
    if not prefix:
        root.providers = mine
    for f in files:
        lines = texts.get(f, "").splitlines()
        for group in blocks(parsed[f].get("resource")):
            for rtype, named in group.items():
                for name, spec in (named.items() if isinstance(named, dict) else []):
                    for body in blocks(spec):
                        _resource(root, rtype, name, body, f, lines, scope, mine, prefix)
        for group in blocks(parsed[f].get("data")):
            for dtype, named in group.items():
                for name, spec in (named.items() if isinstance(named, dict) else []):
                    for body in blocks(spec):
                        _resource(root, dtype, name, body, f, lines, scope, mine, prefix, "data")
        if depth < MAX_MODULE_DEPTH:
            for group in blocks(parsed[f].get("module")):
                for name, spec in group.items():
                    for body in blocks(spec):
                        _call(root, name, body, f, lines, d, dirs, parsed, texts, env, scope, mine, prefix, depth)


def _local_lines(f: str, text: str) -> dict[str, str]:
    """"file:line" of each local the file's locals blocks define (one pass over the file)."""
    out: dict[str, str] = {}
    depth = 0
    for n, line in enumerate(text.splitlines(), 1):
        if depth == 0 and re.match(r"\s*locals\s*\{", line):
            depth = 1
            line = line.split("{", 1)[1]
        elif depth == 0:
            continue
        elif depth == 1 and (m := re.match(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=", line)):
            out.setdefault(m.group(1), f"{f}:{n}")
        depth = max(0, depth + line.count("{") - line.count("}"))
    return out


def _span(lines: list[str], kind: str, labels: tuple[str, ...]) -> tuple[int, int]:
    head = re.compile(r"^\s*" + re.escape(kind) + "".join(rf'\s+"{re.escape(x)}"' for x in labels) + r"\s*\{")
    for n, text in enumerate(lines, 1):
        if head.match(text):
            depth, quote = 0, False
            for m in range(n, len(lines) + 1):
                for c in lines[m - 1].split("#")[0]:
                    if c == '"':
                        quote = not quote
                    elif not quote and c == "{":
                        depth += 1
                    elif not quote and c == "}":
                        depth -= 1
                if depth <= 0 and m >= n:
                    return n, m
            return n, len(lines)
    return 0, 0


def _expand(body: dict[str, Any], scope: Scope) -> list[tuple[Any, Scope]]:
    """(key, scope) per instance of a block with count / for_each."""
    if "for_each" in body:
        items = evaluate(body["for_each"], scope)
        if isinstance(items, Ref):
            raise Unresolved(f"for_each is {items}, known only after apply")
        if isinstance(items, dict):
            return [(k, scope.bind(each={"key": k, "value": v})) for k, v in items.items()]
        if isinstance(items, list):
            return [(str(v), scope.bind(each={"key": str(v), "value": v})) for v in items]
        raise Unresolved(f"for_each is {items!r}, not a map or set")
    if "count" in body:
        n = evaluate(body["count"], scope)
        if isinstance(n, bool) or not isinstance(n, int):
            raise Unresolved(f"count is {n}, not a number known before apply")
        return [(i, scope.bind(count={"index": i})) for i in range(n)]
    return [(None, scope)]


def _provider_of(body: dict[str, Any], scope: Scope, providers: dict[str, Provider]) -> Provider | None:
    ref = body.get("provider")
    alias = ""
    if isinstance(ref, str):
        m = re.fullmatch(r"\$\{aws\.([A-Za-z0-9_-]+)\}|aws\.([A-Za-z0-9_-]+)", ref)
        alias = (m.group(1) or m.group(2)) if m else ""
    return providers.get(alias)


def _resource(root: Root, rtype: str, name: str, body: dict[str, Any], f: str, lines: list[str], scope: Scope,
              providers: dict[str, Provider], prefix: str, kind: str = "resource") -> None:
    span = _span(lines, kind, (rtype, name))
    if kind == "data":
        rtype = f"data.{rtype}"
    try:
        expanded = _expand(body, scope)
    except Unresolved as exc:
        root.skipped.append(Skipped(f"{prefix}{rtype}.{name}", rtype, f, span[0], str(exc)))
        return
    for key, sub in expanded:
        root.instances.append(Instance(body, sub, f, span[0], lines, span, rtype, name, key, prefix,
                                       _provider_of(body, sub, providers), root.dir))


def _call(root: Root, name: str, body: dict[str, Any], f: str, lines: list[str], d: str,
          dirs: dict[str, list[str]], parsed: dict[str, dict[str, Any]], texts: dict[str, str], env: str,
          scope: Scope, providers: dict[str, Provider], prefix: str, depth: int) -> None:
    line = _span(lines, "module", (name,))[0]
    src = _local_source(d, body.get("source"))
    if src is None or src not in dirs:
        root.skipped.append(Skipped(f"{prefix}module.{name}", "module", f, line, str(body.get("source")), True))
        return
    try:
        expanded = _expand(body, scope)
    except Unresolved as exc:
        root.skipped.append(Skipped(f"{prefix}module.{name}", "module", f, line, str(exc)))
        return
    meta = {"source", "version", "count", "for_each", "providers", "depends_on"}
    for key, sub in expanded:
        given: dict[str, Any] = {}
        for arg, raw in body.items():
            if arg in meta:
                continue
            try:
                given[arg] = evaluate(raw, sub)
            except Unresolved as exc:
                given[arg] = _Why(f"module.{name} input {arg} ({f}:{line}): {exc}")
        child = dict(providers)
        for mapping in blocks(body.get("providers")):
            for inner, outer in mapping.items():
                m = re.fullmatch(r"\$\{aws(?:\.([A-Za-z0-9_-]+))?\}|aws(?:\.([A-Za-z0-9_-]+))?", str(outer))
                if m and inner.startswith("aws"):
                    child[inner.partition(".")[2]] = providers.get(m.group(1) or m.group(2) or "")
        idx = "" if key is None else (f"[{key}]" if isinstance(key, int) else f'["{key}"]')
        _module(root, src, dirs, parsed, texts, env, given, f"module.{name} in {f}:{line}",
                {k: v for k, v in child.items() if v is not None}, f"{prefix}module.{name}{idx}.", depth + 1)

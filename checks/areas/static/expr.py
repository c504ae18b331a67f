"""A small, safe evaluator for the Terraform expressions python-hcl2 leaves as `${...}` strings.

It knows literals, strings with interpolation, lists, maps, `var.*`, `local.*`, `each.*`,
`count.index`, a dynamic block's iterator, indexing, `==`/`!=`/`&&`/`||`/`!`/comparisons,
the conditional operator, `for` expressions and a handful of pure functions (functions.py). A
reference to a resource, data source or module becomes a `Ref` (an opaque value that names what it
points at, values.py); anything else raises `Unresolved`, which a check reports as "cannot be
resolved statically", never as a pass. Evaluation is bounded (limits.py): sizes, steps and nesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.areas.static import limits
from checks.areas.static.functions import FUNCTIONS, LAZY
from checks.areas.static.limits import Budget, LimitExceeded
from checks.areas.static.values import (
    Ref,
    Unresolved,
    as_text,
    attribute,
    binop,
    fail,
    index,
    number,
    require_known,
    sequence,
    soft,
    truth,
)


@dataclass
class Scope:
    """What names mean: variables, locals (evaluated on first use) and bound iterators."""
    variables: dict[str, Any] = field(default_factory=dict)
    locals_raw: dict[str, Any] = field(default_factory=dict)
    bindings: dict[str, Any] = field(default_factory=dict)
    why_missing: dict[str, str] = field(default_factory=dict)  # var name -> why it has no value
    _locals: dict[str, Any] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)
    budget: Budget = field(default_factory=Budget)  # shared by every scope of one env's model
    local_at: dict[str, str] = field(default_factory=dict)  # local name -> "file:line" that defines it

    def bind(self, **names: Any) -> Scope:
        return Scope(self.variables, self.locals_raw, {**self.bindings, **names}, self.why_missing,
                     self._locals, self._busy, self.budget, self.local_at)

    def var(self, name: str) -> Any:
        if name in self.variables:
            return self.variables[name]
        raise Unresolved(self.why_missing.get(name, f"var.{name} is not declared"))

    def local(self, name: str) -> Any:
        if name in self._locals:
            value = self._locals[name]
            if isinstance(value, Unresolved):  # evaluated once, failed: the same error, not the same work
                raise value
            return value
        if name not in self.locals_raw:
            raise Unresolved(f"local.{name} is not defined")
        if name in self._busy:
            raise Unresolved(f"local.{name} refers to itself")
        self._busy.add(name)
        try:
            with self.budget.deeper(1, f"local.{name}"):
                value = evaluate(self.locals_raw[name], Scope(self.variables, self.locals_raw, {}, self.why_missing,
                                                              self._locals, self._busy, self.budget, self.local_at))
        except LimitExceeded as exc:
            if not getattr(exc, "located", False):  # name the innermost local, once
                at = self.local_at.get(name)
                exc = LimitExceeded(f"{exc} (in local.{name}{', ' + at if at else ''})")
                exc.located = True  # type: ignore[attr-defined]
            self._locals[name] = exc
            raise exc from None
        except Unresolved as exc:
            self._locals[name] = exc
            raise
        finally:
            self._busy.discard(name)
        self._locals[name] = value
        return value


def evaluate(value: Any, scope: Scope) -> Any:
    """The value of a normalized python-hcl2 value: literals stay, `${...}` strings are evaluated."""
    if scope.budget.depth:
        return _evaluate(value, scope)
    try:  # the outermost evaluation: Python's own stack is the last bound
        return _evaluate(value, scope)
    except RecursionError:
        raise LimitExceeded("the expression nests deeper than the evaluator's stack") from None


def _evaluate(value: Any, scope: Scope) -> Any:
    scope.budget.step()
    if isinstance(value, dict):
        return {k: soft(lambda v=v: evaluate(v, scope)) for k, v in value.items()}
    if isinstance(value, list):
        return [soft(lambda v=v: evaluate(v, scope)) for v in value]
    if isinstance(value, str) and "${" in value:
        if value.startswith("${") and _closing(value, 2) == len(value) - 1:
            return _Parser(value[2:-1], scope).parse()
        return _template(value, scope)
    return value


def _closing(text: str, start: int) -> int:
    """The index of the `}` that closes the `${` opened just before `start` (-1 when none)."""
    depth, i, quote = 1, start, False
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == '"':
                quote = False
        elif c == '"':
            quote = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _template(text: str, scope: Scope) -> Any:
    out, i, size = [], 0, 0
    while i < len(text):
        j = text.find("${", i)
        if j < 0 or (j > 0 and text[j - 1] == "$"):
            out.append(text[i:] if j < 0 else text[i:j + 2])
            if j < 0:
                break
            i = j + 2
            continue
        out.append(text[i:j])
        end = _closing(text, j + 2)
        if end < 0:
            raise Unresolved(f"unterminated interpolation in {text!r}")
        part = _Parser(text[j + 2:end], scope).parse()
        require_known(part, refs=False)
        if isinstance(part, (Ref, dict, list)):
            return Ref("(interpolation)", text)  # known only after apply; opaque unless compared
        out.append(as_text(part))
        size = limits.chars(size + len(out[-1]) + j - i, "a string template")
        i = end + 1
    return "".join(out)


TOKEN = re.compile(r"""\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>")|(?P<id>[A-Za-z_][A-Za-z0-9_-]*)|
    (?P<op>\.\.\.|=>|==|!=|<=|>=|&&|\|\||[{}\[\]().,=:?!<>+\-*/%]))""", re.X)


class _Parser:
    def __init__(self, text: str, scope: Scope):
        self.text, self.scope, self.pos = text, scope, 0
        self.toks: list[tuple[str, Any]] = self._lex()
        self.i = self.nest = 0

    # lexing -------------------------------------------------------------------------------------------------
    def _lex(self) -> list[tuple[str, Any]]:
        toks, t, i = [], self.text, 0
        while i < len(t):
            if t[i].isspace():
                i += 1
                continue
            m = TOKEN.match(t, i)
            if not m:
                raise Unresolved(f"cannot read the expression {_short(t)}")
            if m.group("str"):
                j, buf = m.end(), []
                while j < len(t) and t[j] != '"':
                    if t[j] == "\\" and j + 1 < len(t):
                        buf.append({"n": "\n", "t": "\t"}.get(t[j + 1], t[j + 1]))
                        j += 2
                    elif t.startswith("${", j):
                        end = _closing(t, j + 2)
                        if end < 0:
                            raise Unresolved(f"unterminated interpolation in {t!r}")
                        buf.append(t[j:end + 1])
                        j = end + 1
                    else:
                        buf.append(t[j])
                        j += 1
                toks.append(("str", "".join(buf)))
                i = j + 1
            elif m.group("num"):
                n = m.group("num")
                toks.append(("lit", float(n) if "." in n else int(n)))
                i = m.end()
            elif m.group("id"):
                toks.append(("id", m.group("id")))
                i = m.end()
            else:
                toks.append(("op", m.group("op")))
                i = m.end()
        return toks

    # parsing helpers ----------------------------------------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, Any]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", None)

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, op: str) -> bool:
        return self.peek() == ("op", op)

    def expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise Unresolved(f"cannot read the expression {_short(self.text)} (expected {op!r})")

    def parse(self) -> Any:
        v = self.expr()
        if self.peek()[0] != "end":
            raise Unresolved(f"cannot read the expression {_short(self.text)}")
        out = v()
        require_known(out, refs=False)
        return out

    def _open(self) -> None:
        """One more bracket, call or parenthesis: bounded while parsing, before Python's stack is."""
        self.nest += 1
        if self.scope.budget.depth + self.nest > limits.MAX_DEPTH:
            raise LimitExceeded(f"the expression nests more than {limits.MAX_DEPTH} levels deep "
                                "(locals and brackets)")

    # grammar: each level returns a thunk, so `a ? b : c` evaluates only the chosen side -----------------------
    def expr(self) -> Callable[[], Any]:
        cond = self.binary(0)
        if self.at("?"):
            self.take()
            yes = self.expr()
            self.expect(":")
            no = self.expr()
            return lambda: yes() if truth(cond()) else no()
        return cond

    LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Callable[[], Any]:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = (lambda a, b, o: lambda: _bounded(binop(o, a, b)))(left, right, op)
        return left

    def unary(self) -> Callable[[], Any]:
        if self.at("!"):
            self.take()
            inner = self.unary()
            return lambda: not truth(inner())
        if self.at("-"):
            self.take()
            inner = self.unary()
            return lambda: _bounded(-number(inner()))
        return self.postfix()

    def postfix(self) -> Callable[[], Any]:
        value = self.primary()
        while True:
            if self.at(".") and self.peek(1)[0] == "id":
                self.take()
                name = self.take()[1]
                value = (lambda v, n: lambda: attribute(v(), n))(value, name)
            elif self.at(".") and self.peek(1) == ("op", "*") or self.at("[") and self.peek(1) == ("op", "*"):
                raise Unresolved(f"splat expressions are not evaluated statically ({_short(self.text)})")
            elif self.at("["):
                self.take()
                idx = self.expr()
                self.expect("]")
                value = (lambda v, k: lambda: index(v(), k()))(value, idx)
            else:
                return value

    def primary(self) -> Callable[[], Any]:
        kind, val = self.take()
        if kind == "lit":
            return lambda: val
        if kind == "str":
            return lambda: evaluate(val, self.scope)
        if kind == "op" and val in "([{":
            self._open()
            try:
                if val == "(":
                    inner = self.expr()
                    self.expect(")")
                    return inner
                if val == "[":
                    return self._for("]") if self.peek() == ("id", "for") else self._list()
                return self._for("}") if self.peek() == ("id", "for") else self._map()
            finally:
                self.nest -= 1
        if kind == "id":
            if val in ("true", "false", "null"):
                return lambda: {"true": True, "false": False, "null": None}[val]
            if self.at("("):
                self._open()
                try:
                    return self._call(val)
                finally:
                    self.nest -= 1
            return self._reference(val)
        raise Unresolved(f"cannot read the expression {_short(self.text)}")

    def _list(self) -> Callable[[], Any]:
        items = []
        while not self.at("]"):
            if self.peek()[0] == "end":
                raise Unresolved(f"cannot read the list in {_short(self.text)}")
            items.append(self.expr())
            limits.items(len(items), "a list")
            if self.at(","):
                self.take()
        self.take()
        return lambda: [soft(f) for f in items]

    def _map(self) -> Callable[[], Any]:
        pairs = []
        while not self.at("}"):
            limits.items(len(pairs) + 1, "an object")
            kind, val = self.peek()
            if kind == "end":
                raise Unresolved(f"cannot read the object in {_short(self.text)}")
            if kind in ("id", "str") and self.peek(1) in (("op", "="), ("op", ":")):
                self.take()
                self.take()
                key: Callable[[], Any] = (lambda k, q: lambda: evaluate(k, self.scope) if q else k)(val, kind == "str")
            else:
                key = self.expr()
                if self.take() not in (("op", "="), ("op", ":")):
                    raise Unresolved(f"cannot read the object in {_short(self.text)}")
            pairs.append((key, self.expr()))
            if self.at(","):
                self.take()
        self.take()
        return lambda: {as_text(k()): soft(v) for k, v in pairs}

    def _for(self, close: str) -> Callable[[], Any]:
        self.take()  # for
        names = [self.take()[1]]
        if self.at(","):
            self.take()
            names.append(self.take()[1])
        if self.take() != ("id", "in"):
            raise Unresolved(f"cannot read the for expression {_short(self.text)}")
        source = self.expr()
        self.expect(":")
        key_or_value = self._skip_to(("=>", "if", close))
        value_src = cond_src = None
        if self.at("=>"):
            self.take()
            value_src = self._skip_to(("if", "...", close))
            if self.at("..."):
                raise Unresolved(f"grouping for expressions are not evaluated statically ({_short(self.text)})")
        if self.peek() == ("id", "if"):
            self.take()
            cond_src = self._skip_to((close,))
        self.expect(close)

        def run() -> Any:
            items = source()
            pairs = list(items.items()) if isinstance(items, dict) else list(enumerate(sequence(items)))
            out_list: list[Any] = []
            out_map: dict[str, Any] = {}
            for k, v in pairs:
                self.scope.budget.step()
                limits.items(len(out_list) + len(out_map) + 1, "a for expression")
                bound = {names[0]: v} if len(names) == 1 else {names[0]: k, names[1]: v}
                sub = self.scope.bind(**bound)
                if cond_src is not None and not truth(_Parser.of(cond_src, sub)):
                    continue
                if value_src is None:
                    out_list.append(_Parser.of(key_or_value, sub))
                else:
                    out_map[as_text(_Parser.of(key_or_value, sub))] = _Parser.of(value_src, sub)
            return out_list if value_src is None else out_map
        return run

    def _skip_to(self, stops: tuple[str, ...]) -> list[tuple[str, Any]]:
        """The tokens up to (not including) the first stop at depth 0."""
        depth, out = 0, []
        while True:
            tok = self.peek()
            if tok[0] == "end":
                raise Unresolved(f"cannot read the for expression {_short(self.text)}")
            if depth == 0 and tok[1] in stops and tok[0] in ("op", "id"):
                return out
            if tok[0] == "op" and tok[1] in "([{":
                depth += 1
            elif tok[0] == "op" and tok[1] in ")]}":
                depth -= 1
            out.append(self.take())

    @classmethod
    def of(cls, toks: list[tuple[str, Any]], scope: Scope) -> Any:
        p = cls.__new__(cls)
        p.text, p.scope, p.toks, p.i, p.nest = "(for expression)", scope, toks, 0, 0
        return p.parse()

    def _call(self, name: str) -> Callable[[], Any]:
        self.expect("(")
        args = []
        while not self.at(")"):
            args.append(self.expr())
            if self.at(","):
                self.take()
            if self.at("..."):
                raise Unresolved(f"{name}(...) with an expanded argument is not evaluated statically")
        self.take()
        fn = FUNCTIONS.get(name)
        if fn is None:
            return lambda: fail(f"function {name}() is not evaluated statically")
        budget = self.scope.budget
        if name in LAZY:
            return lambda: _charged(budget, fn(args))
        return lambda: _charged(budget, fn(*[a() for a in args]))

    def _reference(self, name: str) -> Callable[[], Any]:
        scope = self.scope
        if name in scope.bindings:
            return lambda: scope.bindings[name]
        if name in ("var", "local") and self.at(".") and self.peek(1)[0] == "id":
            self.take()
            attr = self.take()[1]
            return (lambda: scope.var(attr)) if name == "var" else (lambda: scope.local(attr))
        if name in ("each", "count", "path", "terraform", "self"):
            return lambda: fail(f"{name}.* is not known here")
        if name in ("data", "module") and self.at(".") and self.peek(1)[0] == "id":
            self.take()
            sub = self.take()[1]
            if name == "module":
                return lambda: Ref("module", sub)
            if self.at(".") and self.peek(1)[0] == "id":
                self.take()
                return (lambda s, n: lambda: Ref(f"data.{s}", n))(sub, self.take()[1])
        if self.at(".") and self.peek(1)[0] == "id":
            self.take()
            rname = self.take()[1]
            return lambda: Ref(name, rname)
        return lambda: fail(f"{name} is not a known name")


def _bounded(v: Any) -> Any:
    """A number an operator produced, when it is within bounds."""
    return limits.number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _charged(budget: Budget, v: Any) -> Any:
    """A function's result, its size charged as steps (a copy of n elements costs n)."""
    budget.step(1 + (len(v) if isinstance(v, (list, dict)) else len(v) // 1024 if isinstance(v, str) else 0))
    return v


def _short(text: str) -> str:
    return repr(text) if len(text) <= 120 else repr(text[:117] + "...")

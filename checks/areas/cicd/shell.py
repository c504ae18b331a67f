"""Workflow shell scripts: logical lines, tokens, the terraform commands they run, env substitution."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from checks.core import linear

EXPR_RE = linear.compile(r"\$\{\{\s*(.*?)\s*\}\}")  # a ${{ }} expression
VALUE_FLAGS = {"-var", "-var-file", "-target", "-replace", "-chdir", "-backend-config", "-out", "-state",
               "-lock-timeout", "-parallelism"}
SHELL_OPS = {"|", "||", "&&", ";", "&", ";;", "(", ")", ">", ">>", "<", ">&", "<&", "|&"}
CMD_START = SHELL_OPS | {"then", "do", "else", "time", "exec", "!", "if", "while", "until", "{"}


def logical_lines(script: str) -> list[str]:
    """Shell lines with `\\` continuations joined."""
    return [ln.strip() for ln in linear.sub(r"\\\r?\n", " ", script).splitlines() if ln.strip()]


def tokens(line: str) -> list[str]:
    """Shell words; a ${{ }} expression stays inside its word (its spaces and `&&` are not the shell's)."""
    return list(_tokens(line)) if len(line) <= 4096 else _split(line)


@lru_cache(maxsize=4096)
def _tokens(line: str) -> tuple[str, ...]:
    return tuple(_split(line))


def _split(line: str) -> list[str]:
    exprs: list[str] = []

    def hide(m: Any) -> str:
        exprs.append(m.group(0))
        return f"\x00{len(exprs) - 1}\x00"

    def show(word: str) -> str:
        return linear.sub(r"\x00(\d+)\x00", lambda m: exprs[int(m.group(1))], word)

    hidden = EXPR_RE.sub(hide, line)
    try:
        lex = shlex.shlex(hidden, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        return [show(w) for w in lex]
    except ValueError:
        return [show(w) for w in hidden.split()]


@dataclass
class TfCommand:
    sub: str                 # plan, apply, init, ...
    args: list[str]
    line: str
    piped: bool = False      # `terraform ... | something`
    or_true: bool = False    # `terraform ... || true`

    @property
    def positionals(self) -> list[str]:
        out, skip = [], False
        for a in self.args:
            if skip:
                skip = False
                continue
            if a.startswith("-"):
                skip = "=" not in a and a.split("=")[0] in VALUE_FLAGS
                continue
            out.append(a)
        return out

    def options(self, name: str) -> list[str]:
        vals, it = [], iter(self.args)
        for a in it:
            if a.startswith(name + "="):
                vals.append(a[len(name) + 1:])
            elif a == name:
                vals.append(next(it, ""))
        return vals


def terraform_commands(script: str) -> list[TfCommand]:
    cmds = []
    for line in logical_lines(script):
        toks = tokens(line)
        for i, t in enumerate(toks):
            if t != "terraform" or (i > 0 and toks[i - 1] not in CMD_START):
                continue
            j, pre = i + 1, []
            while j < len(toks) and toks[j].startswith("-"):
                pre.append(toks[j])
                j += 1
            if j >= len(toks) or toks[j] in SHELL_OPS:
                continue
            sub = toks[j]
            k = j + 1
            args = []
            while k < len(toks) and toks[k] not in SHELL_OPS:
                args.append(toks[k])
                k += 1
            if args and args[-1].isdigit() and k < len(toks) and toks[k] in {">", ">>", ">&", "<", "<&"}:
                args.pop()  # the fd of a redirection, e.g. 2>&1
            # skip redirections like 2>&1 and > file
            while k < len(toks) and toks[k] in {">", ">>", ">&", "<", "<&"}:
                k += 2
            nxt = toks[k] if k < len(toks) else ""
            after = toks[k + 1] if k + 1 < len(toks) else ""
            cmds.append(TfCommand(sub, pre + args, line, piped=nxt in {"|", "|&"},
                                  or_true=nxt == "||" and after in {"true", ":", "echo", "exit"} and
                                  not (after == "exit" and k + 2 < len(toks) and toks[k + 2] not in {"0"})))
    return cmds


def sets_pipefail(script: str) -> bool:
    return bool(linear.search(r"\bset\b[^\n]*\bpipefail\b", script))


def resolve(value: str, *envs: dict[str, Any]) -> str:
    """Substitute ${{ env.X }}, ${X} and $X from the given env mappings (innermost first)."""
    def lookup(name: str) -> str | None:
        for e in envs:
            if name in e:
                return str(e[name])
        return None

    def expr(m: Any) -> str:
        mm = linear.fullmatch(r"env\.([A-Za-z_][A-Za-z0-9_]*)", m.group(1))
        found = lookup(mm.group(1)) if mm else None
        return found if found is not None else m.group(0)

    value = EXPR_RE.sub(expr, value)
    return linear.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                  lambda m: lookup(m.group(1) or m.group(2)) or m.group(0), value)


def cd_before(script: str, line: str) -> str:
    """The directory of the last plain `cd DIR` before `line` in the script ("" when none)."""
    d = ""
    for ln in logical_lines(script):
        if ln == line:
            break
        toks = tokens(ln)
        for i, t in enumerate(toks[:-1]):
            if t == "cd" and (i == 0 or toks[i - 1] in CMD_START) and toks[i + 1] not in SHELL_OPS:
                d = toks[i + 1]
    for t in tokens(line)[:-1]:  # `cd x && terraform init` on the same line
        if t == "cd":
            d = tokens(line)[tokens(line).index("cd") + 1]
            break
    return d

"""CICD-01 paths: every path a workflow names (working-directory, -chdir, scripts, hashFiles, paths:) exists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Workflow
from checks.areas.cicd.shell import EXPR_RE, logical_lines, terraform_commands, tokens
from checks.core import linear

HASHFILES_RE = linear.compile(r"hashFiles\(")
INTERPRETERS = {"python", "python3", "bash", "sh", "zsh", "node", "pwsh", "ruby", "perl"}
SCRIPT_SUFFIXES = (".py", ".sh", ".bash", ".js", ".mjs", ".ps1", ".rb", ".pl")
MATRIX_RE = linear.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")


class Tree:
    """The repo's files (relative paths) with the directories they imply."""

    def __init__(self, files: Iterable[str]):
        self.files = sorted(set(files))
        self.dirs = {""}
        for f in self.files:
            parts = f.split("/")
            self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))

    def has_dir(self, d: str) -> bool:
        return d in self.dirs

    def has_file(self, f: str) -> bool:
        return f in self.files

    def glob(self, pattern: str) -> bool:
        """Does any file or directory match? (True when the glob is too large to compile: never a finding
        the suite cannot stand behind.) Matching is RE2's, linear in each path whatever the glob."""
        pattern = pattern.lstrip("./") if pattern.startswith("./") else pattern
        try:
            rx = _glob_re(pattern)
        except linear.PatternError:
            return True
        return any(rx.match(f) for f in self.files) or any(rx.match(d) for d in self.dirs if d)


def _glob_re(pattern: str) -> Any:
    """GitHub's glob: ** crosses directories, * does not; a trailing / or ** matches everything below."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out += "/?"
                i += 1
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += linear.escape(pattern[i])
            i += 1
    return linear.compile(out + "(/.*)?$")


def _norm(*parts: str) -> str:
    bits: list[str] = []
    for p in "/".join(x for x in parts if x).replace("\\", "/").split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if bits:
                bits.pop()
            continue
        bits.append(p)
    return "/".join(bits)


def _expand(value: str, job: Job) -> list[str] | None:
    """The value for each matrix entry; None when another expression keeps it unknown."""
    values = [value]
    for k in MATRIX_RE.findall(value):
        opts = job.matrix.get(k)
        if not opts or not all(isinstance(o, (str, int, float)) for o in opts):
            return None
        values = [MATRIX_RE.sub(lambda m, v=v, k=k: str(v) if m.group(1) == k else m.group(0), x)
                  for x in values for v in opts]
    return None if any(EXPR_RE.search(v) or "$" in v for v in values) else values


def _foreign_checkout(job: Job) -> bool:
    """The job checks out another repository or into a sub-path: its paths are not this repo's."""
    return any(s.uses.split("@")[0] == "actions/checkout" and ("repository" in s.with_ or "path" in s.with_)
               for s in job.steps)


def _workdir(wf: Workflow, job: Job, raw: dict[str, Any]) -> tuple[str | None, tuple]:
    if "working-directory" in raw:
        return str(raw["working-directory"]), ("working-directory",)
    for d, at in ((job.raw.get("defaults"), ("jobs", job.id, "defaults", "run", "working-directory")),
                  (wf.doc.get("defaults"), ("defaults", "run", "working-directory"))):
        if isinstance(d, dict) and isinstance(d.get("run"), dict) and "working-directory" in d["run"]:
            return str(d["run"]["working-directory"]), at
    return None, ()


def _scripts(line: str) -> list[str]:
    """Script files a shell line runs: `python x.py`, `bash x.sh`, `./x.sh`, `scripts/x.sh`."""
    toks = tokens(line)
    out = []
    for i, t in enumerate(toks):
        first = i == 0 or toks[i - 1] in {"|", "||", "&&", ";", "then", "do", "else", "time", "exec", "!"}
        if not first:
            continue
        if t in INTERPRETERS and i + 1 < len(toks):
            nxt = toks[i + 1]
            if not nxt.startswith("-") and nxt.endswith(SCRIPT_SUFFIXES):
                out.append(nxt)
        elif (t.startswith("./") or ("/" in t and not t.startswith("/"))) and t.endswith(SCRIPT_SUFFIXES):
            out.append(t)
    return out


def missing_paths(wf: Workflow, tree: Tree) -> list[Finding]:
    out: list[Finding] = []

    def miss(what: str, path: str, *at: Any, fix: str = "") -> None:
        out.append(wf.finding("missing-path", f"{what} {path!r} does not exist in the repo", *at,
                              fix=fix or f"create {path} or correct the path in {wf.file}"))

    for trigger in ("push", "pull_request", "pull_request_target"):
        spec = wf.on.get(trigger) or {}
        for key in ("paths", "paths-ignore"):
            pats = spec.get(key)
            for i, p in enumerate(pats if isinstance(pats, list) else []):
                p = str(p)
                if key == "paths" and not p.startswith("!") and not EXPR_RE.search(p) and not tree.glob(p):
                    miss(f"on.{trigger}.paths filter", p, "on", trigger, key, i,
                         fix=f"change the filter to a path that exists (the workflow never triggers on {p})")
    for job in wf.jobs.values():
        if _foreign_checkout(job) or job.uses:
            continue
        for step in job.steps:
            at = ("jobs", job.id, "steps", step.index)
            wd, wd_at = _workdir(wf, job, step.raw)
            dirs = _expand(wd, job) if wd is not None else [""]
            if dirs is None:
                continue
            for d in dirs:
                if wd is not None and not tree.has_dir(_norm(d)):
                    miss(f"step {step.name!r} working-directory", d, *(at + wd_at if wd_at == ("working-directory",)
                                                                      else wd_at))
                    continue
                if not step.run:
                    continue
                for c in terraform_commands(step.run):
                    for chdir in c.options("-chdir"):
                        if not EXPR_RE.search(chdir) and "$" not in chdir and not tree.has_dir(_norm(d, chdir)):
                            miss(f"step {step.name!r} terraform -chdir", _norm(d, chdir), *at, "run")
                for line in logical_lines(step.run):
                    for s in _scripts(line):
                        if EXPR_RE.search(s) or "$" in s:
                            continue
                        if not tree.has_file(_norm(d, s)):
                            miss(f"step {step.name!r} runs script", _norm(d, s), *at, "run")
    text_at = [(str(v), at) for v, at in _strings(wf.doc.get("jobs", {}), ("jobs",))]
    for value, at in text_at:
        job = wf.jobs.get(str(at[1])) if len(at) > 1 else None
        for m in HASHFILES_RE.finditer(value):
            for pat in hashfiles_patterns(value, m.start() + len("hashFiles("), job):
                if pat and not pat.startswith("!") and not tree.glob(pat.lstrip("./") if pat.startswith("./")
                                                                      else pat):
                    miss("hashFiles pattern", pat, *at, fix=f"correct hashFiles('{pat}'): it matches no file, so "
                                                               "the cache key never changes")
    return _dedupe(out)


def _args(text: str, i: int) -> tuple[list[str], int]:
    """The top-level arguments of a call whose `(` is just before text[i], and the index after its `)`."""
    args, cur, depth, quote = [], "", 0, False
    while i < len(text):
        c = text[i]
        i += 1
        if quote:
            if c == "'" and text[i:i + 1] == "'":  # '' is a quote inside a string
                cur += "''"
                i += 1
                continue
            quote = c != "'"
            cur += c
            continue
        if c == "'":
            quote = True
        elif c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return [a.strip() for a in args + [cur] if a.strip()], i
            depth -= 1
        elif c == "," and depth == 0:
            args.append(cur)
            cur = ""
            continue
        cur += c
    return [], i


LITERAL_RE = linear.compile(r"^'((?:[^']|'')*)'$")


def hashfiles_patterns(text: str, i: int, job: Job | None) -> list[str]:
    """The patterns of one hashFiles() call: its string literals, and `format('...{0}...', matrix.x)` for each
    matrix value. Any other expression leaves the call unjudged (no patterns)."""
    out = []
    for arg in _args(text, i)[0]:
        lit = LITERAL_RE.match(arg)
        if lit:
            out.append(lit.group(1).replace("''", "'"))
            continue
        fm = linear.search(r"^format\(", arg)
        inner = _args(arg, fm.end())[0] if fm else []
        head = LITERAL_RE.match(inner[0]) if inner else None
        keys = [linear.fullmatch(r"matrix\.([A-Za-z0-9_-]+)", a) for a in inner[1:]]
        if head is None or not all(keys) or job is None:
            return []
        values: list[str] = [head.group(1)]
        for n, k in enumerate(keys):
            opts = job.matrix.get(k.group(1)) if k else None
            if not opts or not all(isinstance(o, (str, int, float)) for o in opts):
                return []
            values = [v.replace(f"{{{n}}}", str(o)) for v in values for o in opts]
        out += values
    return out


def _strings(v: Any, at: tuple) -> Iterable[tuple[str, tuple]]:
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _strings(x, at + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _strings(x, at + (i,))
    elif isinstance(v, str):
        yield v, at


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if (f.message, f.line) not in seen:
            seen.add((f.message, f.line))
            out.append(f)
    return out


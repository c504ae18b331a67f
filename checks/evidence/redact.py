"""No secrets in evidence: credential and token values become "***".

Applied to the text of every bundle file before it is written (in its raw, JSON-escaped and
HTML-escaped forms), and to report fields before pytest-html and junitxml see them; after any
truncation of a message, so what a cut leaves of a credential is masked too. Masked:
- the value of every credential variable of the environment (SECRET_VARS) and of every variable
  whose name says it is sensitive (SENSITIVE_NAME: *TOKEN*, *SECRET*, *PASSWORD*, ...);
- the literal value of any field whose name says it holds a secret, in hyphen, underscore or camel
  form (`aws-secret-access-key:`, `aws_session_token =`, `"clientSecret":`, `DB_PASSWORD=`), but not
  a reference (`${{ secrets.X }}`, `var.x`) nor a paging cursor (`NextToken`) or `id-token: write`;
- PEM and OpenSSH private key blocks;
- whatever has the shape of a credential, wherever it came from (a workflow file, a state body,
  an error message): AWS access key ids (AKIA/ASIA..., in either case, and what a cut leaves of
  one), a 40-character secret access key next to a key id, and GitHub tokens (ghp_, gho_, ghu_,
  ghs_, ghr_, github_pat_).
Measured against detect-secrets on the same planted set: bench/secrets_compare.py.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import lru_cache
from typing import Any

import markupsafe

from checks.core.record import CheckRecord, Location

SECRET_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN")
SENSITIVE_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE_KEY|CREDENTIAL|API_KEY|ACCESS_KEY"
                            r"|SIGN_KEY", re.I)
MASK = "***"
MIN_LENGTH = 4  # shorter values would mangle unrelated text; no real credential is that short
MIN_SENSITIVE_LENGTH = 8  # a variable matched by name only: "true", "1", a path "/tmp" are not worth masking

_KEY_ID = r"(?<![A-Z0-9])(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}(?![A-Z0-9])"
# a key id in any case, and what is left of one after a message was cut ("AKIAIOSFODNN7..."): 8+ characters
_KEY_ID_ANY = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AROA|AIDA|akia|asia|aroa|aida)[A-Za-z0-9]{8,}")
_SECRET = r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
PATTERNS = (
    re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{20,251})"),
    _KEY_ID_ANY,
)
# A field whose name says it holds a secret, in any spelling (aws-secret-access-key, aws_secret_access_key,
# awsSecretAccessKey, SecretAccessKey, DB_PASSWORD, x-api-key, clientSecret, session_token, private_key),
# followed by = or : and a literal value (raw, JSON-escaped or HTML-escaped quotes around it).
# The name ends with the word (`NoCredentialsError: Unable ...` is a message, not a field); bounded: linear.
_NAME = (r"(?i:[A-Za-z0-9_.-]{0,40}?(?:secret|passw(?:or)?d|passphrase|token|api[-_]?key|access[-_]?key"
         r"|private[-_]?key|credentials?|auth[-_]?key)(?:[-_]?(?:value|string|plain|text|b64))?)")
_QUOTE = r"(?:\\?(?:[\"']|&quot;|&#34;|&#39;|&#x27;))"
_FIELD = re.compile(rf"(?<![A-Za-z0-9_.-])(?P<name>{_NAME})(?P<sep>{_QUOTE}?[ \t]*[:=][ \t]*{_QUOTE}?)"
                    r"(?P<value>(?:(?!&quot;|&#34;|&#39;|&#x27;)[^\s\"'\\,;<>&{}\[\]])+)")
# the words a field's name must hold (a cheap search before _FIELD, which tries every position)
_FIELD_HINT = re.compile(r"(?i)secret|passw|passphrase|token|api[-_]?key|access[-_]?key|private[-_]?key|credential"
                         r"|auth[-_]?key")
# names that hold no secret although they say "token" or "key": a paging cursor, the OIDC permission
_NOT_SECRET_NAME = re.compile(r"(?i)^(?:next|continuation|pagination|marker|id)[-_]?token$|token[-_]?(?:type|url|"
                              r"endpoint|file|path|name|count|expir\w*)$|access[-_]?key[-_]?id$|^key[-_]?id$")
_NOT_SECRET_VALUE = re.compile(r"^(?:write|read|none|true|false|null|required|optional|\$.*|var\..*|local\..*"
                               r"|secrets\..*|env\..*|data\..*|module\..*|each\..*|\*+)$", re.I)
_PRIVATE_KEY = "PRIVATE KEY-----"
_NEAR = 200  # how close to a key id a bare 40-character secret must be
MIN_FIELD_VALUE = 6  # a flag or a mode ("yes", "on") is no secret; a real password is longer


def _fields(value: str) -> str:
    def mask(m: re.Match[str]) -> str:
        name, found = m.group("name"), m.group("value")
        if (len(found) < MIN_FIELD_VALUE or _NOT_SECRET_NAME.search(name) or _NOT_SECRET_VALUE.match(found)):
            return m.group(0)
        return m.group("name") + m.group("sep") + MASK
    if not _FIELD_HINT.search(value):
        return value
    if len(value) <= 4096:
        return _FIELD.sub(mask, value)
    # a field never spans lines: only the lines that name a secret word are matched (bundle files are MBs)
    return "\n".join(_FIELD.sub(mask, line) if _FIELD_HINT.search(line) else line for line in value.split("\n"))


def _private_keys(value: str) -> str:
    """PEM and OpenSSH private key blocks, from BEGIN to END (or to the end of the line or string when the
    END is missing), in raw or JSON-escaped text. A linear scan: str.find only."""
    out, i = [], 0
    while True:
        begin = value.find("-----BEGIN ", i)
        if begin < 0:
            break
        head_end = value.find("-----", begin + 11)
        if head_end < 0 or not value[begin:head_end + 5].endswith(_PRIVATE_KEY) or head_end - begin > 60:
            out.append(value[i:begin + 11])
            i = begin + 11
            continue
        end = value.find("-----END ", head_end + 5)
        tail = value.find(_PRIVATE_KEY, end) if end >= 0 else -1
        if tail >= 0:
            stop = tail + len(_PRIVATE_KEY)
        else:  # no END (the text was cut): up to the end of the JSON string, the paragraph or the text
            stops = [p for p in (value.find('"', head_end), value.find("\n\n", head_end)) if p >= 0]
            stop = min(stops) if stops else len(value)
        out.append(value[i:begin] + MASK)
        i = stop
    out.append(value[i:])
    return "".join(out)


def secrets(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values set in the environment, longest first (asked once per test report: kept per environment)."""
    env = os.environ if environ is None else environ
    return list(_secrets(tuple(env.items())))


@lru_cache(maxsize=64)
def _secrets(items: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    env = dict(items)
    values = {env.get(name, "") for name in SECRET_VARS}
    values = {v for v in values if len(v) >= MIN_LENGTH}
    values |= {v for k, v in env.items() if SENSITIVE_NAME.search(k) and len(v) >= MIN_SENSITIVE_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))


def _forms(secret: str) -> list[str]:
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, html.escape(secret), html.escape(escaped), str(markupsafe.escape(secret)),
             str(markupsafe.escape(escaped))}
    return sorted(forms, key=len, reverse=True)


def _looks_secret(token: str) -> bool:
    """A 40-character secret key is not a hex digest (a git SHA-1) nor a run of one character class only
    (digits, a word): it mixes letters with digits or cases. Upper case alone counts: it was seen."""
    if re.fullmatch(r"[0-9a-fA-F]{40}", token) or token.isdigit():
        return False
    return (any(c.islower() for c in token) and any(c.isupper() for c in token)) or (
        any(c.isdigit() or c in "/+" for c in token) and any(c.isalpha() for c in token))


def patterns(value: str) -> str:
    """Mask what has the shape of a credential, whatever its source. The same short strings (ids, titles,
    resource names) come back thousands of times a run: their answer is kept."""
    return _patterns_cached(value) if len(value) <= 8192 else _patterns(value)


@lru_cache(maxsize=1 << 15)
def _patterns_cached(value: str) -> str:
    return _patterns(value)


def _patterns(value: str) -> str:
    value = _private_keys(value)
    value = _fields(value)
    ids = [m.span() for m in _KEY_ID_ANY.finditer(value)]
    if ids:
        def near(m: re.Match[str]) -> str:
            close = any(abs(m.start() - s) < _NEAR or abs(m.start() - e) < _NEAR for s, e in ids)
            return MASK if close and _looks_secret(m.group(0)) else m.group(0)
        value = re.sub(_SECRET, near, value)
    for pattern in PATTERNS:
        value = pattern.sub(MASK, value)
    return value


def text(value: str, values: list[str] | None = None) -> str:
    for secret in secrets() if values is None else values:
        for form in _forms(secret):
            value = value.replace(form, MASK)
    return patterns(value)


def deep(value: Any, values: list[str] | None = None) -> Any:
    """A JSON-like value with every string redacted (tuples become lists). What redaction leaves
    unchanged is returned as it is, not copied: a check record shares its observations with the
    snapshot, and 18 000 records must not each hold a copy."""
    values = secrets() if values is None else values
    if isinstance(value, str):
        return text(value, values)
    if isinstance(value, dict):
        pairs = [(deep(k, values), deep(v, values)) for k, v in value.items()]
        same = all(k2 is k and v2 is v for (k2, v2), (k, v) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if isinstance(value, (list, tuple)):
        items = [deep(v, values) for v in value]
        same = isinstance(value, list) and all(a is b for a, b in zip(items, value, strict=True))
        return value if same else items
    return value


def record(r: CheckRecord, values: list[str] | None = None) -> CheckRecord:
    """A check record with every string redacted; the record itself when nothing changed."""
    values = secrets() if values is None else values
    changes: dict[str, Any] = {}
    for name in ("check", "title", "test", "name", "resource", "message", "remediation", "arn"):
        before = getattr(r, name)
        after = text(before, values)
        if after != before:
            changes[name] = after
    runbook = deep(r.runbook, values)
    if runbook is not r.runbook:
        changes["runbook"] = runbook
    observations = tuple(deep(o, values) for o in r.observations)
    if any(a is not b for a, b in zip(observations, r.observations, strict=True)):
        changes["observations"] = observations
    if r.location is not None and text(r.location.file, values) != r.location.file:
        changes["location"] = Location(text(r.location.file, values), r.location.line)
    if r.waiver is not None and (waiver := deep(r.waiver, values)) is not r.waiver:
        changes["waiver"] = waiver
    return r.replace(**changes) if changes else r


def contains(data: str, values: list[str] | None = None) -> bool:
    return (any(form in data for s in (secrets() if values is None else values) for form in _forms(s))
            or patterns(data) != data)

"""No secrets in evidence: credential and token values become "***".

Applied to the text of every bundle file before it is written (in its raw, JSON-escaped and
HTML-escaped forms), and to report fields before pytest-html and junitxml see them. Masked:
- the value of every credential variable of the environment (SECRET_VARS) and of every variable
  whose name says it is sensitive (SENSITIVE_NAME: *TOKEN*, *SECRET*, *PASSWORD*, ...);
- whatever has the shape of a credential, wherever it came from (a workflow file, a state body,
  an error message): AWS access key ids (AKIA/ASIA...), a 40-character secret access key next to
  a key id or after a secret-key field name, and GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_,
  github_pat_).
"""

from __future__ import annotations

import html
import json
import os
import re
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
_SECRET = r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
PATTERNS = (
    re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{20,251})"),
    re.compile(_KEY_ID),
)
# a secret key after a field that names it: aws_secret_access_key = x, "SecretAccessKey": "x", secret: x
_SECRET_FIELD = re.compile(r"(?i)((?:secret_?access_?key|secret_?key|\\?\"secret\\?\"|\bsecret\b)"
                           r"[\\\"'\s]*[:=]\s*[\\\"']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")
_NEAR = 200  # how close to a key id a bare 40-character secret must be


def secrets(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values set in the environment, longest first."""
    env = os.environ if environ is None else environ
    values = {env.get(name, "") for name in SECRET_VARS}
    values = {v for v in values if len(v) >= MIN_LENGTH}
    values |= {v for k, v in env.items() if SENSITIVE_NAME.search(k) and len(v) >= MIN_SENSITIVE_LENGTH}
    return sorted(values, key=len, reverse=True)


def _forms(secret: str) -> list[str]:
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, html.escape(secret), html.escape(escaped), str(markupsafe.escape(secret)),
             str(markupsafe.escape(escaped))}
    return sorted(forms, key=len, reverse=True)


def _looks_secret(token: str) -> bool:
    """A 40-character secret key mixes cases (a git SHA-1 or a hex digest does not)."""
    return any(c.islower() for c in token) and any(c.isupper() for c in token)


def patterns(value: str) -> str:
    """Mask what has the shape of a credential, whatever its source."""
    value = _SECRET_FIELD.sub(lambda m: m.group(1) + MASK if _looks_secret(m.group(2)) else m.group(0), value)
    ids = [m.span() for m in re.finditer(_KEY_ID, value)]
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
    return r.replace(**changes) if changes else r


def contains(data: str, values: list[str] | None = None) -> bool:
    return (any(form in data for s in (secrets() if values is None else values) for form in _forms(s))
            or patterns(data) != data)

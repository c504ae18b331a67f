"""No secrets in evidence: every credential or token value from the environment becomes "***".

Applied to the text of every bundle file before it is written (in its raw, JSON-escaped and
HTML-escaped forms), and to report fields before pytest-html and junitxml see them.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any

import markupsafe

SECRET_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN")
MASK = "***"
MIN_LENGTH = 4  # shorter values would mangle unrelated text; no real credential is that short


def secrets(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values set in the environment, longest first."""
    env = os.environ if environ is None else environ
    values = {env.get(name, "") for name in SECRET_VARS}
    return sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)


def _forms(secret: str) -> list[str]:
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, html.escape(secret), html.escape(escaped), str(markupsafe.escape(secret)),
             str(markupsafe.escape(escaped))}
    return sorted(forms, key=len, reverse=True)


def text(value: str, values: list[str] | None = None) -> str:
    for secret in secrets() if values is None else values:
        for form in _forms(secret):
            value = value.replace(form, MASK)
    return value


def deep(value: Any, values: list[str] | None = None) -> Any:
    """A copy of a JSON-like value with every string redacted."""
    values = secrets() if values is None else values
    if not values:
        return value
    if isinstance(value, str):
        return text(value, values)
    if isinstance(value, dict):
        return {deep(k, values): deep(v, values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [deep(v, values) for v in value]
    return value


def contains(data: str, values: list[str] | None = None) -> bool:
    return any(form in data for s in (secrets() if values is None else values) for form in _forms(s))

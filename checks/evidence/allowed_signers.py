"""An `ssh-keygen` allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS): who may sign, with which key.

    tech-lead,alice@bbws.example namespaces="bbws-approval" ssh-ed25519 AAAAC3Nza... alice

Each line: principals (comma-separated patterns with `*`, `?` and `!negation`, optionally in double quotes),
options (`namespaces="..."`, `valid-after="YYYYMMDD[HHMM[SS]]"`, `valid-before=...`; `cert-authority` lines
are not used here: certificates are not supported), the key type and base64 key, and a comment. Times
without a `Z` are read as UTC (ssh-keygen reads them as local time).
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 1 << 20


class AllowedSignersError(Exception):
    """The file cannot be read or a line cannot be parsed; the message names the file and line."""


@dataclass(frozen=True)
class Signer:
    principals: tuple[str, ...]
    key: bytes  # the public key blob (type and key), as in the signature
    namespaces: tuple[str, ...] = ()  # empty: any namespace
    valid_after: dt.datetime | None = None
    valid_before: dt.datetime | None = None
    line: int = 0

    def valid_for(self, namespace: str, when: dt.datetime | None = None) -> bool:
        """The line's key may sign in `namespace` at `when` (its `namespaces=` and validity window)."""
        if self.namespaces and not any(fnmatch.fnmatchcase(namespace, n) for n in self.namespaces):
            return False
        return when is None or not ((self.valid_after and when < self.valid_after)
                                    or (self.valid_before and when > self.valid_before))

    def allows(self, principal: str, namespace: str, when: dt.datetime | None = None) -> bool:
        return self.valid_for(namespace, when) and matches(principal, self.principals)


def matches(principal: str, patterns: tuple[str, ...]) -> bool:
    """ssh's pattern list: a negated pattern that matches refuses; else any positive pattern that matches."""
    hit = False
    for p in patterns:
        if p.startswith("!"):
            if fnmatch.fnmatchcase(principal, p[1:]):
                return False
        elif fnmatch.fnmatchcase(principal, p):
            hit = True
    return hit


def _time(value: str, where: str) -> dt.datetime:
    m = re.fullmatch(r"(\d{8})(\d{4})?(\d{2})?(Z)?", value)
    if not m:
        raise AllowedSignersError(f"{where}: a time must be YYYYMMDD[HHMM[SS]][Z], got {value!r}")
    text = m.group(1) + (m.group(2) or "0000") + (m.group(3) or "00")
    return dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` (whitespace when " ") outside double quotes, keeping the quotes."""
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if not quoted and (ch.isspace() if sep == " " else ch == sep):
            if cur:
                parts.append(cur)
            cur = ""
            continue
        cur += ch
    if quoted:
        raise ValueError("an unclosed quote")
    return [*parts, cur] if cur else parts


def parse(text: str, name: str = "allowed_signers") -> list[Signer]:
    """Every signer of the file. Raises AllowedSignersError naming the line of the first problem."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}:{n}"
        try:
            fields = _split(line, " ")
            principals = tuple(p.strip('"') for p in _split(fields[0], ",") if p)
            rest = fields[1:]
            options: dict[str, str] = {}
            if rest and not rest[0].startswith(("ssh-", "ecdsa-", "sk-")):
                for opt in _split(rest[0], ","):
                    key, _, value = opt.partition("=")
                    options[key.lower()] = value.strip('"')
                rest = rest[1:]
        except ValueError as exc:
            raise AllowedSignersError(f"{where}: cannot split the line: {exc}") from None
        if "cert-authority" in options:
            continue
        if len(rest) < 2:
            raise AllowedSignersError(f"{where}: no public key after the principals")
        try:
            blob = base64.b64decode(rest[1], validate=True)
        except ValueError:
            raise AllowedSignersError(f"{where}: the key is not valid base64") from None
        out.append(Signer(principals=principals, key=blob,
                          namespaces=tuple(x for x in options.get("namespaces", "").split(",") if x),
                          valid_after=_time(options["valid-after"], where) if "valid-after" in options else None,
                          valid_before=_time(options["valid-before"], where) if "valid-before" in options else None,
                          line=n))
    return out


def load(path: Path) -> list[Signer]:
    """The signers of an allowed_signers file. Raises AllowedSignersError."""
    try:
        if not path.is_file():
            raise AllowedSignersError(f"{path}: no such allowed_signers file")
        if path.stat().st_size > MAX_BYTES:
            raise AllowedSignersError(f"{path}: too large for an allowed_signers file")
        return parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise AllowedSignersError(f"{path}: cannot read it: {exc}") from None

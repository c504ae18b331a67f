"""Accepted risks: a TOML file of `[[waiver]]` tables, judged against the run's recorded start.

    [[waiver]]
    check = "DDB-03"                      # catalog id (required)
    resource = "tenants"                  # exact; default: every resource of the check
    test = "test_pitr_enabled"            # the test function; default: every test of the check
    envs = ["sit"]                        # default: every env
    justification = "PITR is enabled by the next release (CHG-1042)"
    approved_by = "Jane Tech Lead"
    ticket = "CHG-1042"
    expires = 2027-01-31                  # a TOML date (no quotes)

A failed check that an active waiver matches becomes `waived` (it no longer decides the gate); an error
is never waived (what was not verified cannot be approved), nor a severity the env does not list in
`waivable`. A waiver applies through its `expires` day (UTC) and is judged against the run's start, so a
replay reproduces the decision. Loading refuses, listing every problem with file and line: malformed
TOML, unknown or missing keys, an unknown check id or env, a severity the env does not accept, and an
expiry further ahead than `waiver_max_days`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.core.catalog import catalog
from checks.core.env_model import Env
from checks.core.record import CheckRecord

BUNDLE_NAME = "waivers.toml"  # the copy in an evidence bundle (listed in its manifest, covered by its signature)
REQUIRED = ("check", "justification", "approved_by", "expires")
OPTIONAL = ("resource", "test", "envs", "ticket")
MAX_BYTES = 1 << 20

APPLIED, EXPIRED, NOT_WAIVABLE = "applied", "expired", "not applied"


class WaiverError(Exception):
    """The waivers file cannot be used; the message lists every problem with file and line."""


@dataclass(frozen=True)
class Waiver:
    """One accepted risk."""
    check: str
    justification: str
    approved_by: str
    expires: dt.date
    resource: str = ""
    test: str = ""
    envs: tuple[str, ...] = ()
    ticket: str = ""
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def label(self) -> str:
        what = f"{self.check} {self.test}" if self.test else self.check
        return f"{what} on {self.resource}" if self.resource else f"{what} (every resource)"

    def matches(self, record: CheckRecord) -> bool:
        return (record.check == self.check and (not self.resource or record.resource == self.resource)
                and (not self.test or record.name.split("[")[0] == self.test))

    def days_left(self, day: dt.date) -> int:
        return (self.expires - day).days

    def to_dict(self, day: dt.date, status: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "where": self.where, "check": self.check,
                               "resource": self.resource, "test": self.test, "envs": list(self.envs),
                               "justification": self.justification, "approved_by": self.approved_by,
                               "ticket": self.ticket, "expires": self.expires.isoformat(),
                               "days_left": self.days_left(day)}
        if status:
            out["status"] = status
        return out


@dataclass(frozen=True)
class Waivers:
    """The waivers of one file that apply to one env, and how this run judges them."""
    waivers: tuple[Waiver, ...]
    text: str  # the file as read: the bundle keeps a copy
    source: str  # where it was read from
    started: str  # the run's recorded start (ISO, UTC): every judgement is against it
    day: dt.date  # its date
    env: str
    waivable: tuple[str, ...]
    warning_days: int
    other_envs: int = 0  # waivers in the file for other envs

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def expiring_soon(self, waiver: Waiver) -> bool:
        return 0 <= waiver.days_left(self.day) <= self.warning_days

    def apply(self, record: CheckRecord) -> CheckRecord:
        """The record as waived when an active waiver matches its failure; an expired or not waivable
        match is said in its message (and kept in `waiver`), the outcome unchanged."""
        if record.outcome not in ("failed", "error"):
            return record
        matching = sorted((w for w in self.waivers if w.matches(record)),
                          key=lambda w: (not w.resource, not w.test, -w.expires.toordinal(), w.line))
        if not matching:
            return record
        best = matching[0]
        if record.outcome == "error":
            return _noted(record, best.to_dict(self.day, f"{NOT_WAIVABLE}: an error is never waived"),
                          f"a waiver matches ({best.where}), but an error cannot be waived: what was not "
                          "verified cannot be approved")
        if record.severity not in self.waivable:
            return _noted(record, best.to_dict(self.day, f"{NOT_WAIVABLE}: {record.severity or 'unknown'} "
                                                         f"is not waivable in env {self.env}"),
                          f"a waiver matches ({best.where}), but env {self.env} does not accept waivers for "
                          f"{record.severity or 'an unknown severity'} (waivable: {', '.join(self.waivable)})")
        active = [w for w in matching if w.days_left(self.day) >= 0]
        if active:
            return record.replace(outcome="waived", waiver=active[0].to_dict(self.day, APPLIED))
        return _noted(record, best.to_dict(self.day, EXPIRED),
                      f"waiver expired on {best.expires.isoformat()} ({best.where}, approved by {best.approved_by}"
                      f"{', ' + best.ticket if best.ticket else ''})")

    def summary(self, records: Iterable[CheckRecord]) -> dict[str, Any]:
        """gate.json's `waivers`: what was applied, expired, not applied, expiring soon and unused."""
        used: set[int] = set()
        out: dict[str, list[dict[str, Any]]] = {"applied": [], "expired": [], "not_applied": []}
        for r in sorted(records, key=lambda r: (r.check, r.resource, r.test)):
            if r.waiver is None:
                continue
            used.add(int(r.waiver.get("line") or 0))
            status = str(r.waiver.get("status", ""))
            kind = "applied" if status == APPLIED else "expired" if status == EXPIRED else "not_applied"
            out[kind].append({"check": r.check, "test": r.test, "resource": r.resource, "severity": r.severity,
                              "message": r.message, "waiver": dict(r.waiver)})
        return {"file": BUNDLE_NAME, "source": self.source, "sha256": self.sha256, "judged_at": self.started,
                "env": self.env, "waivable": list(self.waivable), "warning_days": self.warning_days,
                "waivers": len(self.waivers), "other_envs": self.other_envs, **out,
                "expiring_soon": [w.to_dict(self.day) for w in self.waivers if self.expiring_soon(w)],
                "unused": [w.to_dict(self.day) for w in self.waivers if w.line not in used]}


def _noted(record: CheckRecord, waiver: dict[str, Any], note: str) -> CheckRecord:
    first, sep, rest = (record.message or "").partition("\n")
    message = f"{first}; {note}" if first else note
    return record.replace(message=message + sep + rest, waiver=waiver)


# ----- loading -----

def load(path: Path, env: Env, started: str, known_envs: Collection[str] = (), name: str | None = None) -> Waivers:
    """The waivers of the file at `path` that apply to `env`, judged against `started`. Raises WaiverError."""
    shown = name or str(path)
    try:
        if not path.is_file():
            raise WaiverError(f"{shown}: no such waivers file")
        if path.stat().st_size > MAX_BYTES:
            raise WaiverError(f"{shown}: {path.stat().st_size} bytes, above the {MAX_BYTES}-byte limit for a "
                              "waivers file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise WaiverError(f"{shown}: not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise WaiverError(f"{shown}: cannot read it: {exc.strerror or exc}") from None
    return parse(text, shown, env, started, known_envs)


def _start_of(started: str) -> tuple[str, dt.date]:
    when = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return started, when.astimezone(dt.UTC).date()


def parse(text: str, where: str, env: Env, started: str, known_envs: Collection[str] = (),
          source: str = "") -> Waivers:
    """Validate a waivers file's text and keep the waivers for `env`. Raises WaiverError with every problem."""
    started, day = _start_of(started)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise WaiverError(f"{where}:{m.group(1) if m else 1}: not valid TOML: {exc}") from None
    except RecursionError:
        raise WaiverError(f"{where}: not valid TOML: nested too deeply") from None
    lines = text.splitlines()
    headers = [i + 1 for i, ln in enumerate(lines) if re.match(r"^\s*\[\[\s*waiver\s*\]\]", ln)]
    problems: list[str] = []
    for key in raw:
        if key != "waiver":
            problems.append(f"{where}:{_line_of(lines, key, 1, len(lines))}: unknown key '{key}'; a waivers file "
                            "holds only [[waiver]] tables")
    tables = raw.get("waiver", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{where}:{_line_of(lines, 'waiver', 1, len(lines))}: 'waiver' must be [[waiver]] tables")
        tables = []
    kept: list[Waiver] = []
    seen: dict[tuple[Any, ...], int] = {}
    others = 0
    for i, table in enumerate(tables):
        start = headers[i] if i < len(headers) else _line_of(lines, "waiver", 1, len(lines))
        end = headers[i + 1] - 1 if i + 1 < len(headers) else len(lines)
        found, waiver = _one(table, where, lines, start, end, env, day, known_envs)
        problems += found
        if waiver is None:
            continue
        if not waiver.envs or env.name in waiver.envs:
            ident = (waiver.check, waiver.test, waiver.resource)
            if ident in seen:
                problems.append(f"{where}:{start}: waiver for {waiver.label} duplicates the one at line "
                                f"{seen[ident]}: keep one")
                continue
            seen[ident] = start
            kept.append(waiver)
        else:
            others += 1
    if problems:
        problems.sort(key=lambda p: int(p[len(where) + 1:].split(":", 1)[0]))
        head = f"{where}: {len(problems)} problem(s) in the waivers file:\n  " if len(problems) > 1 else ""
        raise WaiverError(head + "\n  ".join(problems))
    return Waivers(waivers=tuple(kept), text=text, source=source or where, started=started, day=day, env=env.name,
                   waivable=tuple(env.waivable), warning_days=env.waiver_warning_days, other_envs=others)


def _line_of(lines: list[str], key: str, start: int, end: int) -> int:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for n in range(start, end + 1):
        if n - 1 < len(lines) and pattern.match(lines[n - 1]):
            return n
    return start


def _text(table: Mapping[str, Any], key: str, required: bool) -> tuple[str, str | None]:
    value = table.get(key)
    if value is None:
        return "", (f"required key '{key}' is missing" if required else None)
    if not isinstance(value, str):
        return "", f"'{key}' must be a string, got {type(value).__name__} {value!r}"
    if required and not value.strip():
        return "", f"'{key}' is empty"
    return value.strip(), None


def _one(table: Mapping[str, Any], where: str, lines: list[str], start: int, end: int, env: Env, day: dt.date,
         known_envs: Collection[str]) -> tuple[list[str], Waiver | None]:
    """The problems of one [[waiver]] table, and the waiver when it has none."""
    problems: list[str] = []

    def problem(key: str | None, message: str) -> None:
        line = _line_of(lines, key, start, end) if key else start
        problems.append(f"{where}:{line}: {message}")

    for key in table:
        if key not in REQUIRED + OPTIONAL:
            problem(key, f"unknown key '{key}'; a waiver's keys are {', '.join(REQUIRED + OPTIONAL)}")
    values: dict[str, str] = {}
    for key in ("check", "justification", "approved_by", "resource", "test", "ticket"):
        values[key], message = _text(table, key, key in REQUIRED)
        if message:
            problem(key if key in table else None, message)
    check = values["check"]
    entry = catalog().get(check) if check else None
    if check and entry is None:
        problem("check", f"unknown check id '{check}'; the catalog's ids: {', '.join(catalog())}")
    envs = table.get("envs", [])
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        problem("envs", f"'envs' must be a list of env names, got {envs!r}")
        envs = []
    unknown = [e for e in envs if known_envs and e not in known_envs]
    if unknown:
        problem("envs", f"unknown env(s) {', '.join(map(repr, unknown))}; environments.toml has "
                        f"{', '.join(known_envs)}")
    expires = table.get("expires")
    if expires is None:
        problem(None, "required key 'expires' is missing (a TOML date: expires = 2027-01-31)")
    elif isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        got = (f"a date-time {expires}" if isinstance(expires, dt.datetime) else
               f"a string {expires!r}" if isinstance(expires, str) else f"{type(expires).__name__} {expires!r}")
        problem("expires", f"'expires' must be a TOML date without quotes (expires = 2027-01-31), got {got}")
        expires = None
    if problems or entry is None or expires is None:
        return problems, None
    waiver = Waiver(check=check, justification=values["justification"], approved_by=values["approved_by"],
                    expires=expires, resource=values["resource"], test=values["test"], envs=tuple(envs),
                    ticket=values["ticket"], file=BUNDLE_NAME, line=start)
    if waiver.envs and env.name not in waiver.envs:
        return problems, waiver  # another env's: its own run judges it
    severities = {entry.severity_for(waiver.test)} if waiver.test else {entry.severity, *entry.overrides.values()}
    refused = sorted(s for s in severities if s not in env.waivable)
    if refused:
        narrower = [t for t, s in entry.overrides.items() if s in env.waivable] if not waiver.test else []
        hint = (f"; to waive only {narrower[0]} ({entry.overrides[narrower[0]]}), name it: "
                f"test = \"{narrower[0]}\"" if narrower else "")
        problem(None, f"waiver for {waiver.label}: {check} is {'/'.join(refused)}, and env {env.name} accepts "
                      f"waivers only for {', '.join(env.waivable) or 'no severity'} (`waivable` in "
                      f"environments.toml): a {refused[0]} finding is waived only where the env allows it "
                      f"explicitly{hint}")
    days = waiver.days_left(day)
    if days > env.waiver_max_days:
        problem("expires", f"waiver for {waiver.label} expires {expires.isoformat()}, {days} days after the run's "
                           f"start ({day.isoformat()}); env {env.name} allows at most {env.waiver_max_days} "
                           "(`waiver_max_days` in environments.toml): set an earlier date and renew it then")
    return problems, waiver

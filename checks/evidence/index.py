"""One evidence index over many bundles: the page an auditor opens after a matrix of gate runs.

    python -m checks.evidence.index reports/ artifacts/gate-prod-eu/ --out evidence-index/ \\
        [--verify-key bbws-evidence.pub | --allowed-signers allowed_signers] [--expect dev,sit,prod]

Each argument is a bundle directory, a `latest` pointer, or a directory holding bundles (the artifacts a CI
matrix downloaded). Every bundle is judged by checks.evidence.trust before anything in it is shown: *verified*
only when its manifest's signature verifies against a pinned key (`--verify-key`, or `--allowed-signers` in
ssh-keygen's format for several signers); without a key its row says "digests checked, signature not
verified". Its decision is derived again from its own results. A bundle that fails (a bad or missing
signature with a key pinned, a tampered, malformed, deeply nested or partial bundle, a gate.json that
disagrees with its results, a real directory named `latest`) is one UNVERIFIED row with the reason, counted as
NO-GO; it never stops the other rows. A run that is not a gate run (a review, a drill, a replay, a partial
selection) is listed with what it is and does not count toward the decision of its env. Links are relative
paths, percent-encoded, with no scheme. The index is `index.html` (Jinja2, autoescaped), `index.json`, and a
manifest of both. `--expect` lists envs that must each have a gate run. Exit status: 0 every bundle verified (or
digests checked), 1 a bundle is UNVERIFIED or an expected env has no gate run, 4 usage error (a key that
cannot be loaded, a path holding no bundle).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from checks.evidence import allowed_signers, keys, trust
from checks.evidence.allowed_signers import Signer
from checks.evidence.bundle import MANIFEST, resolve, sha256, write_json, write_manifest, write_text
from checks.evidence.gate import CONDITIONAL, GO, NO_GO
from checks.evidence.timeline import timeline, with_approvals

UNVERIFIED = "UNVERIFIED"
_ORDER = {GO: 0, CONDITIONAL: 1, NO_GO: 2, UNVERIFIED: 3}
BUNDLE_FILES = (MANIFEST, "gate.json", "results.json", "snapshot.json")  # any of them: a bundle, sealed or not


@dataclass(frozen=True)
class Row:
    """One bundle of the index."""
    env: str
    account: str
    region: str
    decision: str  # GO | CONDITIONAL GO | NO-GO (derived from its results) | UNVERIFIED
    complete: bool
    started: str
    finished: str
    run_id: str
    counts: dict[str, int]
    blocking: list[str]  # the first reasons that make it NO-GO
    report: str  # link to report.html, relative to the index
    bundle: str  # the bundle directory, relative to the index
    manifest_sha256: str
    problem: str = ""  # why the bundle could not be verified
    verification: str = ""  # "verified: signed by ...", "digests checked, signature not verified", "UNVERIFIED: ..."
    kind: str = ""  # gate, review, drill, replay, partial, none
    kind_label: str = ""
    gate_run: bool = False
    infra: str = ""  # the infra commit checked
    ci: str = ""  # the CI run that made the bundle (text, never a link)
    approvals: str = ""  # its recorded approvals (timeline.with_approvals)


def _walk(root: Path) -> Iterable[Path]:
    """Directories under root holding a bundle file, without following symlinks (a `latest` pointer is not a
    second bundle); a real directory named `latest` is yielded, to be flagged."""
    for here, dirs, files in os.walk(root, followlinks=False):
        path = Path(here)
        if path.name == "latest" or any(f in files for f in BUNDLE_FILES):
            yield path
            if path.name == "latest":
                dirs[:] = []


def find_bundles(paths: Iterable[Path], allow_empty: bool = False, skip: Path | None = None) -> list[Path]:
    """Bundle directories under `paths` (a bundle, a `latest` pointer, or a tree of bundles); a directory holding
    none is an error unless allow_empty (the expected envs then say what is missing)."""
    found: dict[Path, None] = {}
    for path in paths:
        path = resolve(Path(path))
        if path.is_dir() and any((path / f).is_file() for f in BUNDLE_FILES):
            found[path.resolve()] = None
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is neither a bundle nor a directory of bundles")
        below = sorted(p.resolve() for p in _walk(path) if skip is None or p.resolve() != skip)
        if not below and not allow_empty:
            raise FileNotFoundError(f"{path} holds no bundle (no {MANIFEST} below it)")
        found.update(dict.fromkeys(below))
    return list(found)


def link(path: str) -> str:
    """A relative link: percent-encoded segments behind "./", so no folder name reads as a scheme."""
    if not path:
        return ""
    out = "./" + "/".join(quote(part, safe="") for part in Path(path).as_posix().split("/") if part not in ("", "."))
    assert not urlsplit(out).scheme and not urlsplit(out).netloc
    return out


def _text(value: Any, limit: int = 200) -> str:
    return str(value if value is not None else "")[:limit]


def row_of(bundle: Path, out: Path, pinned: Sequence[keys.Signer] | None = None) -> Row:
    """The index row of one bundle, judged first (checks.evidence.trust); never raises."""
    try:
        rel = os.path.relpath(bundle, out)
    except ValueError:  # another drive
        rel = str(bundle)
    try:
        verdict = trust.assess(bundle, pinned)
    except Exception as exc:  # noqa: BLE001  (one bundle's surprise is its row's reason, never a lost index)
        verdict = trust.unverified(f"could not be judged: {type(exc).__name__}: {exc}")
    m = verdict.manifest
    if verdict.status == trust.UNVERIFIED:
        return Row(env=bundle.parent.name, account="", region="", decision=UNVERIFIED, complete=False, started="",
                   finished="", run_id=bundle.name, counts={}, blocking=[], report="", bundle=rel,
                   manifest_sha256="", problem=verdict.problem, verification=verdict.says)
    files = m.get("files") or {}
    return Row(env=_text(m.get("env")), account=_text(m.get("account")), region=_text(m.get("region")),
               decision=verdict.decision, complete=verdict.complete, started=_text(m.get("started")),
               finished=_text(m.get("finished")), run_id=_text(m.get("run_id") or bundle.name),
               counts={k: int(v) for k, v in verdict.counts.items() if isinstance(v, int)}, blocking=verdict.blocking,
               report=link(os.path.join(rel, "report.html")) if "report.html" in files else "", bundle=rel,
               manifest_sha256=sha256(bundle / MANIFEST), verification=verdict.says, kind=verdict.kind,
               kind_label=_text(verdict.kind_label), gate_run=verdict.gate_run, infra=_text(verdict.infra),
               ci=_text(verdict.ci))


def counts_toward(row: Row) -> bool:
    """A gate run, or an unverified bundle (which might have been one): what the index's decision weighs."""
    return row.decision == UNVERIFIED or row.gate_run


def overall(rows: Sequence[Row]) -> str:
    """The worst decision of the gate runs and unverified bundles: one NO-GO or UNVERIFIED makes the whole NO-GO;
    no gate run at all is NO-GO."""
    worst = max((_ORDER[r.decision] for r in rows if counts_toward(r)), default=_ORDER[NO_GO])
    return NO_GO if worst >= _ORDER[NO_GO] else {0: GO, 1: CONDITIONAL}[worst]


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence index: {{ decision }}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .6rem;text-align:left;vertical-align:top}
.d{font-weight:700;padding:.1rem .5rem;border-radius:4px}.GO{background:#dafbe1}.NO-GO,.UNVERIFIED{background:#ffebe9}
.CONDITIONAL{background:#fff8c5}small{color:#57606a}code{font-size:.85em}.notgate{color:#9a3412;font-weight:600}
tr.aside td{opacity:.75}tr.current{outline:2px solid #0969da}h2{font-size:1.1rem;margin-top:1.6rem}
</style></head><body>
<h1>Evidence index <span class="d {{ decision.split()[0] }}">{{ decision }}</span></h1>
<p>{{ rows|length }} bundles: {{ signed }} verified (signature by a pinned key), {{ digests }} with digests checked and
signature not verified, {{ unverified }} UNVERIFIED; built {{ built }}. {{ keys }}
The overall decision is the worst of the gate runs; an unverified bundle counts as NO-GO, and a run that is not a gate
run (a review, a drill, a replay, a partial selection) is listed but decides nothing. Decisions are derived again
from each bundle's results. Each env's runs are listed newest first; its current gate run is outlined.</p>
{%- for t in timeline %}
<h2>{{ t.env }} <small>trend of its gate runs, oldest to newest:
{%- for d in t.trend %} <span class="d {{ d.decision.split()[0] }}" title="{{ d.run_id }}">{{ d.decision }}</span>
{%- if not loop.last %} →{% endif %}{% endfor %}</small></h2>
<table><thead><tr><th>env</th><th>account / region</th><th>decision</th><th>run kind</th>
<th>passed / failed / error / skipped</th><th>run (newest first)</th><th>provenance</th><th>approvals</th>
<th>evidence</th></tr></thead><tbody>
{%- for r in t.rows %}
{%- set cur = r.run_id and r.run_id == t.current %}
<tr class="{{ '' if r.gate_run or r.decision == 'UNVERIFIED' else 'aside' }}{{ ' current' if cur }}"><td>{{ r.env }}
{%- if cur %}<br><b>current gate run</b>{% endif %}</td>
<td>{{ r.account }}<br><small>{{ r.region }}</small></td>
<td><span class="d {{ r.decision.split()[0] }}">{{ r.decision }}</span>{% if not r.complete and not r.problem %}
<br><small>incomplete run</small>{% endif %}
{%- for b in r.blocking %}<br><small>{{ b }}</small>{% endfor %}
{%- if r.problem %}<br><small>not verified: {{ r.problem }}</small>{% endif %}</td>
<td>{% if r.kind %}{% if r.gate_run %}{{ r.kind_label }}{% else %}<span class="notgate">not a gate run</span><br>
<small>{{ r.kind_label }}</small>{% endif %}{% endif %}</td>
<td>{{ r.counts.get("passed", 0) }} / {{ r.counts.get("failed", 0) }} / {{ r.counts.get("error", 0) }}
 / {{ r.counts.get("skipped", 0) }}
{%- if r.counts.get("waived") %}<br><small>{{ r.counts.waived }} waived</small>{% endif %}</td>
<td><small>{{ r.run_id }}<br>{{ r.started }} – {{ r.finished }}</small></td>
<td><small>{% if r.infra %}infra <code>{{ r.infra }}</code><br>{% endif %}{% if r.ci %}CI <code>{{ r.ci }}</code>
{% endif %}</small></td>
<td><small>{{ r.approvals or "–" }}</small></td>
<td>{% if r.report %}<a href="{{ r.report }}">report.html</a><br>{% endif %}<small><code>{{ r.bundle }}</code>
<br>{{ r.verification }}
{%- if r.manifest_sha256 %}<br>manifest SHA-256 <code>{{ r.manifest_sha256[:16] }}…</code>{% endif %}</small></td></tr>
{%- endfor %}
</tbody></table>
{%- endfor %}
</body></html>
"""

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def missing(name: str, others: Sequence[Row] = ()) -> Row:
    """The row of an expected env that has no gate run (its job failed before writing a bundle, or wrote only
    runs that are not gate runs)."""
    why = ("no gate run for this env; only: " + "; ".join(sorted({r.kind_label for r in others}))
           if others else "no bundle for this env")
    return Row(env=name, account="", region="", decision=UNVERIFIED, complete=False, started="", finished="",
               run_id="", counts={}, blocking=[], report="", bundle="", manifest_sha256="", problem=why,
               verification=f"UNVERIFIED: {why}")


def build(bundles: Sequence[Path], out: Path, expect: Sequence[str] = (),
          pinned: Sequence[keys.Signer] | None = None,
          signers: Sequence[Signer] | None = None) -> tuple[str, list[Row]]:
    """Judge every bundle and write index.html, index.json and manifest.json to `out`; an env in `expect`
    without a gate run is an UNVERIFIED row. Each env's runs show as a timeline (timeline.py), with their
    recorded approvals (checked against `signers`, an allowed_signers file's approval keys, when given)."""
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    found = [row_of(b, out, pinned) for b in bundles]
    gated = {r.env for r in found if counts_toward(r)}
    found += [missing(name, [r for r in found if r.env == name]) for name in expect if name not in gated]
    found = with_approvals(found, out, signers)
    rows = sorted(found, key=lambda r: (not counts_toward(r), -_ORDER[r.decision], r.env, r.account, r.region,
                                        r.run_id))
    runs = timeline(rows, out)
    decision = overall(rows)
    built = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    signed = sum(r.verification.startswith("verified") for r in rows)
    unverified = sum(r.decision == UNVERIFIED for r in rows)
    pins = (f"Pinned keys: {keys.describe(pinned)}." if pinned else
            "No key was pinned (--verify-key / --allowed-signers): no bundle's signature was verified.")
    write_text(out / "index.html", _env.from_string(TEMPLATE).render(
        rows=rows, decision=decision, built=built, signed=signed, digests=len(rows) - signed - unverified,
        unverified=unverified, keys=pins, timeline=runs))
    write_json(out / "index.json", {"schema": 2, "decision": decision, "built": built, "bundles": len(rows),
                                    "verified": signed, "unverified": unverified,
                                    "pinned": [s.fingerprint for s in pinned or ()], "rows": [asdict(r) for r in rows],
                                    "timeline": [{**t, "rows": [r.run_id for r in t["rows"]]} for t in runs]})
    write_manifest(out, {"kind": "evidence-index", "decision": decision, "built": built})
    return decision, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.evidence.index", description=__doc__.split("\n")[0])
    parser.add_argument("bundles", nargs="+", type=Path, help="bundles, latest pointers or directories of bundles")
    parser.add_argument("--out", type=Path, required=True, help="directory to write index.html into")
    parser.add_argument("--expect", default="", help="comma-separated envs that must each have a gate run")
    parser.add_argument("--verify-key", type=Path, default=None,
                        help="a bundle is verified only when manifest.json.sig verifies with this ssh-ed25519 key")
    parser.add_argument("--allowed-signers", type=Path, default=None,
                        help="ssh-keygen's allowed_signers file: the keys a bundle may be signed by (namespace "
                        "bbws-evidence), and the principal allowed for each approval's role (bbws-approval)")
    args = parser.parse_args(argv)
    expect = [e.strip() for e in args.expect.split(",") if e.strip()]
    try:
        pinned = keys.pinned(args.verify_key, args.allowed_signers)
        signers = allowed_signers.load(args.allowed_signers) if args.allowed_signers else None
        bundles = find_bundles(args.bundles, allow_empty=bool(expect), skip=args.out.resolve())
    except (OSError, keys.KeyError_, allowed_signers.AllowedSignersError) as exc:
        print(f"evidence index: {exc}", file=sys.stderr)
        return 4
    decision, rows = build(bundles, args.out, expect, pinned, signers)
    for r in rows:
        kind = "" if r.gate_run or r.decision == UNVERIFIED else f" [not a gate run: {r.kind_label}]"
        print(f"{r.decision:<14} {r.env:<8} {r.account:<12} {r.region:<14} {r.report or r.bundle}{kind} "
              f"({r.verification})")
    print(f"{decision}: {len(rows)} bundles -> {args.out / 'index.html'}")
    return 1 if any(r.decision == UNVERIFIED for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

"""One evidence index over many bundles: the page an auditor opens after a matrix of gate runs.

    python -m checks.evidence.index reports/ artifacts/gate-prod-eu/ --out evidence-index/

Each argument is a bundle directory, a `latest` pointer, or a directory holding bundles (the
artifacts a CI matrix downloaded). Every bundle is verified with the manifest check replay
uses (`checks.evidence.replay.verify`) before anything in it is read; a bundle that fails is
listed as UNVERIFIED, with the reason, and counts as NO-GO. The index is `index.html`
(Jinja2, autoescaped: bundle fields are data, never markup), `index.json`, and a manifest of
both. `--expect dev,sit,prod` lists envs that must have a bundle (a matrix job that died
before writing one is then an UNVERIFIED row, not an absence). Exit status: 0 every bundle
verified, 1 a bundle failed verification or an expected one is missing, 4 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from checks.evidence import allowed_signers
from checks.evidence.allowed_signers import Signer
from checks.evidence.bundle import MANIFEST, resolve, sha256, write_json, write_manifest, write_text
from checks.evidence.gate import CONDITIONAL, GO, NO_GO
from checks.evidence.replay import BundleError, verify
from checks.evidence.timeline import timeline, with_approvals

UNVERIFIED = "UNVERIFIED"
_ORDER = {GO: 0, CONDITIONAL: 1, NO_GO: 2, UNVERIFIED: 3}


@dataclass(frozen=True)
class Row:
    """One bundle of the index."""
    env: str
    account: str
    region: str
    decision: str  # GO | CONDITIONAL GO | NO-GO | UNVERIFIED
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
    approvals: str = ""  # its recorded approvals (timeline.with_approvals)


def find_bundles(paths: Iterable[Path], allow_empty: bool = False) -> list[Path]:
    """Bundle directories under `paths` (a bundle, a `latest` pointer, or a tree of bundles); a
    directory holding none is an error unless allow_empty (the expected envs then say what is missing)."""
    found: dict[Path, None] = {}
    for path in paths:
        path = resolve(Path(path))
        if (path / MANIFEST).is_file():
            found[path.resolve()] = None
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is neither a bundle nor a directory of bundles")
        below = sorted(p.parent for p in path.rglob(MANIFEST)
                       if not any(part == "latest" for part in p.relative_to(path).parts))
        if not below and not allow_empty:
            raise FileNotFoundError(f"{path} holds no bundle (no {MANIFEST} below it)")
        found.update(dict.fromkeys(p.resolve() for p in below))
    return list(found)


def _read_json(bundle: Path, name: str) -> dict[str, Any]:
    data = json.loads((bundle / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BundleError(f"{name} is not a JSON object")
    return data


def row_of(bundle: Path, out: Path) -> Row:
    """The index row of one bundle, verified first; an unverifiable bundle is an UNVERIFIED row."""
    rel = os.path.relpath(bundle, out)
    report = os.path.join(rel, "report.html")
    try:
        manifest = verify(bundle)
        gate = _read_json(bundle, "gate.json") if "gate.json" in manifest["files"] else {}
        digest = sha256(bundle / MANIFEST)
    except (BundleError, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Row(env=bundle.parent.name, account="", region="", decision=UNVERIFIED, complete=False,
                   started="", finished="", run_id=bundle.name, counts={}, blocking=[], report="",
                   bundle=rel, manifest_sha256="", problem=str(exc))
    decision = str(gate.get("decision") or manifest.get("decision") or NO_GO)
    if decision not in _ORDER or decision == UNVERIFIED:
        decision = NO_GO  # an unknown decision never reads as a pass
    counts = (gate.get("counts") or {}).get("by_outcome") or {}
    blocking = [f"{r.get('check') or r.get('outcome')}: {r.get('message', '')}"[:300]
                for r in gate.get("reasons", []) if r.get("effect") == NO_GO][:3]
    complete = bool(gate.get("complete", manifest.get("complete", False)))
    if not complete:
        decision = NO_GO
    return Row(env=str(manifest.get("env", "")), account=str(manifest.get("account", "")),
               region=str(manifest.get("region", "")), decision=decision, complete=complete,
               started=str(manifest.get("started", "")), finished=str(manifest.get("finished", "")),
               run_id=str(manifest.get("run_id", bundle.name)),
               counts={k: int(v) for k, v in counts.items() if isinstance(v, int)}, blocking=blocking,
               report=report if "report.html" in manifest["files"] else "", bundle=rel, manifest_sha256=digest)


def overall(rows: Sequence[Row]) -> str:
    """The worst decision of all rows: one NO-GO or UNVERIFIED bundle makes the whole NO-GO."""
    worst = max((_ORDER[r.decision] for r in rows), default=_ORDER[NO_GO])
    return NO_GO if worst >= _ORDER[NO_GO] else {0: GO, 1: CONDITIONAL}[worst]


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence index: {{ decision }}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .6rem;text-align:left;vertical-align:top}
.d{font-weight:700;padding:.1rem .5rem;border-radius:4px}.GO{background:#dafbe1}.NO-GO,.UNVERIFIED{background:#ffebe9}
.CONDITIONAL{background:#fff8c5}small{color:#57606a}code{font-size:.85em}
tr.current{outline:2px solid #0969da}h2{font-size:1.1rem;margin-top:1.6rem}
</style></head><body>
<h1>Evidence index <span class="d {{ decision.split()[0] }}">{{ decision }}</span></h1>
<p>{{ rows|length }} bundles, {{ verified }} verified against their manifests; built {{ built }}.
The overall decision is the worst of all bundles; an unverified bundle counts as NO-GO.</p>
{%- for t in timeline %}
<h2>{{ t.env }} <small>trend, oldest to newest:
{%- for d in t.trend %} <span class="d {{ d.decision.split()[0] }}" title="{{ d.run_id }}">{{ d.decision }}</span>
{%- if not loop.last %} →{% endif %}{% endfor %}</small></h2>
<table><thead><tr><th>env</th><th>account / region</th><th>decision</th><th>passed / failed / error / skipped</th>
<th>run (newest first)</th><th>approvals</th><th>evidence</th></tr></thead><tbody>
{%- for r in t.rows %}
<tr{% if r.run_id == t.current %} class="current"{% endif %}><td>{{ r.env }}{% if r.run_id == t.current %}<br>
<b>current gate run</b>{% endif %}</td><td>{{ r.account }}<br><small>{{ r.region }}</small></td>
<td><span class="d {{ r.decision.split()[0] }}">{{ r.decision }}</span>{% if not r.complete and not r.problem %}
<br><small>incomplete run</small>{% endif %}
{%- for b in r.blocking %}<br><small>{{ b }}</small>{% endfor %}
{%- if r.problem %}<br><small>not verified: {{ r.problem }}</small>{% endif %}</td>
<td>{{ r.counts.get("passed", 0) }} / {{ r.counts.get("failed", 0) }} / {{ r.counts.get("error", 0) }}
 / {{ r.counts.get("skipped", 0) }}
{%- if r.counts.get("waived") %}<br><small>{{ r.counts.waived }} waived</small>{% endif %}</td>
<td><small>{{ r.run_id }}<br>{{ r.started }} – {{ r.finished }}</small></td>
<td><small>{{ r.approvals or "–" }}</small></td>
<td>{% if r.report %}<a href="{{ r.report }}">report.html</a><br>{% endif %}<small><code>{{ r.bundle }}</code>
{%- if r.manifest_sha256 %}<br>manifest SHA-256 <code>{{ r.manifest_sha256[:16] }}…</code>{% endif %}</small></td></tr>
{%- endfor %}
</tbody></table>
{%- endfor %}
</body></html>
"""

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def missing(name: str) -> Row:
    """The row of an expected env that has no bundle (its job failed before writing one)."""
    return Row(env=name, account="", region="", decision=UNVERIFIED, complete=False, started="", finished="",
               run_id="", counts={}, blocking=[], report="", bundle="", manifest_sha256="",
               problem="no bundle for this env")


def build(bundles: Sequence[Path], out: Path, expect: Sequence[str] = (),
          signers: Sequence[Signer] | None = None) -> tuple[str, list[Row]]:
    """Verify every bundle and write index.html, index.json and manifest.json to `out`; an env
    in `expect` without a bundle is an UNVERIFIED row. Each env's runs show as a timeline (timeline.py),
    with their recorded approvals (checked against `signers`, an allowed_signers file, when given)."""
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    found = [row_of(b, out) for b in bundles]
    found += [missing(name) for name in expect if name not in {r.env for r in found}]
    found = with_approvals(found, out, signers)
    rows = sorted(found, key=lambda r: (-_ORDER[r.decision], r.env, r.account, r.region, r.run_id))
    runs = timeline(rows, out)
    decision = overall(rows)
    built = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    verified = sum(r.decision != UNVERIFIED for r in rows)
    write_text(out / "index.html", _env.from_string(TEMPLATE).render(
        rows=rows, decision=decision, built=built, verified=verified, timeline=runs))
    write_json(out / "index.json", {"schema": 1, "decision": decision, "built": built, "bundles": len(rows),
                                    "verified": verified, "rows": [asdict(r) for r in rows],
                                    "timeline": [{**t, "rows": [r.run_id for r in t["rows"]]} for t in runs]})
    write_manifest(out, {"kind": "evidence-index", "decision": decision, "built": built})
    return decision, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.evidence.index", description=__doc__.split("\n")[0])
    parser.add_argument("bundles", nargs="+", type=Path, help="bundles, latest pointers or directories of bundles")
    parser.add_argument("--out", type=Path, required=True, help="directory to write index.html into")
    parser.add_argument("--expect", default="", help="comma-separated envs that must each have a bundle")
    parser.add_argument("--allowed-signers", type=Path, default=None, help="check each recorded approval against "
                        "this ssh-keygen allowed_signers file (the principal allowed for its role)")
    args = parser.parse_args(argv)
    expect = [e.strip() for e in args.expect.split(",") if e.strip()]
    try:
        bundles = find_bundles(args.bundles, allow_empty=bool(expect))
        signers = allowed_signers.load(args.allowed_signers) if args.allowed_signers else None
    except (OSError, allowed_signers.AllowedSignersError) as exc:
        print(f"evidence index: {exc}", file=sys.stderr)
        return 4
    decision, rows = build(bundles, args.out, expect, signers)
    for r in rows:
        note = f" ({r.problem})" if r.problem else ""
        print(f"{r.decision:<14} {r.env:<8} {r.account:<12} {r.region:<14} {r.report or r.bundle}{note}")
    print(f"{decision}: {len(rows)} bundles -> {args.out / 'index.html'}")
    return 1 if any(r.decision == UNVERIFIED for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

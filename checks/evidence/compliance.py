"""The compliance view: per framework, every control the catalog maps, the checks that evidence it in
this run and its status. One pure function over the check records; the report's partial
(templates/_compliance.html.jinja2) and the per-framework CSVs (csv_export.py) read it.

A control's status is the worst of its results: failed, then not verified (an error: what could not be
read is never a pass), then waived, then passed; skipped when every result was skipped; not tested when
this run has no result for it (the check was not selected, or the env does not have what it checks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checks.core import controls as ctl
from checks.core.catalog import catalog
from checks.core.record import CheckRecord

STATUSES = ("failed", "not verified", "waived", "passed", "skipped", "not tested")
_BY_OUTCOME = {"failed": "failed", "error": "not verified", "waived": "waived", "passed": "passed",
               "skipped": "skipped"}


def status(outcomes: Iterable[str]) -> str:
    found = {_BY_OUTCOME.get(o, "not verified") for o in outcomes}
    return next((s for s in STATUSES if s in found), "not tested")


def mapped() -> set[str]:
    """Every control some catalog check evidences."""
    return {ref for e in catalog().values() for ref in e.all_controls()}


def view(records: Iterable[CheckRecord]) -> list[dict[str, Any]]:
    """[{key, title, source, counts, controls: [{ref, id, title, sources, status, checks, results}]}] per
    framework, in the catalog's order; a control's `results` are its records, worst first."""
    records = list(records)
    by_ref: dict[str, list[CheckRecord]] = {}
    for r in records:
        for ref in r.controls:
            by_ref.setdefault(ref, []).append(r)
    refs = sorted(mapped() | set(by_ref), key=ctl.sort_key)
    out = []
    for key, fw in ctl.frameworks().items():
        rows = []
        for ref in ctl.of_framework(refs, key):
            recs = sorted(by_ref.get(ref, []), key=lambda r: (STATUSES.index(status([r.outcome])), r.check, r.test))
            checks: dict[str, dict[str, Any]] = {}
            for r in recs:
                c = checks.setdefault(r.check, {"check": r.check, "title": r.title, "outcomes": {}})
                c["outcomes"][r.outcome] = c["outcomes"].get(r.outcome, 0) + 1
            rows.append({"ref": ref, "id": ctl.split(ref)[1], "title": ctl.title(ref), "sources": ctl.sources(ref),
                         "status": status(r.outcome for r in recs), "checks": list(checks.values()),
                         "results": recs})
        counts = {s: sum(1 for row in rows if row["status"] == s) for s in STATUSES}
        out.append({"key": key, "title": fw.title, "source": fw.source, "counts": counts, "controls": rows})
    return out

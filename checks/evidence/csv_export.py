"""results.csv (one row per result) and compliance_<framework>.csv (one row per control and result, like
Prowler's compliance outputs), written into the bundle. A cell that a spreadsheet would read as a
formula (=, +, -, @) is written with a leading apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from checks.core import controls as ctl
from checks.core.record import CheckRecord
from checks.evidence import bundle, compliance

RESULT_COLUMNS = ("check", "test", "resource", "outcome", "severity", "controls", "message", "remediation")
COMPLIANCE_COLUMNS = ("framework", "control", "control_title", "control_status", "source", "check", "test",
                      "resource", "outcome", "severity")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    text = "; ".join(value) if isinstance(value, (list, tuple)) else str(value if value is not None else "")
    return "'" + text if text.startswith(_FORMULA) else text


def table(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([cell(v) for v in row])
    return out.getvalue()


def results_csv(records: Iterable[CheckRecord]) -> str:
    return table(RESULT_COLUMNS, ([getattr(r, c) for c in RESULT_COLUMNS]
                                 for r in sorted(records, key=lambda r: r.test)))


def compliance_csvs(records: Iterable[CheckRecord]) -> dict[str, str]:
    """{file name: CSV text} per framework; a control with no result in this run is one row, not tested."""
    out = {}
    for fw in compliance.view(records):
        rows = []
        for c in fw["controls"]:
            head = [fw["title"], c["id"], c["title"], c["status"], " ".join(c["sources"])]
            rows += [[*head, r.check, r.test, r.resource, r.outcome, r.severity] for r in c["results"]]
            if not c["results"]:
                rows.append([*head, "", "", "", "", ""])
        out[f"compliance_{fw['key']}.csv"] = table(COMPLIANCE_COLUMNS, rows)
    return out


def names() -> list[str]:
    """The files write() makes: results.csv and one compliance CSV per framework of the catalog."""
    return ["results.csv", *(f"compliance_{key}.csv" for key in ctl.frameworks())]


def write(directory: Path, records: Iterable[CheckRecord]) -> list[str]:
    """Write results.csv and the compliance CSVs; the names written."""
    records = list(records)
    files = {"results.csv": results_csv(records), **compliance_csvs(records)}
    for name, text in files.items():
        bundle.write_text(directory / name, text)
    return list(files)

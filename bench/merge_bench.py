"""Merging many bundles into one evidence index (issue 15.4).

    .venv/bin/python bench/merge_bench.py --count 50 [--bundle reports/local/latest]

Copies one real bundle (made by `pytest --env local` when --bundle is not given) into COUNT
matrix-shaped artifact folders (gate-evidence-<i>/<env>/<timestamp>/), then times
`python -m checks.evidence.index` over them in a fresh process: start-up, verification of
every file's SHA-256, index.html and index.json. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def a_bundle(tmp: Path) -> Path:
    reports = tmp / "reports"
    subprocess.run([sys.executable, "-m", "pytest", "--env", "local", "-q", "-p", "no:randomly",
                    f"--reports={reports}"], cwd=REPO, capture_output=True, check=False)
    return next(p.parent for p in reports.rglob("manifest.json") if p.parent.name != "latest")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--bundle", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as d:
        tmp = Path(d)
        src = (args.bundle.resolve() if args.bundle else a_bundle(tmp))
        if src.name == "latest" and src.is_file():
            src = src.parent / src.read_text().strip()
        artifacts = tmp / "artifacts"
        for i in range(args.count):
            shutil.copytree(src, artifacts / f"gate-evidence-{i:02d}" / f"env{i:02d}" / src.name)
        size = sum(p.stat().st_size for p in artifacts.rglob("*") if p.is_file())
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "checks.evidence.index", str(artifacts), "--out",
                               str(tmp / "index")], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        index = json.loads((tmp / "index" / "index.json").read_text())
        print(json.dumps({
            "bundles": args.count, "bundle_mb_each": round(size / args.count / 2**20, 2),
            "total_mb_verified": round(size / 2**20, 1), "exit": proc.returncode,
            "signature_verified": index["verified"], "unverified": index.get("unverified"),
            "decision": index["decision"], "wall_s": round(wall, 2),
            "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2),
            "peak_rss_mb": round(after.ru_maxrss / 1024),
            "index_html_kb": round((tmp / "index" / "index.html").stat().st_size / 1024, 1)}))


if __name__ == "__main__":
    main()

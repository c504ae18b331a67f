"""Where a clean gate run spends its time: `--env local` (embedded world) and the same world
behind an external endpoint (AWS_ENDPOINT_URL, an env with `embedded = false`).

    .venv/bin/python bench/gate_profile.py --runs 3        # writes bench/gate_profile.json

Phases of each run (wall clock, from the parent's fork to the child's exit): interpreter and
pytest start-up up to our plugin's import, configure (plugin imports, environments.toml),
test collection (parametrization), world build (embedded only), AWS collection, evaluation
(the tests), pytest-html rendering, bundle writing, and the exit. Start-up costs are also
measured alone (`python -c "import ..."`). Runs alternate local / external; the best
(lowest wall) run of each mode is reported, with every run kept in the JSON.
Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
IMPORTS = {
    "python -c pass": "pass",
    "import pytest": "import pytest",
    "+ pytest plugins (html, xdist, ...)": "import pytest, pytest_html, xdist, hypothesis",
    "+ checks.plugin (boto3)": "import pytest, checks.plugin.suite, checks.evidence.hooks",
    "+ checks.world (moto)": "import pytest, checks.plugin.suite, checks.evidence.hooks, checks.world",
}


def import_costs(repeat: int = 3) -> dict[str, float]:
    out = {}
    for name, code in IMPORTS.items():
        best = None
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([PY, "-c", code], cwd=REPO, check=True)
            took = time.perf_counter() - started
            best = took if best is None else min(best, took)
        out[name] = round(best, 3)
    return out


def external_environments(tmp: Path) -> Path:
    text = (REPO / "environments.toml").read_text()
    text, n = re.subn(r"(\[envs\.local\][^\[]*?)embedded = true", r"\1embedded = false", text, flags=re.S)
    assert n == 1, "environments.toml: [envs.local] embedded = true not found"
    path = tmp / "environments.toml"
    path.write_text(text)
    return path


def one_run(mode: str, tmp: Path, endpoint: str, envfile: Path, i: int) -> dict[str, Any]:
    out = tmp / f"phases-{mode}-{i}.json"
    environ = {**os.environ, "PYTHONPATH": str(REPO / "bench"), "PHASES_OUT": str(out)}
    args = [PY, "-m", "pytest", "--env", "local", "-q", "-p", "phases", "-p", "no:randomly",
            f"--reports={tmp / f'reports-{mode}-{i}'}"]
    if mode == "external":
        environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_DEFAULT_REGION="af-south-1")
        args += [f"--environments={envfile}", f"--infra-repo={REPO / 'selftest' / 'infra_repo'}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    environ["PHASES_T0"] = repr(time.time())
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO, env=environ, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not out.is_file():
        raise SystemExit(f"{mode} run wrote no phases: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    data = json.loads(out.read_text())
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    m, s = data["marks"], data["spans"]
    if "first_test" not in m:
        raise SystemExit(f"{mode} run ran no test: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    world = s.get("world_build", 0.0)
    collection = s.get("aws_collection", 0.0)
    html = s.get("html_render", 0.0)
    bundle = s.get("bundle_json", 0.0) + s.get("bundle_seal", 0.0)
    phases = {
        "interpreter + pytest start-up": m["plugin_imported"],
        "configure (plugin imports, environments)": m["configure"] - m["plugin_imported"],
        "test collection (parametrize)": m["tests_collected"] - m["configure"],
        "world build": world,
        "AWS collection": collection,
        "other before the first test (guard, snapshot dump)":
            m["first_test"] - m["tests_collected"] - world - collection,
        "evaluation (tests)": m["tests_done"] - m["first_test"] - s.get("html_per_test", 0.0),
        "pytest-html per-test rows": s.get("html_per_test", 0.0),
        "report.html rendering + write": html,
        "bundle writing (json, manifest)": bundle,
        "after the tests (terminal summary, world stop)": m["unconfigured"] - m["tests_done"] - html - bundle,
        "interpreter exit": wall - m["unconfigured"],
    }
    return {"mode": mode, "wall_s": round(wall, 3),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3),
            "peak_rss_mb": round(data["peak_rss_mb"], 1), "result": tail, "exit": proc.returncode,
            "phases": {k: round(v, 3) for k, v in phases.items()}, "marks": m, "spans": s}


@contextlib.contextmanager
def world_endpoint() -> Iterator[str]:
    """bench/world_server.py (the embedded world) in a process of its own; its 127.0.0.1 endpoint."""
    server = subprocess.Popen([PY, str(REPO / "bench" / "world_server.py")], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        endpoint = server.stdout.readline().strip() if server.stdout else ""
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        yield endpoint
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "bench" / "gate_profile.json"))
    args = ap.parse_args()
    imports = import_costs()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as d:
        tmp = Path(d)
        envfile = external_environments(tmp)
        with world_endpoint() as endpoint:
            for i in range(args.runs):
                for mode in ("local", "external"):
                    r = one_run(mode, tmp, endpoint, envfile, i)
                    print(f"{mode:8} wall {r['wall_s']:6.2f}s cpu {r['cpu_s']:6.2f}s rss {r['peak_rss_mb']:5.0f}MB"
                          f"  {r['result']}", flush=True)
                    runs.append(r)
    best = {mode: min((r for r in runs if r["mode"] == mode), key=lambda r: r["wall_s"])
            for mode in ("local", "external")}
    Path(args.out).write_text(json.dumps({"imports": imports, "best": best, "runs": runs,
                                          "load_average": os.getloadavg()}, indent=1))
    print(json.dumps({"imports": imports, **{m: b["phases"] for m, b in best.items()}}, indent=1))


if __name__ == "__main__":
    main()

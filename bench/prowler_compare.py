"""The gate and Prowler side by side on the same world (issue 15.1).

    .venv/bin/python bench/prowler_compare.py --prowler /tmp/prowler-venv/bin/prowler --runs 3

One world (`bench/world_server.py`, the embedded PROD-shaped world in a process of its own on
127.0.0.1) serves every run; the runs alternate, so both tools see the same machine load:

- `suite dynamodb+s3`: `pytest --env local -m "dynamodb or s3"` against the endpoint
  (AWS_ENDPOINT_URL, a copy of environments.toml whose `local` env has `embedded = false`),
  writing its evidence bundle as always;
- `suite all`: the whole gate (DynamoDB, S3, CI/CD, static, PDV) the same way;
- `prowler`: `prowler aws --service s3 dynamodb backup --region <the env's two regions>`
  writing its CSV.

Each run's wall time, CPU time (user + system) and peak RSS come from `os.wait4` on that one
child (the world server's own work is not in either figure). Prowler is installed apart, in a
throwaway venv (`python3 -m venv /tmp/prowler-venv && /tmp/prowler-venv/bin/pip install
prowler==5.46.0`): it is not a dependency of the suite. Writes bench/prowler_compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gate_profile import PY, REPO, external_environments, world_endpoint  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "af-south-1"}


def measured(args: list[str], environ: dict[str, str], cwd: Path) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
            "tail": out.strip().splitlines()[-1][-200:] if out.strip() else ""}


def commands(prowler: str, tmp: Path, envfile: Path, i: int) -> dict[str, list[str]]:
    pytest = [PY, "-m", "pytest", "--env", "local", "-q", "-p", "no:randomly", f"--environments={envfile}",
              f"--infra-repo={REPO / 'selftest' / 'infra_repo'}"]
    return {
        "suite dynamodb+s3": [*pytest, "-m", "dynamodb or s3", f"--reports={tmp / f'ds-{i}'}"],
        "suite all": [*pytest, f"--reports={tmp / f'all-{i}'}"],
        "prowler": [prowler, "aws", "--service", "s3", "dynamodb", "backup", "--region", "af-south-1", "eu-west-1",
                    "-b", "--no-color", "-z", "-M", "csv", "--output-directory", str(tmp / f"prowler-{i}")],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prowler", required=True, help="the prowler executable (installed apart)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "bench" / "prowler_compare.json"))
    args = ap.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-prowler-") as d:
        tmp = Path(d)
        envfile = external_environments(tmp)
        with world_endpoint() as endpoint:
            environ = {**os.environ, **CREDS, "AWS_ENDPOINT_URL": endpoint, "HOME": str(tmp)}
            for i in range(args.runs):
                for tool, argv in commands(args.prowler, tmp, envfile, i).items():
                    r = {"tool": tool, "run": i, **measured(argv, environ, REPO)}
                    print(f"{tool:18} wall {r['wall_s']:6.2f}s cpu {r['cpu_s']:6.2f}s rss {r['peak_rss_mb']:5.0f}MB"
                          f"  exit {r['exit']}  {r['tail']}", flush=True)
                    runs.append(r)
    tools = sorted({r["tool"] for r in runs})
    keys = ("wall_s", "cpu_s", "peak_rss_mb")
    median = {t: {k: statistics.median(r[k] for r in runs if r["tool"] == t) for k in keys} for t in tools}
    ratios = {t: {k: round(median[t][k] / median["prowler"][k], 3) for k in median[t]} for t in tools if t != "prowler"}
    Path(args.out).write_text(json.dumps({"median": median, "ratio_to_prowler": ratios, "runs": runs,
                                          "load_average": os.getloadavg()}, indent=1))
    print(json.dumps({"median": median, "ratio_to_prowler": ratios}, indent=1))


if __name__ == "__main__":
    main()

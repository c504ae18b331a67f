"""Inventory benchmark: N tables (with GSIs) and N buckets in the embedded moto world.

    .venv/bin/python bench/bench.py --sizes 10,100,1000            # writes bench/results.json
    .venv/bin/python bench/bench.py --sizes 10 --latency 0.05 --concurrency 16

For each N (each in its own process, so peak memory is per N) it:
1. builds the world: the local env with N generated tables (2 GSIs each, PITR, a replica)
   plus the env's own, and N generated buckets (versioning, encryption, public access
   block, tags), with unguarded world clients;
2. collects the inventory with the suite's collector (checks.areas.dynamodb/s3 collectors, plus
   `inventory_bucket` for each generated bucket) against the moto server: wall time, API
   calls (total, per resource), duplicate calls, peak RSS; every response is recorded;
3. collects again with an emulated per-call latency (a botocore before-send hook that
   sleeps), once against moto and once against a transport that serves the recorded
   responses (a before-send hook returning canned AWSResponse objects), and reports the
   collection efficiency = ideal / actual, ideal = calls x latency / concurrency;
4. seals the snapshot as an evidence bundle and runs `pytest --replay <bundle>` over the
   DynamoDB and S3 suites, timing every test (setup + call + teardown) with a plugin.
Only 127.0.0.1 is used (the moto server); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

from checks import areas  # noqa: E402
from checks.areas.dynamodb import collector as ddb_collector  # noqa: E402
from checks.areas.s3 import collector as s3_collector  # noqa: E402
from checks.core import config  # noqa: E402
from checks.core.aws import Aws  # noqa: E402
from checks.core.collect import Context, collect_all  # noqa: E402
from checks.core.config import Gsi, TableSpec  # noqa: E402
from checks.core.snapshot import Snapshot  # noqa: E402

GSIS = {"StatusIndex": Gsi(hash_key="status:S", range_key="dateCreated:S"), "OwnerIndex": Gsi(hash_key="owner:S")}


def bench_env(n: int) -> tuple[config.Env, list[str]]:
    local = config.load()["local"]
    tables = {**local.tables, **{f"bench-t{i:04d}": TableSpec(gsis=dict(GSIS)) for i in range(n)}}
    env = local.model_copy(update={"name": "bench", "dynamodb": local.dynamodb.model_copy(update={"tables": tables})})
    return env, [f"bench-b{i:04d}" for i in range(n)]


def build_buckets(world: Any, env: config.Env, buckets: list[str]) -> None:
    from checks.world.build import PAB, _create_bucket, _encrypt, tag_list
    s3 = world.client("s3")

    def one(b: str) -> None:
        _create_bucket(s3, b, env.region)
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        _encrypt(s3, env, b)
        s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=PAB)
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tag_list(env.bucket_tags())})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, buckets))


class Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any):
        yield self.body


class Transport:
    """before-send / before-parse hooks: emulated latency, recording, and serving recorded answers."""

    def __init__(self, latency: float = 0.0, recorded: dict[bytes, tuple] | None = None, record: bool = False):
        self.latency, self.recorded, self.record = latency, recorded, record
        self.tape: dict[bytes, tuple] = {}
        self.misses = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def install(self, client: Any) -> None:
        client.meta.events.register("before-send", self.before_send)
        if self.record:
            client.meta.events.register("before-parse", self.before_parse)

    @staticmethod
    def key(request: Any) -> bytes:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        return f"{request.method} {request.url} ".encode() + body

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.latency:
            time.sleep(self.latency)
        k = self.key(request)
        self._local.key = k
        if self.recorded is None:
            return None
        found = self.recorded.get(k)
        if found is None:
            with self._lock:
                self.misses += 1
            return None  # not recorded (a streaming body): served by moto
        status, headers, body = found
        return AWSResponse(request.url, status, headers, Raw(body))

    def before_parse(self, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body")
        if isinstance(body, bytes):
            self.tape[self._local.key] = (response_dict["status_code"], dict(response_dict["headers"]), body)


def collect(world: Any, env: config.Env, buckets: list[str], concurrency: int, transport: Transport | None = None
            ) -> tuple[Snapshot, Aws, float]:
    from checks.world import adapt_client
    env = env.model_copy(update={"concurrency": concurrency})
    aws = Aws(env, Snapshot({"env_name": env.name, "env": env.model_dump(), "run_id": "bench",
                             "canary": False}), allowed=areas.allowlist(),
              endpoint_url=world.endpoint_url, adapt=adapt_client,
              session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=env.region))
    if transport is not None:
        aws.client_hooks.append(transport.install)

    def inventory(ctx: Context) -> None:
        for b in buckets:
            ctx.spawn(s3_collector.inventory_bucket, ctx, b)

    for service, region in {("dynamodb", env.region), ("dynamodb", env.dr_region), ("s3", env.region),
                            ("s3", env.dr_region), ("s3control", env.region), ("backup", env.region),
                            ("backup", env.dr_region), ("iam", env.region)}:
        aws.client(service, region)  # client creation (model loading) is not what is measured
    started = time.perf_counter()
    snap = collect_all(Context(env, aws, aws.snapshot), [ddb_collector.collect, s3_collector.collect, inventory])
    return snap, aws, time.perf_counter() - started


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n: int, latency: float, concurrency: int, replay: bool, extra_concurrency: list[int],
        keep: str = "", variants: tuple[str, ...] = ("full",)) -> dict[str, Any]:
    from checks.world import World
    env, buckets = bench_env(n)
    out: dict[str, Any] = {"n": n, "tables": len(env.tables), "buckets": len(buckets) + 1,
                           "concurrency": concurrency, "latency_ms": latency * 1000}
    out["rss_start_mb"] = round(rss_mb())
    started = time.perf_counter()
    world = World(env).start()
    build_buckets(world, env, buckets)
    out["build_s"] = round(time.perf_counter() - started, 2)
    out["rss_after_build_mb"] = round(rss_mb())
    try:
        rec = Transport(record=True)
        snap, aws, wall = collect(world, env, buckets, concurrency, rec)
        labels = Counter(o.label for o in snap)
        out.update(collect_s=round(wall, 2), calls=aws.calls.sent, observations=len(snap),
                   duplicates=aws.calls.duplicates(), errors=sum(1 for o in snap if not (o.ok or o.absent)),
                   calls_per_resource=round(aws.calls.sent / (len(env.tables) + len(buckets) + 1), 2),
                   top_operations=dict(labels.most_common(6)), rss_after_collect_mb=round(rss_mb()))
        if latency:
            for name, transport in (("moto", Transport(latency)),
                                    ("recorded", Transport(latency, recorded=rec.tape))):
                lsnap, laws, lwall = collect(world, env, buckets, concurrency, transport)
                ideal = laws.calls.sent * latency / concurrency
                out[f"latency_{name}"] = {"wall_s": round(lwall, 2), "calls": laws.calls.sent,
                                          "ideal_s": round(ideal, 2), "efficiency": round(ideal / lwall, 3),
                                          "duplicates": laws.calls.duplicates(), "unrecorded": transport.misses}
                assert len(lsnap) == len(snap)
            for extra in extra_concurrency:  # the recorded transport at higher concurrency
                t = Transport(latency, recorded=rec.tape)
                _, laws, lwall = collect(world, env, buckets, extra, t)
                ideal = laws.calls.sent * latency / extra
                out[f"latency_recorded_c{extra}"] = {"wall_s": round(lwall, 2), "calls": laws.calls.sent,
                                                     "ideal_s": round(ideal, 2), "efficiency": round(ideal / lwall, 3),
                                                     "duplicates": laws.calls.duplicates()}
        if replay:
            out["replay"] = replay_run(snap, keep, variants)
    finally:
        world.stop()
    out["peak_rss_mb"] = round(rss_mb())
    return out


TIMING_PLUGIN = '''
import json, os, time
import pytest
_times = []
_top = []
if os.environ.get("BENCH_TRACEMALLOC"):
    import tracemalloc
    tracemalloc.start()
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t = time.perf_counter()
    yield
    _times.append(time.perf_counter() - t)
@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    if os.environ.get("BENCH_TRACEMALLOC"):  # what the process holds after the last test, by file
        import tracemalloc
        stats = tracemalloc.take_snapshot().statistics("filename")
        _top.extend((s.traceback[0].filename.split("site-packages/")[-1].replace(os.getcwd() + "/", ""),
                     round(s.size / 2**20, 1)) for s in stats[:12])
@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork + exec into
    # ru_maxrss, so a replay started by a bigger bench process would report the bench's peak.
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_TIMES"], "w") as f:
        json.dump({"times": _times, "top": _top, "peak_rss_mb": hwm / 1024}, f)
'''


def replay_run(snap: Snapshot, keep: str = "", variants: tuple[str, ...] = ("full",)) -> dict[str, Any]:
    """`pytest --replay` over the DynamoDB and S3 suites; variants: "full" (as users run it),
    "no_html" (-p no:html: what pytest-html costs), "tracemalloc" (who holds the memory)."""
    from checks.evidence.bundle import write_manifest
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bbws-bench-") as tmp:
        bundle = Path(keep) if keep else Path(tmp) / "bundle"
        bundle.mkdir(parents=True, exist_ok=True)
        snap.dump(bundle / "snapshot.json")
        write_manifest(bundle, {"run_id": "bench"})
        (Path(tmp) / "bench_timing.py").write_text(TIMING_PLUGIN)
        for variant in variants:
            times = Path(tmp) / f"times-{variant}.json"
            env = {**os.environ, "BENCH_TIMES": str(times), "PYTHONPATH": tmp}
            if variant == "tracemalloc":
                env["BENCH_TRACEMALLOC"] = "1"
            reports = Path(tmp) / f"reports-{variant}"
            cmd = [sys.executable, "-m", "pytest", str(REPO / "tests/dynamodb"), str(REPO / "tests/s3"),
                   "-c", str(REPO / "pytest.ini"), "--rootdir", str(REPO), "-p", "bench_timing", "-p", "no:randomly",
                   "-q", "--replay", str(bundle), f"--reports={reports}"]
            if variant == "no_html":
                cmd += ["-p", "no:html"]
            started = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            data = json.loads(times.read_text()) if times.is_file() else {"times": [], "top": [], "peak_rss_mb": 0}
            per = sorted(data["times"])
            tail = proc.stdout.strip().splitlines()[-1:] or proc.stderr.strip().splitlines()[-1:]
            files = [p for p in reports.rglob("*") if p.is_file()]
            r = {"tests": len(per), "wall_s": round(wall, 2), "summary": tail[0] if tail else "",
                 "peak_rss_mb": round(data["peak_rss_mb"]),
                 "snapshot_mb": round((bundle / "snapshot.json").stat().st_size / 2**20, 1),
                 "bundle_files_mb": {p.name: round(p.stat().st_size / 2**20, 1) for p in files},
                 "ms_per_test_mean": round(1000 * sum(per) / len(per), 3) if per else None,
                 "ms_per_test_p50": round(1000 * per[len(per) // 2], 3) if per else None,
                 "ms_per_test_p95": round(1000 * per[int(len(per) * 0.95)], 3) if per else None,
                 "ms_per_test_wall": round(1000 * wall / len(per), 3) if per else None, "exit": proc.returncode}
            if data["top"]:
                r["held_after_tests_mb_by_file"] = data["top"]
            if variant == "full":
                out.update(r)
            else:
                out[variant] = r
    return out


def machine() -> dict[str, Any]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")),
               "0")
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(int(mem) / 1024 / 1024, 1),
            "python": sys.version.split()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--latency", type=float, default=0.05, help="emulated per-call latency, seconds (0: skip)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--extra-concurrency", default="32,64", help="also run the recorded transport at these")
    ap.add_argument("--keep-bundle", default="", help="keep the replay bundle of the largest N here")
    ap.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    ap.add_argument("--replay-variants", default="full",
                    help="comma list of replay runs: full, no_html (-p no:html), tracemalloc")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        extra = [int(x) for x in args.extra_concurrency.split(",") if x]
        variants = tuple(v for v in args.replay_variants.split(",") if v)
        print(json.dumps(one(args.one, args.latency, args.concurrency, not args.no_replay, extra, args.keep_bundle,
                             variants)))
        return
    results = {"machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv]), "runs": []}
    for n in [int(x) for x in args.sizes.split(",")]:
        cmd = [sys.executable, __file__, "--one", str(n), "--latency", str(args.latency),
               "--concurrency", str(args.concurrency), "--extra-concurrency", args.extra_concurrency,
               "--replay-variants", args.replay_variants]
        cmd += (["--no-replay"] if args.no_replay else []) + (
            ["--keep-bundle", f"{args.keep_bundle}-{n}"] if args.keep_bundle else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"N={n} failed:\n{proc.stderr[-4000:]}")
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        results["runs"].append(run)
        print(json.dumps(run), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

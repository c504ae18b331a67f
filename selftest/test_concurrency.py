"""Issue 7.7 and 7.8 (collection): xdist gives the serial results; collection is bounded,
configurable, free of duplicate calls, and done once per run (by the xdist controller).
"""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from checks import areas
from checks.areas.dynamodb.collector import collect as collect_tables
from checks.areas.s3.collector import collect as collect_buckets
from checks.core import config
from checks.core.aws import Aws
from checks.core.collect import Context, collect_all
from checks.core.snapshot import Snapshot
from checks.world import World, adapt_client

ENV = config.load()["local"]


class Reports:
    """Controller-side: which xdist worker ran each test, and the observations it saw."""

    def __init__(self):
        self.nodes: dict[str, str] = {}
        self.elapsed: dict[str, set[float]] = {}
        self.world_starts = 0

    def pytest_bbws_world_ready(self, world):
        self.world_starts += 1

    def pytest_runtest_logreport(self, report):
        rec = getattr(report, "bbws", None)
        if rec is None or report.when != "call" and not report.failed:
            return
        node = getattr(report, "node", None)
        self.nodes[report.nodeid] = getattr(getattr(node, "gateway", None), "id", "controller")
        for o in rec.observations:
            key = f"{o['service']}|{o['region']}|{o['operation']}|{json.dumps(o['params'], sort_keys=True)}"
            self.elapsed.setdefault(key, set()).add(o["elapsed_ms"])


@pytest.mark.parametrize("fault", ["DDB-03:products,S3-02:bbws-templates-local"])  # a clean world is its subset
def test_xdist_results_equal_the_serial_run(suite, fault):
    serial = suite.run(faults=fault)
    seen = Reports()
    parallel = suite.run("-n", "2", faults=fault, plugins=[seen])
    assert "INTERNALERROR" not in parallel.stdout, parallel.internal_error()
    assert parallel.outcomes == serial.outcomes
    assert len(parallel.outcomes) > 150
    messages = {t: r["message"] for t, r in serial.records.items()}
    assert {t: r["message"] for t, r in parallel.records.items()} == messages
    assert len(set(seen.nodes.values())) == 2, "both workers should have run tests"
    # collected once: one world, and every worker saw the very same observation (same timing)
    assert seen.world_starts == 1
    assert all(len(v) == 1 for v in seen.elapsed.values()), "workers saw different collections"
    assert len(parallel.bundles) == 1, "the bundle is written once"
    meta = json.loads((parallel.bundle / "snapshot.json").read_text())["meta"]
    assert meta["duplicate_calls"] == 0
    assert parallel.ret == serial.ret


@pytest.fixture(scope="module")
def world():
    w = World(ENV).start()
    yield w
    w.stop()


def aws_for(world, concurrency: int, latency: float = 0.0, hold_until: int = 0) -> tuple[Aws, dict[str, int]]:
    """A guarded Aws on the world that counts calls in flight (peak["max"]). Each call takes
    `latency`; with hold_until, a call also waits (up to 2 s) until that many are in flight, so
    the peak shows how many calls the pool runs at once, not how fast this machine starts threads."""
    env = ENV.model_copy(update={"concurrency": concurrency})
    aws = Aws(env, Snapshot(), allowed=areas.allowlist(), endpoint_url=world.endpoint_url, adapt=adapt_client,
              session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=env.region))
    peak = {"now": 0, "max": 0}
    cond = threading.Condition()

    def before(**_):
        with cond:
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
            cond.notify_all()
            if hold_until:
                cond.wait_for(lambda: peak["max"] >= hold_until, timeout=2)
        time.sleep(latency)

    def after(**_):
        with cond:
            peak["now"] -= 1

    aws.client_hooks.append(lambda c: (c.meta.events.register("before-send", before),
                                       c.meta.events.register("needs-retry", after)))
    return aws, peak


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_collection_is_bounded_by_the_configured_concurrency(world, concurrency):
    aws, peak = aws_for(world, concurrency, latency=0.02)
    snap = collect_all(Context(aws.env, aws, aws.snapshot), [collect_tables, collect_buckets])
    assert 1 <= peak["max"] <= concurrency
    if concurrency > 1:
        assert peak["max"] > 1, "no call ran concurrently"
    assert snap.meta["duplicate_calls"] == 0 and aws.calls.sent == len(snap)


def test_latency_bound_collection_scales_with_concurrency(world):
    """Latency-bound collection overlaps its calls: 8 in flight at once at concurrency 8, one at a
    time at 1, and the same calls either way (wall-clock figures are in BENCHMARKS.md)."""
    peaks, calls = {}, {}
    for c in (1, 8):
        aws, peak = aws_for(world, c, latency=0.01, hold_until=c)
        snap = collect_all(Context(aws.env, aws, aws.snapshot), [collect_tables, collect_buckets])
        peaks[c], calls[c] = peak["max"], aws.calls.sent
        assert snap.meta["duplicate_calls"] == 0
    assert peaks == {1: 1, 8: 8}
    assert calls[1] == calls[8]


def test_concurrency_option_reaches_the_collection(suite):
    seen = {}

    class Peek:
        def pytest_bbws_aws_ready(self, aws):
            seen["concurrency"] = aws.env.concurrency

    r = suite.run("--concurrency", "3", plugins=[Peek()], tests=("tests/dynamodb/test_tables.py",))
    assert seen["concurrency"] == 3 and r.ret == 0, r.stdout[-2000:]
    r = suite.run("--concurrency", "-1", tests=("tests/dynamodb/test_tables.py",))
    assert r.ret == 4 and r.outcomes == {}


def test_a_racing_identical_read_waits_for_the_first_and_shares_its_failure():
    """Two collectors asking for the same read: one request; an unexpected failure is an observation for both."""
    sent = []
    release = threading.Event()

    def explode(request, **_):
        sent.append(request.url)
        release.wait(5)
        raise RuntimeError("connection reset in a way botocore does not wrap")

    aws = Aws(ENV, Snapshot(), allowed=areas.allowlist(), endpoint_url="http://127.0.0.1:9",
              session=boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=ENV.region))
    aws.client_hooks.append(lambda c: c.meta.events.register("before-send", explode))
    results = []
    threads = [threading.Thread(target=lambda: results.append(aws.call("dynamodb", "DescribeTable",
                                                                        TableName="tenants"))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    release.set()
    for t in threads:
        t.join(10)
    assert len(sent) == 1 and len(results) == 2
    assert all(not o.ok and o.code == "RuntimeError" for o in results), results
    assert aws.calls.duplicates() == 0

"""The self-test harness: run the real tests/ in-process against a fresh moto world.

`suite.run("--fault", ...)` returns a Result whose outcomes map short test ids
("test_pitr_enabled[tenants]") to passed / failed / error / skipped, read from the
check records the plugin attaches to every report.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
_runs = itertools.count()


@dataclass
class Result:
    ret: int
    outcomes: dict[str, str]
    check_of: dict[str, str]
    records: dict[str, dict[str, Any]]
    stdout: str
    reports_dir: Path
    bundles: list[Path] = field(default_factory=list)

    def having(self, outcome: str) -> set[str]:
        return {t for t, o in self.outcomes.items() if o == outcome}

    @property
    def failed(self) -> set[str]:
        return self.having("failed")

    @property
    def errors(self) -> set[str]:
        return self.having("error")

    @property
    def passed(self) -> set[str]:
        return self.having("passed")

    @property
    def skipped(self) -> set[str]:
        return self.having("skipped")

    def internal_error(self) -> str:
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("INTERNALERROR>")
                 and "site-packages/pluggy" not in ln and "site-packages/_pytest" not in ln]
        return "\n".join(lines[-40:])

    @property
    def bundle(self) -> Path | None:
        return self.bundles[-1] if self.bundles else None

    @property
    def results_json(self) -> dict[str, Any] | None:
        b = self.bundle
        return json.loads((b / "results.json").read_text()) if b and (b / "results.json").is_file() else None


class Suite:
    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
        self.pytester, self.monkeypatch, self.tmp_path = pytester, monkeypatch, tmp_path

    def run(self, *args: str, faults: str = "", env: str = "local", environ: dict[str, str] | None = None,
            plugins: list[Any] = (), tests: tuple[str, ...] = ("tests",)) -> Result:
        reports = self.tmp_path / f"reports-{next(_runs)}"
        argv = [*(str(REPO / t) for t in tests), "-c", str(REPO / "pytest.ini"), "--rootdir", str(REPO),
                "--reports", str(reports), "-p", "no:randomly", "-p", "no:cacheprovider", *args]  # the checkout's
        # .pytest_cache stays the user's: --lf after the selftests must not rerun their faulted worlds' failures
        if env:
            argv += ["--env", env]
        if faults:
            argv += ["--fault", faults]
        with self.monkeypatch.context() as mp:
            for k in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_STEP_SUMMARY"):
                mp.delenv(k, raising=False)
            for k, v in (environ or {}).items():
                mp.setenv(k, v)
            r = self.pytester.runpytest_inprocess(*argv, plugins=list(plugins))
        outcomes, checks, records = {}, {}, {}
        reprec = getattr(r, "reprec", None)
        logged = reprec.getreports("pytest_runtest_logreport") if hasattr(reprec, "getreports") else []
        for rep in logged:
            rec = getattr(rep, "bbws", None)
            if rec is None:
                continue
            short = rep.nodeid.split("::")[-1]
            rec = rec.to_dict() if hasattr(rec, "to_dict") else rec
            outcomes[short], checks[short], records[short] = rec["outcome"], rec["check"], rec
        bundles = sorted(p.parent for p in reports.glob("*/*/manifest.json")
                         if not p.parent.is_symlink() and p.parent.name != "latest") if reports.exists() else []
        output = r.stdout.str() + "\n" + r.stderr.str()  # usage errors go to stderr
        return Result(int(r.ret), outcomes, checks, records, output, reports, bundles)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """This session tests the suite; it runs no checks of its own (its pytester runs do)."""
    from checks.plugin.run import RUN

    if RUN in config.stash:
        config.stash[RUN].passive = True


_warmed = False


def warm_world() -> None:
    """Build the embedded world and read it once in this process, outside any pytester run. A pytester run
    drops every module first imported during it: without this, each run imported the moto server stack again
    (about 400 modules: moto, werkzeug, flask, requests; 1.5 s a run). checks.world.patches is written for this
    (its patches share the lifetime of the moto modules they patch, and each World resets moto at start)."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    from checks.core.config import load
    from checks.world import World
    from selftest.world_diff import observed

    env = load()["local"]
    with World(env, replication_delay=0.05) as world:
        observed(world, env)


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Suite]:
    warm_world()
    yield Suite(pytester, monkeypatch, tmp_path)

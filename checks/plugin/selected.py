"""What this run selected, recorded on the Run: `-m`, `-k`, test paths, and what any selector deselected.

Whether a selection is a gate run's is decided in checks.evidence.runkind; this module only records facts.
Every selector pytest knows (-m, -k, --deselect, --lf, --sw, a plugin's own option) reports what it drops
through `pytest_deselected`; an item dropped that `-m` alone would have kept was dropped by another
selector, so the selection is partial whatever that selector is called. Under xdist the workers collect:
each records its selection in `workeroutput` and the controller takes the first.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from checks.plugin.pytest_internals import markexpr_matcher
from checks.plugin.run import RUN, is_worker

_DROPPED = pytest.StashKey[list[int]]()  # [deselected items, of which -m alone would have kept]
WORKER_KEY = "bbws_selection"


@dataclass(frozen=True)
class Selection:
    """The run's selection. Counts are None until collection finished (an interrupted collection)."""
    markers: str = ""  # -m as given
    keyword: str = ""  # -k as given
    paths: tuple[str, ...] = ()  # test paths narrower than the suite's tests (relative to the rootdir)
    selected: int | None = None  # items left to run
    deselected: int | None = None  # items any selector deselected
    outside: int | None = None  # deselected items `-m` alone would have kept (another selector dropped them)
    others: tuple[str, ...] = field(default=())  # other selecting options given (--lf, --sw, --deselect)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "paths": list(self.paths), "others": list(self.others)}

    @classmethod
    def from_dict(cls, data: Any) -> Selection | None:
        if not isinstance(data, dict):
            return None

        def count(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

        return cls(markers=str(data.get("markers") or ""), keyword=str(data.get("keyword") or ""),
                   paths=tuple(str(p) for p in data.get("paths") or ()), selected=count("selected"),
                   deselected=count("deselected"), outside=count("outside"),
                   others=tuple(str(o) for o in data.get("others") or ()))

    def describe(self) -> str:
        """The selection as a user typed it: "-m smoke", "-k pitr, tests/dynamodb", "every check"."""
        parts = [f"-m {shlex.quote(self.markers)}" if self.markers else "",
                 f"-k {shlex.quote(self.keyword)}" if self.keyword else "", *self.paths, *self.others]
        return ", ".join(p for p in parts if p) or "every check"


def requested(config: pytest.Config, run: Any = None) -> Selection:
    """The selection the command line asks for, before collection (with the suite's own selectors the Run
    records, e.g. `--severity P0,P1`)."""
    opt = config.option
    others = [flag for flag, on in (("--lf", getattr(opt, "lf", False)), ("--sw", getattr(opt, "stepwise", False)),
                                    ("--deselect", bool(getattr(opt, "deselect", None)))) if on]
    others += [f"{name} {value}" for name, value in (getattr(run, "selectors", None) or {}).items()]
    return Selection(markers=(opt.markexpr or "").strip(), keyword=(opt.keyword or "").strip(),
                     paths=tuple(narrower_paths(config)), others=tuple(others))


def _roots(config: pytest.Config) -> list[Path]:
    root = config.rootpath
    named = [root / t for t in config.getini("testpaths")] or [root / "tests"]
    return [p.resolve() for p in named if p.exists()] or [root.resolve()]


def narrower_paths(config: pytest.Config) -> list[str]:
    """The test paths given on the command line that do not cover the whole suite (a file, a folder, a node id)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return []
    roots, out = _roots(config), []
    for arg in config.args:
        path, _, rest = str(arg).partition("::")
        where = (config.invocation_params.dir / path).resolve()
        if not rest and any(where == r or where in r.parents for r in roots):
            continue
        try:
            shown = where.relative_to(config.rootpath.resolve()).as_posix() + (f"::{rest}" if rest else "")
        except ValueError:
            shown = str(arg)
        out.append(shown)
    return out


def _owner(config: pytest.Config) -> Any:
    return config.stash.get(RUN, None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    run = _owner(config)
    if run is not None and getattr(run, "selection", None) is None:
        run.selection = requested(config, run)
    config.stash[_DROPPED] = [0, 0]


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    config = items[0].config
    dropped = config.stash.get(_DROPPED, None)
    if dropped is None:
        return
    keeps = markexpr_matcher(config.option.markexpr or "")
    dropped[0] += len(items)
    dropped[1] += sum(1 for item in items if keeps(item))


def pytest_collection_finish(session: pytest.Session) -> None:
    run = _owner(session.config)
    dropped = session.config.stash.get(_DROPPED, None)
    if run is None or dropped is None or run.selection is None:
        return
    run.selection = replace(run.selection, selected=len(session.items), deselected=dropped[0], outside=dropped[1])
    if is_worker(session.config):
        session.config.workeroutput[WORKER_KEY] = run.selection.to_dict()  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: the workers collected; the first to finish says what was selected."""
    run = _owner(node.config)
    theirs = Selection.from_dict(getattr(node, "workeroutput", {}).get(WORKER_KEY))
    if run is not None and theirs is not None and (run.selection is None or run.selection.selected is None):
        run.selection = replace(theirs, paths=run.selection.paths if run.selection else theirs.paths)

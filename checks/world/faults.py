"""The fault registry: every area's runbook faults (declared in checks/areas/<area>/faults.py with `@fault`),
and `parse_faults("DDB-03:products,S3-02", env)`, which turns a command-line spec into [(id, resource)].
A fault's id is its runbook id (S3-02), or the runbook id and a variant (S3-02.external) for another way
the same check fails; ids are matched without regard to case.

`FAULTS[id].inject(world, resource)` breaks exactly one thing in a built world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import import_module
from typing import Any

from checks.core.area import Expected, Fault, Kind, operations
from checks.core.config import Env

_declared: dict[str, Fault] = {}


def fault(fid: str, kind: Kind, description: str, *, fails: Mapping[str, str] = (), errors: Mapping[str, str] = (),
          changes: Iterable[str] = (), removes: str = "", needs: str = "",
          after: tuple[str, ...] = ()) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    """Declare a fault beside its injector (see checks.core.area.Fault for what each field promises)."""

    def register(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        area = fn.__module__.split(".")[2] if fn.__module__.startswith("checks.areas.") else ""
        _declared[fid] = Fault(fid, kind, description, _checked(fid, fn), dict(fails), dict(errors),
                               operations(*changes), removes, needs, area, after)
        return fn

    return register


def _checked(fid: str, fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def inject(world: Any, resource: Any = None) -> None:
        f = _declared[fid]
        resource = resource or f.default_resource(world.env)
        valid = f.resources(world.env)
        if valid and resource not in valid:
            raise ValueError(f"{fid}: unknown resource {resource!r}; valid: {', '.join(valid)}")
        fn(world, resource)

    return inject


def area_deploys() -> list[Callable[[Any], None]]:
    """Each area's own part of the reference deployment: a `deploy(world)` beside its faults, run after
    checks/world/build.py (what an area expects that the common build does not make)."""
    from checks import areas

    found = [getattr(import_module(a.faults), "deploy", None) for a in areas.declared().values() if a.faults]
    return [fn for fn in found if callable(fn)]


class _Registry(Mapping[str, Fault]):
    """Every area's faults, loaded on first use (their modules drive moto: drills and self-tests only)."""

    def _all(self) -> dict[str, Fault]:
        from checks import areas

        for area in areas.declared().values():
            if area.faults:
                import_module(area.faults)
        return _declared

    def __getitem__(self, fid: str) -> Fault:
        return self._all()[fid]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._all(), key=_order))

    def __len__(self) -> int:
        return len(self._all())


def _order(fid: str) -> tuple[int, str, int, str]:
    """Faults in the areas' order of their ids' prefixes, then by number (DDB-02 before DDB-10), then the
    runbook fault before its variants (S3-02, then S3-02.external)."""
    from checks import areas

    prefix, _, rest = fid.partition("-")
    number, _, variant = rest.partition(".")
    owner = areas.declared().get(areas.area_of_check(fid))
    return (owner.order if owner else 99, prefix, int(number) if number.isdigit() else 0, variant)


FAULTS: Mapping[str, Fault] = _Registry()


def injection_order(faults: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Faults that delete a resource go last (faults on that resource still apply first); a fault goes after
    the faults it declares `after` (it breaks what they keep consistent)."""
    pending = sorted(faults, key=lambda f: bool(FAULTS[f[0]].removes))
    out: list[tuple[str, str | None]] = []
    while pending:
        present = {fid for fid, _ in pending}
        ready = next(f for f in pending if not (set(FAULTS[f[0]].after) & (present - {f[0]})))
        pending.remove(ready)
        out.append(ready)
    return out


def oracle(faults: list[tuple[str, str | None]], env: Env) -> dict[str, Expected]:
    """What a whole run must show for these faults, from their declarations: short test id -> the check
    that fails or errors, and its resource; nothing else may fail. A fault that needs what another
    removes (on the same resource, or anywhere when it is not that kind of resource) adds nothing; an
    error wins over a failure."""
    out: dict[str, Expected] = {}
    for fid, resource in faults:
        f = FAULTS[fid]
        masked = f.needs and any(
            FAULTS[other].removes == f.needs and (f.kind != f.needs or res == resource)
            for other, res in faults if other != fid)
        if masked:
            continue
        for test, want in f.expect(env, resource).items():
            if out.get(test) is None or want.outcome == "error":
                out[test] = want
    return out


def parse_faults(spec: str, env: Env) -> list[tuple[str, str | None]]:
    """'DDB-03,S3-04:receipts/payment_failed.html' -> [(id, resource)]; ValueError on anything unknown."""
    out: list[tuple[str, str | None]] = []
    parts = [p.strip() for p in (spec or "").split(",")]
    if spec and not all(parts):
        raise ValueError(f"{spec!r} has an empty entry; give comma-separated fault ids, e.g. DDB-03,S3-02 "
                         f"(valid ids: {', '.join(FAULTS)})")
    for part in filter(None, parts):
        fid, _, resource = part.partition(":")
        fid = next((known for known in FAULTS if known.upper() == fid.strip().upper()), fid.strip())
        if fid not in FAULTS:
            raise ValueError(f"unknown fault {fid!r}; valid ids: {', '.join(FAULTS)}")
        f = FAULTS[fid]
        valid = f.resources(env)
        resource = resource.strip() or None
        if resource is None:
            resource = f.default_resource(env)
        elif not valid:
            raise ValueError(f"fault {fid} takes no resource, got {resource!r}")
        elif resource not in valid:
            raise ValueError(f"unknown resource {resource!r} for fault {fid}; valid: {', '.join(valid)}")
        out.append((fid, resource))
    return out

"""AWS Backup schedules: whether a schedule expression runs at a `backup.frequency` of environments.toml."""

from __future__ import annotations

from checks.core.config import CRON


def runs_at(expr: str | None, frequency: str) -> bool:
    """Is this schedule expression of the given frequency (`hourly`, `daily`)?"""
    if not expr:
        return False
    if expr == CRON[frequency]:
        return True
    fields = expr.removeprefix("cron(").removesuffix(")").split()
    return len(fields) == 6 and (fields[1] == "*" if frequency == "hourly" else fields[1].isdigit())

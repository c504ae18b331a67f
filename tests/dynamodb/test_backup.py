"""DDB-04 Backup plan missing."""

import pytest

from checks.areas.dynamodb.views import covers
from checks.core.snapshot import parse_time

pytestmark = [pytest.mark.dynamodb, pytest.mark.issue("DDB-04")]

WINDOW_HOURS = {"hourly": 2, "daily": 26}  # the schedule period plus a backup job's grace


@pytest.mark.smoke
def test_backup_vault(backup):
    vault = backup.env.backup.vault
    assert backup.vault_exists(vault), f"backup vault {vault} does not exist in {backup.region}"


@pytest.mark.smoke
@pytest.mark.issue("DDB-04", reports="plan")
def test_backup_plan(backup):
    want = backup.env.backup
    assert backup.plan_id, f"backup plan {want.plan} does not exist in {backup.region}"
    rules = [(r.get("ScheduleExpression"), r.get("Lifecycle", {}).get("DeleteAfterDays")) for r in backup.rules]
    kept = backup.rules_kept(want.frequency, want.retention_days)
    assert kept, f"plan {want.plan} has no {want.frequency} rule kept {want.retention_days} days; rules: {rules}"
    vaults = backup.target_vaults(kept)
    assert want.vault in vaults, (f"plan {want.plan}'s {want.frequency} rule backs up to vault "
                                  f"{' and '.join(vaults)}, expected {want.vault} (backup.vault)")


@pytest.mark.smoke
def test_backup_copy_to_dr(backup):
    want = backup.env.backup
    region = want.copy_to_region
    if not region:
        pytest.skip(f"env {backup.env.name} has no DR copy (backup.copy_to_region is empty)")
    copies = backup.copies
    here = [vault for r, vault, _ in copies if r == region]
    assert here, f"plan {want.plan} copies to {[arn for *_, arn in copies] or 'nowhere'}, expected a vault in {region}"
    assert not want.copy_vault or want.copy_vault in here, (
        f"plan {want.plan} copies to {', '.join(here)} in {region}, expected {want.copy_vault} (backup.copy_vault)")
    vault = want.copy_vault or here[0]
    assert backup.vault_exists(vault, region), (
        f"backup vault {vault} does not exist in {region} (the plan's copy action names it)")


@pytest.mark.smoke
def test_backup_selection_covers(backup, table):
    want, tags = backup.env.backup, table.tags
    named = [s for s in backup.selections if not want.selection or s.get("SelectionName") == want.selection]
    assert named, (f"plan {want.plan} has no selection {want.selection} (backup.selection; found: "
                   f"{', '.join(s.get('SelectionName', '?') for s in backup.selections) or 'none'})")
    assert any(covers(s, table.arn, tags) for s in named), (
        f"no selection {want.selection or 'of plan ' + want.plan} covers table {table.name} by ARN or tag")


@pytest.mark.extended
def test_recovery_point_recent(backup, table):
    collected = parse_time(backup.snapshot.meta.get("collected_at"))
    hours = WINDOW_HOURS[backup.env.backup.frequency]
    points = [parse_time(p.get("CreationDate")) for p in backup.recovery_points(table.arn)
              if p.get("Status") == "COMPLETED"]
    newest = max((p for p in points if p), default=None)
    assert newest is not None, f"table {table.name} has no completed recovery point in {backup.env.backup.vault}"
    age = (collected - newest).total_seconds() / 3600
    assert age <= hours, f"table {table.name} newest recovery point is {age:.1f} h old, expected within {hours} h"

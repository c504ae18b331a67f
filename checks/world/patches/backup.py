"""Backup: moto implements plans and vaults but not plan updates, backup selections nor recovery points."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import moto.backup.exceptions  # noqa: F401 - imported with this module (see checks.world.patches)
import moto.backup.responses  # noqa: F401
import moto.backup.urls  # noqa: F401


def _backup(account: str, region: str) -> Any:
    from moto.backup.models import backup_backends

    return backup_backends[account][region]


def add_recovery_point(account: str, region: str, vault: str, resource_arn: str,
                       created: dt.datetime, status: str = "COMPLETED") -> dict[str, Any]:
    """Backdoor: a recovery point in a vault (moto has no backup jobs)."""
    backend = _backup(account, region)
    v = backend.describe_backup_vault(vault)
    point = {
        "RecoveryPointArn": f"arn:aws:dynamodb:{region}:{account}:{resource_arn.split(':', 5)[-1]}"
                            f"/backup/{int(created.timestamp() * 1000):013d}-{uuid.uuid4().hex[:8]}",
        "BackupVaultName": vault, "BackupVaultArn": v.backup_vault_arn,
        "ResourceArn": resource_arn, "ResourceType": "DynamoDB", "Status": status,
        "CreationDate": created.timestamp(), "CompletionDate": created.timestamp() + 60,
        "IamRoleArn": f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
        "BackupSizeInBytes": 0, "EncryptionKeyArn": v.encryption_key_arn or "",
        "IsEncrypted": True, "StorageClass": "WARM",
    }
    backend.__dict__.setdefault("motofix_points", []).append(point)
    v.num_of_recovery_points += 1
    return point


def selections(account: str, region: str) -> dict[str, dict[str, Any]]:
    """Backdoor: selection id -> stored selection (mutable)."""
    return _backup(account, region).__dict__.setdefault("motofix_selections", {})


def patch() -> None:
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse

    urls.url_paths.setdefault("{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$", BackupResponse.dispatch)

    def _plan_part(self: Any) -> tuple[str, str]:
        m = re.search(r"/backup/plans/([^/]+)/selections/?([^/?]*)", self.path)
        return (m.group(1), unquote(m.group(2))) if m else ("", "")

    def create_backup_selection(self: Any) -> str:
        plan_id, _ = _plan_part(self)
        plan = self.backup_backend.get_backup_plan(plan_id, None)
        sel = dict(json.loads(self.body)["BackupSelection"])
        sel.setdefault("Resources", [])
        sel.setdefault("ListOfTags", [])
        sel.setdefault("NotResources", [])
        sel.setdefault("Conditions", {"StringEquals": [], "StringNotEquals": [], "StringLike": [],
                                      "StringNotLike": []})
        sid = str(uuid.uuid4())
        selections(self.current_account, self.region)[sid] = {
            "SelectionId": sid, "BackupPlanId": plan.backup_plan_id, "CreationDate": dt.datetime.now().timestamp(),
            "CreatorRequestId": json.loads(self.body).get("CreatorRequestId", ""), "BackupSelection": sel}
        return json.dumps({"SelectionId": sid, "BackupPlanId": plan.backup_plan_id,
                           "CreationDate": selections(self.current_account, self.region)[sid]["CreationDate"]})

    def _selection(self: Any) -> dict[str, Any]:
        plan_id, sid = _plan_part(self)
        found = selections(self.current_account, self.region).get(sid)
        if not found or found["BackupPlanId"] != plan_id:
            raise ResourceNotFoundException(msg=f"Selection {sid} not found")
        return found

    def get_backup_selection(self: Any) -> str:
        found = _selection(self)
        return json.dumps({k: found[k] for k in ("SelectionId", "BackupPlanId", "CreationDate",
                                                 "CreatorRequestId", "BackupSelection")})

    def delete_backup_selection(self: Any) -> str:
        found = _selection(self)
        del selections(self.current_account, self.region)[found["SelectionId"]]
        return "{}"

    def list_backup_selections(self: Any) -> str:
        plan_id, _ = _plan_part(self)
        self.backup_backend.get_backup_plan(plan_id, None)
        rows = [{"SelectionId": s["SelectionId"], "SelectionName": s["BackupSelection"]["SelectionName"],
                 "BackupPlanId": s["BackupPlanId"], "CreationDate": s["CreationDate"],
                 "CreatorRequestId": s["CreatorRequestId"], "IamRoleArn": s["BackupSelection"]["IamRoleArn"]}
                for s in selections(self.current_account, self.region).values() if s["BackupPlanId"] == plan_id]
        return json.dumps({"BackupSelectionsList": rows})

    def list_recovery_points_by_backup_vault(self: Any) -> str:
        vault = unquote(re.search(r"/backup-vaults/([^/]+)/recovery-points", self.path).group(1))
        self.backup_backend.describe_backup_vault(vault)
        points = [p for p in self.backup_backend.__dict__.get("motofix_points", []) if p["BackupVaultName"] == vault]
        query = parse_qs(urlsplit(self.uri).query)
        if "resourceArn" in query:
            points = [p for p in points if p["ResourceArn"] == query["resourceArn"][0]]
        return json.dumps({"RecoveryPoints": points})

    def update_backup_plan(self: Any) -> str:
        """UpdateBackupPlan: a new version of the plan's document under the same id (as an apply makes it)."""
        from moto.backup.models import Plan

        plan_id = unquote(re.search(r"/backup/plans/([^/?]+)", self.path).group(1))
        plan = self.backup_backend.get_backup_plan(plan_id, None)
        fresh = Plan(json.loads(self.body)["BackupPlan"], plan.creator_request_id, self.backup_backend)
        plan.backup_plan, plan.version_id = fresh.backup_plan, fresh.version_id
        return json.dumps({"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn,
                           "CreationDate": plan.creation_date, "VersionId": plan.version_id})

    for fn in (create_backup_selection, get_backup_selection, delete_backup_selection, list_backup_selections,
               list_recovery_points_by_backup_vault, update_backup_plan):
        setattr(BackupResponse, fn.__name__, fn)

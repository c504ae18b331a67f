"""One env of environments.toml as pydantic models (frozen, strict, no unknown keys), and what its values mean.

Every key says what honours it (`Honoured`), beside its type and default: a key nothing reads is dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


@dataclass(frozen=True)
class Honoured:
    """What honours a key of environments.toml: the test function that reads it (its name), or, for a run
    setting, the code (`path::name`). `flip` = (a value, another value): selftest/test_expectations.py builds
    a world to each, checks each against both, and sees `by` pass where they agree and fail where they differ
    (`may_skip`: the other value means "not required", so it may skip). `pair` groups flips that fit one env;
    a key the world builds without a flip says why (`no_flip`)."""
    by: str
    flip: tuple[Any, Any] | None = None
    pair: str = "A"
    may_skip: bool = False
    no_flip: str = ""  # why a key the world builds has no flip

KeyText = Annotated[str, Field(pattern=r"^[^:]+(:[SNB])?$", description="NAME or NAME:S|N|B")]
Count = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Gsi(_Model):
    hash_key: Annotated[KeyText, Honoured("test_gsi", flip=("status:S", "state:S"))]
    range_key: Annotated[KeyText | Literal[""], Honoured("test_gsi", flip=("created:S", "updated:S"))] = ""
    projection: Annotated[Literal["ALL", "KEYS_ONLY", "INCLUDE"],
                          Honoured("test_gsi", flip=("ALL", "KEYS_ONLY"))] = "ALL"


class TableSpec(_Model):
    gsis: dict[str, Gsi] = {}


class DynamoDB(_Model):
    tables: Annotated[dict[str, TableSpec],
                      Honoured("test_table_exists", flip=({"orders": {}}, {"invoices": {}}), pair="B")]
    hash_key: Annotated[KeyText, Honoured("test_table_exists", flip=("PK:S", "id:S"))] = "PK:S"
    range_key: Annotated[KeyText, Honoured("test_table_exists", flip=("SK:S", "sort:N"))] = "SK:S"
    billing_mode: Annotated[Literal["PAY_PER_REQUEST", "PROVISIONED"],
                            Honoured("test_billing_mode", flip=("PAY_PER_REQUEST", "PROVISIONED"))] = "PAY_PER_REQUEST"
    stream_view_type: Annotated[Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"],
                                Honoured("test_stream", flip=("NEW_AND_OLD_IMAGES", "KEYS_ONLY"))] = \
        "NEW_AND_OLD_IMAGES"
    pitr: Annotated[bool, Honoured("test_pitr_enabled", flip=(True, False))] = True
    sse: Annotated[Literal["KMS", "DEFAULT"], Honoured("test_table_encryption", flip=("KMS", "DEFAULT"))] = "KMS"
    deletion_protection: Annotated[bool,
                                   Honoured("test_deletion_protection", flip=(True, False), may_skip=True)] = False
    replicas: Annotated[list[str], Honoured("test_table_replicas", flip=(["eu-west-2"], []), may_skip=True)] = []
    tags: Annotated[dict[str, str],
                    Honoured("test_table_tag", flip=({"BackupPolicy": "daily"}, {"BackupPolicy": "hourly"}))] = {}


# The schedule each `backup.frequency` means (the world builds it; DDB-04 accepts any cron of that frequency).
CRON = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 2 * * ? *)"}


class Backup(_Model):
    vault: Annotated[str, Honoured("test_backup_vault", flip=("base-vault", "flipped-vault"), pair="B")]
    plan: Annotated[str, Honoured("test_backup_plan", flip=("base-plan", "flipped-plan"), pair="B")]
    selection: Annotated[str,
                         Honoured("test_backup_selection_covers", flip=("base-selection", "flipped-selection"))] = ""
    frequency: Annotated[Literal["daily", "hourly"], Honoured("test_backup_plan", flip=("daily", "hourly"))] = "daily"
    retention_days: Annotated[Count, Honoured("test_backup_plan", flip=(7, 35))] = 7
    copy_to_region: Annotated[str, Honoured("test_backup_copy_to_dr", flip=("eu-west-2", "eu-central-1"))] = ""
    copy_vault: Annotated[str, Honoured("test_backup_copy_to_dr", flip=("base-dr-vault", "flipped-dr-vault"))] = ""


class Lifecycle(_Model):
    rule: Annotated[str, Honoured("test_lifecycle_rule", flip=("base-rule", "flipped-rule"))]
    noncurrent_days: Annotated[Count, Honoured("test_lifecycle_rule", flip=(30, 60))]


class Replication(_Model):
    rule: Annotated[str, Honoured("test_replication_rule", flip=("base-rule", "flipped-rule"), pair="B")]
    destination: Annotated[str, Honoured("test_dr_bucket", flip=("base-dr-bucket", "flipped-dr-bucket"), pair="B")]
    role: Annotated[str,
                    Honoured("test_replication_role", flip=("base-replication-role", "flipped-replication-role"),
                             pair="B")]
    delete_markers: Annotated[bool, Honoured("test_replication_rule", flip=(True, False), pair="B")] = True
    time_control_minutes: Annotated[Count, Honoured("test_replication_rule", flip=(15, 5), pair="B")] = 15


class S3(_Model):
    bucket: Annotated[str, Honoured("test_bucket_exists", no_flip="every S3 check reads it: a flip hides the other S3 "
                                                            "flips (the S3-01 fault deletes it)")]
    templates: Annotated[list[str], Honoured("test_template", flip=(["base/a.html"], ["flipped/b.html"]))]
    lifecycle: Lifecycle | None = None
    versioning: Annotated[bool, Honoured("test_versioning_enabled", flip=(True, False))] = True
    encryption: Annotated[Literal["AES256", "aws:kms", "aws:kms:dsse"],
                          Honoured("test_default_encryption", flip=("AES256", "aws:kms"))] = "AES256"
    bucket_key: Annotated[bool, Honoured("test_default_encryption", flip=(True, False))] = True
    account_public_access_block: Annotated[bool,
                                           Honoured("test_account_public_access_block", flip=(True, False),
                                                    may_skip=True)] = True
    policy_statements: Annotated[list[str],
                                 Honoured("test_bucket_policy_not_public",
                                          flip=(["DenyInsecureTransport", "DenyPublicAccess",
                                                 "AllowLambdaReadTemplates", "AllowTerraformManagement"],
                                                ["DenyInsecureTransport", "DenyPublicAccess"]))] = []
    logging_bucket: Annotated[str, Honoured("test_access_logging", flip=("base-logs", "flipped-logs"))] = ""
    template_manifest: Annotated[str, Honoured("test_template", no_flip="a file of digests the user writes, not "
                                                                        "something the world builds")] = ""
    replication: Replication | None = None
    tags: Annotated[dict[str, str],
                    Honoured("test_bucket_tag", flip=({"Component": "s3"}, {"Component": "templates"}))] = {}


class AppRole(_Model):
    table_actions: Annotated[list[str],
                             Honoured("test_app_role_permissions",
                                      flip=(["dynamodb:GetItem"], ["dynamodb:Query"]))] = []
    bucket_actions: Annotated[list[str],
                              Honoured("test_app_role_permissions", flip=(["s3:GetObject"], ["s3:PutObject"]))] = []


class Iam(_Model):
    app_roles: dict[str, AppRole] = {}


class Terraform(_Model):
    state_bucket: Annotated[str, Honoured("test_state_bucket")]
    lock_table: Annotated[str, Honoured("test_lock_table_key")]
    state_key: Annotated[str, Honoured("test_state_parses")]
    required_version: Annotated[str, Honoured("test_terraform_parses")] = ">= 1.6"
    aws_provider: Annotated[str, Honoured("test_aws_provider_version")] = "~> 5.0"
    stale_lock_minutes: Annotated[Count, Honoured("test_lock_not_stale")] = 15
    allow_destroy: Annotated[list[str], Honoured("test_plan_no_stateful_destroy")] = []
    tfvars: Annotated[str,
                      Honoured("test_table_declared")] = ""  # each Terraform root's tfvars file; "": the usual names


class GitHub(_Model):
    workflow: Annotated[str, Honoured("test_workflow_exists")]
    environment: Annotated[str, Honoured("test_environment_reviewers")]
    repo: Annotated[str, Honoured("checks/areas/cicd/collector.py::github_settings")] = ""
    api_url: Annotated[str, Honoured("checks/areas/cicd/collector.py::github_settings")] = "https://api.github.com"
    required_approvers: Annotated[int, Field(ge=0), Honoured("test_environment_reviewers")] = 1
    approval_timeout_hours: Annotated[float, Field(gt=0), Honoured("test_no_approval_timeout")] = 6
    approval_exempt: Annotated[bool, Honoured("test_apply_needs_approval")] = False
    role_secret: Annotated[str, Honoured("test_oidc_id_token")] = ""
    release_tag: Annotated[str, Honoured("test_release_tag")] = ""


class Pdv(_Model):
    metrics_window_minutes: Annotated[Count, Honoured("test_no_throttling")] = 60
    replication_timeout_seconds: Annotated[Count, Honoured("test_replication_round_trip")] = 900


OPTIONAL_AREAS = ("backup", "s3.lifecycle", "terraform", "github")


class Env(_Model):
    name: str
    account: Annotated[str, Field(pattern=r"^\d{12}$", description="the 12-digit account id"),
                       Honoured("checks/plugin/live.py::guard_account")]
    region: Annotated[str, Field(pattern=r"\S"),
                      Honoured("test_table_exists", no_flip="every resource is in it: a flip fails every check (the "
                                                            "DDB-01 fault moves a table away)")]
    dynamodb: DynamoDB
    s3: S3
    backup: Backup | None = None
    terraform: Terraform | None = None
    github: GitHub | None = None
    omit: Annotated[list[Literal["backup", "s3.lifecycle", "terraform", "github"]],
                    Honoured("checks/core/config.py::_drop_omitted")] = []
    dr_region: Annotated[str, Honoured("test_dr_bucket", flip=("eu-west-2", "eu-central-1"), pair="B")] = ""
    profile: Annotated[str, Honoured("checks/core/aws.py::Aws")] = ""
    role_arn: Annotated[str, Honoured("checks/core/aws.py::Aws")] = ""
    embedded: Annotated[bool, Honoured("checks/plugin/live.py::start_live")] = False
    concurrency: Annotated[Count, Honoured("checks/core/collect.py::collect_all")] = 16
    retry_mode: Annotated[Literal["standard", "adaptive"], Honoured("checks/core/aws.py::Aws")] = "adaptive"
    max_attempts: Annotated[Count, Honoured("checks/core/aws.py::Aws")] = 6
    canary_allowed: Annotated[bool, Honoured("checks/plugin/run.py::canary_skip_reason")] = True
    infra_repo: Annotated[str, Honoured("checks/plugin/options.py::run_options")] = ""
    approvers: Annotated[list[str], Honoured("checks/evidence/report.py::view")] = []
    # Gate governance: the roles whose recorded approval (python -m checks.evidence.approve) a gate needs;
    # accepted risks (a waivers file, relative to this file; --waivers wins), which severities they may
    # waive, how far ahead one may expire, and how many days before its expiry it is flagged.
    approvals_required: Annotated[list[str], Honoured("checks/evidence/approvals.py::status")] = []
    waivers: Annotated[str, Honoured("checks/plugin/waiving.py::waivers_for")] = ""
    waivable: Annotated[list[Literal["P0", "P1", "P2", "P3"]],
                        Honoured("checks/core/waivers.py::parse")] = ["P1", "P2", "P3"]
    waiver_max_days: Annotated[Count, Honoured("checks/core/waivers.py::parse")] = 90
    waiver_warning_days: Annotated[int, Field(ge=0), Honoured("checks/core/waivers.py::parse")] = 14
    env_specific: Annotated[list[str], Honoured("test_parity")] = []
    tags: Annotated[dict[str, str],
                    Honoured("test_table_tag", flip=({"Environment": "base", "Project": "P"},
                                                     {"Environment": "flipped", "Project": "P"}))] = {}
    iam: Iam = Iam()
    pdv: Pdv = Pdv()
    source: str = ""  # the file this env came from, for messages

    @field_validator("account", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"must be a string (quote it: \"{value:012d}\"), got an integer {value}")
        return value

    @model_validator(mode="after")
    def _dr_region_for_replication(self) -> Env:
        if self.s3.replication is not None and not self.dr_region:
            raise ValueError("s3.replication needs 'dr_region' to be set")
        return self

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.dr_region] if self.dr_region else [])

    def table_tags(self) -> dict[str, str]:
        return {**self.tags, **self.dynamodb.tags}

    def bucket_tags(self) -> dict[str, str]:
        return {**self.tags, **self.s3.tags}

    @property
    def tables(self) -> dict[str, TableSpec]:
        return self.dynamodb.tables

    def absent(self, *areas: str) -> str:
        """Why the env does not check these areas ('' when it has them all): the skip reason of their checks."""
        for area in areas:
            value: Any = self
            for part in area.split("."):
                value = getattr(value, part)
            if value is None:
                how = "its `omit` drops it" if area in self.omit else "it has no such table"
                return f"env {self.name} does not check [{area}]: {how} in environments.toml"
        return ""


def inner_model(hint: Any) -> Any:
    """The model inside Optional[...] / dict[str, ...] / list[...], or the hint itself."""
    for arg in getattr(hint, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return hint

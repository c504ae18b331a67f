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
    means: str = ""  # what the key means, for README's table and the JSON Schema's description


KeyText = Annotated[str, Field(pattern=r"^[^:]+(:[SNB])?$", description="NAME or NAME:S|N|B")]
Count = Annotated[int, Field(ge=1)]
MAX_CONCURRENCY = 256  # threads of the collection pool: a larger pool only starves the machine (and hangs it)
Concurrency = Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Gsi(_Model):
    hash_key: Annotated[KeyText,
        Honoured("test_gsi", means="an expected GSI's hash key, `name:S|N|B` (DDB-02)", flip=("status:S", "state:S"))]
    range_key: Annotated[KeyText | Literal[""],
        Honoured("test_gsi", means="an expected GSI's range key (`\"\"`: none) (DDB-02)",
                 flip=("created:S", "updated:S"))] = ""
    projection: Annotated[Literal["ALL", "KEYS_ONLY", "INCLUDE"],
        Honoured("test_gsi", means="an expected GSI's projection (DDB-02)", flip=("ALL", "KEYS_ONLY"))] = "ALL"


class TableSpec(_Model):
    gsis: dict[str, Gsi] = {}


class DynamoDB(_Model):
    tables: Annotated[dict[str, TableSpec],
        Honoured("test_table_exists", means="the expected tables, each with its GSIs (DDB-01)",
                 flip=({"orders": {}}, {"invoices": {}}), pair="B")]
    hash_key: Annotated[KeyText,
        Honoured("test_table_exists", means="the table key schema's hash key, `name:S|N|B` (DDB-01)",
                 flip=("PK:S", "id:S"))] = "PK:S"
    range_key: Annotated[KeyText,
        Honoured("test_table_exists", means="the table key schema's range key (DDB-01)",
                 flip=("SK:S", "sort:N"))] = "SK:S"
    billing_mode: Annotated[Literal["PAY_PER_REQUEST", "PROVISIONED"],
        Honoured("test_billing_mode", means="table design: billing mode (PDV-02)",
                 flip=("PAY_PER_REQUEST", "PROVISIONED"))] = "PAY_PER_REQUEST"
    stream_view_type: Annotated[Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"],
        Honoured("test_stream", means="table design: the stream's view type (PDV-02)",
                 flip=("NEW_AND_OLD_IMAGES", "KEYS_ONLY"))] = "NEW_AND_OLD_IMAGES"
    pitr: Annotated[bool,
        Honoured("test_pitr_enabled", means="point-in-time recovery on (DDB-03 expects ENABLED) or off (DISABLED)",
                 flip=(True, False))] = True
    sse: Annotated[Literal["KMS", "DEFAULT"],
        Honoured("test_table_encryption",
                 means="encryption at rest: AWS-managed KMS key or the AWS owned key (PDV-02)",
                 flip=("KMS", "DEFAULT"))] = "KMS"
    deletion_protection: Annotated[bool,
        Honoured("test_deletion_protection", means="table design: deletion protection required (PDV-02; PROD)",
                 flip=(True, False), may_skip=True)] = False
    replicas: Annotated[list[str],
        Honoured("test_table_replicas", means="global-table replica regions (DDB-01)", flip=(["eu-west-2"], []),
                 may_skip=True)] = []
    tags: Annotated[dict[str, str],
        Honoured("test_table_tag", means="table tags, over `tags` (DDB-05)",
                 flip=({"BackupPolicy": "daily"}, {"BackupPolicy": "hourly"}))] = {}


# The schedule each `backup.frequency` means (the world builds it; DDB-04 accepts any cron of that frequency).
CRON = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 2 * * ? *)"}


class Backup(_Model):
    vault: Annotated[str,
        Honoured("test_backup_vault", means="the backup vault (DDB-04)", flip=("base-vault", "flipped-vault"),
                 pair="B")]
    plan: Annotated[str,
        Honoured("test_backup_plan", means="the backup plan (DDB-04)", flip=("base-plan", "flipped-plan"), pair="B")]
    selection: Annotated[str,
        Honoured("test_backup_selection_covers",
                 means="the selection that must cover each table (`\"\"`: any) (DDB-04)",
                 flip=("base-selection", "flipped-selection"))] = ""
    frequency: Annotated[Literal["daily", "hourly"],
        Honoured("test_backup_plan", means="the plan rule's schedule (DDB-04)", flip=("daily", "hourly"))] = "daily"
    retention_days: Annotated[Count,
        Honoured("test_backup_plan", means="the plan rule's retention (DDB-04)", flip=(7, 35))] = 7
    copy_to_region: Annotated[str,
        Honoured("test_backup_copy_to_dr", means="the DR copy: the region the copy action targets (DDB-04)",
                 flip=("eu-west-2", "eu-central-1"))] = ""
    copy_vault: Annotated[str,
        Honoured("test_backup_copy_to_dr",
                 means="the DR copy: the vault it names (`\"\"`: any vault there); DDB-04 reads the vault the "
                       "plan names",
                 flip=("base-dr-vault", "flipped-dr-vault"))] = ""


class Lifecycle(_Model):
    rule: Annotated[str,
        Honoured("test_lifecycle_rule", means="the noncurrent-version expiry rule's id (S3-03)",
                 flip=("base-rule", "flipped-rule"))]
    noncurrent_days: Annotated[Count,
        Honoured("test_lifecycle_rule", means="days before noncurrent versions expire (S3-03)", flip=(30, 60))]


class Replication(_Model):
    rule: Annotated[str,
        Honoured("test_replication_rule", means="the replication rule's id (S3-05, PDV-05; PROD)",
                 flip=("base-rule", "flipped-rule"), pair="B")]
    destination: Annotated[str,
        Honoured("test_dr_bucket", means="the DR bucket (S3-05)", flip=("base-dr-bucket", "flipped-dr-bucket"),
                 pair="B")]
    role: Annotated[str,
        Honoured("test_replication_role", means="the replication role (S3-05)",
                 flip=("base-replication-role", "flipped-replication-role"), pair="B")]
    delete_markers: Annotated[bool,
        Honoured("test_replication_rule", means="delete markers replicated, on or off (S3-05)", flip=(True, False),
                 pair="B")] = True
    time_control_minutes: Annotated[Count,
        Honoured("test_replication_rule", means="replication time control's threshold (S3-05)", flip=(15, 5),
                 pair="B")] = 15


class S3(_Model):
    bucket: Annotated[str,
        Honoured("test_bucket_exists", means="the templates bucket (S3-01)",
                 no_flip="every S3 check reads it: a flip hides the other S3 flips (the S3-01 fault deletes it)")]
    templates: Annotated[list[str],
        Honoured("test_template", means="the template objects (S3-04)", flip=(["base/a.html"], ["flipped/b.html"]))]
    lifecycle: Lifecycle | None = None
    versioning: Annotated[bool,
        Honoured("test_versioning_enabled", means="versioning on or off (S3-03)", flip=(True, False))] = True
    encryption: Annotated[Literal["AES256", "aws:kms", "aws:kms:dsse"],
        Honoured("test_default_encryption", means="default encryption algorithm (S3-06)",
                 flip=("AES256", "aws:kms"))] = "AES256"
    bucket_key: Annotated[bool,
        Honoured("test_default_encryption", means="S3 bucket key on (S3-06)", flip=(True, False))] = True
    account_public_access_block: Annotated[bool,
        Honoured("test_account_public_access_block", means="the account-level public access block is required (S3-02)",
                 flip=(True, False), may_skip=True)] = True
    policy_statements: Annotated[list[str],
        Honoured("test_bucket_policy_not_public", means="the bucket policy statements expected, by Sid (S3-02)",
                 flip=(["DenyInsecureTransport", "DenyPublicAccess", "AllowLambdaReadTemplates",
                        "AllowTerraformManagement"], ["DenyInsecureTransport", "DenyPublicAccess"]))] = []
    external_principals: Annotated[list[Annotated[str, Field(min_length=1)]],
        Honoured("test_bucket_policy_external_principals",
                 means="principals outside the account the bucket policy may Allow (S3-02): an account id (any "
                       "principal in it), or an ARN, canonical user id or service name (`*`/`?` wildcards); any "
                       "other is a finding",
                 flip=(["111122223333"], ["arn:aws:iam::444455556666:role/partner-reader"]))] = []
    logging_bucket: Annotated[str,
        Honoured("test_access_logging", means="the access-logging target (`\"\"`: no access logging) (S3-02)",
                 flip=("base-logs", "flipped-logs"))] = ""
    template_manifest: Annotated[str,
        Honoured("test_template", means="a file of `<sha256>  <key>` lines, relative to this file (S3-04)",
                 no_flip="a file of digests the user writes, not something the world builds")] = ""
    replication: Replication | None = None
    tags: Annotated[dict[str, str],
        Honoured("test_bucket_tag", means="bucket tags, over `tags` (DDB-05)",
                 flip=({"Component": "s3"}, {"Component": "templates"}))] = {}


class AppRole(_Model):
    table_actions: Annotated[list[str],
        Honoured("test_app_role_permissions",
                 means="actions an app role must be allowed on the tables (DDB-06 policy simulation)",
                 flip=(["dynamodb:GetItem"], ["dynamodb:Query"]))] = []
    bucket_actions: Annotated[list[str],
        Honoured("test_app_role_permissions",
                 means="actions an app role must be allowed on the bucket's objects (DDB-06)",
                 flip=(["s3:GetObject"], ["s3:PutObject"]))] = []


class Iam(_Model):
    app_roles: dict[str, AppRole] = {}


class Terraform(_Model):
    state_bucket: Annotated[str,
        Honoured("test_state_bucket", means="the Terraform state bucket (CICD-02, CICD-03, PDV-07)")]
    lock_table: Annotated[str,
        Honoured("test_lock_table_key", means="the Terraform lock table (CICD-02, CICD-05)")]
    state_key: Annotated[str,
        Honoured("test_state_parses", means="the state object's key (CICD-03, PDV-07)")]
    required_version: Annotated[str,
        Honoured("test_terraform_parses", means="the infra repo's Terraform constraint (CICD-02)")] = ">= 1.6"
    aws_provider: Annotated[str,
        Honoured("test_aws_provider_version", means="the infra repo's AWS provider constraint (CICD-02)")] = "~> 5.0"
    stale_lock_minutes: Annotated[Count,
        Honoured("test_lock_not_stale", means="a state lock older than this is stale (CICD-05)")] = 15
    allow_destroy: Annotated[list[str],
        Honoured("test_plan_no_stateful_destroy",
                 means="plan addresses that may be deleted or replaced (CICD-02)")] = []
    tfvars: Annotated[str,
        Honoured("test_table_declared",
                 means="the env's tfvars file per Terraform root for the static checks, `{env}` and globs "
                       "allowed (`\"\"`: the usual names, see \"Static checks\")")] = ""


class GitHub(_Model):
    workflow: Annotated[str,
        Honoured("test_workflow_exists", means="the env's deploy workflow file (CICD-01, CICD-06)")]
    environment: Annotated[str,
        Honoured("test_environment_reviewers", means="the GitHub environment that gates apply (CICD-04)")]
    repo: Annotated[str,
        Honoured("checks/areas/cicd/collector.py::github_settings",
                 means="the repository (`GITHUB_REPOSITORY` otherwise) (CICD-04, CICD-06)")] = ""
    api_url: Annotated[str,
        Honoured("checks/areas/cicd/collector.py::github_settings",
                 means="the REST API base (`GITHUB_API_URL` otherwise)")] = "https://api.github.com"
    required_approvers: Annotated[int, Field(ge=0),
        Honoured("test_environment_reviewers", means="reviewers the environment must require (CICD-04)")] = 1
    approval_timeout_hours: Annotated[float, Field(gt=0),
        Honoured("test_no_approval_timeout",
                 means="a run waiting for approval longer than this is a finding (CICD-04)")] = 6
    approval_exempt: Annotated[bool,
        Honoured("test_apply_needs_approval", means="this env applies without an approval job (CICD-01)")] = False
    role_secret: Annotated[str,
        Honoured("test_oidc_id_token", means="the secret holding the OIDC role's ARN (CICD-01)")] = ""
    release_tag: Annotated[str,
        Honoured("test_release_tag", means="the release tag the last deploy must carry (CICD-06)")] = ""


class Pdv(_Model):
    metrics_window_minutes: Annotated[Count,
        Honoured("test_no_throttling", means="PDV-06's metrics window")] = 60
    replication_timeout_seconds: Annotated[Count,
        Honoured("test_replication_round_trip", means="PDV-05's replication limit")] = 900


OPTIONAL_AREAS = ("backup", "s3.lifecycle", "terraform", "github")


class Env(_Model):
    name: str
    account: Annotated[str, Field(pattern=r"^\d{12}$", description="the 12-digit account id"),
        Honoured("checks/plugin/live.py::guard_account",
                 means="12-digit account id (the PDV-01 guard; S3-01 ownership)")]
    region: Annotated[str, Field(pattern=r"\S"),
        Honoured("test_table_exists", means="primary region: every table and bucket is expected there (DDB-01, S3-01)",
                 no_flip="every resource is in it: a flip fails every check (the DDB-01 fault moves a table away)")]
    dynamodb: DynamoDB
    s3: S3
    backup: Backup | None = None
    terraform: Terraform | None = None
    github: GitHub | None = None
    omit: Annotated[list[Literal["backup", "s3.lifecycle", "terraform", "github"]],
        Honoured("checks/core/config.py::_drop_omitted",
                 means="optional areas this env does not check: `backup`, `s3.lifecycle`, `terraform`, `github`")] = []
    dr_region: Annotated[str,
        Honoured("test_dr_bucket", means="DR region of PROD-shaped envs: the replication destination's region (S3-05)",
                 flip=("eu-west-2", "eu-central-1"), pair="B")] = ""
    profile: Annotated[str,
        Honoured("checks/core/aws.py::Aws", means="optional credentials: a named profile")] = ""
    role_arn: Annotated[str,
        Honoured("checks/core/aws.py::Aws",
                 means="optional credentials: a role to assume (renewed before it expires)")] = ""
    embedded: Annotated[bool,
        Honoured("checks/plugin/live.py::start_live", means="start the embedded moto world (env `local`)")] = False
    concurrency: Annotated[Concurrency,
        Honoured("checks/core/collect.py::collect_all",
                 means=f"collection pool size, 1 to {MAX_CONCURRENCY} (`--concurrency` wins)")] = 16
    retry_mode: Annotated[Literal["standard", "adaptive"],
        Honoured("checks/core/aws.py::Aws", means="botocore's retry mode")] = "adaptive"
    max_attempts: Annotated[Count,
        Honoured("checks/core/aws.py::Aws", means="botocore's attempts per call")] = 6
    canary_allowed: Annotated[bool,
        Honoured("checks/plugin/run.py::canary_skip_reason", means="may `--canary` write here (false in PROD)")] = True
    infra_repo: Annotated[str,
        Honoured("checks/plugin/options.py::run_options",
                 means="the infra repo, relative to this file (`--infra-repo` wins)")] = ""
    approvers: Annotated[list[str],
        Honoured("checks/evidence/report.py::view",
                 means="the gate's sign-off block (Product Owner, Tech Lead, Operations Lead)")] = []
    approvals_required: Annotated[list[str],
        Honoured("checks/evidence/approvals.py::status",
                 means="the roles whose signed approval a gate bundle needs (`python -m checks.evidence.approve`); "
                       "the report, replay and the index show \"approved by … (2 of 2)\" or \"awaiting: …\"")] = []
    waivers: Annotated[str,
        Honoured("checks/plugin/waiving.py::waivers_for",
                 means="accepted risks: a waivers file of `[[waiver]]` tables, relative to this file (`--waivers` "
                       "wins; see \"Accepting a risk\")")] = ""
    waivable: Annotated[list[Literal["P0", "P1", "P2", "P3"]],
        Honoured("checks/core/waivers.py::parse",
                 means="the severities a waiver may accept (a P0 only where an env lists it)")] = ["P1", "P2", "P3"]
    waiver_max_days: Annotated[Count,
        Honoured("checks/core/waivers.py::parse",
                 means="how many days after the run's start a waiver may expire (further is a usage error)")] = 90
    waiver_warning_days: Annotated[int, Field(ge=0),
        Honoured("checks/core/waivers.py::parse",
                 means="a waiver expiring within this many days of the run's start is flagged")] = 14
    env_specific: Annotated[list[str],
        Honoured("test_parity", means="PDV-08: configuration paths allowed to differ between envs")] = []
    tags: Annotated[dict[str, str],
        Honoured("test_table_tag", means="mandatory tags on every table and bucket (DDB-05)",
                 flip=({"Environment": "base", "Project": "P"}, {"Environment": "flipped", "Project": "P"}))] = {}
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

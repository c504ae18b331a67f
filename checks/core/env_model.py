"""One env of environments.toml as pydantic models (frozen, strict, no unknown keys), and what its values mean."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KeyText = Annotated[str, Field(pattern=r"^[^:]+(:[SNB])?$", description="NAME or NAME:S|N|B")]
Count = Annotated[int, Field(ge=1)]
MAX_CONCURRENCY = 256  # threads of the collection pool: a larger pool only starves the machine (and hangs it)
Concurrency = Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Gsi(_Model):
    hash_key: KeyText
    range_key: KeyText | Literal[""] = ""
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"


class TableSpec(_Model):
    gsis: dict[str, Gsi] = {}


class DynamoDB(_Model):
    tables: dict[str, TableSpec]
    hash_key: KeyText = "PK:S"
    range_key: KeyText = "SK:S"
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    stream_view_type: Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"] = "NEW_AND_OLD_IMAGES"
    pitr: bool = True
    sse: Literal["KMS", "DEFAULT"] = "KMS"
    deletion_protection: bool = False
    replicas: list[str] = []
    tags: dict[str, str] = {}


# The schedule each `backup.frequency` means (the world builds it; DDB-04 accepts any cron of that frequency).
CRON = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 2 * * ? *)"}


class Backup(_Model):
    vault: str
    plan: str
    selection: str = ""
    frequency: Literal["daily", "hourly"] = "daily"
    retention_days: Count = 7
    copy_to_region: str = ""
    copy_vault: str = ""


class Lifecycle(_Model):
    rule: str
    noncurrent_days: Count


class Replication(_Model):
    rule: str
    destination: str
    role: str
    delete_markers: bool = True
    time_control_minutes: Count = 15


class S3(_Model):
    bucket: str
    templates: list[str]
    lifecycle: Lifecycle | None = None
    versioning: bool = True
    encryption: Literal["AES256", "aws:kms", "aws:kms:dsse"] = "AES256"
    bucket_key: bool = True
    account_public_access_block: bool = True
    policy_statements: list[str] = []
    logging_bucket: str = ""
    template_manifest: str = ""
    replication: Replication | None = None
    tags: dict[str, str] = {}


class AppRole(_Model):
    table_actions: list[str] = []
    bucket_actions: list[str] = []


class Iam(_Model):
    app_roles: dict[str, AppRole] = {}


class Terraform(_Model):
    state_bucket: str
    lock_table: str
    state_key: str
    required_version: str = ">= 1.6"
    aws_provider: str = "~> 5.0"
    stale_lock_minutes: Count = 15
    allow_destroy: list[str] = []
    tfvars: str = ""  # the env\'s tfvars file relative to each Terraform root; "" looks for the usual names


class GitHub(_Model):
    workflow: str
    environment: str
    repo: str = ""
    api_url: str = "https://api.github.com"
    required_approvers: Annotated[int, Field(ge=0)] = 1
    approval_timeout_hours: Annotated[float, Field(gt=0)] = 6
    approval_exempt: bool = False
    role_secret: str = ""
    release_tag: str = ""


class Pdv(_Model):
    metrics_window_minutes: Count = 60
    replication_timeout_seconds: Count = 900


OPTIONAL_AREAS = ("backup", "s3.lifecycle", "terraform", "github")


class Env(_Model):
    name: str
    account: Annotated[str, Field(pattern=r"^\d{12}$", description="the 12-digit account id")]
    region: Annotated[str, Field(pattern=r"\S")]
    dynamodb: DynamoDB
    s3: S3
    backup: Backup | None = None
    terraform: Terraform | None = None
    github: GitHub | None = None
    omit: list[Literal["backup", "s3.lifecycle", "terraform", "github"]] = []
    dr_region: str = ""
    profile: str = ""
    role_arn: str = ""
    embedded: bool = False
    concurrency: Concurrency = 16
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: Count = 6
    canary_allowed: bool = True
    infra_repo: str = ""
    approvers: list[str] = []
    env_specific: list[str] = []
    tags: dict[str, str] = {}
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

"""Static checks: environments.toml's expectations checked in the infra repo's Terraform before deploy."""

from checks.core.area import Area

# Its tests carry the live checks' ids (and their topic's marker too): no prefix of its own.
AREA = Area(name="static", label="Terraform (static)", prefixes=(), order=5, aws_reads="none",
            markers={"static": "checks of the infra repo's Terraform before deploy (no AWS reads)"})

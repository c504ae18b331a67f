"""Static checks: environments.toml's expectations checked in the infra repo's Terraform before deploy."""

AWS_READS = "none"  # .tf / .tfvars / lock files only

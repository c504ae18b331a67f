"""CI/CD rules: pure functions from parsed inputs (workflows, Terraform roots, recorded responses) to Findings."""

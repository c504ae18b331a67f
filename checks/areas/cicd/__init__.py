"""CI/CD checks (CICD-01..06): pure parsers over recorded infra-repo files, plan, state and GitHub data.

`findings` has the Finding type; `workflows`, `terraform`, `plan` and `state` parse and judge;
`github` is the tiny recorded REST client; `views` reads the Snapshot for the tests;
`fixtures` is the pytest plugin module that hands the views to tests/cicd.
"""

AWS_READS = "some"  # workflows, Terraform, tfvars and the plan are files; the state backend and caller are AWS

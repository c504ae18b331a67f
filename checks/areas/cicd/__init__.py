"""CI/CD checks (CICD-01..06): pure parsers over recorded infra-repo files, plan, state and GitHub data.

`findings` has the Finding type; `workflows`, `terraform`, `plan` and `state` parse and judge;
`github` is the tiny recorded REST client; `views` reads the Snapshot for the tests;
`fixtures` is the pytest plugin module that hands the views to tests/cicd.
"""

from checks.areas.cicd import reads
from checks.core.area import Area

# Workflows, Terraform, tfvars and the plan are files; the state backend and the caller are AWS.
AREA = Area(name="cicd", label="CI/CD", prefixes=("CICD",), order=3, aws_reads="some",
            markers={"cicd": "CI/CD checks (workflows, Terraform, state backend, GitHub)"},
            reads=reads.READS, faults="checks.areas.cicd.faults")

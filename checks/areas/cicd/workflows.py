"""GitHub Actions workflows, the stand-alone entry points: parse, schema errors, structure rules, `lint(path)`.

The parts live in their own modules: yaml_lines (YAML with lines), model (Workflow/Job/Step, Repo), schema
(GitHub's JSON schema), shell (terraform commands in run: scripts) and rules/ (one module per rule family).
`lint(path)` is used on any workflow file, e.g. the suite's own post-deploy gate.
"""

from __future__ import annotations

from pathlib import Path

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import CHECK, Job, Repo, Step, Workflow, parse
from checks.areas.cicd.rules.approval import approval
from checks.areas.cicd.rules.backend import init_commands
from checks.areas.cicd.rules.concurrency import concurrency
from checks.areas.cicd.rules.expressions import boolean_inputs, injection
from checks.areas.cicd.rules.failures import hidden_failures
from checks.areas.cicd.rules.oidc import id_token, role_secret
from checks.areas.cicd.rules.pinning import actions_pinned
from checks.areas.cicd.rules.region import deploy_regions, region
from checks.areas.cicd.rules.reviewed_plan import reviewed_plan
from checks.areas.cicd.rules.syntax import dispatch_inputs, runner_labels
from checks.areas.cicd.schema import schema_errors
from checks.areas.cicd.shell import resolve, terraform_commands
from checks.core.collect import read_bounded
from checks.core.repo import WORKFLOW_DIR

__all__ = [
    "CHECK", "WORKFLOW_DIR", "Finding", "Job", "Repo", "Step", "Workflow", "actions_pinned", "approval",
    "boolean_inputs", "concurrency", "deploy_regions", "dispatch_inputs", "hidden_failures", "id_token",
    "init_commands", "injection", "lint", "parse", "region", "resolve", "reviewed_plan", "role_secret",
    "runner_labels", "schema_errors", "structure", "terraform_commands",
]


def structure(wf: Workflow, repo: Repo | None = None) -> list[Finding]:
    """Every structural rule that needs no env: labels, inputs, id-token, approval, pipefail, concurrency,
    expression types and script injection."""
    if not isinstance(wf.data, dict):
        return []
    return (runner_labels(wf) + dispatch_inputs(wf) + id_token(wf, repo) + approval(wf, repo)
            + hidden_failures(wf) + concurrency(wf, repo) + boolean_inputs(wf) + injection(wf))


def lint(path: Path, *, root: Path | None = None, repo: Repo | None = None) -> list[Finding]:
    """Schema and structure findings for one workflow file on disk (never raises for bad content)."""
    rel = path.relative_to(root).as_posix() if root else path.name
    try:
        text = read_bounded(path, root)  # the suite's one file reader: no symlink out of root, bounded
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(CHECK, "read", rel, f"cannot read: {exc}")]
    wf = parse(rel, text)
    return schema_errors(wf) + structure(wf, repo)

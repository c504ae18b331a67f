"""GitHub's workflow JSON schema (the copy vendored by check-jsonschema): one finding per schema error."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow


@cache
def _validator() -> Any:
    import importlib.resources

    import jsonschema

    ref = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    schema = json.loads(ref.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _leaves(err: Any) -> list[Any]:
    """The errors that explain a oneOf/anyOf failure: those of the branch the document most nearly matches."""
    if not err.context:
        return [err]
    branches: dict[Any, list[Any]] = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0] if e.relative_schema_path else 0, []).append(e)

    def score(errs: list[Any]) -> tuple[int, int, int]:
        required = sum(1 for e in errs if e.validator in ("required", "type", "const", "enum")
                       and len(e.absolute_path) <= len(err.absolute_path))
        return (required, -max(len(e.absolute_path) for e in errs), len(errs))

    best = min(branches.values(), key=score)
    return [leaf for e in best for leaf in _leaves(e)]


def schema_errors(wf: Workflow) -> list[Finding]:
    """Each schema error as its own finding, at the deepest location the schema explains."""
    if not isinstance(wf.data, dict):
        return list(wf.problems)
    out, seen = [], set()
    said = {k for f in wf.problems if f.rule == "structure" for k in ("on", "jobs")
            if f"`{k}:`" in f.message or f.message == f"no {k}"}
    for err in sorted(_validator().iter_errors(wf.data), key=lambda e: [str(p) for p in e.absolute_path]):
        for leaf in _leaves(err):
            at = tuple(leaf.absolute_path)
            msg = leaf.message if len(leaf.message) <= 240 else leaf.message[:237] + "..."
            if not at and any(leaf.message == f"'{k}' is a required property" for k in said):
                continue  # the structure problem says it already, with what the workflow would have done
            if (at, msg) not in seen:
                seen.add((at, msg))
                out.append(wf.finding("schema", msg, *at))
    return list(wf.problems) + out



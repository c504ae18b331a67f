"""CICD-01 supply chain: third-party actions pinned to a full commit SHA."""

from __future__ import annotations

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Workflow, steps
from checks.core import linear

SHA_RE = linear.compile(r"^[0-9a-f]{40}$")
FIRST_PARTY_OWNERS = {"actions", "github"}


def actions_pinned(wf: Workflow) -> list[Finding]:
    out = []
    refs: list[tuple[str, tuple]] = [(j.uses, ("jobs", j.id, "uses")) for j in wf.jobs.values() if j.uses]
    refs += [(s.uses, ("jobs", j.id, "steps", s.index, "uses")) for j, s in steps(wf) if s.uses]
    for uses, at in refs:
        if uses.startswith(("./", "docker://")):
            continue
        name, _, ref = uses.partition("@")
        if name.split("/")[0].lower() in FIRST_PARTY_OWNERS:
            continue
        if not SHA_RE.match(ref):
            out.append(wf.finding("pinned", f"third-party action {name}@{ref or '(no ref)'} is not pinned to a full "
                                  "commit SHA", *at,
                                  fix=f"replace @{ref or '(nothing)'} with the release's full 40-hex commit SHA "
                                      f"and keep `# {ref or 'the version'}` as a comment"))
    return out

"""How far the evidence index trusts one bundle, and the decision it shows for it.

A bundle is
- **verified** only when manifest.json's signature verifies against a pinned key (`--verify-key PUB` or an
  `--allowed-signers` file), every file matches its digest and no file is unlisted;
- **digests checked, signature not verified** when no key was pinned: anyone who edits a file can recompute
  the digests, so this is never called verified;
- **UNVERIFIED** (counted as NO-GO, with its reason) when anything above fails, when it is malformed, nested too
  deep, partial (no manifest: never sealed) or a real directory named `latest`, or when what it says disagrees
  with itself: the decision shown is derived again from its own results (checks.evidence.gate.decide over
  CheckRecord.from_dict rows, with the run's incomplete reasons), never read from gate.json alone, and a
  gate.json, results.json or manifest.json that says otherwise makes it UNVERIFIED.
Nothing here raises: every problem is a reason on an UNVERIFIED verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.core.record import CheckRecord
from checks.evidence.bundle import MANIFEST
from checks.evidence.gate import NO_GO, Gate, decide
from checks.evidence.keys import Signer
from checks.evidence.provenance import describe_git
from checks.evidence.replay import BundleError, check, load_json

VERIFIED, DIGESTS, UNVERIFIED = "verified", "digests", "unverified"
SAYS = {VERIFIED: "verified", DIGESTS: "digests checked, signature not verified", UNVERIFIED: "UNVERIFIED"}
MAX_JSON_BYTES = 64 << 20


@dataclass(frozen=True)
class Trust:
    status: str  # verified | digests | unverified
    decision: str  # derived from the bundle's own results; NO-GO when unverified
    problem: str = ""  # why it is unverified
    signer: str = ""  # "<principal> SHA256:..." of the pinned key that signed it
    manifest: Mapping[str, Any] = field(default_factory=dict)
    complete: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)
    blocking: list[str] = field(default_factory=list)  # the first reasons that make it NO-GO
    kind: str = ""
    kind_label: str = ""
    gate_run: bool = False
    infra: str = ""  # the infra commit checked, in words
    ci: str = ""  # the CI run that made it (a URL, shown as text)

    @property
    def says(self) -> str:
        """The verification in words, as the index shows it."""
        if self.status == VERIFIED:
            return f"verified: signed by {self.signer}"
        return SAYS[self.status] + (f": {self.problem}" if self.problem else "")


def unverified(problem: str, manifest: Mapping[str, Any] | None = None) -> Trust:
    return Trust(status=UNVERIFIED, decision=NO_GO, problem=problem, manifest=manifest or {})


def _doc(bundle: Path, name: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    if name not in manifest["files"]:
        raise BundleError(f"{name} is not in the bundle: its decision cannot be derived")
    if (bundle / name).stat().st_size > MAX_JSON_BYTES:
        raise BundleError(f"{name} is too large to be a bundle file")
    data = load_json(bundle / name, name)
    if not isinstance(data, dict):
        raise BundleError(f"{name} is malformed: not a JSON object")
    return data


def _reasons(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BundleError(f"{name} is malformed: 'incomplete' is not a list of reasons")
    return [v for v in value if not v.startswith("no check ran")]  # decide() adds that one itself


def derive(bundle: Path, manifest: Mapping[str, Any]) -> Gate:
    """The gate decided again from results.json's rows and the run's incomplete reasons, checked against what
    gate.json, results.json and manifest.json record. Raises BundleError on any disagreement."""
    gate, results = _doc(bundle, "gate.json", manifest), _doc(bundle, "results.json", manifest)
    rows = results.get("results")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise BundleError("results.json is malformed: 'results' is not a list of results")
    incomplete = _reasons(gate.get("incomplete"), "gate.json")
    recorded = manifest.get("incomplete")
    if recorded is not None and set(_reasons(recorded, MANIFEST)) != set(incomplete):
        raise BundleError("gate.json and manifest.json disagree on why the run is incomplete")
    derived = decide([CheckRecord.from_dict(r) for r in rows], incomplete)
    for name, doc in (("gate.json", gate), ("results.json", results), (MANIFEST, manifest)):
        if doc.get("decision") != derived.decision:
            raise BundleError(f"{name} says {doc.get('decision')!r} but its results decide {derived.decision}: "
                              "the bundle disagrees with itself")
        if "complete" in doc and bool(doc["complete"]) != derived.complete:
            raise BundleError(f"{name} says complete={doc['complete']!r}, its results say {derived.complete}")
    for name, doc in (("gate.json", gate), ("results.json", results)):
        for key in ("run_id", "env", "gate_run", "kind"):
            if key in doc and key in manifest and doc[key] != manifest[key]:
                raise BundleError(f"{name} and {MANIFEST} disagree on {key} ({doc[key]!r}, {manifest[key]!r})")
    return derived


def _kind(manifest: Mapping[str, Any]) -> tuple[str, str, bool]:
    kind = manifest.get("kind")
    if isinstance(kind, str) and kind:
        return kind, str(manifest.get("kind_label") or kind), manifest.get("gate_run") is True and kind == "gate"
    gate_run = manifest.get("gate_run", True) is True  # an older bundle: only whether it was a gate run
    return ("gate" if gate_run else "none"), ("gate run (kind not recorded: an older bundle)" if gate_run else
                                              "not a gate run"), gate_run


def assess(bundle: Path, pinned: Sequence[Signer] | None = None) -> Trust:
    """The index's verdict on one bundle directory; never raises."""
    if bundle.name == "latest" and not bundle.is_symlink():
        return unverified("a real directory named `latest`, not the suite's pointer: a copy whose origin cannot "
                          "be told; index the bundle it copies instead")
    if not (bundle / MANIFEST).is_file() and not (bundle / MANIFEST).is_symlink():
        sealed = ("" if not bundle.name.endswith((".unsealed", ".partial")) else
                  " (its run could not seal it, or is still writing it)")
        return unverified(f"{MANIFEST} is missing: a partial bundle that was never sealed{sealed}")
    try:
        verified = check(bundle, pinned, refusing="not trusting")
        manifest = verified.manifest
        derived = derive(verified.bundle, manifest)
    except BundleError as exc:
        return unverified(str(exc))
    except (OSError, UnicodeDecodeError, RecursionError, ValueError, TypeError, AttributeError) as exc:
        return unverified(f"unreadable: {type(exc).__name__}: {exc}")
    kind, label, gate_run = _kind(manifest)
    blocking = [f"{r.check or r.outcome}: {r.message}"[:300] for r in derived.blocking][:3]
    prov = manifest.get("provenance") if isinstance(manifest.get("provenance"), Mapping) else {}
    ci = prov.get("ci") if isinstance(prov.get("ci"), Mapping) else {}
    signer = verified.signer
    return Trust(status=VERIFIED if signer is not None else DIGESTS, decision=derived.decision,
                 signer=f"{signer.principal} {signer.fingerprint}".strip() if signer is not None else "",
                 manifest=manifest, complete=derived.complete, counts=derived.counts["by_outcome"], blocking=blocking,
                 kind=kind, kind_label=label, gate_run=gate_run,
                 infra=describe_git(prov.get("infra")) if prov.get("infra") else "not recorded",
                 ci=str(ci.get("url") or "") + (f" attempt {ci['attempt']}" if ci.get("attempt") else ""))

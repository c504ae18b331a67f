"""Terraform files (python-hcl2, through checks.core.hcl): parse, backend config, GSI attributes, resource
identities (CICD-02/03)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.core import hcl, linear
from checks.core.hcl import blocks

STATEFUL = ("aws_dynamodb_table", "aws_s3_bucket")
IDENTITY_ATTR = {"aws_dynamodb_table": "name", "aws_s3_bucket": "bucket"}


def parse_hcl(path: str, text: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The normalized HCL body, or None and a finding that names the file and, when known, the line."""
    body, error = hcl.parse(text)
    if error is not None:
        return None, [Finding("CICD-02", "hcl", path, error.message, "", error.line)]
    return body, []


@dataclass
class Resource:
    type: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass
class Root:
    """One Terraform root module: its parsed .tf files (rel path -> body)."""
    path: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resources(self) -> list[Resource]:
        out = []
        for f, body in self.files.items():
            for group in blocks(body.get("resource")):
                for typ, named in group.items():
                    for name, res in (named.items() if isinstance(named, dict) else []):
                        for r in blocks(res):
                            out.append(Resource(typ, name, r, f))
        return out

    def locals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for body in self.files.values():
            for b in blocks(body.get("locals")):
                out.update(b)
        return out

    def backend(self) -> tuple[str, dict[str, Any]] | None:
        for body in self.files.values():
            for tf in blocks(body.get("terraform")):
                for b in blocks(tf.get("backend")):
                    for typ, cfg in b.items():
                        return typ, (cfg if isinstance(cfg, dict) else {})
        return None

    def terraform_blocks(self) -> list[tuple[str, dict[str, Any]]]:
        """(file, `terraform {}` block) of every block, in file order."""
        return [(f, tf) for f, body in self.files.items() for tf in blocks(body.get("terraform"))]

    def identity(self, r: Resource) -> str:
        """The real-world name of a stateful resource, with locals substituted (vars stay symbolic)."""
        attr = IDENTITY_ATTR.get(r.type)
        value = str(r.body.get(attr, r.address)) if attr else r.address
        loc = self.locals()
        for _ in range(3):
            value = linear.sub(r"\$\{local\.([A-Za-z0-9_]+)\}", lambda m: str(loc.get(m.group(1), m.group(0))), value)
            value = linear.sub(r"^local\.([A-Za-z0-9_]+)$", lambda m: str(loc.get(m.group(1), m.group(0))), value)
        return value


def _literal(v: Any) -> str | None:
    return v if isinstance(v, str) and "${" not in v else None


def gsi_attributes(root: Root) -> list[Finding]:
    """Every key of a table and of its indexes is declared in an `attribute` block, and only keys are."""
    out = []
    for r in root.resources():
        if r.type != "aws_dynamodb_table":
            continue
        declared = {a.get("name") for a in blocks(r.body.get("attribute"))}
        if any(_literal(a) is None for a in declared) or "dynamic" in r.body and "attribute" in str(r.body["dynamic"]):
            continue  # computed attributes: cannot judge statically
        keys: dict[str, str] = {}
        computed = False  # a key named by a variable or expression: which attribute it needs is not known here
        for k in ("hash_key", "range_key"):
            if _literal(r.body.get(k)):
                keys[r.body[k]] = f"table {k}"
            computed |= r.body.get(k) is not None and _literal(r.body.get(k)) is None
        for kind in ("global_secondary_index", "local_secondary_index"):
            for idx in blocks(r.body.get(kind)):
                for k in ("hash_key", "range_key"):
                    v = _literal(idx.get(k))
                    if v:
                        keys.setdefault(v, f"{idx.get('name', '?')} {k}")
                    computed |= idx.get(k) is not None and v is None
            computed |= "dynamic" in r.body and kind in str(r.body["dynamic"])
        for key, used in keys.items():
            if key not in declared:
                out.append(Finding("CICD-02", "gsi-attribute", r.file, f"{r.address}: key {key!r} ({used}) has no "
                                   f"`attribute` block; plan fails with 'all indexes must have an attribute "
                                   f"definition'", r.address))
        for extra in sorted(a for a in declared - set(keys) if a and not computed):
            out.append(Finding("CICD-02", "gsi-attribute", r.file, f"{r.address}: attribute {extra!r} is declared "
                               "but is no table or index key; plan fails with 'all attributes must be indexed'",
                               r.address))
    return out


def backend_settings(root: Root, init_flags: list[str], env_files: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The backend settings after `-backend-config` flags: KEY=VALUE pairs or backend files."""
    got = root.backend()
    cfg: dict[str, str] = {k: str(v) for k, v in (got[1] if got else {}).items() if not isinstance(v, (dict, list))}
    for flag in init_flags:
        if "=" in flag and not flag.endswith((".hcl", ".tfbackend")):
            k, _, v = flag.partition("=")
            cfg[k.strip()] = v.strip()
        else:
            body = env_files.get(flag) or env_files.get(f"{root.path}/{flag}")
            if body:
                cfg.update({k: str(v) for k, v in body.items() if not isinstance(v, (dict, list))})
    return cfg

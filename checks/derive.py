"""Regenerate what is derived from the declarations: environments.schema.json (from the models of
environments.toml), iam/*.json (from the areas' READS), and README's permission list and key table.

    python -m checks.derive          # rewrite every derived file
    python -m checks.derive --check  # exit 1 naming each stale file, writing nothing (a selftest runs it)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from checks import permissions
from checks.core import config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCHEMA = ROOT / "environments.schema.json"


def _block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n)(.*?)(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README} has no <!-- {name}:begin --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def expected() -> dict[Path, str]:
    readme = README.read_text(encoding="utf-8")
    readme = _block(readme, "iam-readonly", permissions.readme_block())
    readme = _block(readme, "env-keys", config.key_table())
    return {SCHEMA: config.schema_text(), permissions.READONLY: permissions.policy_text(permissions.readonly_policy()),
            permissions.CANARY: permissions.policy_text(permissions.canary_policy()), README: readme}


def stale() -> list[Path]:
    return [p for p, text in expected().items() if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.derive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what is stale (exit 1), write nothing")
    args = parser.parse_args(argv)
    if args.check:
        out = stale()
        for p in out:
            print(f"{p.relative_to(ROOT)} is stale: run `python -m checks.derive`")
        return 1 if out else 0
    for p, text in expected().items():
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

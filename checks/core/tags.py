"""Tags as a remediation command takes them: one shell-quoted `--tags` argument."""

from __future__ import annotations

import shlex


def tag_arg(tags: dict[str, str]) -> str:
    """Tags as one shell-quoted `--tags` argument: Key=Value,Key=Value (the DDB-05 remediation sets them all)."""
    return shlex.quote(",".join(f"{k}={v}" for k, v in tags.items()))

"""The suite's redaction against detect-secrets on the same planted set (selftest/planted_secrets.py).

    pip install detect-secrets==1.5.0   # not a dependency of the suite: only this comparison needs it
    python bench/secrets_compare.py

Counts, per scanner, the planted secrets it finds (the redaction: the value no longer appears in the
masked text; detect-secrets: any secret reported in the file, which holds one) and the clean
look-alikes it flags. The issue: keep whichever finds more (see BENCHMARKS.md).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.evidence import redact  # noqa: E402
from selftest.planted_secrets import NOT_SECRETS, PLANTED  # noqa: E402


def by_redaction() -> tuple[set[str], int]:
    found = {name for name, text, secret in PLANTED if secret not in redact.text(text, [])}
    return found, sum(redact.text(t, []) != t for t in NOT_SECRETS)


def by_detect_secrets() -> tuple[set[str], int]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    found, flagged = set(), 0
    with tempfile.TemporaryDirectory() as tmp, default_settings():
        for i, (name, text, secret) in enumerate(PLANTED + [(f"clean {j}", t, "") for j, t in enumerate(NOT_SECRETS)]):
            path = Path(tmp) / f"f{i}.txt"
            path.write_text(text)
            coll = SecretsCollection()
            coll.scan_file(str(path))
            hits = [s for _, s in coll]
            if not secret:
                flagged += bool(hits)
            elif hits:  # generous: any report in the file counts (one planted secret per file)
                found.add(name)
    return found, flagged


def main() -> None:
    ours, our_false = by_redaction()
    print(f"planted: {len(PLANTED)} secrets, {len(NOT_SECRETS)} clean look-alikes")
    print(f"suite redaction: found {len(ours)}/{len(PLANTED)}, flagged {our_false} clean")
    try:
        theirs, their_false = by_detect_secrets()
    except ImportError:
        print("detect-secrets is not installed: pip install detect-secrets==1.5.0")
        return
    print(f"detect-secrets:  found {len(theirs)}/{len(PLANTED)}, flagged {their_false} clean")
    print(f"missed by the suite: {sorted(set(n for n, _, _ in PLANTED) - ours) or 'none'}")
    print(f"missed by detect-secrets: {sorted(set(n for n, _, _ in PLANTED) - theirs)}")


if __name__ == "__main__":
    main()

"""PDV-08 promotion parity: no configuration difference except those declared env-specific."""

import pytest

pytestmark = [pytest.mark.pdv, pytest.mark.issue("PDV-08")]


def test_parity(parity):
    diffs = [d for d in parity.differences() if not d.declared]
    other = parity.other.get("env", "other")
    assert not diffs, (f"{len(diffs)} undeclared difference(s) between {other} and {parity.env.name}: "
                       + "; ".join(d.describe(other, parity.env.name) for d in diffs))

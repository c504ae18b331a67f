"""The private pytest and pytest-html names the plugin relies on, each used here and nowhere else."""

from __future__ import annotations

import pytest


def captured_sections(item: pytest.Item) -> list[tuple[str, str]]:
    """The captured output sections of an item, as pytest's own report would carry them."""
    return [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]

"""The pytest plugin's entry point: the options, and the suite's hooks (`suite.py`) in the suite's own runs only.

Registered by the root conftest.py and as the `pytest11` entry point `checks.plugin`, so every pytest run of
the venv loads this module: it imports nothing heavy, and unless the run is the suite's own
(`options.suite_run`: its rootdir, or an option of the suite) it registers no hook, marker or file writer and
leaves the exit status to pytest.
"""

from __future__ import annotations

import pytest

from checks.plugin import hookspecs
from checks.plugin.options import (  # noqa: F401  (hooks)
    pytest_addoption,
    pytest_cmdline_main,
    pytest_load_initial_conftests,
    suite_run,
)

SUITE = "checks.plugin.suite"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if suite_run(config):
        config.pluginmanager.import_plugin(SUITE)  # its pytest_configure runs now, when it is registered

# The suite's pytest plugin; also installed as the pytest11 entry point "checks.plugin".
pytest_plugins = ["checks.plugin"]

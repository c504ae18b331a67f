"""BBWS storage compliance checks: the library behind the pytest suites in tests/."""

__version__ = "0.1.0"

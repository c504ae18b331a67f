"""Evidence and the gate: the Go/No-Go decision, the tamper-evident bundle, replay, the HTML report.

Modules: gate (the pure decision), bundle (atomic files, manifest, `latest`), replay (verify
then load a bundle's snapshot), redact (no secrets in evidence), html (pytest-html hooks),
summary (terminal and Markdown), plugin (the pytest hooks that tie them together).
"""

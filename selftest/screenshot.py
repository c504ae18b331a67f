"""Headless Chromium for evidence reports: screenshots to read, and a DOM probe for selftests.

    python selftest/screenshot.py                       # run `pytest --env local --fault S3-02`, shoot its report
    python selftest/screenshot.py reports/local/latest  # shoot an existing bundle (or a report.html)
    python selftest/screenshot.py BUNDLE out.png --height 2600
    python selftest/screenshot.py BUNDLE out.png --full # the whole page (height measured by the probe)

Exits 0 with "skipped" when no chromium is installed (Debian: apt-get install chromium).
`probe(html)` opens a copy of the page with one extra script (allowed by its hash in the page's own
Content-Security-Policy) that records the title, layout boxes and injection markers into the DOM, and
returns them with every console line the page logged.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio")
PROBE = """window.addEventListener('load', function () { setTimeout(function () {
  function box(el) { if (!el) { return null; } var r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: el.textContent.slice(0, 400)}; }
  var out = {title: document.title, pwned: window.__pwned || null,
    handlers: document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover],[onfocus]').length,
    injected: document.querySelectorAll('img[src="x"],svg,iframe,object,embed').length,
    scripts: document.scripts.length, decision: box(document.getElementById('bbws-decision')),
    fix: box(document.querySelector('#gate .cmd code')), glance: box(document.getElementById('glance')),
    rows: document.querySelectorAll('#results-table tbody.results-table-row').length,
    height: document.documentElement.scrollHeight, width: window.innerWidth, viewport: window.innerHeight};
  document.documentElement.setAttribute('data-probe', JSON.stringify(out));
}, 0); });"""


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def sample_bundle(reports: Path, faults: str = "S3-02") -> Path:
    """A fresh bundle from the embedded world with these faults."""
    cmd = [sys.executable, "-m", "pytest", "tests", "--env", "local", "-q", "-p", "no:randomly",
           "--reports", str(reports), *(["--fault", faults] if faults else [])]
    subprocess.run(cmd, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    bundles = sorted(p.parent for p in reports.glob("*/*/manifest.json") if not p.parent.is_symlink())
    if not bundles:
        raise SystemExit(f"no bundle was written under {reports}")
    return bundles[-1]


def _run(html: Path, width: int, height: int, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = browser()
    if exe is None:
        raise FileNotFoundError("chromium")
    with tempfile.TemporaryDirectory(prefix="bbws-chromium-") as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                               *extra, html.resolve().as_uri()],
                              check=True, capture_output=True, text=True, timeout=180)


def shoot(html: Path, out: Path, width: int = 1400, height: int = 2000) -> Path:
    _run(html, width, height, f"--screenshot={out.resolve()}")
    return out


def _sha256(text: str) -> str:
    import base64
    import hashlib
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def console_lines(stderr: str) -> list[str]:
    return [line.split("] ", 1)[-1] for line in stderr.splitlines() if ":CONSOLE" in line]


def probe(html: Path, width: int = 1400, height: int = 1000) -> dict[str, Any]:
    """Open the page (a probing copy beside it, so relative links resolve) and report what it did."""
    text = html.read_text(encoding="utf-8")
    if "script-src " in text:
        text = text.replace("script-src ", f"script-src {_sha256(PROBE)} ", 1)
    copy = html.with_name(f".probe-{html.name}")
    copy.write_text(text.replace("</body>", f"<script>{PROBE}</script></body>", 1), encoding="utf-8")
    try:
        done = _run(copy, width, height, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                    "--dump-dom")
    finally:
        copy.unlink(missing_ok=True)
    m = re.search(r'data-probe="([^"]*)"', done.stdout)
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")) if m else {}
    return {**found, "probed": m is not None, "console": console_lines(done.stderr), "dom": done.stdout}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", nargs="?", help="a bundle directory, a `latest` pointer or a report.html")
    ap.add_argument("out", nargs="?", default="report.png")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2000)
    ap.add_argument("--full", action="store_true", help="the whole page")
    ap.add_argument("--fault", default="S3-02", help="faults for the sample run (no target)")
    args = ap.parse_args(argv)
    if browser() is None:
        print("skipped: no chromium found (apt-get install chromium)")
        return 0
    if args.target:
        target = Path(args.target)
        if target.name == "latest" and target.is_file():
            target = target.parent / target.read_text().strip()
        html = target if target.suffix == ".html" else target / "report.html"
    else:
        html = sample_bundle(Path(tempfile.mkdtemp(prefix="bbws-reports-")), args.fault) / "report.html"
    height = args.height
    if args.full:
        height = int(probe(html, args.width, args.height).get("height") or args.height)
    out = shoot(html, Path(args.out), args.width, height)
    print(f"{html} -> {out} ({args.width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

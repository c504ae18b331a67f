"""Screenshot an evidence report in headless Chromium, to check it reads well. Not part of CI.

    python selftest/screenshot.py                       # run `pytest --env local --fault S3-02`, shoot its report
    python selftest/screenshot.py reports/local/latest  # shoot an existing bundle (or a report.html)
    python selftest/screenshot.py BUNDLE out.png --height 2600

Exits 0 with "skipped" when no chromium is installed (Debian: apt-get install chromium).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def sample_bundle(reports: Path) -> Path:
    """A fresh bundle from the embedded world with the S3-02 fault."""
    cmd = [sys.executable, "-m", "pytest", "tests", "--env", "local", "--fault", "S3-02", "-q", "-p", "no:randomly",
           "--reports", str(reports)]
    subprocess.run(cmd, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    bundles = sorted(p.parent for p in reports.glob("*/*/manifest.json"))
    if not bundles:
        raise SystemExit(f"no bundle was written under {reports}")
    return bundles[-1]


def shoot(html: Path, out: Path, width: int = 1400, height: int = 2000) -> Path:
    exe = browser()
    if exe is None:
        raise FileNotFoundError("chromium")
    with tempfile.TemporaryDirectory(prefix="bbws-chromium-") as profile:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={out}",
                        f"--window-size={width},{height}", html.resolve().as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", nargs="?", help="a bundle directory, a `latest` pointer or a report.html")
    ap.add_argument("out", nargs="?", default="report.png")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2000)
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
        html = sample_bundle(Path(tempfile.mkdtemp(prefix="bbws-reports-"))) / "report.html"
    out = shoot(html, Path(args.out), args.width, args.height)
    print(f"{html} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

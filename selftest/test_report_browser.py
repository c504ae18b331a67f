"""Issue 10.6 and 13 in a real browser: report.html opened in headless Chromium.

- attacker-controlled strings (test ids, resource names, messages, file contents, environment values,
  a workflow file name) run no script: the title is unchanged, no injected element or handler exists,
  nothing is logged; with the Content-Security-Policy removed too (escaping alone holds);
- the decision and the first remediation command are in the first screen (1400x1000);
- pytest-html's table still renders (its inline JS runs under the CSP) and the page logs no errors.

Skipped, with the reason, when no chromium is installed (Debian: apt-get install chromium).
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
from pathlib import Path

import pytest

from selftest.screenshot import browser, probe
from selftest.test_evidence import CONFTEST, PASS, Fake, failing

pytestmark = pytest.mark.skipif(browser() is None, reason="no chromium installed (apt-get install chromium)")

PAYLOAD = "x<img src=x onerror=\"window.__pwned=1;document.title='PWNED'\">"
PAYLOAD_ID = "x<img src=x onerror=document.title='PWNED'>"
SAMPLE = Path(__file__).resolve().parent / "infra_repo"

HOSTILE = PASS + '''
@pytest.mark.issue("S3-02")
@pytest.mark.sev("P0")
@pytest.mark.parametrize("name", ["PAYLOAD_ID", "b<svg onload=window.__pwned=2>"])
def test_hostile(request, name):
    request.node.obs = [{"service": "file", "response": {"text": "PAYLOAD</pre><script>window.__pwned=3</script>"}}]
    print("captured PAYLOAD")
    assert False, "bucket PAYLOAD is public <iframe src=javascript:window.__pwned=4>"
'''.replace("PAYLOAD_ID", PAYLOAD_ID.replace("'", "\\'")).replace("PAYLOAD", PAYLOAD.replace('"', '\\"'))

METADATA = '''

def pytest_metadata(metadata):
    metadata["Branch"] = "PAYLOAD"
'''.replace("PAYLOAD", PAYLOAD.replace('"', '\\"'))


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    f = Fake(pytester, monkeypatch)
    pytester.makeconftest(CONFTEST + METADATA)
    return f


def assert_inert(found: dict, title: str) -> None:
    assert found["probed"], found.get("console")
    assert found["title"] == title
    assert found["pwned"] is None and found["handlers"] == 0 and found["injected"] == 0
    assert found["console"] == []


def test_hostile_strings_run_no_script(fake: Fake) -> None:
    r, bundle = fake.run(HOSTILE)
    html = bundle / "report.html"
    title = "NO-GO · local · BBWS post-deploy gate evidence"
    found = probe(html)
    assert_inert(found, title)
    assert found["rows"] == 4  # pytest-html's JS ran under the CSP and drew every row
    dom = htmllib.unescape(re.sub(r"<[^>]+>", "", found["dom"]))
    assert "bucket " + PAYLOAD + " is public" in dom  # the strings are on the page, as text
    # escaping alone holds: the same page without its Content-Security-Policy
    bare = html.with_name("no-csp.html")
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html.read_text()))
    assert "Content-Security-Policy" not in bare.read_text()
    assert_inert(probe(bare), title)


def test_the_csp_blocks_an_injected_handler(tmp_path: Path, fake: Fake) -> None:
    """A positive control: the probe sees a handler that does run, and the CSP blocks it and says so."""
    r, bundle = fake.run(PASS)
    page = (bundle / "report.html").read_text()
    broken = bundle / "broken.html"
    broken.write_text(page.replace("</footer>", '</footer><img src="x" onerror="document.title=\'PWNED\'">'))
    found = probe(broken)
    assert found["title"] != "PWNED" and found["handlers"] == 1
    assert any("Content Security Policy" in line for line in found["console"]), found["console"]
    bare = bundle / "bare.html"
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                           broken.read_text()))
    assert probe(bare)["title"] == "PWNED"  # without the CSP the same markup runs: the probe can tell


def test_decision_and_first_fix_are_in_the_first_screen(fake: Fake) -> None:
    r, bundle = fake.run(failing("P1"))
    found = probe(bundle / "report.html", 1400, 1000)
    assert found["probed"] and found["console"] == []
    screen = min(1000, found["viewport"])
    assert found["decision"]["text"] == "Gate decision: NO-GO" and found["decision"]["bottom"] <= screen
    assert found["fix"]["text"] == "aws s3api put-thing --bucket res" and found["fix"]["bottom"] <= screen
    assert found["rows"] == 3


def test_a_workflow_file_name_runs_no_script(suite, tmp_path: Path) -> None:
    """The issue's own case: a workflow named deploy-x<img src=x onerror=...>.yml in the infra repo."""
    repo = tmp_path / "infra"
    shutil.copytree(SAMPLE, repo)
    wf = repo / ".github/workflows" / f"deploy-{PAYLOAD_ID}.yml"
    wf.write_text((repo / ".github/workflows/deploy-local.yml").read_text())
    r = suite.run("-m", "cicd", "--infra-repo", str(repo), tests=("tests/cicd",))
    page = (r.bundle / "report.html").read_text()
    assert f"deploy-{PAYLOAD_ID}.yml" in htmllib.unescape(page)  # the name reached the page
    kind = json.loads((r.bundle / "gate.json").read_text())["kind_label"]  # a partial selection (issue 20)
    assert_inert(probe(r.bundle / "report.html"), f"{r.results_json['decision']} · local · {kind} · "
                                                  "BBWS evidence, not a gate run")

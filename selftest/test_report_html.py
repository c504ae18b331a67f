"""Issue 13: report.html reads fix-first; issue 10.6: nothing in it is markup it did not write.

Static checks of the rendered file (the browser checks are in test_report_browser.py): the banner
carries each finding's command, a failure's message shows at most twice, passed rows carry no alarm
badge, the title names decision and env, paths are the bundle's own, the libraries are listed, the
print stylesheet puts the gate and the sign-off first, and the remediation splits into pasteable steps.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from checks.core.catalog import entry
from checks.core.record import CheckRecord
from checks.evidence import remedy
from checks.evidence.report import TEMPLATES, HtmlEvidence, sanitize, visible_text
from selftest.test_evidence import PASS, Fake, failing

PAYLOAD = "x<img src=x onerror=document.title='PWNED'>"


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return Fake(pytester, monkeypatch)


def test_banner_carries_each_findings_command_and_the_message_shows_at_most_twice(fake: Fake) -> None:
    r, bundle = fake.run(failing("P1"))
    page = (bundle / "report.html").read_text()
    gate = page.split('id="gate"')[1].split("</section>")[0]
    assert "Gate decision: NO-GO" in gate and "X-01" in gate
    assert re.search(r'<code id="fix-1">aws s3api put-thing --bucket res</code><button class="copy"', gate)
    text = visible_text(page)
    assert 1 <= text.count("the P1 thing is wrong") <= 2, text.count("the P1 thing is wrong")
    # the traceback is one click away, in the card, not repeated in the table row
    assert "<summary>Traceback and captured output</summary>" in page
    assert "the P1 thing is wrong" not in htmllib.unescape(page.split('data-jsonblob="')[1].split('"')[0])


def test_title_paths_libraries_and_counts(fake: Fake) -> None:
    r, bundle = fake.run(failing("P2"))
    page = (bundle / "report.html").read_text()
    assert "<title>CONDITIONAL GO · local · BBWS post-deploy gate evidence</title>" in page
    assert str(bundle) not in page and str(fake.pytester.path) not in page  # no runner-local paths
    assert f"local/{bundle.name}" in page and '<a href="snapshot.json">' in page
    for lib in ("boto3", "botocore", "moto"):
        assert re.search(rf"{lib} \d+\.\d+", page), lib
    assert "3 checks (one per test item): 2 passed" in page  # one unit for every count on the page
    assert "tests took" not in page and "assertions" not in page


def test_passed_rows_carry_no_severity_badge() -> None:
    base = {"check": "DDB-01", "resource": "r", "severity": "P0"}
    ev = SimpleNamespace(records={"t::ok": CheckRecord.from_dict({**base, "outcome": "passed"}),
                                  "t::bad": CheckRecord.from_dict({**base, "outcome": "failed"})})
    hooks = HtmlEvidence(ev)  # type: ignore[arg-type]
    cells = ['<td class="col-result">Passed</td>', "<td>t::ok</td>", "<td>1 ms</td>", "<td></td>"]
    hooks.pytest_html_results_table_row(SimpleNamespace(nodeid="t::ok", when="call"), cells)
    assert 'class="sev' not in "".join(cells) and '<td class="col-severity quiet">P0</td>' in cells
    cells = ['<td class="col-result">Failed</td>', "<td>t::bad</td>", "<td>1 ms</td>", "<td></td>"]
    hooks.pytest_html_results_table_row(SimpleNamespace(nodeid="t::bad", when="call"), cells)
    assert '<span class="sev P0">P0</span>' in "".join(cells)


def test_row_cells_and_pytest_html_data_are_escaped() -> None:
    ev = SimpleNamespace(records={PAYLOAD: CheckRecord.from_dict({"check": PAYLOAD, "resource": PAYLOAD,
                                                                  "severity": "P1", "outcome": "failed"})})
    hooks = HtmlEvidence(ev)  # type: ignore[arg-type]
    cells = ['<td class="col-result">Failed</td>', f'<td class="col-testId">{PAYLOAD}</td>', "<td></td>", "<td></td>"]
    hooks.pytest_html_results_table_row(SimpleNamespace(nodeid=PAYLOAD, when="call"), cells)
    assert "<img" not in "".join(cells) and "&lt;img" in cells[1]
    data = {"environment": {"Branch": PAYLOAD, "Plugins": {PAYLOAD: PAYLOAD}},
            "tests": {"t": [{"extras": [{"name": PAYLOAD, "format_type": "html", "content": PAYLOAD}]}]}}
    sanitize(data)
    assert "<img" not in repr(data)


def test_remediation_becomes_pasteable_steps() -> None:
    s302 = remedy.steps(entry("S3-02").remediation(bucket="b", account="123456789012"))
    assert [s.kind for s in s302] == ["command", "command", "prose", "command", "command"]
    assert s302[0].text.startswith("aws s3api put-public-access-block --bucket b ")
    assert s302[3].text == "aws s3api get-bucket-policy --bucket b --query Policy --output text > policy.json"
    ddb4 = remedy.commands(entry("DDB-04").remediation(region="r", plan_id="p", table_arn="a", account="1",
                                                       vault="v", selection="s"))
    assert len(ddb4) == 4 and ddb4[2].endswith("\"Resources\":[\"a\"]}'")  # quoted JSON kept whole
    assert remedy.steps("fix it; then: git tag x-$(date -u +%Y) && git push --tags") == [
        remedy.Step("prose", "fix it"), remedy.Step("prose", "then:"),
        remedy.Step("command", "git tag x-$(date -u +%Y)"), remedy.Step("command", "git push --tags")]
    assert remedy.first_command("terraform force-unlock 42 (only when stale)") == "terraform force-unlock 42"


def test_print_puts_the_gate_and_sign_off_on_page_one() -> None:
    css = (TEMPLATES / "report.css").read_text()
    printing = css.split("@media print")[1]
    order = {m.group(1): int(m.group(2)) for m in re.finditer(r"#([\w-]+) \{ order: (\d+);", printing)}
    assert order["gate"] < order["signoff"] < min(order["glance"], order["findings"], order["run"])
    assert re.search(r"#signoff \{[^}]*break-after: page", printing)
    assert re.search(r"#all-checks[^{]*\{ display: none", printing)


def test_the_template_is_autoescaped_and_loads_nothing_remote() -> None:
    source = (TEMPLATES / "report.html.jinja2").read_text()
    code = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    assert set(re.findall(r"(\w+)\s*\|\s*safe", code)) == {"styles", "page_css", "app_js", "copy_js", "th"}
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", code)  # no inline event handler
    assert "http://" not in source and "https://" not in source
    assert Path(TEMPLATES / "copy.js").is_file()


def test_a_go_page_has_no_findings_and_quiet_badges(fake: Fake) -> None:
    r, bundle = fake.run(PASS)
    page = (bundle / "report.html").read_text()
    assert "Gate decision: GO" in page and "No check failed and none was left unevaluated." in page
    assert '<ol class="reasons">' not in page
    assert re.findall(r'<span class="sev (P\d)">', page) == []  # all severity badges are quiet on GO

"""S3-04 Templates not uploaded."""

import pytest

from checks.areas.s3.templates import html_problems, manifest_digest

pytestmark = [pytest.mark.s3, pytest.mark.smoke, pytest.mark.issue("S3-04")]


def test_template(template):
    assert template.exists, f"s3://{template.bucket.name}/{template.key} is missing (NoSuchKey)"
    assert template.size > 0, f"s3://{template.bucket.name}/{template.key} is empty"
    assert template.content_type.split(";")[0] == "text/html", (
        f"s3://{template.bucket.name}/{template.key} has content type {template.content_type!r}, expected text/html")
    problems = html_problems(template.body)
    assert not problems, f"s3://{template.bucket.name}/{template.key}: " + "; ".join(problems)
    expected = manifest_digest(template.snapshot, template.env, template.key)
    assert expected in (None, template.sha256), (
        f"s3://{template.bucket.name}/{template.key} SHA-256 is {template.sha256}, manifest says {expected}")

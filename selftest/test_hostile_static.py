"""Issue 23 (2, 3): static evaluation of a hostile infra repo is sound and bounded.

A `try()`, `can()` or conditional whose deciding argument cannot be resolved is unresolved (an error
naming file:line), never a fallback taken to pass; sizes, steps and nesting are bounded, and each
bound is an error naming file:line. Pure functions over file texts: no pytest run, no AWS.
"""

from __future__ import annotations

import re

import pytest

from checks.areas.static import limits, rules
from checks.areas.static.model import build
from checks.areas.static.views import judge
from checks.core.config import load
from checks.core.outcome import Unverifiable

ENV = load()["sit"]
TABLE = '''resource "aws_dynamodb_table" "ledger" {
  name = "ledger"
  point_in_time_recovery {
    enabled = %s
  }
}
'''


def verdict(tf: str, extra: dict[str, str] | None = None) -> str:
    """"pass", "finding: ..." or "error: ..." of the static PITR rule, as the check would report it."""
    model = build({"infra/main.tf": tf, **(extra or {})}, "sit", ["dev", "sit", "prod"])
    (table,) = model.instances("aws_dynamodb_table")
    try:
        found = judge(f"{table.file}:{table.line} {table.address}", rules.pitr, table, ENV)
    except Unverifiable as exc:
        return f"error: {exc}"
    return f"finding: {found[0].message}" if found else "pass"


@pytest.mark.parametrize("tf", [
    # a variable given nowhere (CI may pass it with -var): Terraform uses that value, not the fallback
    'variable "backups" {}\nlocals {\n  flags = var.backups\n}\n' + TABLE % "try(local.flags.pitr, true)",
    # a function the evaluator does not know, reading a file that may say false
    TABLE % 'try(yamldecode(file("settings.yaml"))["pitr"], true)',
    # can() of an unknown value deciding a conditional
    'variable "pitr_on" {}\n' + TABLE % "can(var.pitr_on) ? var.pitr_on : true",
    # a conditional whose condition is a resource attribute
    TABLE % 'aws_ssm_parameter.mode.value == "off" ? false : true',
    # a declared object type whose optional attribute may default to false
    'variable "opts" {\n  type = object({ pitr = optional(bool, false) })\n  default = {}\n}\n'
    + TABLE % "try(var.opts.pitr, true)",
    # an element that cannot be resolved inside the value try() would return
    'variable "v" {}\n' + TABLE % "try([var.v, true], [true])[1]",
], ids=["unset-var", "unknown-function", "can-unknown", "conditional-on-ref", "optional-default", "element"])
def test_a_fallback_is_never_taken_on_an_unresolved_argument(tf: str) -> None:
    got = verdict(tf)
    assert re.match(r"error: infra/main.tf:\d+ aws_dynamodb_table.ledger: cannot be resolved statically", got), got


@pytest.mark.parametrize("tf, want", [
    # Terraform itself fails the first argument (no such attribute): it takes the fallback too
    ('locals {\n  flags = { other = 1 }\n}\n' + TABLE % "try(local.flags.pitr, true)", "pass"),
    ('locals {\n  flags = { other = 1 }\n}\n' + TABLE % "try(local.flags.pitr, false)", "finding"),
    ('locals {\n  flags = { pitr = false }\n}\n' + TABLE % "try(local.flags.pitr, true)", "finding"),
    ('locals {\n  xs = []\n}\n' + TABLE % "can(local.xs[0]) ? false : true", "pass"),
    ('locals {\n  xs = [false]\n}\n' + TABLE % "can(local.xs[0]) ? local.xs[0] : true", "finding"),
], ids=["no-attr-true", "no-attr-false", "attr-false", "can-empty", "can-false"])
def test_a_fallback_terraform_would_take_is_taken(tf: str, want: str) -> None:
    assert verdict(tf).startswith(want), verdict(tf)


def _chain(n: int, first: str, step: str) -> str:
    """locals { s0 = first; s1 = step(s0); ... }"""
    body = "".join(f"  s{i} = {step.format(p=f'local.s{i - 1}')}\n" for i in range(1, n))
    return f"locals {{\n  s0 = {first}\n{body}}}\n"


@pytest.mark.parametrize("tf, bound", [
    # doubling lists: 2^40 elements if nothing stopped it
    (_chain(41, '["a"]', "flatten([{p}, {p}])") + TABLE % "length(local.s40) > 0", "elements"),
    # doubling strings through format()
    (_chain(41, '"xy"', 'format("%s%s", {p}, {p})') + TABLE % 'local.s40 != ""', "characters"),
    # squaring a number
    (_chain(41, "3", "{p} * {p}") + TABLE % "local.s40 > 0", "bits"),
    # a map comprehension over 2500 x 2500 pairs
    ("locals {\n  ids = [" + ", ".join(f'"k{i}"' for i in range(2500)) + "]\n"
     "  grid = [for a in local.ids : [for b in local.ids : b if a != b]]\n}\n"
     + TABLE % "length(local.grid) > 0", "steps"),
    # a chain of 300 locals (once a RecursionError, reported as a failed check)
    (_chain(300, "true", "!{p}") + TABLE % "local.s299", "levels deep"),
    # brackets nested past the bound in one expression
    ("locals {\n  deep = " + "tolist(" * 90 + "[true]" + ")" * 90 + "\n}\n" + TABLE % "length(local.deep) > 0",
     "levels deep"),
], ids=["list-doubling", "string-doubling", "number-squaring", "grid", "local-chain", "brackets"])
def test_each_evaluation_bound_is_an_error_naming_file_and_line(tf: str, bound: str, monkeypatch) -> None:
    if bound == "steps":
        monkeypatch.setattr(limits, "MAX_STEPS", 5_000)  # the same bound, reached sooner (the real one: 100 000)
    got = verdict(tf)
    assert got.startswith("error: infra/main.tf:"), got
    assert bound in got and "infra/main.tf:" in got.split("cannot be resolved statically", 1)[1], got


def test_the_bounds_are_far_above_what_a_real_configuration_needs() -> None:
    assert limits.MAX_ITEMS >= 1000 and limits.MAX_DEPTH >= 32 and limits.MAX_STEPS >= 100_000
    tf = _chain(40, "{ a = 1 }", "merge({p}, {{ b = [[2]] }})") + TABLE % "length(keys(local.s39)) == 2"
    assert verdict(tf) == "pass"


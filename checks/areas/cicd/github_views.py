"""CI/CD views of the GitHub API: the approval environment, runs waiting for approval, last run, release tag."""

from __future__ import annotations

import datetime as dt
from typing import Any

from checks.areas.cicd.github import environment_path, pending_path, permission_hint, runs_path, waiting_path
from checks.areas.cicd.view_base import CicdView, collected_at, duration_text
from checks.core.config import Env
from checks.core.outcome import Missing, read
from checks.core.snapshot import Snapshot, parse_time

GH_ABSENT = {"HTTP404"}
GH_DENIED = {"HTTP403", "HTTP401"}


class GitHubView(CicdView):
    def __init__(self, snapshot: Snapshot, env: Env, name: str):
        super().__init__()
        self.snapshot, self.env, self.g = snapshot, env, env.github
        self.name = name
        meta = snapshot.meta.get("github") or {}
        self.skipped = meta.get("skipped") or ("" if meta.get("repo") else
                                               "the GitHub API checks need GITHUB_TOKEN and github.repo (or "
                                               "GITHUB_REPOSITORY): set GITHUB_TOKEN and github.repo in "
                                               "environments.toml (or GITHUB_REPOSITORY)")
        self.repo = meta.get("repo", "")
        self.run_id = ""
        self.environment = self.g.environment

    def _get(self, path: str, what: str, absent_ok: bool = False) -> dict[str, Any] | None:
        obs = self.snapshot.get("github", "", "GET", path=path)
        if obs is not None and absent_ok and obs.code in GH_ABSENT:
            return None
        return read(obs, what)

    def _environment(self) -> dict[str, Any] | None:
        obs = self.snapshot.get("github", "", "GET", path=environment_path(self.repo, self.g.environment))
        if obs is not None and obs.code in GH_DENIED:
            raise Missing(f"the token may not read environment {self.g.environment!r} of {self.repo} ({obs.code}): "
                          f"{permission_hint('environment')}")
        return self._get(environment_path(self.repo, self.g.environment), f"environment {self.g.environment}",
                         absent_ok=True)

    def reviewers(self) -> list[str]:
        got = self._environment()
        if got is None:
            return [f"environment {self.g.environment!r} does not exist in {self.repo}: deployments are not gated"]
        return reviewer_problems(got, self.g.environment, self.g.required_approvers)

    def waiting_too_long(self) -> list[str]:
        now = collected_at(self.snapshot)
        limit = dt.timedelta(hours=self.g.approval_timeout_hours)
        runs = self._get(waiting_path(self.repo), "waiting workflow runs") or {}
        out = []
        for run in runs.get("items", []):
            pending = self.snapshot.get("github", "", "GET", path=pending_path(self.repo, run.get("id")))
            entries = read(pending, f"pending deployments of run {run.get('id')}")
            entries = entries if isinstance(entries, list) else entries.get("items", entries) if isinstance(
                entries, dict) else []
            for p in entries if isinstance(entries, list) else []:
                name = (p.get("environment") or {}).get("name", "")
                if name != self.g.environment:
                    continue
                since = parse_time(p.get("wait_timer_started_at") or run.get("run_started_at")
                                   or run.get("created_at"))
                if since is None:
                    continue
                waited = now - since
                if waited > limit:
                    self.run_id = self.run_id or str(run.get("id"))
                    out.append(f"run {run.get('html_url') or run.get('id')} ({run.get('name', '')}) has waited "
                               f"{duration_text(waited)} for approval in environment {name!r} (limit "
                               f"{self.g.approval_timeout_hours:g} h)")
        return out

    def _latest(self, query: str, what: str) -> dict[str, Any] | None:
        got = self._get(runs_path(self.repo, self.g.workflow, query), what, absent_ok=True)
        if got is None:
            return None
        runs = got.get("workflow_runs", got.get("items", []))
        return runs[0] if runs else None

    def last_run(self) -> list[str]:
        run = self._latest("status=completed&per_page=1", f"runs of {self.g.workflow}")
        if run is None:
            return [f"{self.g.workflow} has no completed run in {self.repo}"]
        self.run_id = str(run.get("id", ""))
        if run.get("conclusion") != "success":
            return [f"the last run of {self.g.workflow} concluded {run.get('conclusion')!r}: "
                    f"{run.get('html_url', run.get('id'))} ({run.get('created_at', '')})"]
        return []

    def release_tag(self) -> list[str]:
        if not self.g.release_tag:
            raise Missing("github.release_tag is not set for this env")
        run = self._latest("status=success&per_page=1", f"successful runs of {self.g.workflow}")
        if run is None:
            return [f"{self.g.workflow} has no successful run: release {self.g.release_tag} is not deployed"]
        self.run_id = str(run.get("id", ""))
        if run.get("head_branch") != self.g.release_tag:
            return [f"the last successful deploy ran {run.get('head_branch')!r} "
                    f"({run.get('html_url', run.get('id'))}), expected release tag {self.g.release_tag!r}"]
        return []

    def context(self) -> dict[str, Any]:
        return {"repo": self.repo, "environment": self.environment, "run_id": self.run_id,
                "workflow": self.g.workflow}


def reviewer_problems(environment: dict[str, Any], name: str, required: int) -> list[str]:
    """The environment's required-reviewers rule lists `required` reviewers (a rule without a list is unknown)."""
    rules = [r for r in environment.get("protection_rules", []) if r.get("type") == "required_reviewers"]
    if not rules:
        return [f"environment {name!r} has no required-reviewers rule (expected {required})"]
    if any("reviewers" not in r for r in rules):
        raise Missing(f"environment {name!r} has a required-reviewers rule but the response lists no reviewers: "
                      f"{permission_hint('environment')}")
    n = sum(len(r.get("reviewers") or []) for r in rules)
    if n != required:
        return [f"environment {name!r} has {n} required reviewer(s), expected {required}"]
    return []

"""A tiny recorded GitHub REST client (urllib; no dependency).

Each GET becomes one Observation(service="github", region="", operation="GET",
params={"path": "/repos/o/r/..."}). A paginated list is followed through `Link: rel="next"`
and recorded as {"items": [...all pages...], "total_count": n}. HTTP errors and timeouts are
observation errors ("HTTP403", "TimeoutError", ...). The token is sent, never recorded.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from checks.core.snapshot import Observation, Snapshot, iso, now

LIST_KEYS = ("workflow_runs", "jobs", "environments", "artifacts", "workflows")
MAX_PAGES = 20


def _next_link(header: str | None) -> str | None:
    for part in (header or "").split(","):
        m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
        if m:
            return m.group(1)
    return None


class GitHub:
    def __init__(self, api_url: str, token: str, snapshot: Snapshot, timeout: float = 15.0):
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.snapshot = snapshot
        self.timeout = timeout

    def _request(self, url: str) -> tuple[Any, str | None]:
        req = urllib.request.Request(url, headers={
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {self._token}", "User-Agent": "bbws-checks",
        })
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (http/https API base only)
            body = resp.read()
            return (json.loads(body) if body else {}), _next_link(resp.headers.get("Link"))

    def get(self, path: str, *, paginate: bool = False) -> Observation:
        """GET path (with its query string); recorded once per path."""
        obs = Observation("github", "", "GET", {"path": path}, iso(now()))
        existing = self.snapshot.by_key(obs.key)
        if existing is not None:
            return existing
        url: str | None = self.api_url + path
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            obs.error = {"code": "BadURL", "message": f"the GitHub API base must be http(s), got {self.api_url!r}"}
            return self.snapshot.add(obs)
        try:
            items: list[Any] = []
            total = None
            pages = 0
            while url and pages < MAX_PAGES:
                data, url = self._request(url)
                pages += 1
                if not paginate:
                    obs.response = data
                    break
                if isinstance(data, list):
                    items.extend(data)
                elif isinstance(data, dict):
                    key = next((k for k in LIST_KEYS if isinstance(data.get(k), list)), None)
                    items.extend(data.get(key, []) if key else [])
                    total = data.get("total_count", total)
            if paginate:
                obs.response = {"items": items, "total_count": total if total is not None else len(items),
                                "pages": pages}
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"{}").get("message", "")
            except (ValueError, AttributeError):
                detail = ""
            obs.error = {"code": f"HTTP{exc.code}", "message": f"{exc.code} {exc.reason}: {detail}".strip(": ")}
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            obs.error = {"code": type(reason).__name__ if not isinstance(reason, str) else type(exc).__name__,
                         "message": str(reason)}
        return self.snapshot.add(obs)


def runs_path(repo: str, workflow: str, query: str = "") -> str:
    return f"/repos/{repo}/actions/workflows/{urllib.parse.quote(workflow)}/runs" + (f"?{query}" if query else "")


def environment_path(repo: str, name: str) -> str:
    return f"/repos/{repo}/environments/{urllib.parse.quote(name, safe='')}"


def waiting_path(repo: str) -> str:
    return f"/repos/{repo}/actions/runs?status=waiting&per_page=100"


def pending_path(repo: str, run_id: Any) -> str:
    return f"/repos/{repo}/actions/runs/{run_id}/pending_deployments"

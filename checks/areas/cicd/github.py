"""A tiny recorded GitHub REST client (urllib; no dependency).

Each GET becomes one Observation(service="github", region="", operation="GET",
params={"path": "/repos/o/r/..."}). A paginated list is followed through `Link: rel="next"`
and recorded as {"items": [...all pages...], "total_count": n}. HTTP errors and timeouts are
observation errors ("HTTP403", "TimeoutError", ...). The token is sent, never recorded, and only to the
configured API origin over https (http only to 127.0.0.1, for tests): a `Link` to any other origin is not
followed but recorded as a "ForeignLink" error that names it.
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
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# What a fine-grained, read-only token needs for each read (GitHub REST docs, "fine-grained access tokens").
PERMISSIONS = {
    "environment": "a fine-grained token needs the repository permission \"Actions: Read-only\" (environments "
                   "and their protection rules); a classic token needs the `repo` scope for a private repository",
    "runs": "a fine-grained token needs the repository permission \"Actions: Read-only\"",
}


def permission_hint(what: str) -> str:
    return PERMISSIONS.get(what, PERMISSIONS["runs"])


def origin(url: str) -> tuple[str, str, int | None]:
    u = urllib.parse.urlsplit(url)
    return u.scheme, (u.hostname or "").lower(), u.port


def allowed_base(url: str) -> str | None:
    """Why this API base may not receive the token (None when it may): https, or http to the loopback only."""
    scheme, host, _ = origin(url)
    if scheme == "https" and host:
        return None
    if scheme == "http" and host in LOOPBACK:
        return None
    return f"the GitHub API base must be https (or http://127.0.0.1 for tests), got {url!r}"


def _next_link(header: str | None) -> str | None:
    for part in (header or "").split(","):
        m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
        if m:
            return m.group(1)
    return None


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the origin: urllib would carry the Authorization header anywhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 (urllib's signature)
        if origin(newurl) != origin(req.full_url):
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to another origin not followed: {newurl}",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameOrigin)


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
        with _OPENER.open(req, timeout=self.timeout) as resp:  # https API origin (or loopback http) only
            body = resp.read()
            return (json.loads(body) if body else {}), _next_link(resp.headers.get("Link"))

    def get(self, path: str, *, paginate: bool = False) -> Observation:
        """GET path (with its query string); recorded once per path."""
        obs = Observation("github", "", "GET", {"path": path}, iso(now()))
        existing = self.snapshot.by_key(obs.key)
        if existing is not None:
            return existing
        url: str | None = self.api_url + path
        why = allowed_base(self.api_url)
        if why:
            obs.error = {"code": "BadURL", "message": why}
            return self.snapshot.add(obs)
        home = origin(self.api_url)
        try:
            items: list[Any] = []
            total = None
            pages = 0
            while url and pages < MAX_PAGES:
                if origin(url) != home:
                    obs.error = {"code": "ForeignLink", "message": f"page {pages + 1} is linked at {url}, outside "
                                 f"the API origin {self.api_url}: not followed (the token goes only to the API)"}
                    return self.snapshot.add(obs)
                data, url = self._request(url)
                if url:
                    url = urllib.parse.urljoin(self.api_url + path, url)
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

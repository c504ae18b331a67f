"""A small fake GitHub REST API for the CI/CD self-tests (127.0.0.1, a free port, in a thread).

Serves, shaped like the real API and only with `Authorization: Bearer <token>`:
  GET /repos/{o}/{r}/environments/{name}
  GET /repos/{o}/{r}/actions/runs?status=waiting          (Link pagination, per_page)
  GET /repos/{o}/{r}/actions/runs/{id}/pending_deployments
  GET /repos/{o}/{r}/actions/workflows/{file}/runs?status=...
Tests change `fake.state` (environments, runs, pending, status overrides) per case.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "ghs_selftest_token_0123456789"


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reviewers(n: int) -> list[dict[str, Any]]:
    return [{"type": "User", "reviewer": {"login": f"approver{i}", "id": 1000 + i}} for i in range(n)]


def environment(name: str, approvers: int) -> dict[str, Any]:
    rules = [{"id": 1, "node_id": "GA_1", "type": "required_reviewers", "prevent_self_review": True,
              "reviewers": reviewers(approvers)}] if approvers else []
    rules.append({"id": 2, "node_id": "GA_2", "type": "branch_policy"})
    return {"id": 161088068, "node_id": "EN_1", "name": name, "url": f"https://api.github.com/x/{name}",
            "html_url": f"https://github.com/o/r/deployments/activity_log?environments_filter={name}",
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "can_admins_bypass": False, "protection_rules": rules,
            "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}


def run(run_id: int, workflow: str, *, status: str = "completed", conclusion: str | None = "success",
        created: dt.datetime | None = None, head_branch: str = "main", repo: str = "o/r") -> dict[str, Any]:
    created = created or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return {"id": run_id, "name": workflow.removesuffix(".yml").replace("-", " ").title(), "head_branch": head_branch,
            "head_sha": "a" * 40, "path": f".github/workflows/{workflow}", "event": "push", "status": status,
            "conclusion": conclusion, "workflow_id": 1, "run_number": run_id % 1000, "run_attempt": 1,
            "html_url": f"https://github.com/{repo}/actions/runs/{run_id}", "created_at": iso(created),
            "updated_at": iso(created), "run_started_at": iso(created)}


def pending(env_name: str, started: dt.datetime, approvers: int = 1) -> dict[str, Any]:
    return {"environment": {"id": 1, "node_id": "EN_1", "name": env_name, "url": "", "html_url": ""},
            "wait_timer": 0, "wait_timer_started_at": iso(started), "current_user_can_approve": False,
            "reviewers": reviewers(approvers)}


class FakeGitHub:
    def __init__(self, repo: str = "o/r", token: str = TOKEN, page_size: int = 2):
        self.repo, self.token, self.page_size = repo, token, page_size
        self.state: dict[str, Any] = {"environments": {}, "runs": [], "pending": {}, "fail": {}}
        self.requests: list[str] = []
        self.auth_headers: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def clean(self, env_name: str = "local", workflow: str = "deploy-local.yml", approvers: int = 3) -> FakeGitHub:
        """A healthy repo: the environment has its reviewers, the last run succeeded, nothing waits."""
        self.state["environments"] = {env_name: environment(env_name, approvers)}
        self.state["runs"] = [run(101, workflow, head_branch="deploy-local-20250101-120000", repo=self.repo)]
        self.state["pending"] = {}
        return self

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(self.path)
                fake.auth_headers.append(self.headers.get("Authorization", ""))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"message": "Bad credentials"})
                status = fake.state["fail"].get(urlparse(self.path).path)
                if status:
                    return self._send(status, {"message": "Resource not accessible by integration"})
                code, body, link = fake.route(self.path)
                self._send(code, body, link)

            def _send(self, code: int, body: Any, link: str = "") -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def route(self, raw: str) -> tuple[int, Any, str]:
        u = urlparse(raw)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        prefix = f"/repos/{self.repo}"
        if not u.path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}, ""
        rest = u.path[len(prefix):]
        if m := re.fullmatch(r"/environments/([^/]+)", rest):
            env = self.state["environments"].get(m.group(1))
            return (200, env, "") if env else (404, {"message": "Not Found"}, "")
        if m := re.fullmatch(r"/actions/runs/(\d+)/pending_deployments", rest):
            return 200, self.state["pending"].get(int(m.group(1)), []), ""
        if rest == "/actions/runs":
            runs = [r for r in self.state["runs"] if "status" not in q or r["status"] == q["status"]]
            return self._page(u.path, q, runs)
        if m := re.fullmatch(r"/actions/workflows/([^/]+)/runs", rest):
            runs = [r for r in self.state["runs"] if r["path"].endswith("/" + m.group(1))]
            if "status" in q:
                runs = [r for r in runs if q["status"] in (r["status"], r["conclusion"])]
            runs.sort(key=lambda r: r["created_at"], reverse=True)
            return self._page(u.path, q, runs)
        return 404, {"message": "Not Found"}, ""

    def _page(self, path: str, q: dict[str, str], runs: list[dict[str, Any]]) -> tuple[int, Any, str]:
        per = min(int(q.get("per_page", 30)), self.page_size)
        page = int(q.get("page", 1))
        items = runs[(page - 1) * per: page * per]
        link = ""
        if page * per < len(runs):
            nq = "&".join(f"{k}={v}" for k, v in {**q, "page": page + 1}.items())
            link = f'<{self.url}{path}?{nq}>; rel="next"'
        return 200, {"total_count": len(runs), "workflow_runs": items}, link

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

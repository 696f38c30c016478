"""Fake Reddit and CryptoPanic HTTP servers on 127.0.0.1 serving the recorded-shape responses in
recorded/. Each has its own "now" (posts created later do not exist yet), a fault queue (a status
such as 429 with Retry-After, or a delay that makes the client time out) and a request log with
monotonic arrival times, so tests can assert what the real clients (praw/prawcore, httpx) sent."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

RECORDED = Path(__file__).resolve().parent / "recorded"
TOKEN = "tok-reddit-app-only-0123"


class _Base:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s
        self.requests: list[tuple[float, str, str, dict[str, str], dict[str, str]]] = []  # t, method, path, q, hdrs
        self.faults: deque[tuple[str, float, dict[str, str]]] = deque()
        self._server: ThreadingHTTPServer | None = None

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(("status", float(status), headers or {}))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(("delay", seconds, {}))

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server: (host, port)
        return f"http://{host}:{port}"

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[_Base]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                u = urlparse(self.path)
                q = {k: v[-1] for k, v in parse_qs(u.query).items()}
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append((time.monotonic(), method, u.path, q, hdrs))
                if fake.faults:
                    kind, value, extra = fake.faults.popleft()
                    if kind == "delay":
                        time.sleep(value)
                    elif kind == "status":
                        self._send(int(value), extra, {"message": "Too Many Requests", "error": int(value)})
                        return
                status, extra, payload = fake.handle(method, u.path, q, hdrs, body)
                self._send(status, extra, payload)

            def _send(self, status: int, extra: dict[str, str], payload: Any) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json; charset=UTF-8")
                    self.send_header("content-length", str(len(data)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        t = threading.Thread(target=self._server.serve_forever, daemon=True)
        t.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


class FakeReddit(_Base):
    """POST /api/v1/access_token (client credentials, HTTP basic auth) and GET /r/{sub}/new."""

    def __init__(
        self,
        now_s: float,
        client_id: str = "cid",
        client_secret: str = "csecret",
        rate_limit: int = 60,
        page_size: int = 100,
    ) -> None:
        super().__init__(now_s)
        self.page_size = page_size  # Reddit may return fewer than `limit` items a page
        self.client_id, self.client_secret = client_id, client_secret
        self.children = json.loads((RECORDED / "reddit_new.json").read_text())["children"]
        self.rate_limit = rate_limit
        self.used = 0
        self.t0 = time.monotonic()
        self.ratelimit_override: dict[str, str] | None = None

    def listing_requests(self) -> list[tuple[float, dict[str, str]]]:
        return [(t, q) for t, m, p, q, _ in self.requests if m == "GET" and p.endswith("/new")]

    def _rate_headers(self) -> dict[str, str]:
        if self.ratelimit_override is not None:
            return dict(self.ratelimit_override)
        elapsed = time.monotonic() - self.t0
        reset = 60 - int(elapsed) % 60
        return {
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-remaining": f"{max(0, self.rate_limit - self.used):.1f}",
            "x-ratelimit-reset": str(reset),
        }

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        if method == "POST" and path == "/api/v1/access_token":
            want = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if headers.get("authorization") != want:
                return 401, {}, {"message": "Unauthorized", "error": 401}
            return 200, {}, {"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        if headers.get("authorization") != f"bearer {TOKEN}":
            return (
                401,
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
                {"message": "Unauthorized", "error": 401},
            )
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "new":
            self.used += 1
            sub = parts[1].lower()
            posts = [
                c
                for c in self.children
                if c["data"]["subreddit"].lower() == sub and c["data"]["created_utc"] <= self.now_s
            ]
            after = query.get("after")
            if after:
                names = [c["data"]["name"] for c in posts]
                posts = posts[names.index(after) + 1 :] if after in names else []
            limit = min(100, self.page_size, int(query.get("limit", 25)))
            page = posts[:limit]
            nxt = page[-1]["data"]["name"] if len(posts) > limit and page else None
            return (
                200,
                self._rate_headers(),
                {
                    "kind": "Listing",
                    "data": {
                        "after": nxt,
                        "dist": len(page),
                        "modhash": "",
                        "geo_filter": "",
                        "children": page,
                        "before": None,
                    },
                },
            )
        return 404, {}, {"message": "Not Found", "error": 404}


class FakeCryptoPanic(_Base):
    """GET /api/v1/posts/?auth_token=&currencies=&filter=&kind=&public=&page= (20 results a page)."""

    PAGE = 20

    def __init__(self, now_s: float, token: str = "cp-secret-token-42") -> None:
        super().__init__(now_s)
        self.token = token
        self.results = json.loads((RECORDED / "cryptopanic_posts.json").read_text())["results"]

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        if path.rstrip("/") != "/api/v1/posts":
            return 404, {}, {"status": "Not found"}
        if query.get("auth_token") != self.token:
            return 401, {}, {"status": "Incomplete", "info": "Token not found"}
        codes = {c for c in query.get("currencies", "").upper().split(",") if c}
        kind = query.get("kind", "all")
        rows = [
            r
            for r in self.results
            if datetime.fromisoformat(r["published_at"].replace("Z", "+00:00")).timestamp() <= self.now_s
            and (not codes or codes & {c["code"] for c in r["currencies"]})
            and (kind == "all" or r["kind"] == kind)
        ]
        page = int(query.get("page", 1))
        chunk = rows[(page - 1) * self.PAGE : page * self.PAGE]
        nxt = None
        if page * self.PAGE < len(rows):
            nxt = f"{self.url}/api/v1/posts/?" + urlencode({**query, "page": page + 1})
        prev = f"{self.url}/api/v1/posts/?" + urlencode({**query, "page": page - 1}) if page > 1 else None
        return 200, {}, {"count": len(rows), "next": nxt, "previous": prev, "results": chunk}

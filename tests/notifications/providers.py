"""Real local HTTP servers that speak the providers' APIs as the backends expect them: the SMS
gateway's JSON API and a WeChat official account's token and template-message endpoints.

Each answers from a script: a list of answers taken one per request (the last one repeats), where an
answer is ``(status, body)`` or ``("hang", seconds)`` to keep the client waiting past its timeout."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: dict | None


@dataclass
class Route:
    answers: list
    seen: list[Seen] = field(default_factory=list)

    def next_answer(self):
        index = min(len(self.seen) - 1, len(self.answers) - 1)
        return self.answers[index]


class ProviderServer:
    """A ThreadingHTTPServer on 127.0.0.1 with one script per path."""

    def __init__(self, routes: dict[str, list]):
        self.routes = {path: Route(list(answers)) for path, answers in routes.items()}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, method: str):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                route = server.routes.get(parts.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                with server.lock:
                    route.seen.append(
                        Seen(
                            method,
                            parts.path,
                            {k: v[0] for k, v in parse_qs(parts.query).items()},
                            dict(self.headers),
                            json.loads(raw) if raw else None,
                        )
                    )
                    status, body = route.next_answer()
                if status == "hang":
                    time.sleep(body)
                    return
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def seen(self, path: str) -> list[Seen]:
        with self.lock:
            return list(self.routes[path].seen)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


SMS_PATH = "/v1/sms/send"
TOKEN_PATH = "/cgi-bin/token"
TEMPLATE_PATH = "/cgi-bin/message/template/send"

SMS_OK = (200, {"code": "OK", "message_id": "gw-1"})
TOKEN_OK = (200, {"access_token": "TOKEN-1", "expires_in": 7200})
TEMPLATE_OK = (200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332})

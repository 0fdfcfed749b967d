"""A real merchant-side receiver: an HTTP server (http.server, in a thread) on 127.0.0.1 that keeps
every request it gets — headers and the raw body, as a receiver must verify it — and answers from a
script: a list of answers taken one per request (the last one repeats). An answer is a status, a
``(status, body_bytes, headers)`` tuple, or ``("hang", seconds)`` to keep the sender waiting."""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, answers: list | None = None, *, tls_context: ssl.SSLContext | None = None):
        self.answers = list(answers or [200])
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append(Received("POST", self.path, dict(self.headers), body))
                    index = min(len(receiver.requests), len(receiver.answers)) - 1
                    answer = receiver.answers[index]
                if isinstance(answer, tuple) and answer[0] == "hang":
                    time.sleep(answer[1])
                    return
                status, payload, headers = (answer, b"ok", {}) if isinstance(answer, int) else answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                with receiver.lock:
                    receiver.requests.append(Received("GET", self.path, dict(self.headers), b""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls_context is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str = "/hooks", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

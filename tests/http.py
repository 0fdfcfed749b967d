"""Real HTTP requests to a server the tests started (gunicorn, see the ``gunicorn_server`` fixture)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def http_request(
    url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None
) -> tuple[int, dict, bytes]:
    """One real HTTP request: (status, headers, body), whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> tuple[int, dict]:
    status, _headers, body = http_request(url)
    return status, json.loads(body)

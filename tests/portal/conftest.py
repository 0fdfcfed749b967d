"""Fixtures of the portal tests: the web served by gunicorn, as production serves it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import BASE_DIR, database_url_for, wait_for


def http_request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One real HTTP request: (status, headers, body), whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> tuple[int, dict]:
    status, _headers, body = http_request(url)
    return status, json.loads(body)


@pytest.fixture
def gunicorn_server(transactional_db, tmp_path):
    """The web as production runs it: gunicorn with persistent connections, on the test database.
    What it writes goes to ``server.log`` beside the test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "DB_CONN_MAX_AGE": "600",
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _reachable(url), timeout=30, message="gunicorn to start")
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def _reachable(url: str) -> bool:
    try:
        get_json(f"{url}/healthz")
        return True
    except OSError:
        return False

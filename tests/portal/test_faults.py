"""Faults the portal must survive: a dropped database connection, Redis down."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from tests.conftest import BASE_DIR, database_url_for, wait_for
from tests.http import get_json


def test_web_recovers_when_the_database_drops_its_connections(gunicorn_server):
    """A PostgreSQL restart drops every connection; the web must reconnect on the next request,
    without a restart of its own (CONN_HEALTH_CHECKS)."""
    assert get_json(f"{gunicorn_server}/healthz")[0] == 200
    with psycopg.connect(database_url_for(connection.settings_dict), autocommit=True) as admin:
        killed = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = '' "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND pid NOT IN (%s)",
                [_own_pid()],
            ).fetchall()
            if admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        ]
        assert killed, "the web held no connection to drop"
        # pg_terminate_backend only signals: as after a restart, the old backends are gone first.
        wait_for(
            lambda: (
                not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [killed]).fetchone()
            ),
            timeout=10,
            message="the terminated backends to exit",
        )

    status, body = get_json(f"{gunicorn_server}/healthz")
    assert status == 200, body
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_an_idle_connection_is_usable_until_the_server_drops_it():
    """The health check reads the socket: a live idle connection is usable, one whose backend the
    server terminated is not (so Django opens a new one before the request's first query)."""
    pid = _own_pid()
    assert connection.is_usable()
    with psycopg.connect(database_url_for(connection.settings_dict), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    wait_for(lambda: not connection.is_usable(), timeout=10, message="the dropped connection to be seen")
    connection.close_if_unusable_or_obsolete()
    assert _own_pid() != pid


def _own_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_pages_answer_with_security_headers(client):
    response = client.get("/healthz")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_every_line_the_web_server_writes_is_a_json_log_record(gunicorn_server, tmp_path):
    assert get_json(f"{gunicorn_server}/healthz")[0] == 200
    assert get_json(f"{gunicorn_server}/api/v1/redemptions/")[0] == 401  # Django logs a warning for it
    log = tmp_path / "server.log"
    wait_for(lambda: b"GET /api/v1/redemptions/" in log.read_bytes(), timeout=10, message="the access log")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"timestamp", "levelname", "name", "message"} <= set(records[0])
    names = {record["name"] for record in records}
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= names
    assert any(record["message"].startswith("Listening at") for record in records)


def test_python_warnings_are_json_log_records_too():
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import warnings; warnings.warn('disk nearly full', RuntimeWarning)",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "disk nearly full" in line]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["name"] == "py.warnings"
    assert record["levelname"] == "WARNING"

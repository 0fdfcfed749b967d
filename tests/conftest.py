"""Fixtures shared by the whole suite. Tests run against real PostgreSQL and Redis (DATABASE_URL /
REDIS_URL, or the embedded services that `make test` starts)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from members.models import Union
from merchants.apikeys import forget_keys
from portal.roles import Role, ensure_roles
from tests.factories import UnionFactory, UserFactory
from tests.http import get_json

BASE_DIR = Path(__file__).resolve().parent.parent


def pytest_terminal_summary(terminalreporter):
    """Browser journeys skipped for want of Chromium are named at the end of the run, where it is seen
    (this conftest is the one loaded by the controlling process under xdist too)."""
    from tests.e2e.conftest import SKIPPED_WITHOUT_CHROMIUM, chromium_path

    skipped = terminalreporter.stats.get("skipped", [])
    if any("tests/e2e/" in report.nodeid for report in skipped) and not chromium_path():
        terminalreporter.write_line(SKIPPED_WITHOUT_CHROMIUM, yellow=True, bold=True)


@pytest.fixture(autouse=True)
def _isolated_queue_and_cache(settings, request):
    """Each test sends tasks to its own queue and reads its own cache keys, so parallel test
    processes (and a developer's running portal) never see each other's messages."""
    settings.CELERY_TASK_DEFAULT_QUEUE = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {**django_settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    }
    forget_keys()  # what a web process remembers of POS keys, too
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a page requested in English leaves English active in
    the thread, and code outside a request (a task, a service) would speak it in the next test."""
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def roles(db):
    ensure_roles()


@pytest.fixture
def tree(db):
    """A small province: 2 cities, 2 counties each, 2 workplaces per county.

    codes: P; C1, C2; C1A, C1B, C2A, C2B; C1A1, C1A2, ... (all reachable as attributes)."""

    class Tree(dict):
        def __getattr__(self, name):
            return self[name]

    nodes = Tree()
    nodes["P"] = UnionFactory(code="P", name="省总工会", level=Union.Level.PROVINCE)
    for city in ("C1", "C2"):
        nodes[city] = UnionFactory(
            code=city, name=f"{city}市总工会", level=Union.Level.CITY, parent=nodes["P"]
        )
        for county in ("A", "B"):
            code = f"{city}{county}"
            nodes[code] = UnionFactory(
                code=code, name=f"{code}县总工会", level=Union.Level.COUNTY, parent=nodes[city]
            )
            for work in ("1", "2"):
                wcode = f"{code}{work}"
                nodes[wcode] = UnionFactory(
                    code=wcode, name=f"{wcode}单位工会", level=Union.Level.WORKPLACE, parent=nodes[code]
                )
    return nodes


@pytest.fixture
def make_staff(roles):
    """make_staff(union, role=Role.COUNTY_OPERATOR) → a staff user of that union with that role."""

    def make(union, role: Role = Role.COUNTY_OPERATOR, **extra):
        user = UserFactory(union=union, **extra)
        user.groups.add(role.group())
        return user

    return make


CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """Redis, the cache and the Celery broker point at a closed port: every call really tries to
    connect and is refused, as when the Redis server is stopped."""
    from discounts.api import pos as pos_api
    from portal.celery import app as celery_app

    settings.REDIS_URL = CLOSED_REDIS
    settings.CACHES = {"default": {**django_settings.CACHES["default"], "LOCATION": CLOSED_REDIS}}
    previous_broker = celery_app.conf.broker_url
    _point_celery_at(celery_app, CLOSED_REDIS)
    yield
    _point_celery_at(celery_app, previous_broker)  # later tests in this process reach Redis again
    pos_api._redis_down_until = 0.0


def _point_celery_at(celery_app, broker_url: str) -> None:
    # The settings' own (namespaced) key: celery 5.6 reads that one, not a plain broker_url.
    celery_app.conf.update(CELERY_BROKER_URL=broker_url)
    # Celery caches both the connection pool and the producer pool built on it: forget both.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def api_client():
    return APIClient()


def database_url_for(settings_dict: dict) -> str:
    """A libpq URL for the given Django database settings (the test database, for subprocesses)."""
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host") or ""
    port = settings_dict.get("PORT") or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{auth}/{name}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgresql://{auth}{host}{':' + str(port) if port else ''}/{name}"


class WorkerProcess:
    """A real `celery worker` subprocess consuming this test's queue on the test database."""

    def __init__(self, queue: str, database_url: str):
        self.queue = queue
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"celery-{queue}.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": django_settings.REDIS_URL,
            "CELERY_QUEUE": self.queue,
            "DB_CONN_MAX_AGE": "0",
            # A line per task received, retried and done: tests read them (and they explain failures).
            "TASK_LOG_LEVEL": "INFO",
        }
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                self.queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL, as an out-of-memory kill or a lost machine would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def celery_worker(transactional_db, settings):
    """Start a real Celery worker for this test. Tests using it must commit their data
    (transactional_db) because the worker reads the database through its own connection."""
    from django.db import connection

    worker = WorkerProcess(settings.CELERY_TASK_DEFAULT_QUEUE, database_url_for(connection.settings_dict))
    worker.start()
    yield worker
    worker.stop()


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (work done by another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


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
        "REDIS_URL": django_settings.REDIS_URL,
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

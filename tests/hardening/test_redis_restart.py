"""Redis restarts while a worker is in the middle of a task: the worker must stay up, finish the task,
reconnect and go on with the work queued after the restart. Real parts only: a Redis of this test's
own (the embedded one of ``portal.devservices``, so the shared one of the suite is never touched), a
real prefork worker as ``make run`` and the deployment start it, a real issuance batch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from members import batch_processing, batches
from members.models import Card, IssuanceBatch
from portal import devservices
from portal.roles import Role
from tests.conftest import BASE_DIR, _point_celery_at, database_url_for, wait_for
from tests.factories import PartnerBankFactory
from tests.members.conftest import applicant_rows, csv_bytes, hold_chunk_two, upload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = batch_processing.PROCESS_CHUNK_ROWS + 500  # two chunks: 2,000 then 500


@pytest.fixture
def own_redis():
    """A Redis for this test alone, in a short directory (a Unix socket path has a length limit)."""
    from portal.celery import app as celery_app

    var_dir = Path(
        tempfile.mkdtemp(prefix="redis-", dir="/tmp")
    )  # a short path: Unix sockets have a length limit
    url = devservices.ensure_redis(var_dir)
    previous = celery_app.conf.broker_url
    _point_celery_at(celery_app, url.replace("unix://", "redis+socket://", 1))
    yield var_dir, url
    _point_celery_at(celery_app, previous)
    devservices.stop_redis(var_dir)
    shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def prefork_worker(own_redis, tmp_path):
    """``celery worker`` as deployed: the prefork pool with two processes (a task runs in a child
    while the main process keeps the broker connection), on the test database and this test's Redis."""
    _var_dir, redis_url = own_redis
    log_path = tmp_path / "worker.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "--quiet",
            "worker",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--concurrency",
            "2",  # as `make run` starts it (with one process the crash of celery 5.7.0 did not show)
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url_for(connection.settings_dict),
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "DB_CONN_MAX_AGE": "0",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # this test's, where the upload was stored
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = log_path
    yield process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()


def blocked_backends(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


def test_worker_survives_a_redis_restart_in_the_middle_of_a_task(tree, make_staff, own_redis, prefork_worker):
    var_dir, _url = own_redis
    worker_log = prefork_worker.log_path
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    batch = upload(
        union=tree.C1A,
        bank=PartnerBankFactory(),
        user=operator,
        content=csv_bytes(applicant_rows(ROWS, "C1A1")),
    )
    wait_for(
        lambda: IssuanceBatch.objects.get(pk=batch.pk).status == "validated",
        timeout=120,
        message="validated",
    )
    batch.refresh_from_db()

    # Hold the worker inside chunk two, as in the killed-worker test.
    url = database_url_for(connection.settings_dict)
    lock_conn = psycopg.connect(url, autocommit=False)
    watcher = psycopg.connect(url, autocommit=True)
    try:
        hold_chunk_two(lock_conn, batch)
        batches.batch_approve(batch=batch, actor=make_staff(tree.C1, Role.CITY_OPERATOR))
        wait_for(lambda: blocked_backends(watcher) > 0, timeout=120, message="worker blocked in chunk two")

        # Redis goes away with everything it held, and comes back empty.
        devservices.stop_redis(var_dir)
        wait_for(
            lambda: b"Connection to broker lost" in worker_log.read_bytes(),
            timeout=60,
            message="the worker to notice",
        )
        devservices.ensure_redis(var_dir)
        lock_conn.rollback()  # chunk two goes on, commits, and queues the rest on the new Redis

        wait_for(
            lambda: IssuanceBatch.objects.get(pk=batch.pk).status == "completed",
            timeout=120,
            message=f"batch completed; worker log:\n{worker_log.read_text()[-6000:]}",
        )
    finally:
        lock_conn.close()
        watcher.close()

    assert prefork_worker.poll() is None, worker_log.read_text()[-6000:]
    batch.refresh_from_db()
    assert batch.processed_rows == ROWS
    assert Card.objects.filter(batch=batch).count() == ROWS
    assert b"Unrecoverable error" not in worker_log.read_bytes()

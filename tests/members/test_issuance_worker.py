"""The crash/resume path with a real Celery worker process on the test database."""

from __future__ import annotations

import csv
import io

import psycopg
import pytest
from django.db import connection

from members import batch_processing, batches
from members.models import Card, IssuanceBatch, Member
from portal.roles import Role
from tests.conftest import WorkerProcess, database_url_for, wait_for
from tests.members.conftest import applicant_rows, csv_bytes, hold_chunk_two, upload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = batch_processing.PROCESS_CHUNK_ROWS + 500  # two chunks: 2,000 then 500


def blocked_backends(lock_conn) -> int:
    return lock_conn.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


def test_killed_worker_mid_batch_resumes_without_duplicates(tree, make_staff, celery_worker, settings):
    from tests.factories import PartnerBankFactory

    bank = PartnerBankFactory()
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    approver = make_staff(tree.C1A, Role.COUNTY_OPERATOR)  # someone other than the uploader
    batch = upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(ROWS, "C1A1")))
    # The worker validates the upload (queued when the upload committed).
    wait_for(
        lambda: IssuanceBatch.objects.get(pk=batch.pk).status == "validated", timeout=120, message="validated"
    )
    batch.refresh_from_db()
    assert batch.valid_rows == ROWS

    # Hold a member of the second chunk: the worker commits chunk one, then blocks inside chunk two
    # while upserting its members.
    url = database_url_for(connection.settings_dict)
    lock_conn = psycopg.connect(url, autocommit=False)
    hold_chunk_two(lock_conn, batch)
    watcher = psycopg.connect(url, autocommit=True)
    replacement = None
    try:
        batches.batch_approve(batch=batch, actor=approver)
        wait_for(
            lambda: (
                IssuanceBatch.objects.get(pk=batch.pk).processed_rows == batch_processing.PROCESS_CHUNK_ROWS
            ),
            timeout=120,
            message="first chunk committed",
        )
        wait_for(lambda: blocked_backends(watcher) > 0, timeout=60, message="worker blocked in chunk two")
        celery_worker.kill()

        # Only the committed chunk is visible: nothing of the killed chunk leaked out.
        batch.refresh_from_db()
        assert batch.status == "processing" and batch.processed_rows == batch_processing.PROCESS_CHUNK_ROWS
        assert Card.objects.filter(batch=batch).count() == batch_processing.PROCESS_CHUNK_ROWS
        assert Member.objects.count() == batch_processing.PROCESS_CHUNK_ROWS
        lock_conn.rollback()

        replacement = WorkerProcess(settings.CELERY_TASK_DEFAULT_QUEUE, url)
        replacement.start()
        batches.batch_resume(batch=batch)
        batches.batch_resume(batch=batch)  # a duplicate delivery changes nothing
        wait_for(
            lambda: IssuanceBatch.objects.get(pk=batch.pk).status == "completed",
            timeout=180,
            message=f"batch completed; worker log:\n{replacement.output()[-3000:]}",
        )
    finally:
        lock_conn.close()
        watcher.close()
        if replacement is not None:
            replacement.stop()

    batch.refresh_from_db()
    assert batch.processed_rows == ROWS and batch.cards_created == ROWS
    cards = Card.objects.filter(batch=batch)
    assert sorted(cards.values_list("serial", flat=True)) == list(range(1, ROWS + 1))
    assert cards.values("member").distinct().count() == ROWS
    assert Member.objects.count() == ROWS
    assert not batch.rows.exclude(status="valid").exists()
    assert batch.processed_through == batch.rows.order_by("row_number").last().row_number
    with batch.production_file.open("rb") as handle:
        lines = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert len(lines) == ROWS + 1
    assert len({line[0] for line in lines[1:]}) == ROWS

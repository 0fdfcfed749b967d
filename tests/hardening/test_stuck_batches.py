"""A batch whose queued work was lost (Redis restarted empty, or was down when the step was queued)
completes without anybody pressing "继续处理": the beat task ``requeue_stuck_batches`` finds it
stalled past its time limit and queues its work again. A batch that is moving is left alone."""

from __future__ import annotations

import pytest
from django.conf import settings

from members import batch_validation, batches, tasks
from members.models import IssuanceBatch
from portal.celery import app as celery_app
from portal.roles import Role
from tests.conftest import WorkerProcess, database_url_for, wait_for
from tests.factories import PartnerBankFactory
from tests.members.conftest import applicant_rows, csv_bytes, upload

LATER = tasks._time_limit_of(IssuanceBatch.Status.PROCESSING) + tasks.STUCK_BATCH_GRACE + 1


def lose_queued_messages() -> int:
    """What a Redis restart without its data does to the queue."""
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE) or 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_batches_whose_messages_were_lost_complete_after_the_beat_requeues_them(
    tree, make_staff, monkeypatch
):
    from django.db import connection

    bank = PartnerBankFactory()
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    approved = upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(30, "C1A1")))
    batch_validation.batch_validate_run(batch_id=approved.pk)
    batches.batch_approve(batch=approved, actor=make_staff(tree.C1, Role.CITY_OPERATOR))
    uploaded = upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(5, "C1A2")))
    assert lose_queued_messages() >= 2  # the approved batch's first chunk, the upload's validation

    start = 1_000_000.0
    assert tasks.requeue_stuck_batches(now=start) == 0  # a first look
    assert tasks.requeue_stuck_batches(now=start + 60) == 0  # not past the time limit yet
    assert tasks.requeue_stuck_batches(now=start + LATER) == 2

    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))  # this test's, where the uploads are
    worker = WorkerProcess(settings.CELERY_TASK_DEFAULT_QUEUE, database_url_for(connection.settings_dict))
    worker.start()
    try:
        wait_for(
            lambda: IssuanceBatch.objects.get(pk=approved.pk).status == "completed",
            timeout=120,
            message="the approved batch completed",
        )
        wait_for(
            lambda: IssuanceBatch.objects.get(pk=uploaded.pk).status == "validated",
            timeout=120,
            message="the uploaded batch validated",
        )
    finally:
        worker.stop()
    assert IssuanceBatch.objects.get(pk=approved.pk).cards_created == 30
    # Done and waiting-for-a-person batches are nobody's to re-queue.
    assert tasks.requeue_stuck_batches(now=start + 10 * LATER) == 0


@pytest.mark.django_db
def test_a_batch_that_moves_between_looks_is_left_alone(tree, make_staff):
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    batch = upload(
        union=tree.C1A, bank=PartnerBankFactory(), user=operator, content=csv_bytes(applicant_rows(3, "C1A1"))
    )
    IssuanceBatch.objects.filter(pk=batch.pk).update(status=IssuanceBatch.Status.PROCESSING)
    start = 1_000_000.0
    for step in range(1, 5):
        assert tasks.requeue_stuck_batches(now=start + step * LATER) == 0
        IssuanceBatch.objects.filter(pk=batch.pk).update(processed_rows=step)  # a chunk committed
    assert tasks.requeue_stuck_batches(now=start + 5 * LATER) == 0  # the last move, seen now
    assert tasks.requeue_stuck_batches(now=start + 6 * LATER) == 1  # then nothing for too long
    assert tasks.requeue_stuck_batches(now=start + 6 * LATER + 60) == 0  # and not again at once


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["validated", "completed", "failed", "rejected"])
def test_batches_outside_the_working_states_are_never_requeued(tree, make_staff, status):
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    batch = upload(
        union=tree.C1A, bank=PartnerBankFactory(), user=operator, content=csv_bytes(applicant_rows(3, "C1A1"))
    )
    IssuanceBatch.objects.filter(pk=batch.pk).update(status=status)
    assert tasks.requeue_stuck_batches(now=1.0) == 0
    assert tasks.requeue_stuck_batches(now=1.0 + 10 * LATER) == 0


def test_the_beat_runs_the_stuck_batch_check():
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "members.tasks.requeue_stuck_batches" in entries

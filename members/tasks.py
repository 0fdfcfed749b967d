"""Celery tasks of the members app. Each takes ids, re-reads the database and calls a service; each is
safe to run twice (acks_late redelivers a killed worker's task).

Their names (``members.tasks.<function>``) are what the broker's messages and the beat schedule carry:
keep them. Services queue them by those names (``portal.tasks_util``) and never import this module."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError
from django.utils.translation import gettext as _

from members import batch_processing, batch_validation, batches, roster, sign_in, tokens
from members.models import IssuanceBatch, RosterImport
from portal.tasks_util import enqueue_on_commit

logger = logging.getLogger(__name__)


# Reading a very large file is one pass that resumes after the last stored row when redelivered;
# it gets a longer limit than the chunked tasks, well inside the broker's visibility timeout.
@shared_task(soft_time_limit=1800, time_limit=1900)
def batch_validate(batch_id: int) -> None:
    batch_validation.batch_validate_run(batch_id=batch_id)


@shared_task(
    bind=True,
    autoretry_for=(IntegrityError, DatabaseError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def batch_process(self, batch_id: int, chunk_size: int = batch_processing.PROCESS_CHUNK_ROWS) -> str:
    """One chunk per run; the next run is queued once this chunk has committed."""
    try:
        state = batch_processing.batch_process_chunk(batch_id=batch_id, chunk_size=chunk_size)
    except (IntegrityError, DatabaseError) as exc:
        if self.request.retries >= self.max_retries:
            logger.exception("batch %s: chunk failed for good", batch_id)
            message = _("制卡中断（%(error)s），可在批次页面点击“继续处理”。") % {
                "error": exc.__class__.__name__
            }
            batches.batch_mark_failed(batch_id=batch_id, message=message)
        raise
    if state == "more":
        enqueue_on_commit(batch_process, batch_id, chunk_size=chunk_size)
    elif state == "finish":
        enqueue_on_commit(batch_finish, batch_id)
    return state


# The bank file of a large batch reads and decrypts every card of it (about half a minute for a
# million cards on an idle machine): a task of its own, with the long limit of the one-pass validation
# rather than the default meant for a chunk. Redelivered or resumed, it writes the file at most once.
@shared_task(soft_time_limit=1800, time_limit=1900)
def batch_finish(batch_id: int) -> bool:
    return batch_processing.batch_finish(batch_id=batch_id)


@shared_task(soft_time_limit=1800, time_limit=1900)
def roster_validate(roster_id: int) -> None:
    roster.roster_validate_run(roster_id=roster_id)


@shared_task(
    bind=True,
    autoretry_for=(IntegrityError, DatabaseError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def roster_apply(self, roster_id: int, chunk_size: int = roster.APPLY_CHUNK_ROWS) -> str:
    """One chunk of a confirmed roster per run; the next run is queued once this one has committed.
    A chunk that keeps failing leaves the roster "导入中": "继续处理" queues it again."""
    state = roster.roster_apply_chunk(roster_id=roster_id, chunk_size=chunk_size)
    if state == "more":
        enqueue_on_commit(roster_apply, roster_id, chunk_size=chunk_size)
    return state


@shared_task
def purge_one_time_codes() -> int:
    # Hourly: the sign-in codes, and the card pages' number codes of cards no page asked for again.
    return sign_in.one_time_codes_purge() + tokens.card_codes_purge()


@shared_task
def purge_bank_files() -> int:
    return batches.bank_files_purge()


@shared_task
def purge_application_files() -> int:
    return batches.application_files_purge()


@shared_task
def purge_member_api_tokens() -> int:
    return sign_in.member_api_tokens_purge()


# --- Batches whose work was lost -----------------------------------------------------------------
# A batch's work lives in PostgreSQL, its next step in a broker message. When that message is lost —
# Redis restarted without its data, or was down when the step was queued — the batch would wait in
# a working state until somebody pressed "继续处理". This beat task does it for them: a batch that two
# looks, further apart than the time limit of the task that works on it (plus a grace), found in the
# same working state at the same progress has no task left on it (a running one would have been
# stopped by that limit), so its work is queued again with ``batches.batch_resume``, which skips
# what is done. The looks are kept in the cache; losing them only delays the next re-queue. Roster
# imports are looked after by the same task, the same way (``roster.roster_resume``).
STUCK_BATCH_STATES = (
    IssuanceBatch.Status.UPLOADED,
    IssuanceBatch.Status.VALIDATING,
    IssuanceBatch.Status.APPROVED,
    IssuanceBatch.Status.PROCESSING,
)
STUCK_BATCH_GRACE = 60  # seconds past the time limit: a task's own retries and acknowledgement


def _time_limit_of(status: str) -> int:
    """Seconds the longest task that can be working on a batch in ``status`` may run."""
    if status in (IssuanceBatch.Status.UPLOADED, IssuanceBatch.Status.VALIDATING):
        return batch_validate.time_limit
    chunk = batch_process.time_limit or settings.CELERY_TASK_TIME_LIMIT
    return max(chunk, batch_finish.time_limit)


@shared_task
def requeue_stuck_batches(now: float | None = None) -> int:
    """Beat: queue again the work of every batch — and every roster import — stuck in a working
    state; returns how many."""
    now = time.time() if now is None else now
    requeued = _requeue_stuck(
        IssuanceBatch.objects.filter(status__in=STUCK_BATCH_STATES).order_by("pk"),
        kind="batch",
        progress=lambda batch: [batch.status, batch.processed_rows],
        time_limit=lambda batch: _time_limit_of(batch.status),
        resume=lambda batch: batches.batch_resume(batch=batch),
        now=now,
    )
    rosters = RosterImport.objects.filter(status__in=STUCK_ROSTER_STATES).order_by("pk")
    return requeued + _requeue_stuck(
        rosters,
        kind="roster",
        progress=lambda item: [item.status, item.processed_rows, item.valid_rows + item.error_rows],
        time_limit=lambda item: (
            roster_validate.time_limit
            if item.status != RosterImport.Status.APPLYING
            else roster_apply.time_limit or settings.CELERY_TASK_TIME_LIMIT
        ),
        resume=lambda item: roster.roster_resume(roster=item),
        now=now,
    )


STUCK_ROSTER_STATES = (
    RosterImport.Status.UPLOADED,
    RosterImport.Status.VALIDATING,
    RosterImport.Status.APPLYING,
)


def _requeue_stuck(items, *, kind: str, progress, time_limit, resume, now: float) -> int:
    keep_for = 3 * (_time_limit_of(IssuanceBatch.Status.PROCESSING) + STUCK_BATCH_GRACE)
    requeued = 0
    for item in items:
        key = f"members:{kind}-progress:{item.pk}"
        current = progress(item)
        seen = cache.get(key)
        if seen is None or seen["progress"] != current:
            cache.set(key, {"progress": current, "since": now}, keep_for)
            continue
        stalled = now - seen["since"]
        if stalled < time_limit(item) + STUCK_BATCH_GRACE:
            continue
        if resume(item):
            requeued += 1
            logger.warning(
                "%s %s: no progress in %s for %.0f s; its work is queued again",
                kind,
                item.pk,
                item.status,
                stalled,
            )
        cache.set(key, {"progress": current, "since": now}, keep_for)
    return requeued

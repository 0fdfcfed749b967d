"""Celery tasks of the members app. Each takes ids, re-reads the database and calls a service; each is
safe to run twice (acks_late redelivers a killed worker's task).

Their names (``members.tasks.<function>``) are what the broker's messages and the beat schedule carry:
keep them. Services queue them by those names (``portal.tasks_util``) and never import this module."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError, IntegrityError
from django.utils.translation import gettext as _

from members import batch_processing, batch_validation, batches, sign_in
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


@shared_task
def purge_one_time_codes() -> int:
    return sign_in.one_time_codes_purge()


@shared_task
def purge_bank_files() -> int:
    return batches.bank_files_purge()


@shared_task
def purge_application_files() -> int:
    return batches.application_files_purge()


@shared_task
def purge_member_api_tokens() -> int:
    return sign_in.member_api_tokens_purge()

"""Enqueue Celery tasks (always through these two functions, which read the queue at call time)
safely: after the transaction commits, and with a clear error when the
broker is unreachable (pages then say "try again shortly")."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send ``task`` with ids only once the surrounding transaction has committed."""

    def send():
        try:
            task.apply_async(args=args, kwargs=kwargs, queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False)
        except OperationalError:
            # The row recording the work is committed; a beat task or a retry picks it up later.
            logger.warning("broker unavailable, task %s not sent", task.name)

    transaction.on_commit(send)


def enqueue_now(task, *args, **kwargs) -> None:
    """Send ``task`` immediately, raising ServiceUnavailable (a clear message) if Redis is down."""
    try:
        task.apply_async(args=args, kwargs=kwargs, queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False)
    except OperationalError as exc:
        raise ServiceUnavailable("后台任务服务暂时不可用，请稍后再试。") from exc

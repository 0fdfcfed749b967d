"""Enqueue Celery tasks safely: after the transaction commits, and with a clear error when the broker is
unreachable (pages then say "try again shortly"). Always through these two functions, which read the
queue at call time.

A task is named by the name it is registered under (``"members.tasks.batch_validate"``), the name its
messages carry in the broker; a task object is accepted too and stands for its name. Services and views
name the task, so they never import a tasks module: tasks modules import the services they call, and
nothing imports them back (there is no cycle to dodge with a function-level import).
``tests/portal/test_task_names.py`` checks that every name given here is a registered task."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.celery import app
from portal.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


def _send(task, args, kwargs) -> None:
    name = task if isinstance(task, str) else task.name
    app.send_task(name, args=args, kwargs=kwargs, queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send the task named ``task`` with ids only once the surrounding transaction has committed."""

    def send():
        try:
            _send(task, args, kwargs)
        except OperationalError:
            # The row recording the work is committed, so nothing is lost: it is queued again later, by
            # its beat task where there is one (notifications' resend) or by staff (a batch's "继续处理").
            logger.warning(
                "broker unavailable, task %s not sent", task if isinstance(task, str) else task.name
            )

    transaction.on_commit(send)


def enqueue_now(task, *args, **kwargs) -> None:
    """Send the task named ``task`` now, raising ServiceUnavailable (a clear message) if Redis is down."""
    try:
        _send(task, args, kwargs)
    except OperationalError as exc:
        raise ServiceUnavailable("后台任务服务暂时不可用，请稍后再试。") from exc

"""The portal's Celery application with one more task, for a worker started by the log tests: the
task logs personal numbers the way careless code would (message, arguments, extra fields, print,
an exception) so the test can read what the worker wrote."""

from __future__ import annotations

import logging

from portal.celery import app

logger = logging.getLogger("members.tasks")

__all__ = ["app"]


@app.task(name="tests.portal.log_personal_numbers")
def log_personal_numbers(id_number: str, phone: str, card_number: str) -> None:
    logger.warning("checking applicant %s phone %s", id_number, phone, extra={"card": card_number})
    print(f"printed card {card_number}")  # the worker turns print into a log record
    raise ValueError(f"applicant {id_number} refused")

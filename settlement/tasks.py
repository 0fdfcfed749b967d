from __future__ import annotations

from celery import shared_task

from discounts.statements import previous_month
from portal.clock import local_day
from settlement.services import payment_result_apply, statements_prepare_month


@shared_task(acks_late=True)
def apply_payment_result(upload_id: int) -> None:
    """Idempotent: a row already applied is reported ``already`` and changes nothing."""
    payment_result_apply(upload_id=upload_id)


@shared_task(acks_late=True)
def prepare_last_month() -> int:
    """Beat, on the first days of a month: the statements of the month just over, as the system."""
    return statements_prepare_month(month=previous_month(local_day().replace(day=1)))

from __future__ import annotations

from celery import shared_task

from shop.services import orders_expire


@shared_task(acks_late=True)
def expire_orders() -> int:
    """Beat, every few minutes: reserved orders past their expiry give their stock and limit back.
    Idempotent: each order is expired once, however many runs overlap."""
    return orders_expire()

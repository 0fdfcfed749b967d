"""Celery tasks of the redemption side."""

from __future__ import annotations

from celery import shared_task

from discounts.idempotency import idempotency_purge
from discounts.pictures import orphan_pictures_purge


@shared_task(name="discounts.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Beat (hourly): forget Idempotency-Keys older than settings.IDEMPOTENCY_RETENTION (24 h)."""
    return idempotency_purge()


@shared_task(name="discounts.tasks.purge_orphan_pictures")
def purge_orphan_pictures() -> int:
    """Beat (nightly): delete merchant and offer picture files no row names, a day old or more."""
    return orphan_pictures_purge()

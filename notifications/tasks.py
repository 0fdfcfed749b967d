"""Celery tasks of notifications. Each takes ids, re-reads the database and calls a service; each is
safe to run twice (a delivery is claimed with a lease before it is sent)."""

from __future__ import annotations

from celery import shared_task

from notifications import services


@shared_task(bind=True, name="notifications.tasks.deliver", max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """Send one SMS or WeChat delivery. A failure that may pass is tried again after a growing wait;
    the number of attempts is counted on the delivery (NOTIFICATION_MAX_ATTEMPTS), not here, so a
    redelivered or resent task never adds attempts beyond it."""
    wait = services.delivery_attempt(delivery_id=delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait + services.RETRY_SLACK_SECONDS)


@shared_task(name="notifications.tasks.resend_stalled_deliveries")
def resend_stalled_deliveries() -> int:
    """Beat: queue again the deliveries whose task was lost."""
    return services.deliveries_resend_stalled()


@shared_task(name="notifications.tasks.purge_read_notifications")
def purge_read_notifications() -> int:
    """Beat, nightly: delete read notices older than NOTIFICATION_RETENTION."""
    return services.notifications_purge_read()

"""Celery tasks of webhooks. Each takes ids (or nothing), re-reads the database and calls a service;
each is safe to run twice (a delivery is claimed with a lease before it is sent, an event id is
unique)."""

from __future__ import annotations

from celery import shared_task

from webhooks import outbox, services

# The outbox runs every few seconds: a run that overlaps the next skips the merchants it holds.
OUTBOX_SOFT_TIME_LIMIT = 60
OUTBOX_TIME_LIMIT = 90


@shared_task(bind=True, name="webhooks.tasks.deliver", max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """One attempt of a delivery. A failed attempt is tried again after the next wait of
    WEBHOOK_RETRY_SCHEDULE: by this task when the wait is short, by beat (send_due_deliveries) when
    it is long. The attempts are counted on the delivery, not here, so a redelivered or resent task
    never adds attempts beyond the schedule."""
    wait = services.delivery_attempt(delivery_id=delivery_id)
    if wait is not None and wait <= services.RETRY_IN_TASK_MAX_SECONDS:
        raise self.retry(countdown=wait + services.RETRY_SLACK_SECONDS)


@shared_task(
    name="webhooks.tasks.collect_redemption_events",
    soft_time_limit=OUTBOX_SOFT_TIME_LIMIT,
    time_limit=OUTBOX_TIME_LIMIT,
)
def collect_redemption_events() -> int:
    """Beat, every few seconds: new and newly voided redemptions of subscribed merchants → events."""
    return outbox.redemption_events_collect()


@shared_task(name="webhooks.tasks.send_due_deliveries")
def send_due_deliveries() -> int:
    """Beat, every minute: queue the deliveries whose long wait is over or whose task was lost."""
    return services.deliveries_send_due()


@shared_task(name="webhooks.tasks.purge_old_events")
def purge_old_events() -> int:
    """Beat, nightly: delete events older than WEBHOOK_RETENTION with their deliveries."""
    return services.events_purge_old()

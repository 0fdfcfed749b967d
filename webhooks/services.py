"""Writes: endpoints (create, disable, delete, send a test event), events (:func:`event_publish`) and
their deliveries (one attempt, the due ones again), retention.

Every door — the merchant portal, the outbox, the settlement code, the tasks — calls these functions."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework.fields import DateTimeField

from members import pii
from merchants.models import Merchant
from portal.audit import audit_record
from portal.errors import Conflict, ValidationFailed
from portal.models import AuditEvent
from portal.tasks_util import enqueue_on_commit
from webhooks import addresses, sending, signing
from webhooks.models import (
    REDEMPTION_TYPES,
    SUBSCRIBABLE_TYPES,
    Delivery,
    DeliveryAttempt,
    Endpoint,
    Event,
    EventType,
    RedemptionFeed,
)

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the visible start of every secret, not a secret
DESCRIPTION_MAX = 80
EVENT_ID_MAX = 200
PAYLOAD_MAX_BYTES = 64 * 1024
# Each active endpoint is one more request per event: a merchant's fan-out stays small.
MAX_ACTIVE_ENDPOINTS = 10
TEST_EVENTS_PER_MINUTE = 5
# A worker holds a delivery this long while it sends (far above the connect and read timeouts); a
# worker that died meanwhile leaves it to the next claim once the lease is over.
CLAIM_LEASE = timedelta(minutes=2)
# The retry message of a delivery arrives this much after its wait is over, never before.
RETRY_SLACK_SECONDS = 1
# A wait up to this long is a Celery countdown; a longer one (2 h, 12 h) is left to beat
# (send_due_deliveries): a countdown beyond the broker's visibility timeout (an hour) would be
# handed to a second worker before it is due.
RETRY_IN_TASK_MAX_SECONDS = 30 * 60
# Beat sends a pending delivery again once it has been due this long with nobody trying it.
DUE_GRACE = timedelta(minutes=2)
DUE_CHUNK = 500
PURGE_CHUNK = 5_000

# Audit actions (the audit log's codes for the webhook doors).
AUDIT_ENDPOINT_CREATED = AuditEvent.Action.WEBHOOK_ENDPOINT_CREATED
AUDIT_ENDPOINT_DISABLED = AuditEvent.Action.WEBHOOK_ENDPOINT_DISABLED
AUDIT_ENDPOINT_DELETED = AuditEvent.Action.WEBHOOK_ENDPOINT_DELETED

_DATETIME = DateTimeField()


def iso_datetime(value) -> str | None:
    """A time as the POS API writes it (ISO 8601, Asia/Shanghai offset)."""
    return _DATETIME.to_representation(value) if value is not None else None


# --- Secrets --------------------------------------------------------------------------------------
# The portal signs every delivery with the endpoint's secret, so it must read the secret back: it is
# encrypted with the portal's data keys (members.pii, PII_ENCRYPTION_KEYS, rotated by
# `manage.py rotate_webhook_secrets` alongside `rotate_pii_key`), never stored in clear.


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def endpoint_secret(endpoint: Endpoint) -> str:
    try:
        return pii.fernet().decrypt(endpoint.secret_encrypted.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "webhook secret cannot be decrypted with the configured PII_ENCRYPTION_KEYS"
        ) from exc


# --- Endpoints ------------------------------------------------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = [str(name) for name in events]
    if not chosen or any(name not in SUBSCRIBABLE_TYPES for name in chosen):
        message = _("请至少选择一种事件。") if not chosen else _("不能订阅该事件。")
        raise ValidationFailed(message, fields={"events": [message]})
    return [name for name in SUBSCRIBABLE_TYPES if name in chosen]  # one order, no repeats


def _url_for_log(url: str) -> str:
    """The URL without its query (which may carry a receiver's token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def endpoint_create(
    *, merchant: Merchant, url: str, events: Iterable[str], created_by, description: str = ""
) -> tuple[Endpoint, str]:
    """Register an endpoint of ``merchant`` and return it with its secret, which is never shown again.

    The URL must pass :func:`webhooks.addresses.endpoint_target` (https; http only to loopback where
    allowed; never a private or reserved address written out). A merchant has at most
    MAX_ACTIVE_ENDPOINTS active endpoints. Redemption events start with the first endpoint that
    subscribes to them: nothing redeemed before is sent."""
    url = (url or "").strip()
    description = (description or "").strip()
    addresses.endpoint_target(url)
    events = _clean_events(events)
    if len(description) > DESCRIPTION_MAX:
        message = _("备注不超过 %(max)s 个字。") % {"max": DESCRIPTION_MAX}
        raise ValidationFailed(message, fields={"description": [message]})
    raw_secret = _new_secret()
    now = timezone.now()
    with transaction.atomic():
        # Serializes the endpoint writes of one merchant (the count below); NO KEY UPDATE does not
        # wait for, or hold up, the redemptions that reference the merchant row.
        Merchant.objects.select_for_update(no_key=True).filter(pk=merchant.pk).first()
        active = Endpoint.objects.filter(merchant=merchant, disabled_at__isnull=True)
        if active.count() >= MAX_ACTIVE_ENDPOINTS:
            raise Conflict(
                _("每个商家最多 %(max)s 个启用的推送地址，请先停用或删除不用的。")
                % {"max": MAX_ACTIVE_ENDPOINTS},
                code="too_many_endpoints",
            )
        if set(events) & set(REDEMPTION_TYPES):
            _redemption_feed_start(merchant=merchant, now=now, already=active)
        endpoint = Endpoint.objects.create(
            merchant=merchant,
            url=url,
            description=description,
            events=events,
            secret_encrypted=pii.fernet().encrypt(raw_secret.encode()).decode(),
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
            created_at=now,
        )
        audit_record(
            actor=created_by,
            action=AUDIT_ENDPOINT_CREATED,
            target=endpoint,
            label=f"{merchant.name} · {_url_for_log(url)}",
            union_path=merchant.region.path,
            data={"url": _url_for_log(url), "events": events},
        )
    return endpoint, raw_secret


def _redemption_feed_start(*, merchant: Merchant, now, already) -> None:
    """The merchant's redemption events begin now, unless an active endpoint already receives them
    (then the feed goes on where it is, so nothing in flight is skipped)."""
    if already.filter(events__overlap=list(REDEMPTION_TYPES)).exists():
        RedemptionFeed.objects.get_or_create(
            merchant=merchant, defaults={"started_at": now, "resume_from": now}
        )
        return
    RedemptionFeed.objects.update_or_create(
        merchant=merchant, defaults={"started_at": now, "resume_from": now}
    )


def endpoint_disable(*, endpoint: Endpoint, disabled_by) -> Endpoint:
    """Stop sending to ``endpoint``: no new deliveries, and those still waiting end as failed.
    Disabling it again changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(disabled_at=now)
        if changed:
            with translation.override(settings.LANGUAGE_CODE):  # as delivery_attempt records errors
                error = _("推送地址已停用")
            Delivery.objects.filter(endpoint_id=endpoint.pk, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.FAILED, last_error=error, finished_at=now
            )
            merchant = Merchant.objects.select_related("region").get(pk=endpoint.merchant_id)
            audit_record(
                actor=disabled_by,
                action=AUDIT_ENDPOINT_DISABLED,
                target=endpoint,
                label=f"{merchant.name} · {_url_for_log(endpoint.url)}",
                union_path=merchant.region.path,
            )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint, deleted_by) -> None:
    """Delete ``endpoint`` with its deliveries and their attempts (the events stay, for the
    merchant's other endpoints, until retention removes them)."""
    with transaction.atomic():
        merchant = Merchant.objects.select_related("region").get(pk=endpoint.merchant_id)
        audit_record(
            actor=deleted_by,
            action=AUDIT_ENDPOINT_DELETED,
            target=endpoint,
            label=f"{merchant.name} · {_url_for_log(endpoint.url)}",
            union_path=merchant.region.path,
            data={"url": _url_for_log(endpoint.url), "events": list(endpoint.events)},
        )
        Endpoint.objects.filter(pk=endpoint.pk).delete()


def endpoint_send_test(*, endpoint: Endpoint) -> Delivery:
    """Send a ``webhook.test`` event to this one endpoint (whatever it subscribed to), signed and
    retried like any other, so the merchant can check the receiver end to end."""
    if not endpoint.is_active:
        raise Conflict(_("推送地址已停用，不能发送测试事件。"), code="endpoint_disabled")
    now = timezone.now()
    recent = Delivery.objects.filter(
        endpoint=endpoint, event__type=EventType.TEST, created_at__gte=now - timedelta(minutes=1)
    )
    if recent.count() >= TEST_EVENTS_PER_MINUTE:
        # Each test event is a request to an address the merchant chose: not a way to flood anyone.
        raise Conflict(_("测试事件发送过于频繁，请稍后再试。"), code="rate_limited", status=429)
    with transaction.atomic():
        event = Event.objects.create(
            merchant_id=endpoint.merchant_id,
            type=EventType.TEST,
            event_id=f"{EventType.TEST}:{uuid.uuid4().hex}",
            payload={
                "endpoint": {"id": endpoint.pk, "url": endpoint.url},
                "message": "这是一条测试事件 / This is a test event.",
            },
            created_at=now,
        )
        [delivery] = _deliveries_create(event, [endpoint], now)
    return delivery


# --- Events ---------------------------------------------------------------------------------------


def event_publish(*, merchant_id: int, type: str, event_id: str, payload: dict) -> Event | None:
    """Record that ``type`` happened to the merchant and deliver it to every active endpoint of the
    merchant subscribed to it, once the surrounding transaction commits.

    ``event_id`` names the fact for good (``statement.ready:<statement id>``): publishing it again —
    a retried task, a second run — returns the first event and sends nothing more. ``payload`` is
    plain JSON (it is what receivers get as ``data``). With no endpoint subscribed, nothing is
    recorded and None is returned."""
    _validate_event(type=type, event_id=event_id, payload=payload)
    endpoints = list(
        Endpoint.objects.filter(merchant_id=merchant_id, disabled_at__isnull=True, events__contains=[type])
    )
    if not endpoints:
        return None
    now = timezone.now()
    with transaction.atomic():
        # get_or_create settles a race on the unique event_id: the second writer waits for the first,
        # gets the IntegrityError and reads the first writer's event.
        event, created = Event.objects.get_or_create(
            event_id=event_id,
            defaults={"merchant_id": merchant_id, "type": type, "payload": payload, "created_at": now},
        )
        if not created:
            if event.merchant_id != merchant_id or event.type != type:
                raise ValidationFailed(
                    _("事件编号已被另一事件使用。"), fields={"event_id": [_("事件编号已被另一事件使用。")]}
                )
            return event
        _deliveries_create(event, endpoints, now)
    return event


def _validate_event(*, type: str, event_id: str, payload) -> None:
    errors: dict[str, list[str]] = {}
    if type not in SUBSCRIBABLE_TYPES:
        errors["type"] = [_("未知的事件类型。")]
    if not event_id or len(event_id) > EVENT_ID_MAX or not event_id.isprintable() or " " in event_id:
        errors["event_id"] = [
            _("事件编号不能为空、不含空格，且不超过%(max)s个字符。") % {"max": EVENT_ID_MAX}
        ]
    try:
        size = len(json.dumps(payload, ensure_ascii=False).encode()) if isinstance(payload, dict) else None
    except (TypeError, ValueError):
        size = None
    if size is None or size > PAYLOAD_MAX_BYTES:
        errors["payload"] = [_("事件内容须为不超过 64 KB 的 JSON 对象。")]
    if errors:
        raise ValidationFailed(fields=errors)


def _deliveries_create(event: Event, endpoints: list[Endpoint], now) -> list[Delivery]:
    from webhooks import tasks  # the tasks module imports this one

    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)
            for endpoint in endpoints
        ]
    )
    for delivery in deliveries:
        enqueue_on_commit(tasks.deliver, delivery.pk)
    return deliveries


def event_body(event: Event) -> bytes:
    """What is POSTed for ``event``: the same bytes on every attempt."""
    envelope = {
        "id": event.event_id,
        "type": event.type,
        "created_at": iso_datetime(event.created_at),
        "merchant_id": event.merchant_id,
        "data": event.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


# --- Sending a delivery ---------------------------------------------------------------------------


def max_attempts() -> int:
    return len(settings.WEBHOOK_RETRY_SCHEDULE) + 1


def retry_wait(attempts: int) -> float:
    """Seconds between attempt ``attempts`` (failed) and the next."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    return float(schedule[min(attempts, len(schedule)) - 1])


def delivery_attempt(*, delivery_id: int) -> float | None:
    """One attempt of a pending delivery. Returns the seconds to wait before the next attempt when
    this one failed and another is due, else None (succeeded, failed for good, or not ours to send:
    already final, held by another worker, or waiting for its next attempt).

    The claim is one guarded UPDATE that counts the attempt and takes a lease, so two workers given
    the same delivery (a redelivered task, a beat resend, a double click) never send the same
    attempt. The request leaves with no transaction open and no row locked."""
    # The errors it records are read later, by whoever opens the page: they are written in the
    # portal's language, whatever language this process last served a request in.
    with translation.override(settings.LANGUAGE_CODE):
        return _delivery_attempt(delivery_id)


def _delivery_attempt(delivery_id: int) -> float | None:
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
    if claimed != 1:
        return None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        _finish(delivery, Delivery.Status.FAILED, error=_("推送地址已停用"))
        return None
    body = event_body(event)
    try:
        secret = endpoint_secret(endpoint)
    except RuntimeError:
        # The data key that encrypted it was removed before rotate_webhook_secrets ran: no attempt
        # can succeed, so the delivery ends here rather than being claimed again and again.
        logger.error(
            "webhook endpoint %s: secret cannot be decrypted, delivery %s failed", endpoint.pk, delivery.pk
        )
        _finish(delivery, Delivery.Status.FAILED, error=_("签名密钥无法读取，请联系平台"))
        return None
    headers = {
        signing.ID_HEADER: event.event_id,
        signing.EVENT_HEADER: event.type,
        signing.SIGNATURE_HEADER: signing.signature_header(secret, body),
    }
    answer = sending.post(endpoint.url, body, headers)
    try:
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=now,
            duration_ms=answer.duration_ms,
            status_code=answer.status_code,
            error=answer.error,
            response_excerpt=answer.excerpt,
        )
    except IntegrityError:
        return None  # the endpoint was deleted while the request was on its way: nothing to record
    if answer.succeeded:
        _finish(delivery, Delivery.Status.SUCCEEDED, status_code=answer.status_code)
        return None
    if delivery.attempts >= max_attempts():
        _finish(delivery, Delivery.Status.FAILED, status_code=answer.status_code, error=answer.error)
        logger.warning(
            "webhook delivery %s to endpoint %s failed after %s attempts: %s",
            delivery.pk,
            endpoint.pk,
            delivery.attempts,
            answer.error,
        )
        return None
    wait = retry_wait(delivery.attempts)
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        last_status_code=answer.status_code,
        last_error=answer.error,
    )
    logger.info(
        "webhook delivery %s: attempt %s failed, next in %ss: %s",
        delivery.pk,
        delivery.attempts,
        wait,
        answer.error,
    )
    return wait


def _finish(delivery: Delivery, status: str, *, status_code: int | None = None, error: str = "") -> None:
    changed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=status, last_status_code=status_code, last_error=error[:200], finished_at=timezone.now()
    )
    if changed != 1:
        logger.warning(
            "webhook delivery %s was no longer pending when its outcome (%s) came", delivery.pk, status
        )


def deliveries_send_due(*, grace: timedelta = DUE_GRACE) -> int:
    """Queue every pending delivery that has been due for ``grace`` with nobody trying it: a long wait
    is over, or its task was lost (the broker was down at commit, a worker died). A delivery being
    sent holds a lease and is not picked."""
    from webhooks import tasks

    cutoff = timezone.now() - grace
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_CHUNK]
    )
    for delivery_id in ids:
        tasks.deliver.apply_async(args=[delivery_id], queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False)
    return len(ids)


# --- Retention ------------------------------------------------------------------------------------


def events_purge_old(*, older_than: timedelta | None = None) -> int:
    """Delete events created more than ``older_than`` (WEBHOOK_RETENTION) ago with their deliveries
    and attempts, in chunks; returns how many events were deleted."""
    cutoff = timezone.now() - (older_than if older_than is not None else settings.WEBHOOK_RETENTION)
    deleted = 0
    while True:
        ids = list(
            Event.objects.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:PURGE_CHUNK]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery__event_id__in=ids).delete()
            Delivery.objects.filter(event_id__in=ids).delete()
            Event.objects.filter(pk__in=ids).delete()
        deleted += len(ids)

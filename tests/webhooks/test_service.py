"""The webhook services: endpoints, event_publish (statement.ready), one attempt of a delivery against a
real local receiver — claimed once under parallel workers, retried, capped, never redirected — and
retention."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import Retry
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from portal.errors import Conflict, ValidationFailed
from portal.models import AuditEvent
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Receiver
from webhooks import services, tasks
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event, RedemptionFeed
from webhooks.signing import verify_signature

pytestmark = pytest.mark.django_db

STATEMENT = {"id": 12, "month": "2026-01", "total_discount": "1234.50"}


def publish(shop, event_id: str = "statement.ready:12", payload=None):
    return services.event_publish(
        merchant_id=shop.merchant.pk, type="statement.ready", event_id=event_id, payload=payload or STATEMENT
    )


# --- Endpoints ------------------------------------------------------------------------------------


def test_an_endpoint_keeps_its_secret_encrypted_and_the_creation_is_audited(shop):
    endpoint, secret = register(shop, "https://pos.example.com/hooks?token=abc")

    assert secret.startswith("whsec_") and len(secret) > 40
    stored = Endpoint.objects.values_list("secret_encrypted", flat=True).get(pk=endpoint.pk)
    assert secret not in stored and services.endpoint_secret(endpoint) == secret
    audit = AuditEvent.objects.get(target_type="webhooks.endpoint", target_id=str(endpoint.pk))
    assert audit.action == services.AUDIT_ENDPOINT_CREATED and audit.actor == shop.manager.user
    assert audit.union_path == shop.merchant.region.path
    assert "token" not in str(audit.data) and secret not in str(audit.data)


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("http://pos.example.com/hooks", ["statement.ready"], "url"),
        ("https://10.0.0.1/hooks", ["statement.ready"], "url"),
        ("https://pos.example.com/hooks", [], "events"),
        ("https://pos.example.com/hooks", ["webhook.test"], "events"),
        ("https://pos.example.com/hooks", ["nonsense"], "events"),
    ],
)
def test_a_bad_endpoint_is_refused_on_its_field_and_nothing_is_saved(shop, settings, url, events, field):
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
    with pytest.raises(ValidationFailed) as caught:
        services.endpoint_create(merchant=shop.merchant, url=url, events=events, created_by=shop.manager.user)
    assert field in caught.value.fields
    assert not Endpoint.objects.exists() and not RedemptionFeed.objects.exists()


def test_a_merchant_has_at_most_ten_active_endpoints(shop):
    endpoints = [
        register(shop, f"https://pos.example.com/h{i}")[0] for i in range(services.MAX_ACTIVE_ENDPOINTS)
    ]
    with pytest.raises(Conflict):
        register(shop, "https://pos.example.com/one-more")
    services.endpoint_disable(endpoint=endpoints[0], disabled_by=shop.manager.user)
    register(shop, "https://pos.example.com/one-more")


def test_disabling_stops_waiting_deliveries_and_is_audited_once(shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    publish(shop)

    services.endpoint_disable(endpoint=endpoint, disabled_by=shop.manager.user)
    services.endpoint_disable(endpoint=endpoint, disabled_by=shop.manager.user)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.last_error
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert AuditEvent.objects.filter(action=services.AUDIT_ENDPOINT_DISABLED).count() == 1
    assert publish(shop, "statement.ready:13") is None  # no active endpoint: nothing recorded


def test_deleting_an_endpoint_removes_its_deliveries_and_keeps_the_events(shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    other, _s = register(shop, "https://other.example.com/hooks")
    event = publish(shop)

    services.endpoint_delete(endpoint=endpoint, deleted_by=shop.manager.user)

    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [other.pk]
    assert Event.objects.filter(pk=event.pk).exists()
    assert AuditEvent.objects.filter(
        action=services.AUDIT_ENDPOINT_DELETED, target_id=str(endpoint.pk)
    ).exists()


def test_a_test_event_goes_to_that_endpoint_only(shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks", events=["redemption.created"])
    register(shop, "https://other.example.com/hooks")

    delivery = services.endpoint_send_test(endpoint=endpoint)

    assert delivery.endpoint == endpoint and delivery.event.type == "webhook.test"
    assert Delivery.objects.count() == 1
    services.endpoint_disable(endpoint=endpoint, disabled_by=None)
    endpoint.refresh_from_db()
    with pytest.raises(Conflict):
        services.endpoint_send_test(endpoint=endpoint)


def test_test_events_are_limited_per_minute(shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    for _ in range(services.TEST_EVENTS_PER_MINUTE):
        services.endpoint_send_test(endpoint=endpoint)

    with pytest.raises(Conflict) as caught:
        services.endpoint_send_test(endpoint=endpoint)

    assert caught.value.status == 429
    assert Delivery.objects.count() == services.TEST_EVENTS_PER_MINUTE
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    services.endpoint_send_test(endpoint=endpoint)


# --- event_publish (statement.ready) --------------------------------------------------------------


def test_statement_ready_is_delivered_to_each_subscribed_active_endpoint_once(
    shop, rival, django_capture_on_commit_callbacks
):
    first, _s = register(shop, "https://a.example.com/hooks")
    second, _s = register(shop, "https://b.example.com/hooks", events=["statement.ready"])
    register(shop, "https://c.example.com/hooks", events=["redemption.created"])  # not subscribed
    register(rival, "https://rival.example.com/hooks")  # another merchant

    with django_capture_on_commit_callbacks() as queued:
        event = publish(shop)
    again = publish(shop, payload={"id": 12, "changed": True})

    assert again == event and Event.objects.count() == 1
    assert event.payload == STATEMENT  # the first publication stands
    assert sorted(Delivery.objects.values_list("endpoint_id", flat=True)) == sorted([first.pk, second.pk])
    assert len(queued) == 2  # one task per delivery, after commit


def test_an_event_id_of_another_merchant_is_refused(shop, rival):
    register(shop, "https://a.example.com/hooks")
    register(rival, "https://rival.example.com/hooks")
    publish(shop, "statement.ready:7")

    with pytest.raises(ValidationFailed):
        publish(rival, "statement.ready:7")
    assert Event.objects.get().merchant == shop.merchant


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "webhook.test"}, "type"),
        ({"type": "card.stolen"}, "type"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "has space"}, "event_id"),
        ({"event_id": "x" * 201}, "event_id"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"payload": {"when": timezone.now()}}, "payload"),
        ({"payload": {"big": "x" * 70_000}}, "payload"),
    ],
)
def test_a_bad_event_is_refused_on_its_field(shop, changes, field):
    register(shop, "https://a.example.com/hooks")
    values = {"merchant_id": shop.merchant.pk, "type": "statement.ready", "event_id": "s:1", "payload": {}}
    with pytest.raises(ValidationFailed) as caught:
        services.event_publish(**{**values, **changes})
    assert field in caught.value.fields
    assert not Event.objects.exists()


# --- One attempt ----------------------------------------------------------------------------------


def delivery_to(shop, receiver: Receiver, path: str = "/hooks"):
    endpoint, secret = register(shop, receiver.url(path), events=["statement.ready"])
    publish(shop)
    return Delivery.objects.get(endpoint=endpoint), secret


def test_a_2xx_answer_delivers_the_signed_event(shop):
    with Receiver([(202, b'{"ok": true}', {})]) as receiver:
        delivery, secret = delivery_to(shop, receiver)
        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        [request] = receiver.received()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Delivery.Status.SUCCEEDED,
        1,
        202,
    )
    assert verify_signature(secret, request.headers["Webhook-Signature"], request.body)
    assert request.headers["Webhook-Id"] == "statement.ready:12"
    assert request.headers["Webhook-Event"] == "statement.ready"
    body = request.json()
    assert body["id"] == "statement.ready:12" and body["type"] == "statement.ready"
    assert body["merchant_id"] == shop.merchant.pk and body["data"] == STATEMENT
    [attempt] = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.error, attempt.response_excerpt) == (
        1,
        202,
        "",
        '{"ok": true}',
    )


def test_a_failed_attempt_waits_and_the_last_one_fails_the_delivery(shop, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = (60, 300)
    with Receiver([500]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)

        assert services.delivery_attempt(delivery_id=delivery.pk) == 60
        assert services.delivery_attempt(delivery_id=delivery.pk) is None  # not due yet: nothing sent
        assert len(receiver.received()) == 1
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 500
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)

        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert services.delivery_attempt(delivery_id=delivery.pk) == 300
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        assert len(receiver.received()) == 3

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        Delivery.Status.FAILED,
        3,
        "HTTP 500",
    )
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 500), (3, 500)]


def test_a_redirect_is_not_followed(shop):
    with Receiver([(302, b"", {"Location": "/elsewhere"})]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        services.delivery_attempt(delivery_id=delivery.pk)
        assert [r.path for r in receiver.received()] == ["/hooks"]
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 302 and "重定向" in attempt.error


def test_errors_are_recorded_in_the_portals_language_whatever_the_process_spoke_last(shop):
    with Receiver([(302, b"", {"Location": "/elsewhere"})]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        with translation.override("en"):  # as after serving a page in English
            services.delivery_attempt(delivery_id=delivery.pk)
    assert "重定向" in DeliveryAttempt.objects.get().error


def test_only_a_short_excerpt_of_the_answer_is_kept(shop):
    with Receiver([(500, b"x" * 100_000, {})]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        services.delivery_attempt(delivery_id=delivery.pk)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.response_excerpt == "x" * 300


def test_a_receiver_that_never_answers_times_out(shop, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    with Receiver([("hang", 2)]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        services.delivery_attempt(delivery_id=delivery.pk)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "超时" in attempt.error


def test_a_closed_port_is_a_failed_attempt(shop):
    with Receiver() as receiver:
        url = receiver.url()
    endpoint, _s = register(shop, url, events=["statement.ready"])
    publish(shop)
    delivery = Delivery.objects.get(endpoint=endpoint)

    assert services.delivery_attempt(delivery_id=delivery.pk) is not None
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "无法连接" in attempt.error


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_send_one_attempt_once(shop):
    """Eight workers given the same delivery at once, each with its own database connection: the
    guarded claim lets exactly one send."""
    with Receiver([200]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        barrier = threading.Barrier(8)
        results: list = []

        def worker():
            try:
                barrier.wait(10)
                results.append(services.delivery_attempt(delivery_id=delivery.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(receiver.received()) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and DeliveryAttempt.objects.count() == 1
    assert len(results) == 8


def test_short_waits_are_celery_retries_and_long_ones_are_left_to_beat(shop, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = (60, 7200)
    with Receiver([500]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        with pytest.raises(Retry):
            tasks.deliver.run(delivery.pk)  # 60 s: the task itself comes back
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        tasks.deliver.run(delivery.pk)  # 2 h: longer than the broker keeps a message unacknowledged
        assert len(receiver.received()) == 2
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at > timezone.now() + timedelta(hours=1)


def test_a_lost_delivery_is_queued_again_once_due_but_not_while_held(shop):
    register(shop, "https://pos.example.com/hooks")
    publish(shop)
    publish(shop, "statement.ready:13")
    lost, held = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    Delivery.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now() + services.CLAIM_LEASE)

    assert services.deliveries_send_due() == 1


# --- Retention and keys ---------------------------------------------------------------------------


def test_old_events_are_purged_with_their_deliveries_and_attempts(shop):
    with Receiver([200]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        services.delivery_attempt(delivery_id=delivery.pk)
    publish(shop, "statement.ready:13")
    Event.objects.filter(event_id="statement.ready:12").update(created_at=timezone.now() - timedelta(days=31))

    assert services.events_purge_old() == 1

    assert list(Event.objects.values_list("event_id", flat=True)) == ["statement.ready:13"]
    assert not DeliveryAttempt.objects.exists()
    assert Delivery.objects.count() == 1


def test_a_secret_the_keys_cannot_read_fails_the_delivery_at_once(shop, settings):
    with Receiver([200]) as receiver:
        delivery, _secret = delivery_to(shop, receiver)
        settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key dropped too early

        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        assert receiver.received() == []
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1 and delivery.last_error


def test_rotating_the_data_key_keeps_every_secret(shop, settings):
    endpoint, secret = register(shop, "https://pos.example.com/hooks")
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]

    out = StringIO()
    call_command("rotate_webhook_secrets", stdout=out)

    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    endpoint.refresh_from_db()
    assert services.endpoint_secret(endpoint) == secret
    assert "1 secrets re-encrypted" in out.getvalue()

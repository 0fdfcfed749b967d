"""End to end: a real Celery worker turns committed redemptions into events and delivers them, signed,
to a real HTTP server on 127.0.0.1 — retrying with backoff, giving up after the last attempt, and
sending each delivery once however often its task runs."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from portal.tasks_util import enqueue_on_commit
from tests.conftest import WorkerProcess, database_url_for, wait_for
from tests.webhooks.conftest import pos_redeem, pos_void, register, till_redeem
from tests.webhooks.receiver import Receiver
from webhooks import services, tasks
from webhooks.models import Delivery, Event
from webhooks.signing import verify_signature

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STATEMENT = {"id": 3, "month": "2026-01", "total_discount": "88.00"}


@pytest.fixture
def receiver_and_worker(request, settings, monkeypatch):
    """A receiver answering from the test's script, and a worker allowed to send to it, with short waits."""
    answers = getattr(request, "param", [200])
    with Receiver(answers) as receiver:
        monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK_HTTP", "true")
        monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0.3,0.3")
        monkeypatch.setenv("WEBHOOK_READ_TIMEOUT", "2")
        worker = WorkerProcess(settings.CELERY_TASK_DEFAULT_QUEUE, database_url_for(connection.settings_dict))
        worker.start()
        try:
            yield receiver, worker
        finally:
            worker.stop()


def run_outbox() -> None:
    """What beat does every few seconds."""
    tasks.collect_redemption_events.apply_async(queue=django_settings.CELERY_TASK_DEFAULT_QUEUE)


def received(receiver: Receiver, count: int, worker) -> list:
    return wait_for(
        lambda: (lambda got: got if len(got) >= count else None)(receiver.received()),
        timeout=60,
        message=f"{count} deliveries; worker log:\n{worker.output()[-3000:]}",
    )


def final(delivery_id: int) -> Delivery:
    wait_for(
        lambda: Delivery.objects.filter(pk=delivery_id).exclude(status=Delivery.Status.PENDING).exists(),
        timeout=60,
        message="the delivery to finish",
    )
    return Delivery.objects.get(pk=delivery_id)


def publish_statement(shop) -> Event:
    return services.event_publish(
        merchant_id=shop.merchant.pk, type="statement.ready", event_id="statement.ready:3", payload=STATEMENT
    )


def assert_signed(request, secret: str, event_type: str) -> dict:
    assert verify_signature(secret, request.headers["Webhook-Signature"], request.body)
    assert request.headers["Webhook-Event"] == event_type
    body = request.json()
    assert body["id"] == request.headers["Webhook-Id"] and body["type"] == event_type
    return body


def test_a_pos_redemption_reaches_the_receiver_signed(receiver_and_worker, api_client, shop, card):
    receiver, worker = receiver_and_worker
    _endpoint, secret = register(shop, receiver.url("/pos"))
    answer = pos_redeem(api_client, shop, card)

    run_outbox()
    [request] = received(receiver, 1, worker)

    body = assert_signed(request, secret, "redemption.created")
    assert request.path == "/pos"
    assert body["id"] == f"redemption.created:{answer['id']}"
    assert body["merchant_id"] == shop.merchant.pk and body["data"] == answer
    delivery = final(Delivery.objects.get().pk)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_a_till_redemption_reaches_the_receiver_too(receiver_and_worker, client, shop, card):
    receiver, worker = receiver_and_worker
    _endpoint, secret = register(shop, receiver.url())
    redemption_id = till_redeem(client, shop, card)

    run_outbox()
    [request] = received(receiver, 1, worker)

    body = assert_signed(request, secret, "redemption.created")
    assert body["data"]["id"] == redemption_id and body["data"]["status"] == "completed"
    assert body["data"]["member_name_masked"] == "张**"


def test_a_void_reaches_the_receiver(receiver_and_worker, api_client, shop, card):
    receiver, worker = receiver_and_worker
    _endpoint, secret = register(shop, receiver.url())
    answer = pos_redeem(api_client, shop, card)
    voided = pos_void(api_client, shop, answer["id"])

    run_outbox()
    requests = received(receiver, 2, worker)

    bodies = {
        r.headers["Webhook-Event"]: assert_signed(r, secret, r.headers["Webhook-Event"]) for r in requests
    }
    assert set(bodies) == {"redemption.created", "redemption.voided"}  # in either order
    assert bodies["redemption.voided"]["data"] == voided
    assert bodies["redemption.created"]["data"] == answer


@pytest.mark.parametrize("receiver_and_worker", [[500, 500, 200]], indirect=True)
def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(receiver_and_worker, shop):
    receiver, worker = receiver_and_worker
    _endpoint, secret = register(shop, receiver.url(), events=["statement.ready"])
    with transaction.atomic():
        event = publish_statement(shop)

    delivery = final(Delivery.objects.get(event=event).pk)

    assert (delivery.status, delivery.attempts) == ("succeeded", 3), worker.output()[-3000:]
    requests = receiver.received()
    assert len(requests) == 3
    for request in requests:
        assert assert_signed(request, secret, "statement.ready")["data"] == STATEMENT
    assert len({r.headers["Webhook-Signature"] for r in requests}) >= 2  # each attempt signed anew
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 500), (3, 200)]
    assert "Retry in" in worker.output()  # Celery's own word that it scheduled the retries


@pytest.mark.parametrize("receiver_and_worker", [[500]], indirect=True)
def test_a_receiver_that_keeps_failing_ends_as_a_failed_delivery(receiver_and_worker, shop):
    receiver, _worker = receiver_and_worker
    register(shop, receiver.url(), events=["statement.ready"])
    with transaction.atomic():
        event = publish_statement(shop)

    delivery = final(Delivery.objects.get(event=event).pk)

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    assert delivery.last_error == "HTTP 500" and delivery.finished_at is not None
    assert len(receiver.received()) == 3


def test_the_outbox_and_the_delivery_task_run_twice_send_once(receiver_and_worker, api_client, shop, card):
    receiver, worker = receiver_and_worker
    register(shop, receiver.url())
    pos_redeem(api_client, shop, card)

    run_outbox()
    run_outbox()
    received(receiver, 1, worker)
    wait_for(
        lambda: worker.output().count("webhooks.tasks.collect_redemption_events[") >= 4,  # received + done
        timeout=60,
        message="both outbox runs",
    )
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1

    # A statement whose delivery task is queued three times at commit (a redelivery, a beat resend):
    with transaction.atomic():
        event = publish_statement(shop)
        delivery = Delivery.objects.get(event=event)
        enqueue_on_commit(tasks.deliver, delivery.pk)
        enqueue_on_commit(tasks.deliver, delivery.pk)
    wait_for(
        lambda: worker.output().count("webhooks.tasks.deliver[") >= 2 * 4,  # 4 tasks, received + succeeded
        timeout=60,
        message=f"every delivery task; worker log:\n{worker.output()[-3000:]}",
    )

    assert final(delivery.pk).attempts == 1
    assert [r.headers["Webhook-Event"] for r in receiver.received()] == [
        "redemption.created",
        "statement.ready",
    ]

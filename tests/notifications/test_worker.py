"""Notices sent by a real Celery worker, through the HTTP SMS adapter, to a real local gateway."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from notifications import services
from notifications.models import Channel, Delivery, Topic
from tests.conftest import WorkerProcess, database_url_for, wait_for
from tests.notifications.conftest import of
from tests.notifications.providers import SMS_OK, SMS_PATH, ProviderServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gateway_and_worker(request, settings, monkeypatch):
    """A local SMS gateway answering from the test's script, and a worker whose settings point at it."""
    answers = request.param
    with ProviderServer({SMS_PATH: answers}) as gateway:
        monkeypatch.setenv("SMS_BACKEND", "notifications.backends.sms.HttpSmsBackend")
        monkeypatch.setenv("SMS_HTTP_URL", gateway.base_url + SMS_PATH)
        monkeypatch.setenv("SMS_HTTP_API_KEY", "worker-key")
        monkeypatch.setenv("SMS_HTTP_TIMEOUT", "0.5")
        monkeypatch.setenv("NOTIFICATION_MAX_ATTEMPTS", "3")
        monkeypatch.setenv("NOTIFICATION_RETRY_BACKOFF_SECONDS", "0.2")
        worker = WorkerProcess(settings.CELERY_TASK_DEFAULT_QUEUE, database_url_for(connection.settings_dict))
        worker.start()
        try:
            yield gateway, worker
        finally:
            worker.stop()


def emit(member) -> Delivery:
    with transaction.atomic():
        notice = services.notify(
            recipient=of(member),
            topic=Topic.CLAIM_PAID,
            title="补贴已到账",
            body="住院补贴60元已到账。",
            dedup_key="claim-paid:1",
            phone=member.phone,
        )
    return Delivery.objects.get(notification=notice, channel=Channel.SMS)


def final(delivery: Delivery) -> Delivery:
    wait_for(
        lambda: Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.QUEUED).exists(),
        timeout=60,
        message="the delivery to finish",
    )
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize("gateway_and_worker", [[SMS_OK]], indirect=True)
def test_a_committed_notice_is_texted_by_the_worker(gateway_and_worker, member):
    gateway, worker = gateway_and_worker

    sms = final(emit(member))

    assert sms.status == Delivery.Status.SENT, (sms.last_error, worker.output()[-2000:])
    assert sms.provider_message_id == "gw-1" and sms.address == ""
    [request] = gateway.seen(SMS_PATH)
    assert request.body["to"] == member.phone and request.body["text"] == "补贴已到账：住院补贴60元已到账。"
    assert request.headers["Authorization"] == "Bearer worker-key"
    assert member.phone not in worker.output()


@pytest.mark.parametrize("gateway_and_worker", [[("hang", 2)]], indirect=True)
def test_a_silent_gateway_is_retried_with_backoff_then_the_delivery_fails(gateway_and_worker, member):
    gateway, worker = gateway_and_worker

    sms = final(emit(member))

    assert sms.status == Delivery.Status.FAILED, worker.output()[-2000:]
    assert sms.attempts == 3 and "no answer" in sms.last_error
    assert len(gateway.seen(SMS_PATH)) == 3
    assert "Retry in" in worker.output()  # Celery's own word that it scheduled the retries


@pytest.mark.parametrize("gateway_and_worker", [[(503, {"code": "BUSY"}), SMS_OK]], indirect=True)
def test_a_busy_gateway_is_tried_again_and_the_text_goes_once(gateway_and_worker, member):
    gateway, _worker = gateway_and_worker

    sms = final(emit(member))

    assert sms.status == Delivery.Status.SENT and sms.attempts == 2
    assert len(gateway.seen(SMS_PATH)) == 2

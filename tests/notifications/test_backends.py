"""The SMS and WeChat backends, the provider adapters against real local HTTP servers that speak the
providers' APIs, and the rule that logs never name a full phone number."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import cache

from members import sms as member_sms
from notifications import services, tasks
from notifications.backends import (
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
    WechatMessage,
    mask_phone,
)
from notifications.backends.sms import FileSmsBackend, HttpSmsBackend
from notifications.backends.wechat import FileWechatBackend, OfficialAccountWechatBackend
from notifications.models import Channel, Delivery, Topic
from tests.notifications.conftest import of
from tests.notifications.providers import (
    SMS_OK,
    SMS_PATH,
    TEMPLATE_OK,
    TEMPLATE_PATH,
    TOKEN_OK,
    TOKEN_PATH,
    ProviderServer,
)

PHONE = "13912345678"
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWx"


@pytest.fixture
def sms_gateway(settings):
    """settings point HttpSmsBackend at a local gateway; ``gateway.script(answers)`` sets its answers."""

    def start(*answers):
        server = ProviderServer({SMS_PATH: list(answers)}).__enter__()
        started.append(server)
        settings.SMS_BACKEND = "notifications.backends.sms.HttpSmsBackend"
        settings.SMS_HTTP_URL = server.base_url + SMS_PATH
        settings.SMS_HTTP_API_KEY = "test-key"
        settings.SMS_HTTP_TIMEOUT = 0.5
        return server

    started: list[ProviderServer] = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def wechat(settings):
    def start(token_answers=(TOKEN_OK,), template_answers=(TEMPLATE_OK,)):
        server = ProviderServer(
            {TOKEN_PATH: list(token_answers), TEMPLATE_PATH: list(template_answers)}
        ).__enter__()
        started.append(server)
        settings.WECHAT_BACKEND = "notifications.backends.wechat.OfficialAccountWechatBackend"
        settings.WECHAT_API_BASE_URL = server.base_url
        settings.WECHAT_APP_ID = "wx-test-app"
        settings.WECHAT_APP_SECRET = "test-secret"
        settings.WECHAT_HTTP_TIMEOUT = 0.5
        return server

    started: list[ProviderServer] = []
    cache.delete("notifications:wechat-token:wx-test-app")
    yield start
    for server in started:
        server.__exit__(None, None, None)


def wechat_message(**extra) -> WechatMessage:
    values = {
        "openid": OPENID,
        "template_id": "TPL-1",
        "data": {"thing1": "会员卡已制作完成"},
        "url": "https://portal.example.org/me/card/",
        "reference": "notice-1-wechat",
    }
    return WechatMessage(**{**values, **extra})


# --- SMS gateway ------------------------------------------------------------------------------------------


def test_sms_gateway_gets_the_documented_request_and_its_message_id_is_kept(sms_gateway):
    gateway = sms_gateway(SMS_OK)

    message_id = HttpSmsBackend().send(SmsMessage(phone=PHONE, text="您好", reference="notice-7-sms"))

    assert message_id == "gw-1"
    [request] = gateway.seen(SMS_PATH)
    assert request.method == "POST" and request.headers["Authorization"] == "Bearer test-key"
    assert request.body == {"to": PHONE, "text": "您好", "sign": "工会会员卡", "client_ref": "notice-7-sms"}


def test_sms_gateway_refusal_is_permanent(sms_gateway):
    sms_gateway((400, {"code": "MOBILE_INVALID", "message": "号码无效"}))
    with pytest.raises(PermanentDeliveryError, match="MOBILE_INVALID"):
        HttpSmsBackend().send(SmsMessage(phone=PHONE, text="x"))


@pytest.mark.parametrize("answer", [(500, {"code": "ERROR"}), (429, {"code": "THROTTLED"}), ("hang", 2)])
def test_sms_gateway_busy_failing_or_silent_is_transient(sms_gateway, answer):
    sms_gateway(answer)
    with pytest.raises(TransientDeliveryError):
        HttpSmsBackend().send(SmsMessage(phone=PHONE, text="x"))


def test_sms_gateway_that_is_not_there_is_transient(settings):
    settings.SMS_HTTP_URL = "http://127.0.0.1:1/v1/sms/send"  # nothing listens on port 1
    settings.SMS_HTTP_API_KEY = "k"
    with pytest.raises(TransientDeliveryError):
        HttpSmsBackend().send(SmsMessage(phone=PHONE, text="x"))


def test_sms_timeouts_are_retried_with_growing_waits_then_the_delivery_fails(sms_gateway, settings, member):
    """The task in-process (eager): each retry is the next attempt; the waits double."""
    gateway = sms_gateway(("hang", 2))
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_BACKOFF_SECONDS = 0
    notice = services.notify(
        recipient=of(member),
        topic=Topic.CLAIM_PAID,
        title="补贴已到账",
        body="20元",
        dedup_key="k",
        phone=PHONE,
    )
    sms = Delivery.objects.get(notification=notice, channel=Channel.SMS)

    tasks.deliver.apply(args=[sms.pk])

    sms.refresh_from_db()
    assert len(gateway.seen(SMS_PATH)) == 3
    assert sms.status == Delivery.Status.FAILED and sms.attempts == 3 and sms.address == ""
    assert "no answer" in sms.last_error
    settings.NOTIFICATION_RETRY_BACKOFF_SECONDS = 30
    assert [services.retry_wait(n) for n in (1, 2, 3, 4, 8)] == [30, 60, 120, 240, 3600]


def test_a_refused_sms_fails_at_once(sms_gateway, member):
    gateway = sms_gateway((400, {"code": "MOBILE_INVALID", "message": "号码无效"}))
    notice = services.notify(
        recipient=of(member),
        topic=Topic.CLAIM_PAID,
        title="补贴已到账",
        body="20元",
        dedup_key="k",
        phone=PHONE,
    )
    sms = Delivery.objects.get(notification=notice, channel=Channel.SMS)
    tasks.deliver.apply(args=[sms.pk])
    sms.refresh_from_db()
    assert sms.status == Delivery.Status.FAILED and sms.attempts == 1 and len(gateway.seen(SMS_PATH)) == 1


# --- WeChat official account ------------------------------------------------------------------------------


def test_wechat_fetches_a_token_once_and_sends_the_documented_body(wechat):
    server = wechat()

    assert OfficialAccountWechatBackend().send(wechat_message()) == "200228332"
    OfficialAccountWechatBackend().send(wechat_message(reference="notice-2-wechat"))

    [token_request] = server.seen(TOKEN_PATH)  # the second message used the cached token
    assert token_request.query == {
        "grant_type": "client_credential",
        "appid": "wx-test-app",
        "secret": "test-secret",
    }
    first, _second = server.seen(TEMPLATE_PATH)
    assert first.query == {"access_token": "TOKEN-1"}
    assert first.body == {
        "touser": OPENID,
        "template_id": "TPL-1",
        "url": "https://portal.example.org/me/card/",
        "client_msg_id": "notice-1-wechat",
        "data": {"thing1": {"value": "会员卡已制作完成"}},
    }


def test_wechat_expired_token_is_fetched_again_once(wechat):
    server = wechat(
        token_answers=[TOKEN_OK, (200, {"access_token": "TOKEN-2", "expires_in": 7200})],
        template_answers=[(200, {"errcode": 42001, "errmsg": "access_token expired"}), TEMPLATE_OK],
    )

    OfficialAccountWechatBackend().send(wechat_message())

    assert [r.query["access_token"] for r in server.seen(TEMPLATE_PATH)] == ["TOKEN-1", "TOKEN-2"]
    assert cache.get("notifications:wechat-token:wx-test-app") == "TOKEN-2"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((200, {"errcode": 43004, "errmsg": "require subscribe"}), PermanentDeliveryError),
        ((200, {"errcode": 40037, "errmsg": "invalid template_id"}), PermanentDeliveryError),
        ((200, {"errcode": -1, "errmsg": "system error"}), TransientDeliveryError),
        ((200, {"errcode": 45009, "errmsg": "api freq out of limit"}), TransientDeliveryError),
        ((502, {}), TransientDeliveryError),
        (("hang", 2), TransientDeliveryError),
    ],
)
def test_wechat_error_codes(wechat, answer, error):
    wechat(template_answers=[answer])
    with pytest.raises(error):
        OfficialAccountWechatBackend().send(wechat_message())


def test_wechat_wrong_app_secret_is_permanent(wechat):
    wechat(token_answers=[(200, {"errcode": 40125, "errmsg": "invalid appsecret"})])
    with pytest.raises(PermanentDeliveryError, match="40125"):
        OfficialAccountWechatBackend().send(wechat_message())


def test_wechat_delivery_through_the_task(wechat, member):
    server = wechat()
    notice = services.notify(
        recipient=of(member),
        topic=Topic.CARD_READY,
        title="会员卡已制作完成",
        body="请到基层工会领取。",
        dedup_key="card:1",
        link="/me/card/",
        wechat_openid=OPENID,
    )
    delivery = Delivery.objects.get(notification=notice, channel=Channel.WECHAT)
    tasks.deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.provider_message_id == "200228332"
    [sent] = server.seen(TEMPLATE_PATH)
    assert sent.body["touser"] == OPENID and sent.body["template_id"] == "TPL-CARD"


# --- Development backends -----------------------------------------------------------------------------------


def test_file_backends_write_one_json_line_per_message(settings):
    FileSmsBackend().send(SmsMessage(phone=PHONE, text="验证码 123456"))
    FileSmsBackend().send(SmsMessage(phone=PHONE, text="第二条"))
    FileWechatBackend().send(wechat_message())

    sms_lines = (settings.NOTIFICATIONS_FILE_DIR / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in sms_lines] == ["验证码 123456", "第二条"]
    [wechat_line] = (settings.NOTIFICATIONS_FILE_DIR / "wechat.jsonl").read_text().splitlines()
    assert json.loads(wechat_line)["template_id"] == "TPL-1"


# --- One-time codes go through the same backend -----------------------------------------------------------


def test_sign_in_codes_use_the_configured_sms_backend(sms_gateway, member):
    from members import sign_in

    gateway = sms_gateway(SMS_OK)
    sign_in.otp_request(phone=member.phone, ip_address=None)
    [request] = gateway.seen(SMS_PATH)
    assert request.body["to"] == member.phone and "验证码" in request.body["text"]


def test_a_failed_sign_in_text_is_logged_masked_and_the_answer_stays_the_same(sms_gateway, member, caplog):
    from members import sign_in

    sms_gateway((500, {"code": "ERROR"}))
    with caplog.at_level(logging.INFO):
        sign_in.otp_request(phone=member.phone, ip_address=None)  # no error for the caller
    assert "139****5678" in caplog.text
    assert member.phone not in caplog.text


def test_logs_never_carry_a_full_phone(sms_gateway, settings, member, caplog):
    settings.SMS_BACKEND = "notifications.backends.sms.ConsoleSmsBackend"
    with caplog.at_level(logging.DEBUG):
        member_sms.send_sms(phone=PHONE, text="x")
        settings.SMS_BACKEND = "notifications.backends.sms.FileSmsBackend"
        member_sms.send_sms(phone=PHONE, text="x")
        sms_gateway(SMS_OK)
        member_sms.send_sms(phone=PHONE, text="x")
    assert caplog.records and PHONE not in caplog.text
    assert mask_phone(PHONE) == "139****5678"

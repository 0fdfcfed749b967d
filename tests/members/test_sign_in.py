from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from members import sign_in, sms
from members.auth import hash_token
from members.models import Card, MemberApiToken, OneTimeCode
from members.tokens import card_token_card_id
from portal.models import AuditEvent
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def last_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1].text).group()


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, phone=PHONE, name="张三丰")


def test_request_sends_a_code_and_stores_only_its_hash(member):
    expires = sign_in.otp_request(phone=PHONE, ip_address="10.0.0.1")
    code = last_code()
    record = OneTimeCode.objects.get()
    assert sms.outbox[-1].phone == PHONE
    assert code not in record.code_hash and len(record.code_hash) == 64
    assert timedelta(minutes=4) < expires - timezone.now() <= timedelta(minutes=5)


def test_console_backend_prints_the_code(member, settings, capsys):
    settings.SMS_BACKEND = "members.sms.ConsoleSmsBackend"
    sign_in.otp_request(phone=PHONE, ip_address=None)
    assert re.search(rf"\[SMS\] {PHONE}: .*\d{{6}}", capsys.readouterr().err)


def test_unknown_phone_gets_the_same_answer_and_one_text_telling_it_to_contact_its_union(db):
    sign_in.otp_request(phone="13900000000", ip_address="10.0.0.1")
    assert OneTimeCode.objects.count() == 1
    assert [message.phone for message in sms.outbox] == ["13900000000"]
    assert "联系所在单位工会" in sms.outbox[0].text and not re.search(r"\d{6}", sms.outbox[0].text)


def test_verify_signs_in_once_per_code(member):
    sign_in.otp_request(phone=PHONE, ip_address=None)
    code = last_code()
    assert sign_in.otp_verify(phone=PHONE, code=code) == member
    with pytest.raises(sign_in.OtpInvalid):
        sign_in.otp_verify(phone=PHONE, code=code)


def test_expired_code_is_refused(member):
    sign_in.otp_request(phone=PHONE, ip_address=None)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(sign_in.OtpInvalid, match="过期"):
        sign_in.otp_verify(phone=PHONE, code=last_code())


def test_wrong_codes_lock_the_code_after_the_maximum(member, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    sign_in.otp_request(phone=PHONE, ip_address=None)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(sign_in.OtpInvalid, match="还可以尝试 2 次"):
        sign_in.otp_verify(phone=PHONE, code=wrong)
    with pytest.raises(sign_in.OtpInvalid, match="还可以尝试 1 次"):
        sign_in.otp_verify(phone=PHONE, code=wrong)
    with pytest.raises(sign_in.OtpLocked):
        sign_in.otp_verify(phone=PHONE, code=wrong)
    with pytest.raises(sign_in.OtpLocked):
        sign_in.otp_verify(phone=PHONE, code=code)  # even the right code is refused now
    assert OneTimeCode.objects.get().attempts == 3


def test_requests_for_a_phone_wait_for_its_resend_interval(member, settings):
    settings.OTP_RESEND_INTERVALS = (60, 300)
    sign_in.otp_request(phone=PHONE, ip_address="10.0.0.1")
    with pytest.raises(sign_in.RateLimited, match="60 秒后") as info:
        sign_in.otp_request(phone=PHONE, ip_address="10.0.0.2")
    assert info.value.status == 429
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    sign_in.otp_request(phone=PHONE, ip_address="10.0.0.3")
    with pytest.raises(sign_in.RateLimited, match="300 秒后"):  # the interval grows
        sign_in.otp_request(phone=PHONE, ip_address="10.0.0.3")


def test_requests_are_limited_per_ip(db, settings):
    settings.OTP_PER_IP_PER_HOUR = 3
    for index in range(3):
        sign_in.otp_request(phone=f"1390000000{index}", ip_address="10.9.9.9")
    with pytest.raises(sign_in.RateLimited, match="网络"):
        sign_in.otp_request(phone="13900000009", ip_address="10.9.9.9")
    sign_in.otp_request(phone="13900000009", ip_address="10.9.9.8")


def test_purge_deletes_codes_older_than_a_day(member):
    from members import tasks

    sign_in.otp_request(phone=PHONE, ip_address=None)
    old = OneTimeCode.objects.create(
        phone=PHONE, code_hash="x" * 64, expires_at=timezone.now() - timedelta(days=1)
    )
    OneTimeCode.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    assert tasks.purge_one_time_codes() == 1
    assert OneTimeCode.objects.count() == 1


def test_purge_forgets_expired_and_revoked_app_tokens(member):
    from members import tasks

    live, _expires = sign_in.member_api_token_issue(member=member)
    for _ in range(2):
        sign_in.member_api_token_issue(member=member)
    expired, revoked = MemberApiToken.objects.exclude(token_hash=hash_token(live))
    MemberApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    MemberApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    assert tasks.purge_member_api_tokens() == 2
    assert list(MemberApiToken.objects.values_list("token_hash", flat=True)) == [hash_token(live)]


# --- Pages --------------------------------------------------------------------------------------------


def sign_in_on_the_pages(client, phone=PHONE):
    client.post("/me/sign-in/", {"phone": phone})
    return client.post("/me/sign-in/code/", {"code": last_code()})


def test_sign_in_pages_consent_and_my_card(client, member):
    page = client.get("/me/card/")
    assert page.status_code == 302 and page["Location"].startswith("/me/sign-in/")
    form = client.get("/me/sign-in/")
    assert form.status_code == 200 and 'for="id_phone"' in form.content.decode()
    response = client.post("/me/sign-in/", {"phone": PHONE})
    assert response["Location"] == "/me/sign-in/code/"
    assert "139****5678" in client.get("/me/sign-in/code/").content.decode()
    wrong = client.post("/me/sign-in/code/", {"code": "12345"})
    assert "验证码为6位数字" in wrong.content.decode()
    response = client.post("/me/sign-in/code/", {"code": last_code()})
    assert response["Location"].startswith("/me/consent/")
    assert client.get("/me/card/")["Location"].startswith("/me/consent/")
    refused = client.post("/me/consent/", {"next": "/me/card/"})
    assert "请勾选同意后继续" in refused.content.decode()
    assert client.post("/me/consent/", {"agree": "on", "next": "/me/card/"})["Location"] == "/me/card/"
    member.refresh_from_db()
    assert member.consent_at is not None
    page = client.get("/me/card/").content.decode()
    assert "您还没有会员卡" in page and "张**" in page


def test_consent_redirect_does_not_leave_the_site(client, member):
    sign_in_on_the_pages(client)
    response = client.post("/me/consent/", {"agree": "on", "next": "https://evil.example/"})
    assert response["Location"] == "/me/card/"


def test_sign_in_page_shows_rate_limit_in_plain_words(client, member, settings):
    client.post("/me/sign-in/", {"phone": PHONE})
    response = client.post("/me/sign-in/", {"phone": PHONE})
    assert response.status_code == 200 and "秒后重新获取" in response.content.decode()
    bad = client.post("/me/sign-in/", {"phone": "12"})
    assert bad.status_code == 200 and "11位" in bad.content.decode()


@pytest.fixture
def signed_in(client, member):
    member.consent_at = timezone.now()
    member.save()
    sign_in_on_the_pages(client)
    return client


def test_my_card_shows_masked_number_and_an_inline_qr_code(signed_in, member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    page = signed_in.get("/me/card/").content.decode()
    assert card.number_masked in page and card.number not in page
    assert "<svg" in page and "card.js" in page and "<script>" not in page
    token = re.search(r'data-role="token">([^<]+)<', page).group(1)
    assert card_token_card_id(token) == card.pk


def test_member_activates_an_issued_card_and_reports_it_lost(signed_in, member):
    card = CardFactory(member=member, status=Card.Status.ISSUED)
    page = signed_in.get("/me/card/").content.decode()
    assert "激活会员卡" in page and "<svg" not in page
    signed_in.post("/me/card/activate/")
    card.refresh_from_db()
    assert card.status == "active"
    refused = signed_in.post("/me/card/report-lost/", follow=True)
    assert "请勾选确认" in refused.content.decode()
    signed_in.post("/me/card/report-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == "frozen" and card.frozen_at
    again = signed_in.post("/me/card/activate/", follow=True).content.decode()
    assert "不能激活" in again
    event = AuditEvent.objects.filter(action=AuditEvent.Action.CARD_STATE_CHANGED).latest("id")
    assert event.actor_label == f"member:{member.pk}" and event.data == {"from": "active", "to": "frozen"}


def test_member_cannot_touch_another_members_card(signed_in, member, tree):
    other = CardFactory(member=MemberFactory(union=tree.C1A1), status=Card.Status.ISSUED)
    signed_in.post("/me/card/activate/")
    other.refresh_from_db()
    assert other.status == "issued"


def test_data_export_is_the_members_own_and_audited(signed_in, member):
    CardFactory(member=member)
    response = signed_in.get("/me/data/")
    document = json.loads(response.content)
    assert document["member"]["name"] == "张三丰"
    assert document["member"]["id_number"] == member.id_number_masked
    assert document["cards"][0]["number"].count("*") >= 4
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.MEMBER_DATA_EXPORTED, target_id=str(member.pk)
    ).exists()


def test_sign_out(signed_in):
    assert signed_in.get("/me/card/").status_code == 200
    signed_in.post("/me/sign-out/")
    assert signed_in.get("/me/card/").status_code == 302

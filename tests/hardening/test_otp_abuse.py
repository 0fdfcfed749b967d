"""One-time codes: a stranger cannot lock a member out. Requests and wrong guesses are held per
requester (address); a phone is only slowed down (a resend interval that grows), never shut for an
hour, and a wrong guess locks only the code it was made against."""

from __future__ import annotations

import re
from datetime import timedelta

from members import sms
from members.models import OneTimeCode

STRANGER = "10.6.6.6"
MEMBER_ADDRESS = "10.0.0.1"
REQUEST = "/api/v1/auth/otp/request/"
VERIFY = "/api/v1/auth/otp/verify/"


def ask(api_client, phone: str, address: str):
    return api_client.post(REQUEST, {"phone": phone}, format="json", REMOTE_ADDR=address)


def guess(api_client, phone: str, code: str, address: str):
    return api_client.post(VERIFY, {"phone": phone, "code": code}, format="json", REMOTE_ADDR=address)


def codes_sent_to(phone: str) -> list[str]:
    return [re.search(r"\d{6}", m.text).group() for m in sms.outbox if m.phone == phone]


def later(seconds: float) -> None:
    """Time passes: every code was asked for ``seconds`` earlier than it was."""
    for record in OneTimeCode.objects.all():
        OneTimeCode.objects.filter(pk=record.pk).update(
            created_at=record.created_at - timedelta(seconds=seconds),
            expires_at=record.expires_at - timedelta(seconds=seconds),
        )


def wrong_code(*right: str) -> str:
    return next(code for code in ("000000", "111111", "222222") if code not in right)


def test_a_stranger_spamming_requests_and_guesses_cannot_keep_the_member_out(api_client, world, settings):
    phone = world.member.phone
    for _ in range(20):
        ask(api_client, phone, STRANGER)
    for _ in range(30):
        guess(api_client, phone, wrong_code(*codes_sent_to(phone)), STRANGER)

    later(max(settings.OTP_RESEND_INTERVALS))
    asked = ask(api_client, phone, MEMBER_ADDRESS)
    signed_in = guess(api_client, phone, codes_sent_to(phone)[-1], MEMBER_ADDRESS)

    assert asked.status_code == 200, asked.json()
    assert signed_in.status_code == 200, signed_in.json()
    assert "token" in signed_in.json()


def test_a_code_the_stranger_made_the_portal_send_still_signs_the_member_in(api_client, world):
    phone = world.member.phone
    ask(api_client, phone, STRANGER)
    [code] = codes_sent_to(phone)
    for _ in range(3):
        guess(api_client, phone, wrong_code(code), STRANGER)

    signed_in = guess(api_client, phone, code, MEMBER_ADDRESS)

    assert signed_in.status_code == 200 and "token" in signed_in.json()


def test_the_resend_interval_grows_and_is_never_an_hourly_shutdown(api_client, world, settings):
    phone = world.member.phone
    intervals = settings.OTP_RESEND_INTERVALS
    assert list(intervals) == sorted(intervals) and intervals[-1] > intervals[0]
    for number in range(len(intervals) + 3):  # past the longest interval, again and again
        assert ask(api_client, phone, f"10.0.1.{number}").status_code == 200
        wait = intervals[min(number, len(intervals) - 1)]
        later(wait - 1)
        too_soon = ask(api_client, phone, f"10.0.2.{number}")
        assert too_soon.status_code == 429 and too_soon.json()["error"]["code"] == "rate_limited"
        assert "秒后" in too_soon.json()["error"]["message"]
        later(1)
    assert len(codes_sent_to(phone)) == len(intervals) + 3


def test_one_address_cannot_ask_for_more_than_its_share_of_codes_across_phones(api_client, world, settings):
    settings.OTP_PER_IP_PER_HOUR = 4

    answers = [ask(api_client, f"1390000{i:04d}", STRANGER) for i in range(7)]
    elsewhere = ask(api_client, "13900009999", MEMBER_ADDRESS)

    assert [a.status_code for a in answers] == [200] * 4 + [429] * 3
    assert "网络" in answers[-1].json()["error"]["message"]
    assert elsewhere.status_code == 200


def test_wrong_guesses_lock_the_code_and_count_against_the_guesser_only(api_client, world, settings):
    settings.OTP_WRONG_GUESSES_PER_IP_PER_HOUR = 6
    victim, bystander = world.member.phone, world.other_member.phone
    ask(api_client, victim, MEMBER_ADDRESS)
    ask(api_client, bystander, "10.0.0.2")
    victim_code, bystander_code = codes_sent_to(victim)[-1], codes_sent_to(bystander)[-1]

    for _ in range(settings.OTP_MAX_ATTEMPTS):
        guess(api_client, victim, wrong_code(victim_code), STRANGER)
    locked_code = guess(api_client, victim, victim_code, MEMBER_ADDRESS)
    guess(api_client, bystander, wrong_code(bystander_code), STRANGER)  # the sixth wrong guess
    locked_guesser = guess(api_client, bystander, bystander_code, STRANGER)
    bystander_signs_in = guess(api_client, bystander, bystander_code, "10.0.0.2")

    assert locked_code.status_code == 429 and locked_code.json()["error"]["code"] == "otp_locked"
    assert locked_guesser.status_code == 429 and locked_guesser.json()["error"]["code"] == "rate_limited"
    assert bystander_signs_in.status_code == 200 and "token" in bystander_signs_in.json()
    # The locked code is replaced once the resend interval has passed.
    later(max(settings.OTP_RESEND_INTERVALS))
    assert ask(api_client, victim, MEMBER_ADDRESS).status_code == 200
    assert guess(api_client, victim, codes_sent_to(victim)[-1], MEMBER_ADDRESS).status_code == 200


def test_the_sign_in_page_passes_the_address_to_the_guess_limit(client, world, settings):
    settings.OTP_WRONG_GUESSES_PER_IP_PER_HOUR = 2
    phone = world.member.phone
    client.post("/me/sign-in/", {"phone": phone}, REMOTE_ADDR=STRANGER)
    code = codes_sent_to(phone)[-1]
    for _ in range(2):
        client.post("/me/sign-in/code/", {"code": wrong_code(code)}, REMOTE_ADDR=STRANGER)

    refused = client.post("/me/sign-in/code/", {"code": code}, REMOTE_ADDR=STRANGER)

    assert refused.status_code == 200 and "过于频繁" in refused.content.decode()

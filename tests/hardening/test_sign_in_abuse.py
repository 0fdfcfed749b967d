"""Guessing is slowed down at every sign-in door: staff and merchant passwords lock out after repeated
failures (django-axes, per user name and address), one-time codes are slowed per phone, limited per
address and lock after wrong guesses (more in test_otp_abuse.py), and each POS key has a request
budget."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from members import sms

LOCKED_MESSAGE = "登录失败次数过多"


def fail(client, url: str, username: str, times: int):
    response = None
    for _ in range(times):
        response = client.post(
            url, {"username": username, "password": "wrong-password"}, REMOTE_ADDR="10.1.1.1"
        )
    return response


@pytest.mark.parametrize(
    ("door", "who"),
    [("admin:login", "county_operator"), ("merchants:login", "manager")],
    ids=["staff-admin", "merchant-portal"],
)
def test_repeated_wrong_passwords_lock_the_account_with_a_clear_message(client, world, door, who):
    user = getattr(world, who)
    user = getattr(user, "user", user)
    url = reverse(door)
    limit = django_settings.AXES_FAILURE_LIMIT

    before = fail(client, url, user.username, limit - 1)
    assert before.status_code == 200  # the form again, not yet locked
    locked = fail(client, url, user.username, 1)
    right_password = client.post(
        url, {"username": user.username, "password": "correct-horse-battery"}, REMOTE_ADDR="10.1.1.1"
    )

    assert locked.status_code == 429
    assert LOCKED_MESSAGE in locked.content.decode()
    assert right_password.status_code == 429  # even the right password waits for the cool-off
    assert LOCKED_MESSAGE in right_password.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_holds_one_account_from_one_address_only(client, world):
    url = reverse("merchants:login")
    fail(client, url, world.manager.user.username, django_settings.AXES_FAILURE_LIMIT)

    other_user = client.post(
        url,
        {"username": world.rival_manager.user.username, "password": "correct-horse-battery"},
        REMOTE_ADDR="10.1.1.1",
    )

    assert other_user.status_code == 302  # signed in: a guesser cannot lock everybody out


def test_a_successful_sign_in_resets_the_count(client, world):
    url = reverse("merchants:login")
    username = world.manager.user.username
    fail(client, url, username, django_settings.AXES_FAILURE_LIMIT - 1)
    ok = client.post(url, {"username": username, "password": "correct-horse-battery"}, REMOTE_ADDR="10.1.1.1")
    assert ok.status_code == 302
    client.logout()

    again = fail(client, url, username, django_settings.AXES_FAILURE_LIMIT - 1)

    assert again.status_code == 200


def test_one_time_codes_are_slowed_per_phone_with_a_429(api_client, world):
    phone = world.member.phone

    answers = [
        api_client.post(
            "/api/v1/auth/otp/request/", {"phone": phone}, format="json", REMOTE_ADDR=f"10.0.0.{i}"
        )
        for i in range(5)
    ]

    # One code; the next only after the resend interval, whichever address asks (test_otp_abuse.py).
    assert [a.status_code for a in answers] == [200, 429, 429, 429, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert len([m for m in sms.outbox if m.phone == phone]) == 1


def test_one_time_codes_are_limited_per_address(api_client, world, settings):
    settings.OTP_PER_IP_PER_HOUR = 2

    answers = [
        api_client.post(
            "/api/v1/auth/otp/request/", {"phone": f"1390000{i:04d}"}, format="json", REMOTE_ADDR="10.9.9.9"
        )
        for i in range(3)
    ]

    assert [a.status_code for a in answers] == [200, 200, 429]


def test_guessing_a_one_time_code_locks_it(api_client, world, settings):
    phone = world.member.phone
    api_client.post("/api/v1/auth/otp/request/", {"phone": phone}, format="json")
    real = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    wrong = "000000" if real != "000000" else "111111"

    attempts = [
        api_client.post("/api/v1/auth/otp/verify/", {"phone": phone, "code": wrong}, format="json")
        for _ in range(settings.OTP_MAX_ATTEMPTS)
    ]
    after = api_client.post("/api/v1/auth/otp/verify/", {"phone": phone, "code": real}, format="json")

    assert all(a.status_code in (400, 404, 429) for a in attempts)
    assert after.status_code == 429  # the right code no longer works: a new one must be requested
    assert "token" not in after.json()


def test_each_pos_key_has_its_own_request_budget(api_client, world, settings):
    settings.POS_RATE_LIMIT_PER_MINUTE = 3
    mine = {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}"}
    theirs = {"HTTP_AUTHORIZATION": f"Api-Key {world.rival_key}"}

    answers = [api_client.get("/api/v1/redemptions/", **mine) for _ in range(5)]
    other = api_client.get("/api/v1/redemptions/", **theirs)

    statuses = [a.status_code for a in answers]
    assert statuses.count(200) <= 3 and statuses[-1] == 429, statuses
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert int(answers[-1]["Retry-After"]) >= 1
    assert other.status_code == 200

"""Odd input on the pages (not only the API, which schemathesis covers): NUL bytes, huge ids, dates
and months out of range, very long text. Each is answered without a server error; a NUL byte, which
no legitimate client sends and PostgreSQL cannot store, is refused with 400."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from members.auth import SESSION_KEY

HUGE = "9" * 25

PUBLIC = [
    "/?page=abc",
    "/?page=0",
    "/?page=99999",
    f"/?region={HUGE}",
    "/?near=abc",
    "/?near=999,999",
    "/?available_today=maybe",
    "/?q=" + "长" * 3000,
    f"/offers/{HUGE}/",
    f"/api/v1/offers/{HUGE}/",
    "/api/v1/offers/?near=nan,nan",
    "/api/v1/offers/?near=1,2,3",
    "/api/v1/offers/?page_size=abc",
    "/me/sign-in/?next=//evil.example/",
]
MEMBER = ["/me/redemptions/?page=abc", "/me/consent/?next=javascript:alert(1)"]
MANAGER = [
    "/merchant/till/statement/?month=abc",
    "/merchant/till/statement/?month=0001-01",
    "/merchant/till/statement/?month=9999-12",
    "/merchant/till/statement/?month=2026-13&format=xlsx",
    f"/merchant/stores/{HUGE}/",
    f"/merchant/offers/{HUGE}/",
    f"/merchant/till/redemptions/{HUGE}/",
]
STAFF = [
    "/staff/?date=abc",
    "/staff/?date=0001-01-01",
    "/staff/?date=9999-12-31",
    "/staff/union/" + "x" * 300 + "/",
    "/staff/union/P/export.xlsx?date=abc",
    f"/staff/runs/{HUGE}/",
    "/staff/subsidies/?month=abc",
    "/staff/subsidies/?month=0001-01",
    "/staff/subsidies/?month=9999-12",
    f"/admin/members/member/{HUGE}/change/",
    f"/admin/members/member/{HUGE}/reveal-id/",
    f"/admin/members/issuancebatch/{HUGE}/status/",
    "/api/v1/stats/coverage/?date=abc&union=P",
]
NUL = [
    "/?category=%00",
    "/?q=%00",
    "/api/v1/offers/?category=%00",
    "/api/v1/offers/?region=a%00b",
    "/api/v1/offers/?q=%00",
    "/staff/union/%00/",
    "/staff/union/%00/export.xlsx",
    "/admin/members/member/?status=%00",
    "/admin/autocomplete/?app_label=portal&model_name=user&field_name=union&term=%00",
]


@pytest.fixture
def parties(world):
    member = Client(raise_request_exception=False)
    world.member.consent_at = timezone.now()
    world.member.save(update_fields=["consent_at"])
    session = member.session
    session[SESSION_KEY] = world.member.pk
    session.save()
    member.cookies["sessionid"] = session.session_key
    manager = Client(raise_request_exception=False)
    manager.force_login(world.manager.user)
    staff = Client(raise_request_exception=False)
    staff.force_login(world.province_admin)
    return {
        "public": Client(raise_request_exception=False),
        "member": member,
        "manager": manager,
        "staff": staff,
    }


def test_odd_input_never_gives_a_server_error(parties):
    failures = []
    for who, urls in (("public", PUBLIC), ("member", MEMBER), ("manager", MANAGER), ("staff", STAFF)):
        client = parties[who]
        for url in urls:
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{who} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_nul_byte_is_refused_with_400_everywhere(parties):
    answers = {url: parties["staff"].get(url) for url in NUL}

    assert {url: r.status_code for url, r in answers.items()} == dict.fromkeys(NUL, 400)
    api = answers["/api/v1/offers/?q=%00"]
    assert api.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_address_answers_the_json_envelope_in_any_mode(db, settings, debug):
    settings.DEBUG = debug  # Django's technical 404 page would otherwise answer in development
    client = Client(enforce_csrf_checks=True)
    for method, url in [
        ("get", "/api/v1/offers/null,null/"),
        ("post", "/api/v1/redemptions/null,null/void/"),
        ("get", "/api/nothing/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"
    # Without its slash, an API address is a 404 envelope too, never a redirect: a client would follow
    # a redirect of a POST as a GET (tests/redemption/test_api_operations.py).
    response = client.get("/api/v1/offers")
    assert response.status_code == 404 and "Location" not in response
    assert response.json()["error"]["code"] == "not_found"

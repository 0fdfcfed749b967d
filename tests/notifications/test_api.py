"""The member API of the inbox, from the app's side and a stranger's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Topic
from notifications.recipients import Recipient
from tests.hardening.conftest import member_token
from tests.notifications.conftest import as_member, of

pytestmark = pytest.mark.django_db


def notice_for(recipient, key, title="通知"):
    return services.notify(
        recipient=recipient, topic=Topic.CLAIM_PAID, title=title, body="20元已到账", dedup_key=key
    )


def app(member) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {member_token(member)}")
    return client


def test_list_returns_my_notices_unread_first_with_the_unread_count(member, other_member):
    read = notice_for(of(member), "a", "已读")
    unread = notice_for(of(member), "b", "未读")
    services.notification_mark_read(recipient=of(member), notification_id=read.pk)
    notice_for(of(other_member), "c", "别人的")

    body = app(member).get("/api/v1/me/notifications/").json()

    assert body["count"] == 2 and body["unread_count"] == 1
    assert [n["id"] for n in body["results"]] == [unread.pk, read.pk]
    first = body["results"][0]
    assert first["topic"] == "claim_paid" and first["topic_label"] == "补贴已到账"
    assert first["unread"] is True and first["read_at"] is None and first["link"] == ""


def test_mark_one_read(member):
    notice = notice_for(of(member), "a")
    response = app(member).post(f"/api/v1/me/notifications/{notice.pk}/read/")
    assert response.status_code == 200
    assert response.json()["unread"] is False and response.json()["read_at"]
    first_read = response.json()["read_at"]
    assert app(member).post(f"/api/v1/me/notifications/{notice.pk}/read/").json()["read_at"] == first_read


def test_mark_all_read(member):
    notice_for(of(member), "a")
    notice_for(of(member), "b")
    assert app(member).post("/api/v1/me/notifications/read-all/").json() == {"marked": 2}
    assert app(member).get("/api/v1/me/notifications/").json()["unread_count"] == 0


def test_another_member_cannot_read_or_mark_my_notice(member, other_member):
    mine = notice_for(of(member), "a")
    response = app(other_member).post(f"/api/v1/me/notifications/{mine.pk}/read/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert app(other_member).get("/api/v1/me/notifications/").json()["count"] == 0
    mine.refresh_from_db()
    assert mine.read_at is None


def test_a_users_notice_is_not_found_for_the_member_with_the_same_number(member):
    theirs = notice_for(Recipient.user(member.pk), "u")
    assert app(member).post(f"/api/v1/me/notifications/{theirs.pk}/read/").status_code == 404


def test_anonymous_and_bad_tokens_get_401_in_the_envelope(member):
    mine = notice_for(of(member), "a")
    stranger = APIClient()
    for response in (
        stranger.get("/api/v1/me/notifications/"),
        stranger.post(f"/api/v1/me/notifications/{mine.pk}/read/"),
        stranger.post("/api/v1/me/notifications/read-all/"),
    ):
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
    stranger.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert stranger.get("/api/v1/me/notifications/").status_code == 401
    mine.refresh_from_db()
    assert mine.read_at is None


def test_a_staff_session_is_no_member(client, staff, member):
    notice_for(Recipient.user(staff.pk), "s")
    client.force_login(staff)
    assert client.get("/api/v1/me/notifications/").status_code == 401


def test_the_page_session_works_with_csrf(member):
    notice = notice_for(of(member), "a")
    browser = as_member(member)
    assert browser.get("/api/v1/me/notifications/").json()["count"] == 1
    browser.handler.enforce_csrf_checks = True
    assert browser.post(f"/api/v1/me/notifications/{notice.pk}/read/").status_code == 403


def test_huge_ids_are_not_found(member):
    response = app(member).post("/api/v1/me/notifications/99999999999999999999/read/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_list_runs_a_fixed_number_of_queries(member, django_assert_num_queries):
    client = app(member)
    notice_for(of(member), "a")
    with django_assert_num_queries(4) as small:  # token, count, page, unread count
        client.get("/api/v1/me/notifications/")
    for index in range(10):
        notice_for(of(member), f"b{index}")
    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/api/v1/me/notifications/")


def test_the_schema_documents_the_endpoints_with_member_security(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["paths"]["/api/v1/me/notifications/"]["get"]
    assert {"memberToken": []} in listing["security"] and {"memberSession": []} in listing["security"]
    assert set(listing["responses"]) >= {"200", "401"}
    read = schema["paths"]["/api/v1/me/notifications/{notification_id}/read/"]["post"]
    assert set(read["responses"]) >= {"200", "401", "404"}

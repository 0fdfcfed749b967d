"""The webhook pages of the merchant portal and the admin, from the manager's side and the outsider's:
the secret is shown once; disabling and deleting ask first; cashiers are refused; another merchant's
manager finds nothing of mine, exactly as for ids that do not exist; staff read endpoints of their
region only, without the secret."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.roles import Role
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

LIST = "/merchant/webhooks/"
NEW = "/merchant/webhooks/new/"


def as_manager(client, shop):
    client.force_login(shop.manager.user)
    return client


def test_a_manager_adds_an_endpoint_and_sees_the_secret_once(client, shop):
    as_manager(client, shop)
    form = client.get(NEW)
    assert form.status_code == 200 and 'name="url"' in form.content.decode()

    created = client.post(
        NEW,
        {"url": "https://pos.example.com/hooks", "events": ["redemption.created", "statement.ready"]},
    )

    assert created.status_code == 200
    endpoint = Endpoint.objects.get()
    secret = services.endpoint_secret(endpoint)
    assert secret in created.content.decode()
    assert created["Cache-Control"].startswith("max-age=0")
    assert endpoint.events == ["redemption.created", "statement.ready"]
    assert endpoint.created_by == shop.manager.user
    for page in (LIST, f"{LIST}{endpoint.pk}/"):
        text = client.get(page).content.decode()
        assert "pos.example.com/hooks" in text and secret not in text


def test_a_refused_url_is_explained_on_the_form_and_nothing_is_saved(client, shop, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
    as_manager(client, shop)

    response = client.post(NEW, {"url": "http://pos.example.com/hooks", "events": ["statement.ready"]})

    assert response.status_code == 200
    assert "https://" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_disabling_asks_first(client, shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    as_manager(client, shop)
    url = reverse("webhooks:endpoint_disable", args=[endpoint.pk])

    question = client.get(url)
    endpoint.refresh_from_db()
    assert question.status_code == 200 and "确认停用" in question.content.decode()
    assert endpoint.is_active

    done = client.post(url)
    endpoint.refresh_from_db()
    assert done.status_code == 302 and not endpoint.is_active


def test_deleting_asks_first(client, shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    as_manager(client, shop)
    url = reverse("webhooks:endpoint_delete", args=[endpoint.pk])

    question = client.get(url)
    assert question.status_code == 200 and "确认删除" in question.content.decode()
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()

    done = client.post(url)
    assert done.status_code == 302 and done.url == LIST
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_a_test_event_and_its_attempts_are_shown_with_status_code_time_and_error(
    client, shop, django_capture_on_commit_callbacks
):
    with Receiver([503, 200]) as receiver:
        endpoint, _s = register(shop, receiver.url())
        as_manager(client, shop)
        with django_capture_on_commit_callbacks() as queued:
            response = client.post(reverse("webhooks:endpoint_test", args=[endpoint.pk]))
        delivery = Delivery.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk])
        assert len(queued) == 1
        services.delivery_attempt(delivery_id=delivery.pk)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
        services.delivery_attempt(delivery_id=delivery.pk)

    page = client.get(response.url).content.decode()
    assert "已送达" in page and "webhook.test:" in page
    assert re.search(r"<td>1</td>\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", page)
    assert "503" in page and "HTTP 503" in page and "200" in page
    listing = client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert "测试事件" in listing and "已送达" in listing


def test_the_pages_cost_the_same_queries_however_many_rows(client, shop):
    as_manager(client, shop)
    first, _s = register(shop, "https://a.example.com/hooks")
    services.endpoint_send_test(endpoint=first)

    def counted(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    list_small = counted(LIST)
    detail_small = counted(reverse("webhooks:endpoint_detail", args=[first.pk]))
    for i in range(4):
        register(shop, f"https://b{i}.example.com/hooks")
        services.endpoint_send_test(endpoint=first)
    assert counted(LIST) == list_small
    assert counted(reverse("webhooks:endpoint_detail", args=[first.pk])) == detail_small


def test_only_managers_see_the_menu_link(client, shop):
    client.force_login(shop.cashier.user)
    assert "/merchant/webhooks/" not in client.get("/merchant/").content.decode()
    client.force_login(shop.manager.user)
    assert "/merchant/webhooks/" in client.get("/merchant/").content.decode()


# --- Outsiders ------------------------------------------------------------------------------------


def _doors(endpoint, delivery):
    return [
        ("get", LIST),
        ("get", NEW),
        ("post", NEW),
        ("get", reverse("webhooks:endpoint_detail", args=[endpoint.pk])),
        ("post", reverse("webhooks:endpoint_test", args=[endpoint.pk])),
        ("get", reverse("webhooks:endpoint_disable", args=[endpoint.pk])),
        ("post", reverse("webhooks:endpoint_disable", args=[endpoint.pk])),
        ("get", reverse("webhooks:endpoint_delete", args=[endpoint.pk])),
        ("post", reverse("webhooks:endpoint_delete", args=[endpoint.pk])),
        ("get", reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk])),
    ]


def test_a_cashier_is_refused_every_door(client, shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    delivery = services.endpoint_send_test(endpoint=endpoint)
    client.force_login(shop.cashier.user)

    answers = {(m, url): getattr(client, m)(url).status_code for m, url in _doors(endpoint, delivery)}

    assert set(answers.values()) == {403}, answers
    assert Endpoint.objects.get().is_active and Delivery.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client, shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    delivery = services.endpoint_send_test(endpoint=endpoint)
    for method, url in _doors(endpoint, delivery):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith("/merchant/login/"), url


def test_another_merchants_manager_finds_nothing_of_mine(client, shop, rival):
    endpoint, _s = register(shop, "https://mine.example.com/hooks")
    delivery = services.endpoint_send_test(endpoint=endpoint)
    their_endpoint, _s = register(rival, "https://theirs.example.com/hooks")
    client.force_login(rival.manager.user)

    listing = client.get(LIST).content.decode()
    answers = {
        url: getattr(client, method)(url).status_code
        for method, url in _doors(endpoint, delivery)
        if str(endpoint.pk) in url
    }
    # Their own endpoint with my delivery's id: not found either.
    mixed = client.get(reverse("webhooks:delivery_detail", args=[their_endpoint.pk, delivery.pk]))
    missing = client.get(reverse("webhooks:endpoint_detail", args=[999_999_999]))

    assert "mine.example.com" not in listing and "theirs.example.com" in listing
    assert set(answers.values()) == {404}, answers
    assert mixed.status_code == 404 and missing.status_code == 404
    assert Endpoint.objects.get(pk=endpoint.pk).is_active
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1


# --- Admin ----------------------------------------------------------------------------------------


def test_staff_read_endpoints_of_their_region_only_and_never_the_secret(
    client, shop, rival, make_staff, tree
):
    mine, secret = register(shop, "https://mine.example.com/hooks")
    register(rival, "https://theirs.example.com/hooks")
    county = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    sibling = make_staff(tree.C1B, Role.COUNTY_OPERATOR)
    changelist = reverse("admin:webhooks_endpoint_changelist")
    change = reverse("admin:webhooks_endpoint_change", args=[mine.pk])

    client.force_login(county)
    listed = client.get(changelist).content.decode()
    page = client.get(change)
    assert "mine.example.com" in listed and "theirs.example.com" not in listed
    assert page.status_code == 200 and secret not in page.content.decode()
    assert mine.secret_encrypted not in page.content.decode()
    assert 'name="url"' not in page.content.decode()  # read-only: no form field
    assert client.post(change, {"url": "https://evil.example.com/"}).status_code == 403
    assert client.get(reverse("admin:webhooks_endpoint_add")).status_code == 403
    assert client.get(reverse("admin:webhooks_endpoint_delete", args=[mine.pk])).status_code == 403

    client.force_login(sibling)
    assert "mine.example.com" not in client.get(changelist).content.decode()
    assert client.get(change).status_code == 302  # "does not exist" in the sibling's admin
    assert Endpoint.objects.get(pk=mine.pk).url == "https://mine.example.com/hooks"


def test_the_pages_speak_english_too(client, shop):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    as_manager(client, shop)
    client.cookies["django_language"] = "en"

    listing = client.get(LIST).content.decode()
    detail = client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()

    assert "Add endpoint" in listing and "Redemption made" in listing
    assert "Send test event" in detail and "No deliveries yet." in detail

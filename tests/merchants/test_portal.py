"""The merchant portal: sign-in, what managers and cashiers see, and that nothing of another
merchant can be reached (404, not someone else's data)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from discounts.forms import percent_off_to_zhe, zhe_to_percent_off
from discounts.models import Offer
from merchants import apikeys
from merchants.models import ApiKey, Merchant, MerchantUser, Store
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import OfferFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_sign_in_with_password_goes_to_the_portal(client, manager):
    page = client.get("/merchant/login/")
    assert page.status_code == 200
    response = client.post(
        "/merchant/login/", {"username": manager.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response["Location"] == "/merchant/"
    assert "星光影城" in client.get("/merchant/").content.decode()


def test_wrong_password_is_refused_with_a_message(client, manager):
    response = client.post("/merchant/login/", {"username": manager.username, "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/merchant/")
    assert response.status_code == 302 and response["Location"].startswith("/merchant/login/")
    assert client.get("/merchant/keys/new/").status_code == 302


def test_sign_out(client, manager):
    client.force_login(manager)
    assert client.post("/merchant/logout/").status_code == 302
    assert client.get("/merchant/").status_code == 302


def test_manager_home_shows_stores_offers_and_keys(client, manager, merchant, store):
    OfferFactory(merchant=merchant, title="周末10元观影")
    key, _raw = apikeys.api_key_create(merchant=merchant, name="前台1号", created_by=manager, store=store)
    client.force_login(manager)
    text = client.get("/merchant/").content.decode()
    assert "长安店" in text and "周末10元观影" in text and "前台1号" in text and key.prefix in text
    assert "从未使用" in text and "/merchant/till/" in text


def test_cashier_sees_only_the_till(client, cashier, merchant, store):
    OfferFactory(merchant=merchant, title="周末10元观影")
    client.force_login(cashier)
    text = client.get("/merchant/").content.decode()
    main = text.split("<main")[1].split("</main>")[0]
    assert "/merchant/till/" in main and "周末10元观影" not in main and "密钥" not in main
    for url in (
        "/merchant/keys/new/",
        "/merchant/stores/new/",
        "/merchant/offers/new/",
        "/merchant/users/new/",
    ):
        assert client.get(url).status_code == 403


def test_staff_without_a_merchant_are_sent_to_sign_in(client, tree, make_staff):
    client.force_login(make_staff(tree.C1))
    assert client.get("/merchant/").status_code == 302


def test_suspended_merchant_portal_is_closed(client, manager, merchant):
    merchant.status = Merchant.Status.SUSPENDED
    merchant.save()
    client.force_login(manager)
    assert client.get("/merchant/").status_code == 403


# --- API keys ------------------------------------------------------------------------------------------


def test_manager_creates_a_key_shown_once_and_stored_hashed(client, manager, merchant, store):
    client.force_login(manager)
    response = client.post("/merchant/keys/new/", {"name": "收银机1号", "store": store.pk})
    assert response.status_code == 200
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    key = ApiKey.objects.get(merchant=merchant)
    assert key.store == store and raw.startswith(f"pk_{key.prefix}_") and raw not in key.key_hash
    assert apikeys.api_key_authenticate(raw) == key
    assert raw not in client.get("/merchant/").content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_CREATED).exists()


def test_key_cannot_be_pinned_to_another_merchants_store(client, manager):
    client.force_login(manager)
    other_store = StoreFactory()
    response = client.post("/merchant/keys/new/", {"name": "收银机", "store": other_store.pk})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()


def test_manager_revokes_a_key(client, manager, merchant):
    key, raw = apikeys.api_key_create(merchant=merchant, name="前台", created_by=manager)
    client.force_login(manager)
    asked = client.post(f"/merchant/keys/{key.pk}/revoke/")
    assert asked.status_code == 200 and "不能恢复" in asked.content.decode()  # asks first
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.post(f"/merchant/keys/{key.pk}/revoke/", {"confirmed": "1"}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert apikeys.api_key_authenticate(raw) is None


def test_another_merchants_manager_gets_404_for_keys_stores_offers_and_users(
    client, manager, stranger, merchant, store, cashier
):
    key, raw = apikeys.api_key_create(merchant=merchant, name="前台", created_by=manager)
    offer = OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
    cashier_link = MerchantUser.objects.get(user=cashier)
    client.force_login(stranger)
    assert client.post(f"/merchant/keys/{key.pk}/revoke/").status_code == 404
    assert client.get(f"/merchant/stores/{store.pk}/").status_code == 404
    assert client.get(f"/merchant/offers/{offer.pk}/").status_code == 404
    assert client.post(f"/merchant/offers/{offer.pk}/submit/").status_code == 404
    assert client.post(f"/merchant/users/{cashier_link.pk}/active/", {"active": "0"}).status_code == 404
    text = client.get("/merchant/").content.decode()
    assert "长安店" not in text and key.prefix not in text
    key.refresh_from_db()
    offer.refresh_from_db()
    assert key.revoked_at is None and offer.status == Offer.Status.DRAFT
    assert apikeys.api_key_authenticate(raw) == key


# --- stores, users ---------------------------------------------------------------------------------------


def test_manager_adds_and_edits_a_store(client, manager, merchant, tree):
    client.force_login(manager)
    data = {
        "name": "裕华店",
        "region": tree.C1A.pk,
        "address": "裕华路100号",
        "phone": "0311-88888888",
        "latitude": "38.020000",
        "longitude": "114.530000",
        "is_active": "on",
    }
    assert client.post("/merchant/stores/new/", data).status_code == 302
    store = Store.objects.get(merchant=merchant, name="裕华店")
    assert store.latitude is not None
    response = client.post(f"/merchant/stores/{store.pk}/", {**data, "latitude": "95", "longitude": "114.53"})
    assert response.status_code == 200
    assert "纬度" in response.content.decode()
    assert client.post(f"/merchant/stores/{store.pk}/", {**data, "address": "裕华路200号"}).status_code == 302
    store.refresh_from_db()
    assert store.address == "裕华路200号"


def test_manager_adds_a_cashier_who_can_sign_in_and_disables_them(client, manager, merchant, store):
    client.force_login(manager)
    response = client.post(
        "/merchant/users/new/",
        {
            "username": "cashier_li",
            "display_name": "李收银",
            "password": "Till-Pass-2026",
            "role": "cashier",
            "store": store.pk,
        },
    )
    assert response.status_code == 302
    link = MerchantUser.objects.get(user__username=f"m{merchant.pk}-cashier_li")  # the merchant's prefix
    assert link.merchant == merchant and link.role == "cashier" and link.store == store
    assert not link.user.is_staff
    client.post(f"/merchant/users/{link.pk}/active/", {"active": "0"})
    link.user.refresh_from_db()
    assert link.user.is_active  # asked first: nothing changed yet
    client.post(f"/merchant/users/{link.pk}/active/", {"active": "0", "confirmed": "1"})
    link.user.refresh_from_db()
    assert not link.user.is_active
    response = client.post(
        "/merchant/users/new/", {"username": "cashier_li", "password": "Till-Pass-2026", "role": "cashier"}
    )
    assert "该用户名已被使用" in response.content.decode()
    response = client.post("/merchant/users/new/", {"username": "c2", "password": "123", "role": "cashier"})
    assert (
        response.status_code == 200
        and not MerchantUser.objects.filter(user__username__endswith="c2").exists()
    )


# --- offers ------------------------------------------------------------------------------------------------


def offer_form(**overrides):
    data = {
        "title": "周末10元观影",
        "description": "",
        "kind": "fixed_price",
        "fixed_price": "10",
        "unit_label": "张",
        "funder": "merchant",
        "channel": "in_store",
        "valid_from": "2026-01-01",
        "valid_until": "2027-12-31",
        "weekdays": ["6", "7"],
        "daily_quota": "1500",
        "per_member_daily_limit": "2",
    }
    data.update(overrides)
    return data


def test_manager_drafts_edits_and_submits_an_offer(client, manager, merchant, store):
    client.force_login(manager)
    assert client.get("/merchant/offers/new/").status_code == 200
    response = client.post("/merchant/offers/new/", offer_form(stores=[store.pk]))
    assert response.status_code == 302, response.content.decode()
    offer = Offer.objects.get(merchant=merchant)
    assert (
        offer.status == Offer.Status.DRAFT
        and offer.weekdays == [6, 7]
        and list(offer.stores.all()) == [store]
    )
    assert offer.created_by == manager
    response = client.post(f"/merchant/offers/{offer.pk}/", offer_form(daily_quota="1000"))
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.daily_quota == 1000
    client.post(f"/merchant/offers/{offer.pk}/submit/")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING
    response = client.get(f"/merchant/offers/{offer.pk}/")
    assert response.status_code == 302  # no more edits while the union reviews it


def test_offer_form_shows_validation_messages(client, manager):
    client.force_login(manager)
    response = client.post(
        "/merchant/offers/new/",
        offer_form(kind="percent_off", discount_zhe="150", valid_until="2025-01-01", daily_quota="-3"),
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "例如 9.5 或 95 都表示95折" in text
    assert "结束日期不能早于开始日期" in text
    assert not Offer.objects.exists()
    response = client.post("/merchant/offers/new/", offer_form(kind="allowance", funder="union"))
    text = response.content.decode()
    # The retired hospital allowance is not among the choices: the form says so, nothing is saved.
    assert "allowance" not in re.findall(r'<option value="(\w+)"', text)
    assert response.status_code == 200 and not Offer.objects.exists()


@pytest.mark.parametrize(
    ("typed", "percent_off"),
    [("95", "5"), ("9.5", "5"), ("８８", "12"), ("8", "20"), ("80", "20"), ("8.75", "12.5"), ("1", "90")],
)
def test_the_discount_is_typed_in_zhe_and_kept_as_percent_off(client, manager, merchant, typed, percent_off):
    client.force_login(manager)
    data = offer_form(kind="percent_off", discount_zhe=typed, fixed_price="")
    response = client.post("/merchant/offers/new/", data)
    assert response.status_code == 302, response.content.decode()
    offer = Offer.objects.get(merchant=merchant)
    assert offer.percent_off == Decimal(percent_off)
    page = client.get(f"/merchant/offers/{offer.pk}/").content.decode()
    shown = format(((100 - Decimal(percent_off)) / 10).normalize(), "f")
    assert f'name="discount_zhe" value="{shown}"' in page


@pytest.mark.parametrize("typed", ["10", "100", "0", "-5", "abc"])
def test_a_discount_that_is_no_discount_is_refused(client, manager, merchant, typed):
    client.force_login(manager)
    response = client.post("/merchant/offers/new/", offer_form(kind="percent_off", discount_zhe=typed))
    assert response.status_code == 200
    assert 'class="form-errors' in response.content.decode()
    assert not Offer.objects.exists()


@given(st.decimals(min_value="0.01", max_value="99.99", places=2))
def test_zhe_and_percent_off_convert_both_ways(percent_off):
    assert zhe_to_percent_off(percent_off_to_zhe(percent_off)) == percent_off


def test_the_preview_reads_the_form_without_saving(client, manager, merchant):
    client.force_login(manager)
    response = client.post("/merchant/offers/preview/", offer_form(kind="percent_off", discount_zhe="88"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "8.8折" in text and "周末10元观影" in text
    assert not Offer.objects.exists()


def test_portal_has_no_way_to_publish(client, manager, merchant):
    offer = OfferFactory(merchant=merchant, status=Offer.Status.APPROVED)
    client.force_login(manager)
    text = client.get("/merchant/").content.decode()
    assert "发布" not in text.replace("发布后", "")
    assert (
        client.post(f"/admin/discounts/offer/{offer.pk}/workflow/", {"action": "publish"}).status_code == 302
    )
    offer.refresh_from_db()
    assert offer.status == Offer.Status.APPROVED


def test_portal_home_runs_a_fixed_number_of_queries(client, manager, merchant, django_assert_num_queries):
    def add_rows(count):
        for _ in range(count):
            store = StoreFactory(merchant=merchant)
            OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
            apikeys.api_key_create(merchant=merchant, name="前台", created_by=manager, store=store)

    add_rows(1)
    client.force_login(manager)
    with django_assert_num_queries(11) as first:  # the unread notices in the header are one of them
        client.get("/merchant/")
    add_rows(6)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get("/merchant/")
    assert response.content.decode().count("前台") == 7


def test_admin_merchant_list_runs_a_fixed_number_of_queries(
    client, tree, make_staff, django_assert_max_num_queries
):
    from tests.factories import MerchantFactory

    MerchantFactory(region=tree.C1A)
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    with django_assert_max_num_queries(20) as first:
        client.get("/admin/merchants/merchant/")
    for _ in range(8):
        MerchantFactory(region=tree.C1A)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/admin/merchants/merchant/")

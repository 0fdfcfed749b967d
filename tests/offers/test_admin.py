"""The offer admin: workflow buttons, live limit changes kept in the trail and shown inline, codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from discounts.models import Offer, OfferLimitChange, VoucherCode
from portal.roles import Role
from tests.factories import MerchantFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(tree):
    return OfferFactory(merchant=MerchantFactory(region=tree.C1A), title="周末观影", daily_quota=200)


def zhe(percent_off) -> str:
    """The 折 the admin's form takes for a percent off (10 → 9)."""
    return "" if percent_off in (None, "") else str((Decimal(100) - Decimal(percent_off)) / 10)


def admin_form_data(offer, **overrides):
    if "percent_off" in overrides:
        overrides["discount_zhe"] = zhe(overrides.pop("percent_off"))
    data = {
        "merchant": offer.merchant_id,
        "title": offer.title,
        "description": "",
        "kind": offer.kind,
        "discount_zhe": zhe(offer.percent_off),
        "unit_label": offer.unit_label,
        "funder": offer.funder,
        "channel": offer.channel,
        "valid_from": offer.valid_from.isoformat(),
        "valid_until": offer.valid_until.isoformat(),
        "daily_quota": "" if offer.daily_quota is None else str(offer.daily_quota),
        "limit_changes-TOTAL_FORMS": "0",
        "limit_changes-INITIAL_FORMS": "0",
        "limit_changes-MIN_NUM_FORMS": "0",
        "limit_changes-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_raising_a_live_quota_in_the_admin_goes_to_the_trail_and_shows_inline(
    client, offer, tree, make_staff
):
    staff = make_staff(tree.C1, Role.CITY_OPERATOR)
    client.force_login(staff)
    url = f"/admin/discounts/offer/{offer.pk}/change/"
    response = client.post(url, admin_form_data(offer, daily_quota="500"))
    assert response.status_code == 302, response.content.decode()[:3000]
    change = OfferLimitChange.objects.get(offer=offer)
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "daily_quota",
        "200",
        "500",
        staff,
    )
    page = client.get(url).content.decode()
    assert "名额/预算变更记录" in page and "500" in page and staff.username in page


def test_admin_edit_never_writes_back_a_stale_budget_used(client, tree, make_staff):
    offer = OfferFactory(
        merchant=MerchantFactory(region=tree.C1A),
        status=Offer.Status.DRAFT,  # a live offer's title is no longer editable (see below)
        kind=Offer.Kind.FIXED_PRICE,
        percent_off=None,
        fixed_price=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget=Decimal("1000"),
        budget_owner=tree.P,
    )
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    data = admin_form_data(
        offer,
        fixed_price="20",
        budget="1000",
        budget_owner=tree.P.pk,
        percent_off="",
        title="体检套餐",
    )
    client.get(f"/admin/discounts/offer/{offer.pk}/change/")
    Offer.objects.filter(pk=offer.pk).update(budget_used=Decimal("120"))  # a redemption meanwhile
    assert client.post(f"/admin/discounts/offer/{offer.pk}/change/", data).status_code == 302
    offer.refresh_from_db()
    assert offer.title == "体检套餐" and offer.budget_used == Decimal("120")


def test_workflow_buttons_in_the_admin(client, offer, tree, make_staff):
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.PENDING)
    staff = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    client.force_login(staff)
    url = f"/admin/discounts/offer/{offer.pk}/workflow/"
    client.post(url, {"action": "reject"})
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING
    client.post(url, {"action": "approve"})
    client.post(url, {"action": "publish"})
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PUBLISHED


def test_staff_of_another_city_cannot_reach_the_offer_in_the_admin(client, offer, tree, make_staff):
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.PENDING)
    client.force_login(make_staff(tree.C2, Role.CITY_OPERATOR))
    assert (
        client.post(f"/admin/discounts/offer/{offer.pk}/workflow/", {"action": "approve"}).status_code == 404
    )
    assert "周末观影" not in client.get("/admin/discounts/offer/").content.decode()
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING


def test_codes_are_uploaded_or_generated_in_the_admin(client, tree, make_staff):
    offer = OfferFactory(
        merchant=MerchantFactory(region=tree.C1A),
        channel=Offer.Channel.ONLINE,
        kind=Offer.Kind.AMOUNT_OFF,
        percent_off=None,
        amount_off=Decimal("30"),
    )
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    url = f"/admin/discounts/offer/{offer.pk}/codes/"
    upload = SimpleUploadedFile("codes.csv", b"code\nAAA111\nBBB222\nAAA111\n", content_type="text/csv")
    client.post(url, {"file": upload})
    assert set(VoucherCode.objects.filter(offer=offer).values_list("code", flat=True)) == {"AAA111", "BBB222"}
    client.post(url, {"count": "50"})
    assert VoucherCode.objects.filter(offer=offer).count() == 52
    page = client.get(f"/admin/discounts/offer/{offer.pk}/change/").content.decode()
    assert "共52个，已领取0个，剩余52个" in page


def test_admin_offer_list_query_count_is_fixed(client, tree, make_staff, django_assert_max_num_queries):
    for _ in range(3):
        OfferFactory(merchant=MerchantFactory(region=tree.C1A))
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    with django_assert_max_num_queries(15) as first:
        client.get("/admin/discounts/offer/")
    for _ in range(10):
        OfferFactory(merchant=MerchantFactory(region=tree.C1A))
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/admin/discounts/offer/")


def test_staff_add_an_offer_as_a_draft_and_validation_shows_on_the_form(client, tree, make_staff):
    merchant = MerchantFactory(region=tree.C1A)
    # Merchants draft most offers; staff add the union's own in the admin, as drafts — in 折, as
    # merchants do (会员9折 is 10 % off).
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    template = OfferFactory.build(merchant=merchant, title="会员9折", daily_quota=None)
    data = admin_form_data(template, percent_off="10")
    response = client.post("/admin/discounts/offer/add/", {**data, "discount_zhe": "150"})
    assert response.status_code == 200
    assert "例如 9.5 或 95 都表示95折" in response.content.decode()
    assert client.post("/admin/discounts/offer/add/", data).status_code == 302
    offer = Offer.objects.get(title="会员9折", percent_off=Decimal("10"))
    assert offer.status == Offer.Status.DRAFT and offer.merchant == merchant


# --- The admin is no second writer: it goes through the offer services -----------------------------


def test_the_admin_cannot_change_kind_price_or_merchant_of_a_published_offer(client, offer, tree, make_staff):
    from discounts.redemption import redemption_create
    from portal.models import AuditEvent
    from tests.factories import CardFactory, MemberFactory, StoreFactory

    store = StoreFactory(merchant=offer.merchant)
    redemption_create(
        merchant=offer.merchant,
        store_id=store.pk,
        offer_id=offer.pk,
        card_number=CardFactory(member=MemberFactory(union=tree.C1A1)).number,
        amount="100",
    )
    rival = MerchantFactory(region=tree.C1A, name="对面影城")
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    url = f"/admin/discounts/offer/{offer.pk}/change/"
    response = client.post(
        url,
        admin_form_data(
            offer, kind="fixed_price", percent_off="", fixed_price="1", merchant=rival.pk, daily_quota="500"
        ),
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "只能调整名额" in text and "类型" in text
    offer.refresh_from_db()
    assert (offer.kind, offer.percent_off, offer.fixed_price, offer.merchant_id, offer.daily_quota) == (
        Offer.Kind.PERCENT_OFF,
        Decimal("10.00"),
        None,
        offer.merchant.pk,
        200,
    )
    assert not OfferLimitChange.objects.exists()
    assert not AuditEvent.objects.filter(target_type="discounts.offer", target_id=str(offer.pk)).exists()
    page = client.get(url).content.decode()
    assert "只能调整名额" in page  # the form says so before anyone tries


def test_a_draft_changed_in_the_admin_is_validated_by_the_service_and_audited(client, tree, make_staff):
    from portal.models import AuditEvent

    offer = OfferFactory(merchant=MerchantFactory(region=tree.C1A), status=Offer.Status.DRAFT, title="旧标题")
    staff = make_staff(tree.C1, Role.CITY_OPERATOR)
    client.force_login(staff)
    url = f"/admin/discounts/offer/{offer.pk}/change/"
    assert client.post(url, admin_form_data(offer, title="新标题", percent_off="15")).status_code == 302
    offer.refresh_from_db()
    assert (offer.title, offer.percent_off) == ("新标题", Decimal("15.00"))
    event = AuditEvent.objects.get(action=AuditEvent.Action.OFFER_CHANGED, target_id=str(offer.pk))
    assert event.actor == staff
    assert event.data["title"] == {"old": "旧标题", "new": "新标题"}
    assert event.data["percent_off"] == {"old": "10.00", "new": "15.00"}
    moved = client.post(url, admin_form_data(offer, merchant=MerchantFactory(region=tree.C1A).pk))
    assert moved.status_code == 200  # an offer never moves to another merchant
    offer.refresh_from_db()
    assert offer.merchant.region == tree.C1A and offer.title == "新标题"


def test_an_offer_added_in_the_admin_is_created_by_the_service_and_audited(client, tree, make_staff):
    from portal.models import AuditEvent

    merchant = MerchantFactory(region=tree.C1A)
    staff = make_staff(tree.C1, Role.CITY_OPERATOR)
    client.force_login(staff)
    template = OfferFactory.build(merchant=merchant, title="工会补贴观影", daily_quota=None)
    assert client.post("/admin/discounts/offer/add/", admin_form_data(template)).status_code == 302
    offer = Offer.objects.get(title="工会补贴观影")
    assert (offer.status, offer.created_by) == (Offer.Status.DRAFT, staff)
    event = AuditEvent.objects.get(action=AuditEvent.Action.OFFER_CHANGED, target_id=str(offer.pk))
    assert event.actor == staff and event.data["action"] == "create"

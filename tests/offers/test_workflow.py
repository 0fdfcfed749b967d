"""The review workflow and who may move an offer along it, tested from the outsider's side too."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from discounts import services
from discounts.models import Offer, OfferLimitChange
from funds.services import fund_open
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import MerchantFactory, MerchantUserFactory, OfferFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(tree):
    return MerchantFactory(region=tree.C1A)


@pytest.fixture
def manager(merchant):
    return MerchantUserFactory(merchant=merchant).user


@pytest.fixture
def reviewer(tree, make_staff):
    return make_staff(tree.C1, Role.CITY_OPERATOR)


def draft(merchant, manager, **fields):
    values = {
        "title": "周末观影",
        "kind": Offer.Kind.FIXED_PRICE,
        "fixed_price": Decimal("10"),
        "unit_label": "张",
        "valid_from": timezone.localdate() - datetime.timedelta(days=30),  # live whenever the suite runs
        "valid_until": timezone.localdate() + datetime.timedelta(days=365),
        "weekdays": [6, 7],
        "daily_quota": 200,
    }
    values.update(fields)
    return services.offer_create(merchant=merchant, created_by=manager, **values)


def test_manager_drafts_submits_and_staff_approves_and_publishes(merchant, manager, reviewer):
    offer = draft(merchant, manager)
    assert offer.status == Offer.Status.DRAFT
    services.offer_submit(offer=offer, submitted_by=manager)
    assert offer.status == Offer.Status.PENDING
    services.offer_approve(offer=offer, reviewed_by=reviewer)
    services.offer_publish(offer=offer, published_by=reviewer)
    assert offer.status == Offer.Status.PUBLISHED and offer.published_at is not None
    services.offer_pause(offer=offer, paused_by=reviewer)
    services.offer_publish(offer=offer, published_by=reviewer)
    services.offer_end(offer=offer, ended_by=reviewer)
    assert offer.status == Offer.Status.ENDED
    actions = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.OFFER_REVIEWED, target_id=str(offer.pk))
        .order_by("id")
        .values_list("data__action", flat=True)
    )
    assert actions == ["submit", "approve", "publish", "pause", "publish", "end"]


def test_reject_needs_a_reason_and_the_manager_can_edit_and_resubmit(merchant, manager, reviewer):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    with pytest.raises(ValidationFailed):
        services.offer_reject(offer=offer, reviewed_by=reviewer, reason="  ")
    services.offer_reject(offer=offer, reviewed_by=reviewer, reason="价格请写明含税")
    assert offer.status == Offer.Status.REJECTED and offer.status_reason == "价格请写明含税"
    services.offer_update(offer=offer, updated_by=manager, title="周末10元观影（含税）")
    services.offer_submit(offer=offer, submitted_by=manager)
    assert offer.status == Offer.Status.PENDING and offer.status_reason == ""


def test_a_merchant_cannot_approve_or_publish_its_own_offer(merchant, manager, reviewer):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    with pytest.raises(PermissionDenied, match="商家不能审核或发布"):
        services.offer_approve(offer=offer, reviewed_by=manager)
    services.offer_approve(offer=offer, reviewed_by=reviewer)
    with pytest.raises(PermissionDenied):
        services.offer_publish(offer=offer, published_by=manager)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.APPROVED


def test_staff_of_another_city_cannot_approve(tree, make_staff, merchant, manager, reviewer):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    outsider = make_staff(tree.C2, Role.CITY_OPERATOR)
    with pytest.raises(PermissionDenied, match="不在您的管理范围内"):
        services.offer_approve(offer=offer, reviewed_by=outsider)
    sibling_county = make_staff(tree.C1B, Role.COUNTY_OPERATOR)
    with pytest.raises(PermissionDenied):
        services.offer_approve(offer=offer, reviewed_by=sibling_county)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING
    services.offer_approve(offer=offer, reviewed_by=make_staff(tree.P, Role.PROVINCE_ADMIN))


def test_staff_without_the_review_permission_cannot_approve(tree, make_staff, merchant, manager):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    with pytest.raises(PermissionDenied, match="没有审核优惠的权限"):
        services.offer_approve(offer=offer, reviewed_by=make_staff(tree.C1A, Role.WORKPLACE_OPERATOR))


def test_another_merchants_manager_cannot_draft_or_submit(merchant, manager):
    stranger = MerchantUserFactory().user
    with pytest.raises(PermissionDenied):
        draft(merchant, stranger)
    offer = draft(merchant, manager)
    with pytest.raises(PermissionDenied):
        services.offer_submit(offer=offer, submitted_by=stranger)


def test_steps_out_of_order_are_refused(merchant, manager, reviewer):
    offer = draft(merchant, manager)
    with pytest.raises(Conflict):
        services.offer_approve(offer=offer, reviewed_by=reviewer)
    with pytest.raises(Conflict):
        services.offer_publish(offer=offer, published_by=reviewer)
    services.offer_submit(offer=offer, submitted_by=manager)
    with pytest.raises(Conflict):
        services.offer_update(offer=offer, updated_by=manager, title="改名")


def test_a_suspended_merchant_cannot_have_offers_published(merchant, manager, reviewer):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    services.offer_approve(offer=offer, reviewed_by=reviewer)
    merchant.status = merchant.Status.SUSPENDED
    merchant.save()
    with pytest.raises(Conflict):
        services.offer_publish(offer=offer, published_by=reviewer)


def test_offer_create_refuses_another_merchants_store(merchant, manager):
    with pytest.raises(ValidationFailed) as caught:
        draft(merchant, manager, stores=[StoreFactory()])
    assert "stores" in caught.value.fields


# --- live limits ---------------------------------------------------------------------------------------


def test_limit_changes_are_recorded_with_who_when_old_and_new(merchant, reviewer):
    offer = OfferFactory(merchant=merchant, daily_quota=200)
    for quota in (500, 1000, 1500, None):
        services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=quota)
    changes = list(OfferLimitChange.objects.filter(offer=offer).order_by("id"))
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        ("daily_quota", "200", "500"),
        ("daily_quota", "500", "1000"),
        ("daily_quota", "1000", "1500"),
        ("daily_quota", "1500", ""),
    ]
    assert {c.changed_by_id for c in changes} == {reviewer.pk}
    assert all(c.changed_at for c in changes)
    offer.refresh_from_db()
    assert offer.daily_quota is None
    events = AuditEvent.objects.filter(action=AuditEvent.Action.OFFER_LIMIT_CHANGED, target_id=str(offer.pk))
    assert events.count() == 4
    assert events.order_by("id").first().data == {"daily_quota": {"old": "200", "new": "500"}}


def test_unchanged_values_write_no_row(merchant, reviewer):
    offer = OfferFactory(merchant=merchant, daily_quota=200, per_member_daily_limit=1)
    assert services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=200) == []
    rows = services.offer_change_limits(
        offer=offer, changed_by=reviewer, daily_quota=200, per_member_daily_limit=2
    )
    assert [(row.field, row.old_value, row.new_value) for row in rows] == [
        ("per_member_daily_limit", "1", "2")
    ]


def test_quota_may_drop_below_todays_use_but_budget_not_below_spent(merchant, reviewer, tree):
    from discounts.models import OfferDayCounter
    from discounts.rules import local_day

    offer = OfferFactory(
        merchant=merchant,
        kind=Offer.Kind.FIXED_PRICE,
        percent_off=None,
        fixed_price=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget=Decimal("1000"),
        budget_owner=tree.P,
        budget_used=Decimal("600"),
        daily_quota=100,
    )
    OfferDayCounter.objects.create(offer=offer, day=local_day(), used=80)
    services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=50)
    assert offer.daily_quota == 50
    with pytest.raises(ValidationFailed, match="已用预算"):
        services.offer_change_limits(offer=offer, changed_by=reviewer, budget=Decimal("500"))
    services.offer_change_limits(offer=offer, changed_by=reviewer, budget=Decimal("600"))
    offer.refresh_from_db()
    assert offer.budget == Decimal("600")
    assert OfferLimitChange.objects.filter(offer=offer, field="budget").get().old_value == "1000.00"


def test_limit_changes_are_refused_to_merchants_and_other_cities(tree, make_staff, merchant, manager):
    offer = OfferFactory(merchant=merchant, daily_quota=200)
    with pytest.raises(PermissionDenied):
        services.offer_change_limits(offer=offer, changed_by=manager, daily_quota=5000)
    with pytest.raises(PermissionDenied):
        services.offer_change_limits(
            offer=offer, changed_by=make_staff(tree.C2, Role.CITY_OPERATOR), daily_quota=5000
        )
    offer.refresh_from_db()
    assert offer.daily_quota == 200
    assert not OfferLimitChange.objects.exists()


def test_only_limits_can_be_changed_and_nonsense_is_refused(merchant, reviewer):
    offer = OfferFactory(merchant=merchant, daily_quota=200)
    with pytest.raises(ValidationFailed):
        services.offer_change_limits(offer=offer, changed_by=reviewer, title="新标题")
    with pytest.raises(ValidationFailed, match="每日名额不能小于0"):
        services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=-5)


# --- The fund a union's share is paid from, chosen at approval (issue 18) -------------------------


@pytest.fixture
def cofunded_pending(merchant, manager, tree):
    offer = draft(
        merchant,
        manager,
        funder=Offer.Funder.COFUNDED,
        union_share_per_unit=Decimal("5"),
        budget=Decimal("10000"),
        budget_owner=tree.C1,
    )
    services.offer_submit(offer=offer, submitted_by=manager)
    return offer


def _fund_of(union):
    return fund_open(union=union, year=timezone.localdate().year)


def test_a_cofunded_offer_is_approved_with_the_fund_that_pays_its_share(cofunded_pending, reviewer, tree):
    with pytest.raises(ValidationFailed) as refused:
        services.offer_approve(offer=cofunded_pending, reviewed_by=reviewer)
    assert "fund" in refused.value.fields
    assert Offer.objects.get(pk=cofunded_pending.pk).status == Offer.Status.PENDING

    city_fund = _fund_of(tree.C1)
    services.offer_approve(offer=cofunded_pending, reviewed_by=reviewer, fund_id=city_fund.pk)

    offer = Offer.objects.get(pk=cofunded_pending.pk)
    assert (offer.status, offer.fund_id) == (Offer.Status.APPROVED, city_fund.pk)
    event = AuditEvent.objects.filter(
        action=AuditEvent.Action.OFFER_REVIEWED, target_id=str(offer.pk)
    ).latest("id")
    assert event.data["fund"] == city_fund.pk


def test_a_fund_out_of_the_reviewers_reach_is_refused_like_one_that_does_not_exist(
    cofunded_pending, reviewer, tree
):
    other_city = _fund_of(tree.C2)
    for fund_id in (other_city.pk, 2**62, "x"):
        with pytest.raises(ValidationFailed):
            services.offer_approve(offer=cofunded_pending, reviewed_by=reviewer, fund_id=fund_id)
    assert Offer.objects.get(pk=cofunded_pending.pk).fund_id is None


def test_an_offer_the_merchant_pays_alone_takes_no_fund(merchant, manager, reviewer, tree):
    offer = draft(merchant, manager)
    services.offer_submit(offer=offer, submitted_by=manager)
    with pytest.raises(ValidationFailed):
        services.offer_approve(offer=offer, reviewed_by=reviewer, fund_id=_fund_of(tree.C1).pk)
    services.offer_approve(offer=offer, reviewed_by=reviewer)
    assert Offer.objects.get(pk=offer.pk).fund_id is None


def test_the_admin_approves_with_the_fund_chosen_on_the_page(client, cofunded_pending, reviewer, tree):
    city_fund = _fund_of(tree.C1)
    _fund_of(tree.C2)  # another city's: not offered
    client.force_login(reviewer)
    page = client.get(f"/admin/discounts/offer/{cofunded_pending.pk}/change/").content.decode()
    assert f'<option value="{city_fund.pk}"' in page and page.count('name="fund"') == 1
    assert str(tree.C2.name) not in page.split('id="workflow-fund"')[1].split("</select>")[0]

    url = f"/admin/discounts/offer/{cofunded_pending.pk}/workflow/"
    client.post(url, {"action": "approve"})
    assert Offer.objects.get(pk=cofunded_pending.pk).status == Offer.Status.PENDING
    client.post(url, {"action": "approve", "fund": str(city_fund.pk)})
    assert Offer.objects.get(pk=cofunded_pending.pk).fund_id == city_fund.pk

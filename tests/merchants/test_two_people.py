"""Approving a merchant or an offer is done by someone other than who entered it (DESIGN invariant 7):
tried by the creator through the service and through the admin's own doors."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from discounts import services as offer_services
from discounts.models import Offer
from merchants import services
from merchants.models import Category, Merchant
from portal.approvals import SecondPersonRequired
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import MerchantFactory, OfferFactory

pytestmark = pytest.mark.django_db

# In force whenever the suite runs.
CONTRACT = {
    "contract_start": timezone.localdate() - datetime.timedelta(days=30),
    "contract_end": timezone.localdate() + datetime.timedelta(days=2 * 365),
}


def entered_by(user, tree) -> Merchant:
    return services.merchant_apply(
        name="燕赵人家饭庄",
        category=Category.objects.get(code="dining"),
        region=tree.C1A,
        contact_name="王经理",
        contact_phone="13800138000",
        created_by=user,
    )


def test_staff_who_entered_a_merchant_cannot_approve_it_a_colleague_can(tree, make_staff):
    clerk = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    merchant = entered_by(clerk, tree)
    assert merchant.created_by == clerk
    with pytest.raises(SecondPersonRequired, match="另一位工作人员"):
        services.merchant_approve(merchant=merchant, reviewed_by=clerk, **CONTRACT)
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.APPLIED
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MERCHANT_REVIEWED).exists()
    services.merchant_approve(
        merchant=merchant, reviewed_by=make_staff(tree.C1, Role.CITY_OPERATOR), **CONTRACT
    )
    assert merchant.status == Merchant.Status.APPROVED


def test_a_public_application_has_no_creator_and_any_reviewer_approves(client, tree, make_staff):
    client.post(
        "/merchant/apply/",
        {
            "name": "星光影城",
            "category": Category.objects.get(code="entertainment").pk,
            "region": tree.C1A.pk,
            "contact_name": "李经理",
            "contact_phone": "13800000001",
        },
    )
    merchant = Merchant.objects.get(name="星光影城")
    assert merchant.created_by is None
    services.merchant_approve(merchant=merchant, reviewed_by=make_staff(tree.C1A), **CONTRACT)
    assert merchant.status == Merchant.Status.APPROVED


def test_the_admin_review_door_refuses_the_creator_with_a_message(client, tree, make_staff):
    clerk = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    merchant = entered_by(clerk, tree)
    client.force_login(clerk)
    response = client.post(
        f"/admin/merchants/merchant/{merchant.pk}/review/",
        {"decision": "approve", **{name: day.isoformat() for name, day in CONTRACT.items()}},
        follow=True,
    )
    assert "须由创建人以外的另一位工作人员完成" in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.APPLIED


def test_a_one_person_union_approves_its_own_merchant_and_the_log_says_so(tree, make_staff):
    tree.C1A.single_person_approval = True
    tree.C1A.save(update_fields=["single_person_approval"])
    alone = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    merchant = entered_by(alone, tree)
    services.merchant_approve(merchant=merchant, reviewed_by=alone, **CONTRACT)
    assert merchant.status == Merchant.Status.APPROVED
    assert AuditEvent.objects.get(action=AuditEvent.Action.SELF_APPROVED).target_id == str(merchant.pk)


def test_a_superuser_adding_a_merchant_in_the_admin_is_recorded_as_its_creator(client, tree, roles):
    from tests.factories import UserFactory

    root = UserFactory(is_superuser=True, union=tree.P)
    client.force_login(root)
    data = {
        "name": "会员商城",
        "category": Category.objects.get(code="supermarkets").pk,
        "region": tree.C1A.pk,
        "licence_number": "",
        "description": "",
        "contact_name": "赵经理",
        "contact_phone": "13800000009",
        "contact_email": "",
        "stores-TOTAL_FORMS": "0",
        "stores-INITIAL_FORMS": "0",
        "stores-MIN_NUM_FORMS": "0",
        "stores-MAX_NUM_FORMS": "1000",
    }
    response = client.post("/admin/merchants/merchant/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    merchant = Merchant.objects.get(name="会员商城")
    assert (merchant.created_by, merchant.status) == (root, Merchant.Status.APPLIED)
    with pytest.raises(SecondPersonRequired):
        services.merchant_approve(merchant=merchant, reviewed_by=root, **CONTRACT)


# --- Offers ----------------------------------------------------------------------------------------


def staff_offer(creator, merchant) -> Offer:
    offer = OfferFactory(merchant=merchant, status=Offer.Status.PENDING, created_by=creator)
    return offer


def test_staff_who_drafted_an_offer_cannot_approve_it_a_colleague_can(tree, make_staff):
    drafter = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    offer = staff_offer(drafter, MerchantFactory(region=tree.C1A))
    with pytest.raises(SecondPersonRequired, match="另一位工作人员"):
        offer_services.offer_approve(offer=offer, reviewed_by=drafter)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING
    offer_services.offer_approve(offer=offer, reviewed_by=make_staff(tree.C1, Role.CITY_OPERATOR))
    assert offer.status == Offer.Status.APPROVED


def test_the_admin_workflow_door_and_action_refuse_the_offers_creator(client, tree, make_staff):
    drafter = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    offer = staff_offer(drafter, MerchantFactory(region=tree.C1A))
    client.force_login(drafter)
    response = client.post(f"/admin/discounts/offer/{offer.pk}/workflow/", {"action": "approve"}, follow=True)
    assert "须由创建人以外的另一位工作人员完成" in response.content.decode()
    client.post("/admin/discounts/offer/", {"action": "approve_selected", "_selected_action": [offer.pk]})
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING

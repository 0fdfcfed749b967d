"""Saved offers and merchants (我的收藏) and their notices, from the member's and an outsider's side."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from discounts import services
from discounts.models import Offer, SavedMerchant, SavedOffer
from notifications.models import Notification, Topic
from notifications.recipients import Recipient
from portal.roles import Role
from tests.factories import MemberFactory, MerchantFactory, MerchantUserFactory, OfferFactory
from tests.hardening.conftest import member_token
from tests.notifications.conftest import as_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messages_in_memory(settings):
    settings.SMS_BACKEND = "notifications.backends.sms.MemorySmsBackend"
    settings.WECHAT_BACKEND = "notifications.backends.wechat.MemoryWechatBackend"


@pytest.fixture
def merchant(tree):
    return MerchantFactory(region=tree.C1A)


@pytest.fixture
def offer(merchant):
    return OfferFactory(merchant=merchant, daily_quota=100)


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, phone="13912345678")


@pytest.fixture
def reviewer(tree, make_staff):
    return make_staff(tree.C1, Role.CITY_OPERATOR)


def app(member) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {member_token(member)}")
    return client


def quota_notices(member):
    return Notification.objects.filter(
        recipient_kind=Recipient.member(member.pk).kind,
        recipient_id=member.pk,
        topic=Topic.QUOTA_RAISED,
    )


def test_member_saves_from_the_offer_page_and_sees_it_on_my_saved(member, offer):
    browser = as_member(member)
    assert "收藏优惠" in browser.get(f"/offers/{offer.pk}/").content.decode()
    response = browser.post(f"/offers/{offer.pk}/save/")
    assert response.status_code == 302
    browser.post(f"/offers/{offer.pk}/save/")  # twice is still one row
    assert SavedOffer.objects.filter(member=member, offer=offer).count() == 1
    assert "取消收藏" in browser.get(f"/offers/{offer.pk}/").content.decode()
    page = browser.get("/me/saved/").content.decode()
    assert offer.title in page
    browser.post(f"/offers/{offer.pk}/save/", {"action": "unsave"})
    assert not SavedOffer.objects.filter(member=member).exists()


def test_anonymous_is_sent_to_sign_in_and_saves_nothing(client, offer):
    response = client.post(f"/offers/{offer.pk}/save/")
    assert response.status_code == 302 and "/me/sign-in/" in response["Location"]
    assert client.get("/me/saved/").status_code == 302
    assert not SavedOffer.objects.exists()


def test_api_saves_and_unsaves_offers_and_merchants(member, offer, merchant):
    api = app(member)
    assert api.put(f"/api/v1/me/saved/offers/{offer.pk}/").status_code == 200
    assert api.put(f"/api/v1/me/saved/merchants/{merchant.pk}/").status_code == 200
    body = api.get("/api/v1/me/saved/").json()
    assert [o["id"] for o in body["offers"]] == [offer.pk]
    assert [m["id"] for m in body["merchants"]] == [merchant.pk]
    assert api.delete(f"/api/v1/me/saved/offers/{offer.pk}/").status_code == 204
    assert not SavedOffer.objects.filter(member=member).exists()


def test_api_refuses_unlisted_offers_and_strangers(member, merchant):
    draft = OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
    assert app(member).put(f"/api/v1/me/saved/offers/{draft.pk}/").status_code == 404
    hidden = MerchantFactory()
    OfferFactory(merchant=hidden, status=Offer.Status.DRAFT)
    assert app(member).put(f"/api/v1/me/saved/merchants/{hidden.pk}/").status_code == 404
    assert APIClient().get("/api/v1/me/saved/").status_code == 401
    assert not SavedOffer.objects.exists() and not SavedMerchant.objects.exists()


def test_raising_the_quota_notifies_savers_once_each(member, offer, merchant, reviewer, tree):
    both = MemberFactory(union=tree.C1A1)
    by_merchant = MemberFactory(union=tree.C1A1)
    bystander = MemberFactory(union=tree.C1A1)
    SavedOffer.objects.create(member=member, offer=offer)
    SavedOffer.objects.create(member=both, offer=offer)
    SavedMerchant.objects.create(member=both, merchant=merchant)
    SavedMerchant.objects.create(member=by_merchant, merchant=merchant)

    services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=200)

    for saver in (member, both, by_merchant):
        notices = list(quota_notices(saver))
        assert len(notices) == 1 and "200" in notices[0].body and offer.title in notices[0].body
    assert not quota_notices(bystander).exists()

    services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=50)  # lowered: nothing
    assert quota_notices(member).count() == 1
    services.offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=None)  # unlimited: raised
    assert quota_notices(member).count() == 2


def test_other_limit_changes_do_not_notify(member, offer, reviewer):
    SavedOffer.objects.create(member=member, offer=offer)
    services.offer_change_limits(offer=offer, changed_by=reviewer, per_member_daily_limit=3)
    assert not quota_notices(member).exists()


def test_review_decisions_reach_the_merchants_users(merchant, reviewer):
    manager = MerchantUserFactory(merchant=merchant).user
    stranger = MerchantUserFactory(merchant=MerchantFactory(region=merchant.region)).user
    approved = OfferFactory(merchant=merchant, status=Offer.Status.PENDING, created_by=manager)
    rejected = OfferFactory(merchant=merchant, status=Offer.Status.PENDING, created_by=manager)
    services.offer_approve(offer=approved, reviewed_by=reviewer)
    services.offer_reject(offer=rejected, reviewed_by=reviewer, reason="请写明有效期")

    mine = Notification.objects.filter(
        recipient_kind=Recipient.user(manager.pk).kind, recipient_id=manager.pk
    )
    assert sorted(mine.values_list("topic", flat=True)) == [Topic.OFFER_APPROVED, Topic.OFFER_REJECTED]
    assert "请写明有效期" in mine.get(topic=Topic.OFFER_REJECTED).body
    assert not Notification.objects.filter(recipient_id=stranger.pk, recipient_kind="user").exists()

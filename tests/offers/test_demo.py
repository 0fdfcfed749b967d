"""The demo merchants (merchants.demo) and their offers (discounts.demo), built in that order as the
seed_demo command does: deterministic, idempotent, with the featured offers and working sign-ins."""

from __future__ import annotations

import pytest

from discounts.demo import seed_offers, seed_sandbox, with_offers
from discounts.models import Offer, OfferLimitChange, Redemption, VoucherCode
from discounts.rules import local_day
from members.demo import seed_staff, seed_unions
from merchants import apikeys
from merchants.demo import seed_merchants
from merchants.models import Category, Merchant

pytestmark = pytest.mark.django_db


def seed_merchants_and_offers(*, seed: int, count: int) -> list[dict]:
    sign_ins = seed_merchants(seed=seed, count=count, log=lambda message: None)
    seed_offers(seed=seed, count=count, log=lambda message: None)
    return with_offers(sign_ins)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_seed_builds_the_featured_offers_and_is_idempotent():
    seed_unions(seed=1, workplaces_per_county=1)
    first = seed_merchants_and_offers(seed=1, count=24)
    counts = (Merchant.objects.count(), Offer.objects.count(), VoucherCode.objects.count())
    second = seed_merchants_and_offers(seed=1, count=24)
    assert first == second
    assert (Merchant.objects.count(), Offer.objects.count(), VoucherCode.objects.count()) == counts
    assert counts[0] == 24 and counts[1] == 24 * 20 // 3

    cinema = first[0]
    assert cinema["category"] == "entertainment" and "影城" in cinema["name"]
    ticket = Offer.objects.get(pk=cinema["offers"][0]["id"])
    assert (ticket.kind, ticket.fixed_price, ticket.weekdays, ticket.daily_quota, ticket.unit_label) == (
        "fixed_price",
        10,
        [6, 7],
        1500,
        "张",
    )
    assert Merchant.objects.get(pk=cinema["id"]).region.path.startswith("130000/130100/")

    # The hospital allowance is a claim paid onto the card now (allowances), never a till offer.
    assert not Offer.objects.filter(kind=Offer.Kind.ALLOWANCE).exists()
    assert Offer.objects.filter(funder=Offer.Funder.BANK, bank__code="HBBANK").exists()
    assert Offer.objects.filter(kind=Offer.Kind.PERCENT_OFF, merchant__category__code="supermarkets").exists()
    assert Offer.objects.filter(kind=Offer.Kind.AMOUNT_OFF, merchant__category__code="dining").exists()
    online = Offer.objects.get(channel=Offer.Channel.ONLINE)
    assert online.codes.count() == 500
    assert set(Merchant.objects.values_list("category__code", flat=True)) == set(
        Category.objects.values_list("code", flat=True)
    )
    for merchant in Merchant.objects.all():
        assert 1 <= merchant.stores.count() <= 3
        assert all(store.latitude and store.longitude and store.address for store in merchant.stores.all())

    assert len(first) == 20
    for entry in first:
        assert set(entry) >= {"id", "name", "category", "username", "password", "api_key", "stores", "offers"}
        assert entry["cashier_username"] and entry["cashier_password"]
        key = apikeys.api_key_authenticate(entry["api_key"])
        assert key is not None and key.merchant_id == entry["id"]


def test_the_cinema_quota_history_is_in_the_trail():
    seed_unions(seed=2, workplaces_per_county=1)
    seed_staff(seed=2)
    cinema = seed_merchants_and_offers(seed=2, count=7)[0]
    seed_merchants_and_offers(seed=2, count=7)
    ticket = Offer.objects.get(pk=cinema["offers"][0]["id"])
    assert ticket.daily_quota == 1500
    trail = OfferLimitChange.objects.filter(offer=ticket).order_by("id")
    assert [(c.old_value, c.new_value) for c in trail] == [("200", "500"), ("500", "1000"), ("1000", "1500")]
    assert {c.changed_by.username for c in trail} == {"province_admin"}


def test_sign_ins_work_on_the_portal(client):
    seed_unions(seed=3, workplaces_per_county=1)
    entry = seed_merchants_and_offers(seed=3, count=8)[0]
    response = client.post("/merchant/login/", {"username": entry["username"], "password": entry["password"]})
    assert response.status_code == 302
    assert entry["name"] in client.get("/merchant/").content.decode()


def test_the_demo_shows_every_status_signed_by_two_people():
    seed_unions(seed=4, workplaces_per_county=1)
    seed_staff(seed=4)
    seed_merchants_and_offers(seed=4, count=24)
    assert set(Merchant.objects.values_list("status", flat=True)) == set(Merchant.Status.values)
    assert set(Offer.objects.values_list("status", flat=True)) == set(Offer.Status.values)
    expired = Merchant.objects.filter(status=Merchant.Status.APPROVED).exclude(
        pk__in=Merchant.objects.open_on()
    )
    assert expired.count() == 1 and expired.get().closed_by(local_day()) == "contract_end"
    applied = Merchant.objects.get(status=Merchant.Status.APPLIED)
    assert applied.created_by is None and applied.reviewed_by is None  # from the public page
    signed = Merchant.objects.exclude(status=Merchant.Status.APPLIED)
    assert all(m.created_by and m.reviewed_by and m.created_by != m.reviewed_by for m in signed)
    assert not Offer.objects.filter(kind=Offer.Kind.ALLOWANCE).exists()


def test_demo_members_saved_the_cinema_offer_and_hear_of_its_quota_rises(settings):
    from discounts.models import SavedOffer
    from members.demo import seed_members
    from notifications.models import Notification, Topic

    settings.SMS_BACKEND = "notifications.backends.sms.MemorySmsBackend"
    seed_unions(seed=3, workplaces_per_county=1)
    seed_staff(seed=3)
    seed_members(seed=3, count=5, log=lambda message: None)
    cinema = seed_merchants_and_offers(seed=3, count=7)[0]
    ticket = Offer.objects.get(pk=cinema["offers"][0]["id"])
    savers = set(SavedOffer.objects.filter(offer=ticket).values_list("member_id", flat=True))
    from members.models import Member

    active = Member.objects.filter(status=Member.Status.ACTIVE).values_list("pk", flat=True)
    assert savers and savers == set(active)  # every active demo member (at most five)
    notices = Notification.objects.filter(topic=Topic.QUOTA_RAISED, recipient_kind="member")
    assert set(notices.values_list("recipient_id", flat=True)) == savers
    assert notices.count() == len(savers) * 3  # one per saver and rise (200 → 500 → 1000 → 1500)


def test_the_first_demo_merchant_has_a_working_test_key_with_test_redemptions():
    seed_unions(seed=1, workplaces_per_county=1)
    sign_ins = seed_sandbox(seed_merchants_and_offers(seed=1, count=3), seed=1, log=lambda message: None)
    again = seed_sandbox(seed_merchants_and_offers(seed=1, count=3), seed=1, log=lambda message: None)
    assert sign_ins == again
    key = apikeys.api_key_authenticate(sign_ins[0]["test_key"])
    assert key is not None and key.merchant.is_sandbox and key.sandbox_for_id == sign_ins[0]["id"]
    assert "test_key" not in sign_ins[1]
    statuses = sorted(Redemption.objects.filter(store_id=key.store_id).values_list("status", flat=True))
    assert statuses == [Redemption.Status.COMPLETED, Redemption.Status.VOIDED]

"""Small hand-computable data for the coverage statistics tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from discounts.models import Offer, Redemption
from members.models import Card, Member, MemberTransfer
from merchants.models import Merchant
from tests.factories import CardFactory, MemberFactory, MerchantFactory, OfferFactory, StoreFactory

DAY = datetime.date(2026, 11, 23)
# Snapshots count members and cards from their dated history; the data of these tests is made now but
# stands for a state that held on every day they compute, so its history is dated well before them.
HISTORY_FROM = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def history_dated_before_the_days(request):
    """Date every change of the test at HISTORY_FROM (the session-wide form of
    ``members.history.history_effective_at``, so it holds in transactional tests too)."""
    if "django_db_blocker" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    from django.db import connection

    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('members.history_effective_at', %s, false)", [HISTORY_FROM.isoformat()]
        )
    yield
    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('members.history_effective_at', '', false)")


def member_with_card(union, card_status=None, member_status=Member.Status.ACTIVE):
    member = MemberFactory(union=union, status=member_status)
    if card_status is not None:
        CardFactory(member=member, status=card_status)
    return member


def redeem(*, offer, member, store, day, discount="5.00", subsidy="0.00", status=Redemption.Status.COMPLETED):
    card = member.cards.filter(status__in=Card.LIVE_STATUSES).first() or member.cards.first()
    return Redemption.objects.create(
        offer=offer,
        merchant=offer.merchant,
        store=store,
        card=card,
        member=member,
        amount=Decimal("50.00"),
        discount=Decimal(discount),
        payable=Decimal("50.00") - Decimal(discount),
        union_subsidy=Decimal(subsidy),
        funder=offer.funder,
        local_day=day,
        status=status,
    )


@pytest.fixture
def population(tree):
    """Members and cards on the small tree (see tests/conftest.py::tree):

    C1A1: active+active card, active+issued card, active without card, active+frozen card,
          active+cancelled card → 5 members, 2 cardholders (1 activated); also a member transferred out
          (status transferred, active card) and a retired member — neither counts.
    C1A2: active+active card → 1/1.
    C1B1: active without card; active whose old card was replaced by an active one → 2/1.
    C2A1: a member moved here from C1A1 (still active, kept the card) → 1/1.
    Everything else: no members."""
    people = {}
    people["holder"] = member_with_card(tree.C1A1, Card.Status.ACTIVE)
    member_with_card(tree.C1A1, Card.Status.ISSUED)
    member_with_card(tree.C1A1)
    member_with_card(tree.C1A1, Card.Status.FROZEN)
    member_with_card(tree.C1A1, Card.Status.CANCELLED)
    member_with_card(tree.C1A1, Card.Status.ACTIVE, member_status=Member.Status.TRANSFERRED)
    member_with_card(tree.C1A1, member_status=Member.Status.RETIRED)
    member_with_card(tree.C1A2, Card.Status.ACTIVE)
    member_with_card(tree.C1B1)
    replaced = member_with_card(tree.C1B1, Card.Status.REPLACED)
    CardFactory(member=replaced, status=Card.Status.ACTIVE)
    moved = member_with_card(tree.C1A1, Card.Status.ACTIVE)
    moved.union = tree.C2A1
    moved.save(update_fields=["union"])
    MemberTransfer.objects.create(member=moved, from_union=tree.C1A1, to_union=tree.C2A1)
    people["moved"] = moved
    return people


@pytest.fixture
def commerce(tree, population):
    """Merchants, offers and redemptions:

    approved merchant in county C1A with 2 published offers and a draft, plus a published union
    allowance whose budget belongs to city C2; an applied (not signed) merchant in C1B with a
    published offer; an approved merchant registered at city C2 without offers.
    Redemptions by the C1A1 cardholder: 5.00 discount on the 5th (counts), a voided one, one of last
    month and one after the snapshot day (none of those count); an allowance of 20.00 subsidy on the
    10th (counts for C2's budget)."""
    signed = MerchantFactory(region=tree.C1A, status=Merchant.Status.APPROVED)
    store = StoreFactory(merchant=signed)
    first = OfferFactory(merchant=signed)
    OfferFactory(merchant=signed)
    OfferFactory(merchant=signed, status=Offer.Status.DRAFT)
    allowance = OfferFactory(
        merchant=signed,
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20.00"),
        funder=Offer.Funder.UNION,
        budget_owner=tree.C2,
        budget=Decimal("1000.00"),
    )
    applied = MerchantFactory(region=tree.C1B, status=Merchant.Status.APPLIED)
    OfferFactory(merchant=applied)
    MerchantFactory(region=tree.C2, status=Merchant.Status.APPROVED)

    holder = population["holder"]
    redeem(offer=first, member=holder, store=store, day=DAY.replace(day=5))
    redeem(offer=first, member=holder, store=store, day=DAY.replace(day=6), status=Redemption.Status.VOIDED)
    redeem(offer=first, member=holder, store=store, day=datetime.date(2026, 10, 30))
    redeem(offer=first, member=holder, store=store, day=DAY + datetime.timedelta(days=1))
    redeem(
        offer=allowance,
        member=holder,
        store=store,
        day=DAY.replace(day=10),
        discount="20.00",
        subsidy="20.00",
    )
    return {"merchant": signed, "store": store, "offer": first}

"""The retired hospital allowance offer kind: the migration carries its recorded redemptions over as
claims for staff to approve and ends the offers; merchant statements no longer owe the hospital the
member's allowance."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from allowances.models import Claim
from discounts.models import Offer, Redemption
from members.models import Card
from merchants.models import Merchant
from settlement.selectors import owed_lines
from tests.factories import CardFactory, MemberFactory, MerchantFactory, OfferFactory, StoreFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 3, 10)
carry_over = importlib.import_module("allowances.migrations.0004_allowance_offers_to_claims").carry_over


@pytest.fixture
def hospital(tree):
    merchant = MerchantFactory(region=tree.C1A, status=Merchant.Status.APPROVED, name="河北仁济医院")
    return merchant, StoreFactory(merchant=merchant)


def record(offer, store, member, *, units=1, amount="800.00", subsidy="0.00", status="completed"):
    return Redemption.objects.create(
        offer=offer,
        merchant=offer.merchant,
        store=store,
        card=member.cards.get(),
        member=member,
        units=units,
        amount=Decimal(amount),
        discount=Decimal(subsidy) if offer.kind != Offer.Kind.ALLOWANCE else Decimal("0.00"),
        payable=Decimal(amount) - (Decimal(subsidy) if offer.kind != Offer.Kind.ALLOWANCE else 0),
        union_subsidy=Decimal(subsidy),
        funder=offer.funder,
        local_day=DAY,
        status=status,
    )


def allowance_offer(merchant, tree):
    return OfferFactory(
        merchant=merchant,
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20.00"),
        funder=Offer.Funder.UNION,
        budget=Decimal("1000.00"),
        budget_owner=tree.C1,
        status=Offer.Status.PUBLISHED,
    )


def test_recorded_allowances_become_open_claims_and_the_offers_end(tree, hospital):
    merchant, store = hospital
    offer = allowance_offer(merchant, tree)
    other = OfferFactory(merchant=merchant, status=Offer.Status.PUBLISHED)
    patient = MemberFactory(union=tree.C1A1)
    CardFactory(member=patient, status=Card.Status.ACTIVE)
    kept = record(offer, store, patient, units=3, subsidy="60.00")
    record(offer, store, patient, units=2, subsidy="40.00", status="voided")
    record(other, store, patient, amount="50.00", subsidy="5.00")

    carry_over(apps, None)

    claim = Claim.objects.get()
    assert (claim.member, claim.union, claim.hospital, claim.bill_fen) == (
        patient,
        tree.C1A1,
        "河北仁济医院",
        80_000,
    )
    assert (claim.admitted_on, claim.discharged_on) == (DAY - datetime.timedelta(days=3), DAY)
    assert (claim.status, claim.paid_otherwise, claim.amount_fen) == (Claim.Status.OPEN, True, 0)
    assert f"#{kept.pk}" in claim.decision_note
    offer.refresh_from_db()
    other.refresh_from_db()
    assert (offer.status, other.status) == (Offer.Status.ENDED, Offer.Status.PUBLISHED)


def test_statements_no_longer_owe_the_hospital_the_members_allowance(tree, hospital):
    merchant, store = hospital
    allowance = allowance_offer(merchant, tree)
    shared = OfferFactory(
        merchant=merchant, funder=Offer.Funder.UNION, budget=Decimal("100"), budget_owner=tree.C1
    )
    patient = MemberFactory(union=tree.C1A1)
    CardFactory(member=patient, status=Card.Status.ACTIVE)
    record(allowance, store, patient, units=3, subsidy="60.00")
    owed = record(shared, store, patient, amount="50.00", subsidy="5.00")

    lines = owed_lines(merchant_id=merchant.pk, month=DAY.replace(day=1))

    assert [(line.redemption_id, line.amount) for line in lines] == [(owed.pk, Decimal("5.00"))]

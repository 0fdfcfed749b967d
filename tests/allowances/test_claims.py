"""Allowance claims: matching to the card payment, the caps, the fund, two people, scope and audit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from allowances import services
from allowances.models import Claim
from funds.models import Fund, FundMovement
from funds.services import fund_add_money, fund_open
from notifications.models import Notification, Topic
from portal.approvals import SecondPersonRequired
from portal.errors import ApplicationError, Conflict, PermissionDenied
from portal.models import AuditEvent
from tests.allowances.conftest import DAY, open_claim, pay
from tests.factories import CardFactory


def test_a_claim_is_matched_to_the_card_payment_and_approved_for_rate_times_days(people, member, card, fund):
    payment = pay(card, 150_000, DAY + datetime.timedelta(days=3))
    claim = open_claim(people, member)
    assert claim.payment == payment

    services.claim_approve(actor=people.approver, claim=claim)

    claim.refresh_from_db()
    fund.refresh_from_db()
    assert (claim.status, claim.days, claim.amount_fen) == (Claim.Status.APPROVED, 3, 6000)
    assert fund.committed == Decimal("60.00")
    movement = FundMovement.objects.get(fund=fund, kind="committed")
    assert (movement.reference_type, movement.reference_id) == ("allowances.claim", str(claim.pk))
    events = AuditEvent.objects.filter(target_type="allowances.claim", target_id=str(claim.pk))
    assert {e.data["event"] for e in events} == {"opened", "matched", "approved"}
    notice = Notification.objects.get(topic=Topic.CLAIM_APPROVED)
    assert "60.00" in notice.body


def test_a_payment_outside_the_stay_or_of_another_member_is_not_matched(people, member, card, fund):
    pay(card, 150_000, DAY - datetime.timedelta(days=1), reference="BEFORE")
    pay(CardFactory(), 150_000, DAY, reference="OTHER")
    claim = open_claim(people, member)
    assert claim.payment is None
    with pytest.raises(Conflict) as refused:
        services.claim_approve(actor=people.approver, claim=claim)
    assert refused.value.code == "claim_unmatched"


def test_the_allowance_is_capped_by_the_bill_paid(people, member, card, fund):
    pay(card, 3_000, DAY + datetime.timedelta(days=5))
    claim = open_claim(people, member, days=5, bill_fen=3_000)
    services.claim_approve(actor=people.approver, claim=claim)
    claim.refresh_from_db()
    assert (claim.days, claim.amount_fen) == (5, 3_000)


def test_days_are_capped_per_stay_and_per_year(people, member, card, fund):
    first = open_claim(people, member, days=45, bill_fen=500_000)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=first)
    services.claim_approve(actor=people.approver, claim=first)
    second = open_claim(people, member, days=40, bill_fen=500_000, start=datetime.date(2026, 6, 1))
    services.claim_mark_paid_otherwise(actor=people.opener, claim=second)
    services.claim_approve(actor=people.approver, claim=second)
    third = open_claim(people, member, days=2, bill_fen=500_000, start=datetime.date(2026, 9, 1))
    services.claim_mark_paid_otherwise(actor=people.opener, claim=third)

    with pytest.raises(Conflict) as refused:
        services.claim_approve(actor=people.approver, claim=third)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.days, second.days) == (services.MAX_DAYS_PER_STAY, services.MAX_DAYS_PER_STAY)
    assert refused.value.code == "claim_year_cap_reached"


def test_the_fund_caps_the_allowance(people, member, tree):
    fund = fund_open(union=tree.C1A1, year=timezone.localdate().year)
    fund_add_money(fund=fund, amount=Decimal("10.00"), actor=None)
    claim = open_claim(people, member)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)

    with pytest.raises(ApplicationError) as refused:
        services.claim_approve(actor=people.approver, claim=claim)

    assert refused.value.code == "fund_exhausted"
    claim.refresh_from_db()
    assert claim.status == Claim.Status.OPEN
    assert Fund.objects.get(pk=fund.pk).committed == 0


def test_the_creator_cannot_approve_their_own_claim(people, member, fund):
    claim = open_claim(people, member)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)
    with pytest.raises(SecondPersonRequired):
        services.claim_approve(actor=people.opener, claim=claim)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.OPEN


def test_staff_of_another_county_can_neither_open_nor_decide(people, member, fund):
    with pytest.raises(PermissionDenied):
        services.claim_open(
            actor=people.outsider,
            member=member,
            hospital="医院",
            admitted_on=DAY,
            discharged_on=DAY,
            bill_fen=100,
        )
    claim = open_claim(people, member)
    for act in (
        lambda: services.claim_mark_paid_otherwise(actor=people.outsider, claim=claim),
        lambda: services.claim_approve(actor=people.outsider, claim=claim),
        lambda: services.claim_reject(actor=people.outsider, claim=claim, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            act()
    claim.refresh_from_db()
    assert (claim.status, claim.paid_otherwise) == (Claim.Status.OPEN, False)


def test_a_rejected_claim_commits_nothing_and_stays_decided(people, member, fund):
    claim = open_claim(people, member)
    services.claim_reject(actor=people.approver, claim=claim, reason="非住院")
    with pytest.raises(Conflict):
        services.claim_approve(actor=people.approver, claim=claim)
    claim.refresh_from_db()
    assert (claim.status, claim.decision_note) == (Claim.Status.REJECTED, "非住院")
    assert not FundMovement.objects.filter(reference_type="allowances.claim").exists()


def test_one_card_payment_pays_one_stay(people, member, card, fund):
    pay(card, 150_000, DAY + datetime.timedelta(days=3))
    first = open_claim(people, member)
    second = open_claim(people, member)
    assert first.payment_id is not None
    assert second.payment_id is None
    with pytest.raises(ApplicationError):
        services.claim_match(actor=people.opener, claim=second, payment=first.payment)


def test_a_workplace_without_a_fund_is_paid_from_the_nearest_fund_above(people, member, tree):
    county_fund = fund_open(union=tree.C1A, year=timezone.localdate().year)
    fund_add_money(fund=county_fund, amount=Decimal("100.00"), actor=None)
    fund_open(union=tree.C1B, year=timezone.localdate().year)
    claim = open_claim(people, member)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)

    services.claim_approve(actor=people.approver, claim=claim)

    claim.refresh_from_db()
    assert claim.fund == county_fund
    assert Fund.objects.get(pk=county_fund.pk).committed == Decimal("60.00")

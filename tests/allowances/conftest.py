"""What the allowance tests share: staff of one county and of another, a member with a card, the
year's fund of the member's workplace, a card payment in the bank's feed, a claim opened for a stay."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from allowances import services
from allowances.models import Claim
from banking.models import BankFile, CardTransaction
from funds.services import fund_add_money, fund_open
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory

DAY = datetime.date(2026, 3, 2)


@pytest.fixture
def people(tree, make_staff):
    class People:
        opener = make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="opener")
        approver = make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="approver")
        outsider = make_staff(tree.C2A, Role.COUNTY_OPERATOR, username="outsider")

    return People


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1)


@pytest.fixture
def card(member):
    return CardFactory(member=member)


@pytest.fixture
def fund(tree):
    fund = fund_open(union=tree.C1A1, year=timezone.localdate().year)
    fund_add_money(fund=fund, amount=Decimal("5000.00"), actor=None)
    return fund


def pay(card, amount_fen: int, on: datetime.date, reference: str = "T1") -> CardTransaction:
    bank_file = BankFile.objects.create(
        bank=card.bank,
        kind=BankFile.Kind.TRANSACTIONS,
        file=f"bank/{reference}.csv",
        original_filename=f"{reference}.csv",
        content_hash=reference.ljust(64, "0"),
    )
    moment = datetime.datetime.combine(on, datetime.time(10), tzinfo=timezone.get_current_timezone())
    return CardTransaction.objects.create(
        bank=card.bank,
        reference=reference,
        card=card,
        union_path=card.member.union.path,
        bank_merchant_id="H001",
        amount_fen=amount_fen,
        occurred_at=moment,
        file=bank_file,
    )


def open_claim(people, member, days: int = 3, bill_fen: int = 150_000, start: datetime.date = DAY) -> Claim:
    return services.claim_open(
        actor=people.opener,
        member=member,
        hospital="市第一医院",
        admitted_on=start,
        discharged_on=start + datetime.timedelta(days=days),
        bill_fen=bill_fen,
    )

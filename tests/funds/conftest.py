"""Fixtures of the fund tests: the small province of ``tree`` with staff at every level and a fund
per union for the current year."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from funds.models import Fund
from funds.services import fund_add_money, fund_allocate, fund_open
from portal.roles import Role


@dataclass
class Staff:
    province: object
    city: object  # C1
    county: object  # C1A
    sibling_county: object  # C1B, same city
    other_city_county: object  # C2A
    workplace: object  # C1A1: sees funds of nobody (no permission)


@pytest.fixture
def staff(tree, make_staff) -> Staff:
    return Staff(
        province=make_staff(tree.P, Role.PROVINCE_ADMIN, username="province"),
        city=make_staff(tree.C1, Role.CITY_OPERATOR, username="city"),
        county=make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="county"),
        sibling_county=make_staff(tree.C1B, Role.COUNTY_OPERATOR, username="sibling"),
        other_city_county=make_staff(tree.C2A, Role.COUNTY_OPERATOR, username="faraway"),
        workplace=make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR, username="workplace"),
    )


class Funds(dict):
    def __getattr__(self, name):
        return self[name]


@pytest.fixture
def year() -> int:
    return timezone.localdate().year


@pytest.fixture
def funds(tree, year) -> Funds:
    """An empty fund for the province, both cities and the four counties (opened by the system)."""
    made = Funds()
    for code in ("P", "C1", "C2", "C1A", "C1B", "C2A", "C2B"):
        made[code] = fund_open(union=tree[code], year=year)
    return made


@pytest.fixture
def filled(funds) -> Funds:
    """The province adds 10,000.00; allocates 3,000.00 to C1 and 2,000.00 to C2; C1 allocates 1,000.00
    to C1A and 500.00 to C1B."""
    fund_add_money(fund=funds.P, amount=Decimal("10000.00"), actor=None)
    fund_allocate(parent_fund=funds.P, child_fund=funds.C1, amount=Decimal("3000.00"), actor=None)
    fund_allocate(parent_fund=funds.P, child_fund=funds.C2, amount=Decimal("2000.00"), actor=None)
    fund_allocate(parent_fund=funds.C1, child_fund=funds.C1A, amount=Decimal("1000.00"), actor=None)
    fund_allocate(parent_fund=funds.C1, child_fund=funds.C1B, amount=Decimal("500.00"), actor=None)
    for fund in funds.values():
        fund.refresh_from_db()
    return funds


def fresh(fund: Fund) -> Fund:
    return Fund.objects.get(pk=fund.pk)

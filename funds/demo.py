"""Demo benefit funds: the province's fund for the current year, allocated to every city, each city
adding money of its own and allocating to its first counties, some counties adding theirs, and a few
transfers between funds. Every movement goes through ``funds.services``, as the system.

Self-contained: it needs only the union tree (``members.demo.seed_unions``) and is idempotent — when
the province already has a fund for the year it changes nothing. Deterministic for a given seed."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from funds.models import Fund
from funds.services import fund_add_money, fund_allocate_to_union, fund_open, fund_transfer
from members.models import Union

PROVINCE_MONEY = Decimal("60000000.00")  # 6,000 万元
WAN = Decimal("10000")  # amounts below are drawn in units of 万元 (ten thousand yuan)


@transaction.atomic
def seed_funds(*, seed: int = 1, year: int | None = None, counties_per_city: int = 3) -> int:
    """Open and fill the demo funds of ``year`` (the current local year by default); returns how many
    funds were opened (0 when the demo funds exist already)."""
    year = year or timezone.localdate().year
    province = Union.objects.province()
    if province is None or Fund.objects.filter(union=province, year=year).exists():
        return 0
    rng = random.Random(seed)
    opened = 1
    top = fund_open(union=province, year=year)
    fund_add_money(fund=top, amount=PROVINCE_MONEY, actor=None, note="省总工会年度普惠资金预算")
    county_funds: list[Fund] = []
    city_funds: list[Fund] = []
    for city in Union.objects.filter(parent=province).order_by("code"):
        fund_allocate_to_union(
            parent_fund=top,
            child_union=city,
            amount=rng.randrange(200, 450) * WAN,
            actor=None,
            note="省总工会年度下拨",
        )
        city_fund = Fund.objects.get(union=city, year=year)
        city_funds.append(city_fund)
        opened += 1
        fund_add_money(
            fund=city_fund, amount=rng.randrange(30, 150) * WAN, actor=None, note="市级工会经费安排"
        )
        counties = Union.objects.filter(parent=city, level=Union.Level.COUNTY).order_by("code")
        for index, county in enumerate(counties[:counties_per_city]):
            fund_allocate_to_union(
                parent_fund=city_fund,
                child_union=county,
                amount=rng.randrange(20, 60) * WAN,
                actor=None,
                note="市总工会年度下拨",
            )
            county_fund = Fund.objects.get(union=county, year=year)
            county_funds.append(county_fund)
            opened += 1
            if index % 2 == 0:
                fund_add_money(
                    fund=county_fund, amount=rng.randrange(5, 30) * WAN, actor=None, note="县级工会自筹"
                )
    # A few transfers (调剂): between two counties of the first city, and between two cities.
    if len(county_funds) >= 2:
        fund_transfer(
            from_fund=county_funds[1],
            to_fund=county_funds[0],
            amount=rng.randrange(2, 8) * WAN,
            reason="支持重点企业职工消费季活动",
            actor=None,
        )
    if len(city_funds) >= 3:
        fund_transfer(
            from_fund=city_funds[2],
            to_fund=city_funds[1],
            amount=rng.randrange(10, 40) * WAN,
            reason="省总工会统筹调剂",
            actor=None,
        )
    return opened

"""Funds under real concurrency: threads, each with its own PostgreSQL connection and transaction,
started together on a barrier. No fund goes below zero, nothing deadlocks, and the columns equal the
ledger sums at the end — and at every moment a reader can see."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.db.models import Sum

from funds.models import FundMovement
from funds.selectors import fund_ledger_mismatches
from funds.services import Reference, fund_allocate, fund_give_back, fund_spend, fund_transfer
from portal.errors import ApplicationError
from tests.funds.conftest import fresh
from tests.redemption.conftest import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)
Kind = FundMovement.Kind


def outcome(result) -> str:
    if isinstance(result, ApplicationError):
        return result.code
    if isinstance(result, BaseException):
        raise result  # a deadlock or any other error fails the test with its traceback
    return "ok"


def ledger_sum(fund, kind) -> Decimal:
    return FundMovement.objects.filter(fund=fund, kind=kind).aggregate(s=Sum("amount"))["s"] or Decimal("0")


def test_forty_spends_racing_for_one_fund_never_take_it_below_zero(filled):
    fund = filled.C1A  # 1,000.00 left

    def spend(index):
        return fund_spend(
            fund_id=fund.pk, amount="30.00", reference=Reference("discounts.redemption", str(index))
        )

    outcomes = [outcome(r) for r in run_in_threads(40, spend)]

    assert outcomes.count("ok") == 33  # 33 × 30.00 = 990.00; a 34th would need 1,020.00
    assert outcomes.count("fund_exhausted") == 7
    stored = fresh(fund)
    assert stored.spent == Decimal("990.00") == ledger_sum(fund, Kind.SPENT)
    assert stored.left == Decimal("10.00")
    assert fund_ledger_mismatches() == []


def test_transfers_racing_in_opposite_directions_do_not_deadlock(filled, staff):
    one, other = filled.C1A, filled.C1B  # 1,000.00 and 500.00 left
    rounds = 5

    def transfer(index):
        source, target = (one, other) if index % 2 == 0 else (other, one)
        for _ in range(rounds):
            fund_transfer(from_fund=source, to_fund=target, amount="10.00", reason="调剂", actor=staff.city)
        return "ok"

    results = run_in_threads(20, transfer)

    assert not [r for r in results if isinstance(r, OperationalError)], "a transfer deadlocked"
    assert [outcome(r) for r in results] == ["ok"] * 20
    a, b = fresh(one), fresh(other)
    assert a.transferred_out == a.transferred_in == b.transferred_out == b.transferred_in == Decimal("500.00")
    assert (a.left, b.left) == (Decimal("1000.00"), Decimal("500.00"))
    assert fund_ledger_mismatches() == []


def test_allocations_racing_with_spends_on_both_levels_keep_every_identity(filled, staff):
    province, city = filled.P, filled.C1  # 5,000.00 and 1,500.00 left

    def work(index):
        kind = index % 3
        if kind == 0:
            fund_allocate(parent_fund=province, child_fund=city, amount="300.00", actor=staff.province)
            return "allocated"
        fund = province if kind == 1 else city
        fund_spend(fund_id=fund.pk, amount="250.00", reference=Reference("discounts.redemption", str(index)))
        return "spent-province" if kind == 1 else "spent-city"

    results = run_in_threads(45, work)

    outcomes = [r if isinstance(r, str) else outcome(r) for r in results]
    assert set(outcomes) <= {"allocated", "spent-province", "spent-city", "fund_exhausted"}
    p, c = fresh(province), fresh(city)
    allocated = outcomes.count("allocated") * Decimal("300.00")
    assert p.allocated == Decimal("5000.00") + allocated
    assert p.spent == outcomes.count("spent-province") * Decimal("250.00")
    assert c.received == Decimal("3000.00") + allocated
    assert c.spent == outcomes.count("spent-city") * Decimal("250.00")
    assert p.left >= 0 and c.left >= 0
    # The province's money is all somewhere: left, spent, or allocated to a city.
    assert p.added == p.left + p.spent + p.allocated
    assert fund_ledger_mismatches() == []


def test_give_backs_racing_for_one_reference_never_return_more_than_it_spent(filled):
    fund, reference = filled.C1A, Reference("discounts.redemption", "77")
    fund_spend(fund_id=fund.pk, amount="100.00", reference=reference)
    fund_spend(fund_id=fund.pk, amount="500.00", reference=Reference("discounts.redemption", "78"))

    outcomes = [
        outcome(r)
        for r in run_in_threads(
            12, lambda index: fund_give_back(fund_id=fund.pk, amount="20.00", reference=reference)
        )
    ]

    assert outcomes.count("ok") == 5
    assert outcomes.count("exceeds_reference") == 7
    assert fresh(fund).spent == Decimal("500.00")
    assert fund_ledger_mismatches() == []


def test_the_ledger_check_agrees_with_the_funds_while_writers_run(filled, staff):
    stop = threading.Event()
    seen: list[list] = []

    def check_until_stopped():
        try:
            while not stop.is_set():
                seen.append(fund_ledger_mismatches())
        finally:
            connection.close()

    checker = threading.Thread(target=check_until_stopped)
    checker.start()

    def write(index):
        reference = Reference("discounts.redemption", str(index))
        fund_spend(fund_id=filled.C1A.pk, amount="5.00", reference=reference)
        fund_transfer(from_fund=filled.C1B, to_fund=filled.C2A, amount="5.00", reason="调剂", actor=None)
        fund_give_back(fund_id=filled.C1A.pk, amount="5.00", reference=reference)
        return "ok"

    try:
        results = run_in_threads(12, write)
    finally:
        stop.set()
        checker.join(60)

    assert [outcome(r) for r in results] == ["ok"] * 12
    assert seen, "the checker never ran"
    assert all(found == [] for found in seen)
    assert fund_ledger_mismatches() == []

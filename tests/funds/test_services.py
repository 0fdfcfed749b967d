"""The fund services: what each one changes, what it refuses, and who may call it — tried from the
outsider's side too (another county's operator, a workplace operator, a merchant user)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from funds.models import Fund, FundMovement
from funds.selectors import fund_ledger_mismatches
from funds.services import (
    AUDIT_ACTION,
    Reference,
    fund_add_money,
    fund_allocate,
    fund_allocate_to_union,
    fund_commit,
    fund_give_back,
    fund_open,
    fund_release,
    fund_spend,
    fund_transfer,
)
from portal.errors import ApplicationError
from portal.models import AuditEvent
from tests.factories import MerchantUserFactory
from tests.funds.conftest import fresh

Kind = FundMovement.Kind
REDEMPTION = Reference("discounts.redemption", "101")
OTHER_REDEMPTION = Reference("discounts.redemption", "102")
CLAIM = Reference("allowances.claim", "7")


def code_of(service, /, **kwargs) -> str:
    """The code of the domain error ``service(**kwargs)`` raises."""
    with pytest.raises(ApplicationError) as raised:
        service(**kwargs)
    return raised.value.code


def movements(fund) -> list[tuple[str, Decimal]]:
    return list(FundMovement.objects.filter(fund=fund).order_by("id").values_list("kind", "amount"))


# --- Opening --------------------------------------------------------------------------------------------


def test_a_fund_opens_empty_once_per_union_and_year(tree, staff, year):
    fund = fund_open(union=tree.C1A, year=year, name="长安区普惠资金", actor=staff.county)

    assert (fund.left, fund.total, fund.name) == (Decimal("0.00"), Decimal("0.00"), "长安区普惠资金")
    assert code_of(fund_open, union=tree.C1A, year=year, actor=staff.city) == "fund_exists"
    assert fund_open(union=tree.C1A, year=year + 1, actor=staff.city).year == year + 1
    [event] = AuditEvent.objects.filter(action=AUDIT_ACTION, target_id=str(fund.pk))
    assert event.actor == staff.county and event.data["kind"] == "opened"


def test_a_fund_without_a_name_is_named_after_its_union_and_year(tree, year):
    assert fund_open(union=tree.C1A, year=year).name == f"C1A县总工会{year}年普惠资金"


@pytest.mark.parametrize("who", ["sibling_county", "other_city_county", "workplace"])
def test_staff_cannot_open_a_fund_outside_their_subtree_or_without_the_permission(tree, staff, year, who):
    assert code_of(fund_open, union=tree.C1A, year=year, actor=getattr(staff, who)) == "permission_denied"
    assert not Fund.objects.exists()


def test_a_merchant_user_cannot_open_a_fund(tree, year):
    manager = MerchantUserFactory().user

    assert code_of(fund_open, union=tree.C1A, year=year, actor=manager) == "permission_denied"


@pytest.mark.parametrize("bad", [1999, 2100, "abc", None])
def test_a_fund_year_must_be_a_plausible_year(tree, bad):
    assert code_of(fund_open, union=tree.C1A, year=bad) == "validation_error"


# --- Adding money ---------------------------------------------------------------------------------------


def test_added_money_is_left_to_use_and_in_the_ledger_and_the_audit_log(funds, staff):
    movement = fund_add_money(fund=funds.C1A, amount="1234.50", note="县财政拨付", actor=staff.county)

    fund = fresh(funds.C1A)
    assert (fund.added, fund.left) == (Decimal("1234.50"), Decimal("1234.50"))
    assert (movement.kind, movement.amount, movement.actor, movement.note) == (
        Kind.ADDED,
        Decimal("1234.50"),
        staff.county,
        "县财政拨付",
    )
    [event] = AuditEvent.objects.filter(action=AUDIT_ACTION, target_id=str(fund.pk), data__kind="added")
    assert event.actor == staff.county
    assert event.data["amount"] == "1234.50" and event.data["movement"] == movement.pk
    assert event.union_path == fund.union.path


@pytest.mark.parametrize("amount", ["0", "-5", "0.001", "1e3x", "NaN", "Infinity", "1000000000000.00", ""])
def test_amounts_must_be_positive_yuan_with_at_most_two_decimals(funds, amount):
    assert code_of(fund_add_money, fund=funds.C1A, amount=amount, actor=None) == "validation_error"
    assert not FundMovement.objects.exists()


@pytest.mark.parametrize("who", ["sibling_county", "other_city_county", "workplace"])
def test_outsiders_cannot_add_money_to_a_fund(funds, staff, who):
    actor = getattr(staff, who)

    assert code_of(fund_add_money, fund=funds.C1A, amount="10.00", actor=actor) == "permission_denied"
    assert fresh(funds.C1A).added == 0


def test_a_confirmation_submitted_twice_adds_the_money_once(funds, staff):
    once = {"fund": funds.C1A, "amount": "50.00", "actor": staff.county, "operation_id": uuid.uuid4()}
    fund_add_money(**once)

    assert code_of(fund_add_money, **once) == "operation_already_done"
    assert fresh(funds.C1A).added == Decimal("50.00")


# --- Allocating ---------------------------------------------------------------------------------------


def test_allocating_moves_money_from_the_parent_to_a_direct_child(filled):
    parent, child = fresh(filled.C1), fresh(filled.C1A)

    assert (parent.received, parent.allocated, parent.left) == (
        Decimal("3000.00"),
        Decimal("1500.00"),
        Decimal("1500.00"),
    )
    assert (child.received, child.left) == (Decimal("1000.00"), Decimal("1000.00"))
    out = FundMovement.objects.get(fund=parent, kind=Kind.ALLOCATED, amount=Decimal("1000.00"))
    into = FundMovement.objects.get(fund=child, kind=Kind.RECEIVED)
    assert out.operation_id == into.operation_id is not None
    assert fund_ledger_mismatches() == []


def test_allocating_more_than_is_left_is_refused_and_changes_nothing(filled):
    allocation = {"parent_fund": filled.C1, "child_fund": filled.C1A, "actor": None}

    assert code_of(fund_allocate, amount="1500.01", **allocation) == "fund_exhausted"
    assert fresh(filled.C1).allocated == Decimal("1500.00")
    assert fresh(filled.C1A).received == Decimal("1000.00")
    fund_allocate(amount="1500.00", **allocation)
    assert fresh(filled.C1).left == 0


def test_allocating_to_a_grandchild_a_cousin_or_upwards_is_refused(filled):
    for parent, child in ((filled.P, filled.C1A), (filled.C1, filled.C2A), (filled.C1A, filled.C1)):
        code = code_of(fund_allocate, parent_fund=parent, child_fund=child, amount="1", actor=None)
        assert code == "not_a_child_union"
    assert fund_ledger_mismatches() == []


def test_allocating_to_another_years_fund_is_refused(filled, tree, year):
    next_year = fund_open(union=tree.C1A, year=year + 1)

    code = code_of(fund_allocate, parent_fund=filled.C1, child_fund=next_year, amount="1", actor=None)
    assert code == "fund_year_mismatch"


def test_a_county_operator_cannot_allocate_from_the_city_fund_above_them(filled, staff):
    code = code_of(
        fund_allocate, parent_fund=filled.C1, child_fund=filled.C1A, amount="1", actor=staff.county
    )

    assert code == "permission_denied"


@pytest.mark.parametrize("who", ["sibling_county", "other_city_county"])
def test_another_countys_operator_cannot_allocate_from_a_county_fund(filled, staff, tree, year, who):
    workplace_fund = fund_open(union=tree.C1A1, year=year)

    code = code_of(
        fund_allocate,
        parent_fund=filled.C1A,
        child_fund=workplace_fund,
        amount="1",
        actor=getattr(staff, who),
    )
    assert code == "permission_denied"
    assert fresh(filled.C1A).allocated == 0


def test_the_city_allocates_to_a_child_without_a_fund_by_opening_it(filled, tree, staff, year):
    fund_allocate_to_union(parent_fund=filled.C1, child_union=tree.C1A, amount="10.00", actor=staff.city)
    fund_allocate_to_union(parent_fund=filled.C1A, child_union=tree.C1A2, amount="10.00", actor=staff.city)

    assert fresh(filled.C1A).received == Decimal("1010.00")
    opened = Fund.objects.get(union=tree.C1A2, year=year)
    assert (opened.received, opened.left) == (Decimal("10.00"), Decimal("10.00"))
    assert fund_ledger_mismatches() == []


def test_allocating_to_a_union_that_cannot_take_it_opens_nothing(filled, tree, staff):
    def attempt(parent, child, amount="1.00", actor=staff.city):
        return code_of(
            fund_allocate_to_union, parent_fund=parent, child_union=child, amount=amount, actor=actor
        )

    assert attempt(filled.C1, tree.C1A1) == "not_a_child_union"
    assert attempt(filled.C1A, tree.C1A1, amount="1000.01") == "fund_exhausted"
    assert attempt(filled.C1A, tree.C1A1, amount="0") == "validation_error"
    assert attempt(filled.C1A, tree.C1A1, actor=staff.sibling_county) == "permission_denied"
    assert not Fund.objects.filter(union=tree.C1A1).exists()


# --- Transferring ----------------------------------------------------------------------------------------


def test_a_transfer_moves_money_between_two_funds_with_its_reason_on_both_sides(filled, staff):
    out, into = fund_transfer(
        from_fund=filled.C1B, to_fund=filled.C1A, amount="200.00", reason="重点项目", actor=staff.city
    )

    source, target = fresh(filled.C1B), fresh(filled.C1A)
    assert (source.transferred_out, source.left) == (Decimal("200.00"), Decimal("300.00"))
    assert (target.transferred_in, target.left) == (Decimal("200.00"), Decimal("1200.00"))
    assert out.operation_id == into.operation_id
    assert out.note == into.note == "重点项目"
    audited = AuditEvent.objects.filter(action=AUDIT_ACTION, data__operation=str(out.operation_id))
    assert {(e.target_id, e.data["kind"]) for e in audited} == {
        (str(filled.C1B.pk), Kind.TRANSFER_OUT),
        (str(filled.C1A.pk), Kind.TRANSFER_IN),
    }
    assert all(e.actor == staff.city for e in audited)


def test_a_transfer_needs_a_reason_two_funds_and_one_year(filled, tree, year):
    next_year = fund_open(union=tree.C1B, year=year + 1)

    def attempt(to_fund, reason="调剂"):
        return code_of(
            fund_transfer, from_fund=filled.C1B, to_fund=to_fund, amount="1", reason=reason, actor=None
        )

    assert attempt(filled.C1A, reason=" ") == "validation_error"
    assert attempt(filled.C1B) == "same_fund"
    assert attempt(next_year) == "fund_year_mismatch"


def test_a_transfer_of_more_than_is_left_changes_neither_fund(filled):
    code = code_of(
        fund_transfer, from_fund=filled.C1B, to_fund=filled.C1A, amount="500.01", reason="x", actor=None
    )

    assert code == "fund_exhausted"
    assert fresh(filled.C1A).transferred_in == 0
    assert not FundMovement.objects.filter(kind__in=[Kind.TRANSFER_IN, Kind.TRANSFER_OUT]).exists()


def test_staff_cannot_transfer_out_of_or_into_a_fund_outside_their_subtree(filled, staff):
    def attempt(source, target, actor):
        return code_of(fund_transfer, from_fund=source, to_fund=target, amount="1", reason="x", actor=actor)

    assert attempt(filled.C1B, filled.C1A, staff.county) == "permission_denied"  # out of a sibling's
    assert attempt(filled.C1A, filled.C1B, staff.county) == "permission_denied"  # into a sibling's
    assert attempt(filled.C2A, filled.C1A, staff.city) == "permission_denied"  # out of another city's
    assert not FundMovement.objects.filter(kind=Kind.TRANSFER_OUT).exists()
    assert fund_ledger_mismatches() == []


# --- Commitments, spends and their reversals ------------------------------------------------------------


def test_a_spend_takes_money_left_and_a_give_back_returns_it(filled):
    spent = fund_spend(fund_id=filled.C1A.pk, amount="30.00", reference=REDEMPTION)
    fund_give_back(fund_id=filled.C1A.pk, amount="10.00", reference=REDEMPTION)

    fund = fresh(filled.C1A)
    assert (fund.spent, fund.left) == (Decimal("20.00"), Decimal("980.00"))
    assert (spent.reference_type, spent.reference_id, spent.actor_label) == (
        "discounts.redemption",
        "101",
        "system",
    )
    assert movements(fund)[-2:] == [(Kind.SPENT, Decimal("30.00")), (Kind.GIVEN_BACK, Decimal("10.00"))]


def test_a_spend_beyond_what_is_left_is_refused_with_fund_exhausted(filled):
    spend = {"fund_id": filled.C1A.pk, "reference": REDEMPTION}

    assert code_of(fund_spend, amount="1000.01", **spend) == "fund_exhausted"
    assert fresh(filled.C1A).spent == 0
    fund_spend(amount="1000.00", **spend)
    assert code_of(fund_spend, amount="0.01", **spend) == "fund_exhausted"
    assert fresh(filled.C1A).left == 0


def test_a_reference_cannot_be_given_back_more_than_it_spent(filled):
    fund_spend(fund_id=filled.C1A.pk, amount="30.00", reference=REDEMPTION)
    fund_spend(fund_id=filled.C1A.pk, amount="50.00", reference=OTHER_REDEMPTION)
    fund_give_back(fund_id=filled.C1A.pk, amount="20.00", reference=REDEMPTION)

    def attempt(fund, amount, reference=REDEMPTION):
        return code_of(fund_give_back, fund_id=fund.pk, amount=amount, reference=reference)

    assert attempt(filled.C1A, "10.01") == "exceeds_reference"
    assert attempt(filled.C1A, "1.00", Reference("discounts.redemption", "999")) == "exceeds_reference"
    assert attempt(filled.C1B, "1.00") == "exceeds_reference"  # spent on C1A, not C1B
    assert fresh(filled.C1A).spent == Decimal("60.00")
    fund_give_back(fund_id=filled.C1A.pk, amount="10.00", reference=REDEMPTION)
    assert fresh(filled.C1A).spent == Decimal("50.00")


def test_a_commitment_is_no_longer_left_and_its_release_returns_it(filled):
    fund_commit(fund_id=filled.C1A.pk, amount="400.00", reference=CLAIM)

    assert (fresh(filled.C1A).committed, fresh(filled.C1A).left) == (Decimal("400.00"), Decimal("600.00"))
    assert code_of(fund_spend, fund_id=filled.C1A.pk, amount="600.01", reference=REDEMPTION) == (
        "fund_exhausted"
    )
    fund_release(fund_id=filled.C1A.pk, amount="100.00", reference=CLAIM)
    assert code_of(fund_release, fund_id=filled.C1A.pk, amount="300.01", reference=CLAIM) == (
        "exceeds_reference"
    )
    assert (fresh(filled.C1A).committed, fresh(filled.C1A).left) == (Decimal("300.00"), Decimal("700.00"))


def test_paying_a_commitment_turns_it_into_a_spend_without_touching_what_is_left(filled):
    fund_commit(fund_id=filled.C1A.pk, amount="400.00", reference=CLAIM)
    fund_spend(fund_id=filled.C1A.pk, amount="600.00", reference=REDEMPTION)  # everything else is gone

    paid = fund_spend(fund_id=filled.C1A.pk, amount="250.00", reference=CLAIM, from_commitment=True)

    fund = fresh(filled.C1A)
    assert (fund.committed, fund.spent, fund.left) == (Decimal("150.00"), Decimal("850.00"), Decimal("0.00"))
    assert paid.kind == Kind.SPENT
    assert movements(fund)[-2:] == [(Kind.RELEASED, Decimal("250.00")), (Kind.SPENT, Decimal("250.00"))]

    def pay(amount, reference):
        return code_of(
            fund_spend, fund_id=filled.C1A.pk, amount=amount, reference=reference, from_commitment=True
        )

    assert pay("150.01", CLAIM) == "exceeds_reference"
    assert pay("10.00", REDEMPTION) == "exceeds_reference"  # REDEMPTION committed nothing
    assert fund_ledger_mismatches() == []


@pytest.mark.parametrize(
    "reference",
    [None, Reference("", "1"), Reference("discounts.redemption", ""), Reference("Redemption", "1"), "x:1"],
)
def test_every_spend_names_what_caused_it(filled, reference):
    assert (
        code_of(fund_spend, fund_id=filled.C1A.pk, amount="1.00", reference=reference) == "reference_required"
    )


def test_a_spend_from_a_fund_that_does_not_exist_is_fund_not_found(db):
    assert code_of(fund_spend, fund_id=987654, amount="1.00", reference=REDEMPTION) == "fund_not_found"


def test_a_staff_actor_of_a_spend_must_reach_the_fund(filled, staff):
    commit = {"fund_id": filled.C1A.pk, "amount": "1.00", "reference": REDEMPTION}

    assert code_of(fund_commit, actor=staff.sibling_county, **commit) == "permission_denied"
    fund_commit(actor=staff.county, **commit)
    assert fresh(filled.C1A).committed == Decimal("1.00")


def test_every_change_of_money_is_in_the_audit_log(filled):
    fund_spend(fund_id=filled.C1A.pk, amount="5.00", reference=REDEMPTION)
    fund_give_back(fund_id=filled.C1A.pk, amount="5.00", reference=REDEMPTION)

    logged = AuditEvent.objects.filter(action=AUDIT_ACTION).exclude(data__kind="opened")
    assert set(logged.values_list("data__movement", flat=True)) == set(
        FundMovement.objects.values_list("id", flat=True)
    )


# --- The database holds the line too ------------------------------------------------------------------


def test_the_database_refuses_a_fund_below_zero_whatever_writes_it(filled):
    for sql in (
        "UPDATE funds_fund SET spent = spent + 1000.01 WHERE id = %s",
        "UPDATE funds_fund SET added = -1 WHERE id = %s",
        "UPDATE funds_fund SET committed = 600, spent = 400.01 WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [filled.C1A.pk])

    with pytest.raises(IntegrityError), transaction.atomic():
        Fund.objects.filter(pk=filled.C1.pk).update(allocated=Decimal("3000.01"))
    assert fund_ledger_mismatches() == []


def test_the_ledger_refuses_updates_and_deletes(filled):
    movement = FundMovement.objects.filter(fund=filled.C1A).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        FundMovement.objects.filter(pk=movement.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        FundMovement.objects.filter(pk=movement.pk).delete()
    assert FundMovement.objects.get(pk=movement.pk).amount == Decimal("1000.00")


def test_the_ledger_check_finds_a_column_changed_behind_the_services_back(filled):
    assert fund_ledger_mismatches() == []
    Fund.objects.filter(pk=filled.C1A.pk).update(spent=Decimal("10.00"))  # a second writer

    [mismatch] = fund_ledger_mismatches()
    assert (mismatch.fund_id, mismatch.column, mismatch.stored, mismatch.ledger) == (
        filled.C1A.pk,
        "spent",
        Decimal("10.00"),
        Decimal("0.00"),
    )
    assert fund_ledger_mismatches([filled.C1B.pk]) == []


def test_the_ledger_check_finds_an_allocation_without_its_other_side(filled):
    FundMovement.objects.create(fund=filled.C1A, kind=Kind.RECEIVED, amount=Decimal("5.00"))
    Fund.objects.filter(pk=filled.C1A.pk).update(received=Decimal("1005.00"))

    [mismatch] = fund_ledger_mismatches()
    assert mismatch.column == "pair" and mismatch.ledger == Decimal("5.00")

"""The daily card-transactions file: loaded by COPY through the staging table, idempotent on the bank's
reference, every refused line with its reason; and the card-use figure it feeds."""

from __future__ import annotations

import datetime

import pytest

from banking import tasks
from banking.files import bank_file_receive
from banking.models import BankFile, BankFileLine, CardTransaction
from banking.selectors import card_use_by_union
from members.models import Card
from tests.banking.conftest import csv_upload
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db

HEADER = "卡号,银行商户号,金额,交易时间,交易流水号\n"


@pytest.fixture
def cards(tree, bank):
    return {
        "a1": CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1)),
        "a2": CardFactory(bank=bank, member=MemberFactory(union=tree.C1A2)),
        "b1": CardFactory(bank=bank, member=MemberFactory(union=tree.C1B1)),
    }


def load(bank, text, actor, name="tx.csv"):
    bank_file, created = bank_file_receive(
        bank=bank, kind=BankFile.Kind.TRANSACTIONS, uploaded_file=csv_upload(text, name), actor=actor
    )
    if created:
        tasks.bank_file_process(bank_file.pk)
    bank_file.refresh_from_db()
    return bank_file


def test_good_lines_are_loaded_and_bad_ones_refused_with_their_line(cards, bank, province_admin):
    a1 = cards["a1"].number
    text = (
        HEADER
        + f"{a1},M001,128.50,2026-11-03 12:30:00,R1\n"
        + "6228889999999999999,M001,10.00,2026-11-03 12:31:00,R2\n"
        + f"{a1},M001,-5,2026-11-03 12:32:00,R3\n"
        + f"{a1},M001,5.00,2026-13-03 12:32:00,R4\n"
        + f"{a1},M001,5.00\n"
        + f"{a1},M001,5.00,2026-11-03 12:33:00,R1\n"
    )

    bank_file = load(bank, text, province_admin)

    assert (
        bank_file.total_lines,
        bank_file.applied_lines,
        bank_file.unchanged_lines,
        bank_file.error_lines,
    ) == (
        6,
        1,
        1,
        4,
    )
    (tx,) = CardTransaction.objects.all()
    assert (tx.amount_fen, tx.reference, tx.card_id, tx.union_path) == (
        12850,
        "R1",
        cards["a1"].pk,
        "P/C1/C1A/C1A1/",
    )
    assert tx.occurred_at == datetime.datetime(2026, 11, 3, 4, 30, tzinfo=datetime.UTC)
    lines = dict(BankFileLine.objects.filter(file=bank_file).values_list("line_number", "outcome"))
    assert lines == {3: "error", 4: "error", 5: "error", 6: "error", 7: "unchanged"}


def test_the_same_file_twice_and_an_overlapping_file_add_nothing_twice(cards, bank, province_admin):
    a1, a2 = cards["a1"].number, cards["a2"].number
    first = HEADER + f"{a1},M1,1.00,2026-11-03 10:00:00,R1\n{a2},M1,2.00,2026-11-03 10:00:00,R2\n"
    load(bank, first, province_admin)
    load(bank, first, province_admin, name="again.csv")
    overlapping = load(
        bank,
        HEADER + f"{a2},M1,2.00,2026-11-03 10:00:00,R2\n{a2},M1,3.00,2026-11-04 10:00:00,R3\n",
        province_admin,
        name="next.csv",
    )

    assert BankFile.objects.count() == 2
    assert sorted(CardTransaction.objects.values_list("reference", flat=True)) == ["R1", "R2", "R3"]
    assert (overlapping.applied_lines, overlapping.unchanged_lines) == (1, 1)


def test_another_banks_card_is_refused(cards, bank, other_bank, tree, province_admin):
    foreign = CardFactory(bank=other_bank, serial=1, member=MemberFactory(union=tree.C1A1))
    bank_file = load(bank, HEADER + f"{foreign.number},M1,1.00,2026-11-03 10:00:00,R1\n", province_admin)
    assert bank_file.error_lines == 1 and not CardTransaction.objects.exists()


def test_card_use_is_the_share_of_live_cards_used_in_the_month(cards, bank, tree, province_admin):
    CardFactory(bank=bank, member=MemberFactory(union=tree.C1A2), status=Card.Status.CANCELLED)
    text = (
        HEADER
        + f"{cards['a1'].number},M1,1.00,2026-11-03 10:00:00,R1\n"
        + f"{cards['a1'].number},M1,1.00,2026-11-04 10:00:00,R2\n"
        + f"{cards['b1'].number},M1,1.00,2026-10-31 23:59:00,R3\n"  # October
    )
    load(bank, text, province_admin)

    rows = {
        row.union.code: row for row in card_use_by_union(parent=tree.C1, month=datetime.date(2026, 11, 1))
    }

    assert (rows["C1A"].live_cards, rows["C1A"].used_cards, rows["C1A"].percent) == (2, 1, 50)
    assert (rows["C1B"].live_cards, rows["C1B"].used_cards) == (1, 0)

"""Bank files under real concurrency: threads with their own connections, started together."""

from __future__ import annotations

import pytest

from banking import tasks
from banking.card_changes import card_changes_export
from banking.files import bank_file_receive
from banking.models import BankFile, CardChange, CardTransaction
from members.cards import card_cancel, card_freeze
from tests.banking.conftest import csv_upload
from tests.factories import CardFactory, MemberFactory
from tests.redemption.conftest import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_exports_started_together_send_each_change_once(tree, bank, province_admin):
    cards = [CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1)) for _ in range(6)]
    for card in cards[:3]:
        card_freeze(card=card)
    for card in cards[3:]:
        card_cancel(card=card)

    results = run_in_threads(4, lambda index: card_changes_export(bank=bank, actor=province_admin))

    assert not [r for r in results if isinstance(r, BaseException)], results
    made = [r for r in results if r is not None]
    assert len(made) == 1 and made[0].total_lines == 6
    assert CardChange.objects.count() == 6


def test_one_file_processed_by_two_workers_at_once_loads_each_line_once(tree, bank, province_admin):
    card = CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1))
    lines = "".join(f"{card.number},M1,1.00,2026-11-03 10:00:00,R{index}\n" for index in range(200))
    bank_file, _ = bank_file_receive(
        bank=bank,
        kind=BankFile.Kind.TRANSACTIONS,
        uploaded_file=csv_upload("卡号,银行商户号,金额,交易时间,交易流水号\n" + lines),
        actor=province_admin,
    )

    # A redelivered task running beside the first one.
    results = run_in_threads(2, lambda index: tasks.bank_file_process(bank_file.pk))

    assert not [r for r in results if isinstance(r, BaseException)], results
    bank_file.refresh_from_db()
    assert (bank_file.status, bank_file.applied_lines) == (BankFile.Status.DONE, 200)
    assert CardTransaction.objects.count() == 200

"""The card-changes file: what changed since the last export, each change sent once."""

from __future__ import annotations

import csv
import io

import pytest

from banking.card_changes import card_changes_export
from banking.models import CardChange
from members.cards import card_cancel, card_freeze, card_replace
from members.models import Card
from portal.errors import PermissionDenied
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db


def lines_of(bank_file) -> list[list[str]]:
    with bank_file.file.open("rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))[1:]


@pytest.fixture
def cards(tree, bank):
    return [CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1)) for _ in range(3)]


def test_an_export_holds_replacements_cancellations_and_losses_once(cards, bank, province_admin):
    lost, left, worn = cards
    card_freeze(card=lost)
    card_cancel(card=left)
    new = card_replace(card=worn)

    bank_file = card_changes_export(bank=bank, actor=province_admin)

    rows = {(row[0], row[1], row[2]) for row in lines_of(bank_file)}
    assert rows == {
        ("LOST", lost.number, ""),
        ("CANCEL", left.number, ""),
        ("REPLACE", worn.number, new.number),
    }
    assert CardChange.objects.filter(file=bank_file).count() == 3
    assert card_changes_export(bank=bank, actor=province_admin) is None  # nothing new: no file


def test_a_loss_undone_goes_out_as_found_after_the_loss_went_out(cards, bank, province_admin):
    card = cards[0]
    card_freeze(card=card)
    card_changes_export(bank=bank, actor=province_admin)
    # Undoing a loss report: the card is active again (its frozen_at names the loss it undoes).
    Card.objects.filter(pk=card.pk).update(status=Card.Status.ACTIVE)

    bank_file = card_changes_export(bank=bank, actor=province_admin)

    assert [row[:2] for row in lines_of(bank_file)] == [["FOUND", card.number]]


def test_a_loss_undone_before_any_export_sends_nothing(cards, bank, province_admin):
    card = cards[0]
    card_freeze(card=card)
    Card.objects.filter(pk=card.pk).update(status=Card.Status.ACTIVE)
    assert card_changes_export(bank=bank, actor=province_admin) is None


def test_only_the_banks_own_cards_go_out(cards, bank, other_bank, tree, province_admin):
    foreign = CardFactory(bank=other_bank, serial=5, member=MemberFactory(union=tree.C1A1))
    card_cancel(card=foreign)
    assert card_changes_export(bank=bank, actor=province_admin) is None
    assert card_changes_export(bank=other_bank, actor=province_admin).total_lines == 1


def test_another_banks_staff_cannot_export(cards, bank, other_bank, make_bank_staff):
    card_cancel(card=cards[0])
    with pytest.raises(PermissionDenied):
        card_changes_export(bank=bank, actor=make_bank_staff(other_bank))
    assert not CardChange.objects.exists()

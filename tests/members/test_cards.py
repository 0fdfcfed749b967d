from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from stdnum import luhn

from members import cards
from members.models import Card, PartnerBank
from portal.errors import Conflict
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory, PartnerBankFactory

pytestmark = pytest.mark.django_db


def issued_card(tree, bank, status=Card.Status.ISSUED) -> Card:
    card = cards.card_issue(member=MemberFactory(union=tree.C1A1), bank=bank)
    if status != Card.Status.ISSUED:
        Card.objects.filter(pk=card.pk).update(status=status)
        card.refresh_from_db()
    return card


def test_card_number_is_bin_padded_serial_and_luhn_digit(tree, bank):
    card = cards.card_issue(member=MemberFactory(union=tree.C1A1), bank=bank)
    assert card.serial == 1
    assert card.number == "6228880000000016"
    assert len(card.number) == 6 + 9 + 1
    assert cards.card_number_for(PartnerBank(bin="621700", serial_length=10), 42) == "62170000000000426"


def test_luhn_digit_matches_the_published_example_and_every_issued_number_checks(tree, bank):
    assert cards.luhn_digit("7992739871") == "3"  # the standard's worked example: 79927398713
    assert cards.luhn_digit("0") == "0"
    issued = [cards.card_issue(member=MemberFactory(union=tree.C1A1), bank=bank) for _ in range(5)]
    for card in issued:
        assert luhn.is_valid(card.number)
        wrong_digit = str((int(card.number[-1]) + 1) % 10)
        assert not luhn.is_valid(card.number[:-1] + wrong_digit)


def test_issue_refuses_a_second_live_card_without_using_a_serial(tree, bank):
    card = issued_card(tree, bank)
    with pytest.raises(cards.CardExists):
        cards.card_issue(member=card.member, bank=bank)
    bank.refresh_from_db()
    assert bank.next_serial == 2


def test_database_refuses_two_live_cards_for_one_member(tree, bank):
    card = issued_card(tree, bank)
    with pytest.raises(IntegrityError), transaction.atomic():
        CardFactory(member=card.member, bank=bank, status=Card.Status.FROZEN)


def test_activate_then_freeze_then_replace(tree, bank, make_staff):
    operator = make_staff(tree.C1A)
    card = issued_card(tree, bank)
    cards.card_activate(card=card, actor=card.member)
    assert card.status == "active" and card.activated_at
    cards.card_freeze(card=card, actor=operator)
    assert Card.objects.get(pk=card.pk).status == "frozen"
    new = cards.card_replace(card=card, actor=operator)
    card.refresh_from_db()
    assert card.status == "replaced" and card.closed_at
    assert new.status == "issued" and new.replaces == card and new.member == card.member
    assert new.serial == card.serial + 1
    changes = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.CARD_STATE_CHANGED).values_list("data", flat=True)
    )
    assert {"from": "issued", "to": "active"} in changes
    assert {"from": "active", "to": "frozen"} in changes
    assert {"from": "frozen", "to": "replaced"} in changes
    assert any(change.get("replaces") == card.pk for change in changes)
    member_event = AuditEvent.objects.filter(data__to="active").get()
    assert member_event.actor is None and member_event.actor_label == f"member:{card.member.pk}"


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("active", "activate", "已激活"),
        ("frozen", "activate", "已挂失"),
        ("replaced", "activate", "已换卡"),
        ("cancelled", "activate", "已注销"),
        ("frozen", "freeze", "已挂失"),
        ("replaced", "freeze", "已换卡"),
        ("cancelled", "freeze", "已注销"),
        ("issued", "replace", "已制卡"),
        ("replaced", "replace", "已换卡"),
        ("cancelled", "replace", "已注销"),
        ("replaced", "cancel", "已换卡"),
        ("cancelled", "cancel", "已注销"),
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_message(tree, bank, status, action, expected):
    card = issued_card(tree, bank, status)
    service = {
        "activate": cards.card_activate,
        "freeze": cards.card_freeze,
        "replace": cards.card_replace,
        "cancel": cards.card_cancel,
    }[action]
    with pytest.raises(cards.CardTransitionRefused) as info:
        service(card=card)
    assert expected in info.value.message and info.value.status == 409
    assert Card.objects.get(pk=card.pk).status == status
    assert Card.objects.count() == 1
    changes = AuditEvent.objects.filter(action=AuditEvent.Action.CARD_STATE_CHANGED)
    assert set(changes.values_list("data__to", flat=True)) == {"issued"}


@pytest.mark.parametrize("status", ["issued", "active", "frozen"])
def test_cancel_closes_any_live_card(tree, bank, status):
    card = issued_card(tree, bank, status)
    cards.card_cancel(card=card)
    assert Card.objects.get(pk=card.pk).status == "cancelled"
    # After cancelling, a new card may be issued.
    assert cards.card_issue(member=card.member, bank=bank).status == "issued"


def test_failed_replacement_leaves_the_old_card_untouched(tree, bank):
    card = issued_card(tree, bank, Card.Status.FROZEN)
    closed = PartnerBankFactory(code="OLD", bin="600000", serial_length=1)
    PartnerBank.objects.filter(pk=closed.pk).update(next_serial=10)  # its serials are used up
    with pytest.raises(Conflict):
        cards.card_replace(card=card, bank=closed)
    assert Card.objects.get(pk=card.pk).status == "frozen"
    assert Card.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_allocation_has_no_gaps_and_no_duplicates(tree):
    """Eight threads, each with its own database connection, issue cards and allocate ranges at once;
    some of their transactions roll back. The committed serials are exactly 1..N."""
    bank = PartnerBankFactory()
    members = [MemberFactory(union=tree.C1A1) for _ in range(24)]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            for member in members[index * 3 : index * 3 + 3]:
                cards.card_issue(member=member, bank=bank)
            with transaction.atomic():
                serials = cards.bank_allocate_serials(bank=bank, count=5)
                for serial in serials:
                    CardFactory(member=MemberFactory(union=tree.C1A2), bank=bank, serial=serial)
            try:
                with transaction.atomic():
                    cards.bank_allocate_serials(bank=bank, count=7)
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    serials = sorted(Card.objects.filter(bank=bank).values_list("serial", flat=True))
    assert serials == list(range(1, 8 * 3 + 8 * 5 + 1))
    bank.refresh_from_db()
    assert bank.next_serial == serials[-1] + 1
    assert Card.objects.filter(bank=bank).values("number").distinct().count() == len(serials)


# --- Admin --------------------------------------------------------------------------------------------


def test_card_admin_shows_full_numbers_to_staff_of_the_subtree_only(client, tree, bank, make_staff):
    mine = CardFactory(member=MemberFactory(union=tree.C1A1), bank=bank)
    theirs = CardFactory(member=MemberFactory(union=tree.C1B1), bank=bank)
    client.force_login(make_staff(tree.C1A))
    page = client.get("/admin/members/card/").content.decode()
    assert mine.number in page and theirs.number not in page
    assert client.get(f"/admin/members/card/{theirs.pk}/change/").status_code == 302


def test_card_admin_actions_call_the_services_and_report_refusals(client, tree, bank, make_staff):
    operator = make_staff(tree.C1A)
    card = issued_card(tree, bank)
    outsider_card = CardFactory(member=MemberFactory(union=tree.C1B1), bank=bank, status="issued")
    client.force_login(operator)
    response = client.post(
        "/admin/members/card/",
        {"action": "activate_cards", "_selected_action": [card.pk, outsider_card.pk]},
        follow=True,
    )
    assert "已激活 1 张卡" in response.content.decode()
    assert Card.objects.get(pk=outsider_card.pk).status == "issued"
    response = client.post(
        "/admin/members/card/", {"action": "activate_cards", "_selected_action": [card.pk]}, follow=True
    )
    assert "不能激活" in response.content.decode()
    form = {"action": "replace_cards", "_selected_action": [card.pk]}
    asked = client.post("/admin/members/card/", form)
    assert "不能恢复" in asked.content.decode()  # asks first, and says what will happen
    assert Card.objects.filter(member=card.member, status="issued").count() == 0
    client.post("/admin/members/card/", {**form, "confirmed": "1"})
    assert Card.objects.filter(member=card.member, status="issued").count() == 1


def test_workplace_operator_cannot_change_cards(client, tree, bank, make_staff):
    card = issued_card(tree, bank)
    client.force_login(make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR))
    client.post(
        "/admin/members/card/", {"action": "cancel_cards", "_selected_action": [card.pk], "confirmed": "1"}
    )
    assert Card.objects.get(pk=card.pk).status == "issued"


def test_card_admin_list_uses_a_fixed_number_of_queries(
    client, tree, bank, make_staff, django_assert_num_queries
):
    client.force_login(make_staff(tree.C1A))
    CardFactory(member=MemberFactory(union=tree.C1A1), bank=bank)
    client.get("/admin/members/card/")
    with django_assert_num_queries(8) as first:
        client.get("/admin/members/card/")
    for _ in range(10):
        CardFactory(member=MemberFactory(union=tree.C1A2), bank=bank)
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get("/admin/members/card/").status_code == 200

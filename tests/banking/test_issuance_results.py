"""The bank's issuance result file: accounts opened with the bank's numbers, rejections to the
workplace union's to-do, each card answered once, the same file twice changing nothing."""

from __future__ import annotations

import pytest
from stdnum import luhn

from banking import issuance_results, tasks
from banking.files import bank_file_receive
from banking.models import BankFile, BankFileLine, IssuanceResult
from members.models import Card
from notifications.models import Notification, Topic
from portal.errors import PermissionDenied
from portal.models import AuditEvent
from tests.banking.conftest import csv_upload
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db

HEADER = "申请编号,结果,银行卡号,拒绝原因\n"


def bank_number(bank, serial: int) -> str:
    partial = f"{bank.bin}{serial:09d}"
    return partial + luhn.calc_check_digit(partial)


@pytest.fixture
def applied(tree, bank, make_staff):
    """Two cards applied for in workplace C1A1, with a staff user of that workplace."""
    workplace_staff = make_staff(tree.C1A1, username="workplace")
    cards = [
        CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1), status=Card.Status.ISSUED)
        for _ in range(2)
    ]
    return cards, workplace_staff


def receive_and_process(bank, text, actor, name="result.csv"):
    bank_file, created = bank_file_receive(
        bank=bank, kind=BankFile.Kind.ISSUANCE_RESULT, uploaded_file=csv_upload(text, name), actor=actor
    )
    if created:
        tasks.bank_file_process(bank_file.pk)
    bank_file.refresh_from_db()
    return bank_file, created


def test_opened_cards_take_the_banks_number_and_rejections_reach_the_workplace(applied, bank, province_admin):
    (opened, rejected), workplace_staff = applied
    number = bank_number(bank, 5)
    text = HEADER + f"{opened.number},开户,{number},\n{rejected.number},拒绝,,身份信息核验不通过\n"

    bank_file, created = receive_and_process(bank, text, province_admin)

    assert created and bank_file.status == BankFile.Status.DONE
    assert (bank_file.applied_lines, bank_file.error_lines) == (2, 0)
    opened.refresh_from_db()
    rejected.refresh_from_db()
    assert (opened.number, opened.status) == (number, Card.Status.ISSUED)
    assert rejected.status == Card.Status.CANCELLED
    result = IssuanceResult.objects.get(card=rejected)
    assert (result.outcome, result.reason, result.union_id) == (
        "rejected",
        "身份信息核验不通过",
        rejected.member.union_id,
    )
    staff_notice = Notification.objects.get(recipient_kind="user", recipient_id=workplace_staff.pk)
    assert staff_notice.topic == Topic.BANK_REJECTED
    assert Notification.objects.filter(
        recipient_kind="member", recipient_id=rejected.member_id, topic=Topic.BANK_REJECTED
    ).exists()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CARD_STATE_CHANGED, target_id=str(opened.pk)
    ).exists()


def test_the_same_file_twice_changes_nothing(applied, bank, province_admin):
    (opened, _rejected), _staff = applied
    text = HEADER + f"{opened.number},开户,{bank_number(bank, 6)},\n"
    first, _ = receive_and_process(bank, text, province_admin)
    audit_before = AuditEvent.objects.count()

    again, created = receive_and_process(bank, text, province_admin, name="again.csv")

    assert not created and again.pk == first.pk
    assert BankFile.objects.count() == 1
    assert AuditEvent.objects.count() == audit_before


def test_an_answer_repeated_in_another_file_is_unchanged_and_a_different_one_refused(
    applied, bank, province_admin
):
    (opened, _rejected), _staff = applied
    application = opened.number
    number = bank_number(bank, 7)
    receive_and_process(bank, HEADER + f"{application},开户,{number},\n", province_admin)

    later, _ = receive_and_process(
        bank,
        HEADER + f"{application},开户,{number},\n{application},开户,{bank_number(bank, 8)},\n",
        province_admin,
        name="later.csv",
    )

    outcomes = list(
        BankFileLine.objects.filter(file=later).order_by("line_number").values_list("outcome", flat=True)
    )
    assert outcomes == ["unchanged", "error"]
    opened.refresh_from_db()
    assert opened.number == number


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("{app},开户,6228880000000001,", "校验位"),
        ("{app},开户,6217000000000000009,", "BIN"),
        ("{app},拒绝,,", "拒绝原因"),
        ("{app},也许,,", "结果"),
        ("6228889999999999994,开户,{num},", "申请编号不存在"),
    ],
)
def test_bad_lines_are_refused_with_their_reason_and_change_no_card(applied, bank, province_admin, line, why):
    (card, _other), _staff = applied
    before = card.number
    text = HEADER + line.format(app=card.number, num=bank_number(bank, 9)) + "\n"

    bank_file, _ = receive_and_process(bank, text, province_admin)

    (result,) = BankFileLine.objects.filter(file=bank_file)
    assert result.outcome == "error" and why in result.message
    card.refresh_from_db()
    assert (card.number, card.status) == (before, Card.Status.ISSUED)


def test_a_number_held_by_another_card_is_refused(applied, bank, province_admin):
    (card, other), _staff = applied
    bank_file, _ = receive_and_process(bank, HEADER + f"{card.number},开户,{other.number},\n", province_admin)
    (result,) = BankFileLine.objects.filter(file=bank_file)
    assert result.outcome == "error" and "另一张" in result.message


def test_another_banks_staff_cannot_upload_for_this_bank(applied, bank, other_bank, make_bank_staff):
    outsider = make_bank_staff(other_bank)
    with pytest.raises(PermissionDenied):
        bank_file_receive(
            bank=bank,
            kind=BankFile.Kind.ISSUANCE_RESULT,
            uploaded_file=csv_upload(HEADER + "x,开户,1,\n"),
            actor=outsider,
        )


def test_a_county_operator_cannot_upload_bank_files(applied, bank, tree, make_staff):
    county = make_staff(tree.C1A)
    with pytest.raises(PermissionDenied):
        bank_file_receive(
            bank=bank,
            kind=BankFile.Kind.ISSUANCE_RESULT,
            uploaded_file=csv_upload(HEADER + "x,开户,1,\n"),
            actor=county,
        )


def test_a_file_without_its_columns_fails_as_a_whole(bank, province_admin):
    bank_file, _ = receive_and_process(bank, "卡号,金额\n1,2\n", province_admin)
    assert bank_file.status == BankFile.Status.FAILED
    assert "申请编号" in bank_file.status_message


def test_a_run_cut_off_after_its_first_chunk_resumes_at_the_next_line(
    applied, bank, province_admin, monkeypatch
):
    (first, second), _staff = applied
    text = HEADER + f"{first.number},开户,{bank_number(bank, 11)},\n{second.number},拒绝,,资料不全\n"
    bank_file, _ = bank_file_receive(
        bank=bank, kind=BankFile.Kind.ISSUANCE_RESULT, uploaded_file=csv_upload(text), actor=province_admin
    )
    real_chunk = issuance_results._process_chunk
    calls = []

    def crash_on_second_chunk(bank_file, chunk):
        calls.append(chunk)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        real_chunk(bank_file, chunk)

    monkeypatch.setattr(issuance_results, "RESULT_CHUNK_LINES", 1)
    monkeypatch.setattr(issuance_results, "_process_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        tasks.bank_file_process(bank_file.pk)
    monkeypatch.setattr(issuance_results, "_process_chunk", real_chunk)

    tasks.bank_file_process(bank_file.pk)  # the redelivered task

    bank_file.refresh_from_db()
    assert (bank_file.status, bank_file.applied_lines, bank_file.total_lines) == (BankFile.Status.DONE, 2, 2)
    assert IssuanceResult.objects.count() == 2

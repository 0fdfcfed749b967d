"""The statement's life and the payment run, through the services every door calls — and refused
from the outsider's side: another merchant, a cashier, the sibling county, the preparer approving
their own statement, the creator of a run approving it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from funds.models import Fund, FundMovement
from notifications.models import Notification, Topic
from portal.errors import ApplicationError
from portal.models import AuditEvent
from settlement.models import PaymentLine, PaymentRun, Statement, StatementLine
from settlement.reconciliation import reconcile
from settlement.services import (
    payment_file_csv,
    payment_result_apply,
    payment_result_upload,
    payment_run_approve,
    payment_run_create,
    statement_approve,
    statement_confirm,
    statement_dispute,
    statement_mark_paid,
    statement_prepare,
)

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def code_of(service, /, **kwargs) -> str:
    with pytest.raises(ApplicationError) as raised:
        service(**kwargs)
    return raised.value.code


def confirmed(setting, month=JAN) -> Statement:
    statement = statement_prepare(merchant=setting.merchant, month=month, actor=setting.preparer)
    return statement_confirm(
        statement_id=statement.pk, merchant_user=setting.manager, expected_total=statement.total
    )


def paid_through_run(setting, statement_ids, *, creator=None, approver=None) -> PaymentRun:
    run = payment_run_create(actor=creator or setting.preparer)
    payment_run_approve(run_id=run.pk, actor=approver or setting.approver)
    rows = "".join(
        f"PL{line.pk},paid,B{line.pk},2026-04-03,\n"
        for line in run.lines.filter(statement_id__in=statement_ids)
    )
    upload = payment_result_upload(
        run_id=run.pk,
        actor=setting.preparer,
        filename="result.csv",
        content=("reference,status,bank_reference,paid_on,message\n" + rows).encode(),
    )
    payment_result_apply(upload_id=upload.pk)
    return run


def test_a_statement_owes_the_months_union_shares_and_takes_late_voids_back_in_the_month_of_the_void(
    setting, redeemed
):
    kept = redeemed(date(2026, 1, 5), "20.00")
    redeemed(date(2026, 1, 6), "30.00", voided_on=date(2026, 1, 6))  # voided the same day: never owed
    late = redeemed(date(2026, 1, 31), "7.50", voided_on=date(2026, 2, 1))  # voided in February
    jan = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    feb = statement_prepare(merchant=setting.merchant, month=FEB, actor=setting.preparer)

    assert set(jan.lines.values_list("redemption_id", "kind", "amount")) == {
        (kept.pk, "share", Decimal("20.00")),
        (late.pk, "share", Decimal("7.50")),
    }
    assert (jan.share_total, jan.adjustment_total, jan.total) == (Decimal("27.50"), 0, Decimal("27.50"))
    assert list(feb.lines.values_list("redemption_id", "kind", "amount")) == [
        (late.pk, "adjustment", Decimal("-7.50"))
    ]
    assert feb.total == Decimal("-7.50")
    assert AuditEvent.objects.filter(action="statement_changed", target_id=str(jan.pk)).exists()


def test_the_merchants_managers_are_told_once_that_the_statement_is_ready(setting, redeemed):
    redeemed(date(2026, 1, 5))
    statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)

    notices = Notification.objects.filter(topic=Topic.STATEMENT_READY)
    assert [n.recipient_id for n in notices] == [setting.manager.user.pk]


def test_preparing_again_brings_a_draft_up_to_date_but_never_touches_a_confirmed_statement(setting, redeemed):
    redeemed(date(2026, 1, 5), "20.00")
    statement = confirmed(setting)
    redeemed(date(2026, 1, 7), "5.00")  # arrives after confirmation (a row written late)

    again = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)

    assert (again.status, again.total, again.lines.count()) == ("confirmed", Decimal("20.00"), 1)
    assert again.pk == statement.pk


def test_only_the_merchants_own_manager_confirms_and_only_what_they_saw(setting, redeemed):
    redeemed(date(2026, 1, 5), "20.00")
    statement = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    confirm = {"statement_id": statement.pk, "expected_total": "20.00"}

    assert code_of(statement_confirm, merchant_user=setting.rival_manager, **confirm) == "statement_not_found"
    assert code_of(statement_confirm, merchant_user=setting.cashier, **confirm) == "statement_not_found"
    redeemed(date(2026, 1, 9), "1.00")  # the statement changed since the manager looked
    assert code_of(statement_confirm, merchant_user=setting.manager, **confirm) == "statement_changed"
    confirm["expected_total"] = "21.00"
    assert statement_confirm(merchant_user=setting.manager, **confirm).status == "confirmed"
    assert code_of(statement_confirm, merchant_user=setting.manager, **confirm) == "statement_state_changed"


def test_the_open_month_cannot_be_confirmed(setting, redeemed):
    from django.utils import timezone

    this_month = timezone.localdate().replace(day=1)
    redeemed(this_month, "3.00")
    statement = statement_prepare(merchant=setting.merchant, month=this_month, actor=None)

    code = code_of(
        statement_confirm, statement_id=statement.pk, merchant_user=setting.manager, expected_total="3.00"
    )
    assert code == "month_not_over"


def test_a_disputed_statement_keeps_its_reason_and_returns_to_draft_when_prepared_again(setting, redeemed):
    redeemed(date(2026, 1, 5))
    statement = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)

    assert code_of(
        statement_dispute, statement_id=statement.pk, merchant_user=setting.manager, reason=" "
    ) == ("validation_error")
    disputed = statement_dispute(statement_id=statement.pk, merchant_user=setting.manager, reason="少算一笔")
    assert (disputed.status, disputed.dispute_reason) == ("disputed", "少算一笔")
    assert statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.approver).status == "draft"


def test_approval_needs_a_second_staff_member_of_the_subtree_and_moves_no_fund(setting, redeemed):
    redeemed(date(2026, 1, 5), "20.00")
    statement = confirmed(setting)

    assert code_of(statement_approve, statement_id=statement.pk, actor=setting.preparer) == (
        "second_person_required"
    )
    assert (
        code_of(statement_approve, statement_id=statement.pk, actor=setting.sibling) == "statement_not_found"
    )
    approved = statement_approve(statement_id=statement.pk, actor=setting.approver)

    fund = Fund.objects.get(pk=setting.fund.pk)  # the share was spent at the till, once
    assert (approved.status, approved.approved_by, fund.committed, fund.spent) == (
        "approved",
        setting.approver,
        Decimal("0"),
        Decimal("20"),
    )
    assert (
        code_of(statement_approve, statement_id=statement.pk, actor=setting.city) == "statement_state_changed"
    )


def test_an_unconfirmed_statement_cannot_be_approved(setting, redeemed):
    redeemed(date(2026, 1, 5))
    statement = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    assert code_of(statement_approve, statement_id=statement.pk, actor=setting.approver) == (
        "statement_state_changed"
    )


def test_an_offer_without_a_fund_holds_its_statement_back(setting, redeemed):
    setting.offer.fund = None
    setting.offer.save(update_fields=["fund"])
    redeemed(date(2026, 1, 5))
    statement = confirmed(setting)
    assert (
        code_of(statement_approve, statement_id=statement.pk, actor=setting.approver) == "offer_without_fund"
    )
    assert Statement.objects.get(pk=statement.pk).status == "confirmed"


def test_a_payment_run_is_released_by_a_second_person_and_paid_from_the_banks_result(setting, redeemed):
    redeemed(date(2026, 1, 5), "20.00")
    statement = confirmed(setting)
    statement_approve(statement_id=statement.pk, actor=setting.approver)

    run = payment_run_create(actor=setting.preparer)
    assert code_of(payment_file_csv, run=run) == "payment_run_not_approved"
    assert code_of(payment_run_approve, run_id=run.pk, actor=setting.preparer) == "second_person_required"
    assert code_of(payment_run_approve, run_id=run.pk, actor=setting.sibling) == "payment_run_not_found"
    run = payment_run_approve(run_id=run.pk, actor=setting.approver)
    [line] = run.lines.all()
    assert payment_file_csv(run).decode().splitlines() == [
        "reference,payee_name,payee_licence,month,amount",
        f"PL{line.pk},星光影城,,2026-01,20.00",
    ]
    content = (
        "reference,status,bank_reference,paid_on,message\n"
        f"PL{line.pk},paid,B778,2026-02-03,\nPL999999,paid,B1,2026-02-03,\n"
    )
    upload = payment_result_upload(
        run_id=run.pk, actor=setting.approver, filename="r.csv", content=content.encode()
    )
    payment_result_apply(upload_id=upload.pk)

    upload.refresh_from_db()
    assert [r["outcome"] for r in upload.results] == ["paid", "error"]
    statement.refresh_from_db()
    assert (statement.status, statement.bank_reference, statement.paid_on) == (
        "paid",
        "B778",
        date(2026, 2, 3),
    )
    fund = Fund.objects.get(pk=setting.fund.pk)
    assert (fund.committed, fund.spent) == (0, Decimal("20.00"))
    assert PaymentRun.objects.get(pk=run.pk).status == "closed"

    # The same file again changes nothing and says so.
    again = payment_result_upload(
        run_id=run.pk, actor=setting.approver, filename="r.csv", content=content.encode()
    )
    payment_result_apply(upload_id=again.pk)
    again.refresh_from_db()
    assert [r["outcome"] for r in again.results] == ["already", "error"]
    assert Fund.objects.get(pk=setting.fund.pk).spent == Decimal("20.00")
    assert FundMovement.objects.filter(kind="spent").count() == 1


def test_a_failed_payment_leaves_the_statement_approved_for_the_next_run(setting, redeemed):
    redeemed(date(2026, 1, 5), "20.00")
    statement = confirmed(setting)
    statement_approve(statement_id=statement.pk, actor=setting.approver)
    run = payment_run_create(actor=setting.preparer)
    payment_run_approve(run_id=run.pk, actor=setting.approver)
    [line] = run.lines.all()
    content = f"reference,status,bank_reference,paid_on,message\nPL{line.pk},failed,,,账户冻结\n"
    upload = payment_result_upload(
        run_id=run.pk, actor=setting.approver, filename="r.csv", content=content.encode()
    )
    payment_result_apply(upload_id=upload.pk)

    assert PaymentLine.objects.get(pk=line.pk).status == "failed"
    assert Statement.objects.get(pk=statement.pk).status == "approved"
    assert payment_run_create(actor=setting.approver).lines.get().statement_id == statement.pk
    assert code_of(payment_run_create, actor=setting.approver) == "nothing_to_pay"


def test_a_late_void_gives_back_to_the_fund_at_once_and_is_an_adjustment_of_its_month(setting, redeemed):
    redeemed(date(2026, 1, 10), "20.00")
    redeemed(date(2026, 1, 31), "8.00", voided_on=date(2026, 2, 2))
    redeemed(date(2026, 2, 5), "5.00")
    assert Fund.objects.get(pk=setting.fund.pk).spent == Decimal("25.00")
    jan = confirmed(setting, JAN)
    statement_approve(statement_id=jan.pk, actor=setting.approver)
    paid_through_run(setting, [jan.pk])
    feb = confirmed(setting, FEB)
    assert feb.total == Decimal("-3.00")
    statement_approve(statement_id=feb.pk, actor=setting.approver)
    # A total above zero is paid through a run; one below zero is settled otherwise, and recorded.
    assert (
        code_of(
            statement_mark_paid,
            statement_id=jan.pk,
            bank_reference="X",
            paid_on=date(2026, 3, 1),
            actor=setting.approver,
        )
        == "payment_run_required"
    )
    statement_mark_paid(
        statement_id=feb.pk, bank_reference="抵扣-2026-03", paid_on=date(2026, 3, 2), actor=setting.approver
    )

    fund = Fund.objects.get(pk=setting.fund.pk)
    assert (fund.committed, fund.spent) == (0, Decimal("25.00"))
    for month in (JAN, FEB):
        report = reconcile(month=month, union_path=setting.merchant.region.path)
        assert report.balanced, report.checks


def test_statement_lines_are_written_once_per_redemption_and_kind(setting, redeemed):
    from django.db import IntegrityError, transaction

    r = redeemed(date(2026, 1, 5))
    statement = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatementLine.objects.create(
            statement=statement,
            redemption=r,
            kind="share",
            offer=setting.offer,
            local_day=r.local_day,
            amount=1,
        )


def test_preparing_a_month_covers_the_actors_subtree_only_and_beat_prepares_everything(setting, redeemed):
    from settlement.services import statements_prepare_month
    from settlement.tasks import prepare_last_month

    redeemed(date(2026, 1, 5))
    assert statements_prepare_month(month=JAN, actor=setting.sibling) == 0
    assert not Statement.objects.exists()
    assert statements_prepare_month(month=JAN, actor=None) == 1
    assert Statement.objects.get().prepared_by is None
    prepare_last_month()  # the month just over: nothing in it, nothing made
    assert Statement.objects.count() == 1

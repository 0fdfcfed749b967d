"""Writes of settlement. Every door — the merchant's and the staff's pages, the POS API, the result
file's task, the demo — calls these functions; the admin only reads.

The life of a statement (per merchant and local month):

    draft ──confirm (merchant manager)──▶ confirmed ──approve (second staff member)──▶ approved
      ▲  └─dispute (with a reason)─▶ disputed                                             │
      └──────────── prepare again ──────┘                              paid (bank reference, date) ◀┘

Status changes are guarded: the row is updated only if the old status still holds, and the row count
is checked, so two clicks, two tabs or a retried task change a statement once.

Money. The union's share of each redemption was spent from its offer's fund at the till, and a void
gave it back (``discounts.redemption``, docs/funds.md): a statement is what the union owes the
merchant for those shares, and approving or paying it moves no fund. A share recorded without a fund
(an offer approved before funds were chosen at approval) cannot be approved: no fund paid for it.

Longer than most modules because the statement's and the payment run's lives share their guarded
transitions and the audit; split them if a third flow joins."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchants.models import Merchant, MerchantUser
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope, user_can_reach_union
from portal.tasks_util import enqueue_on_commit
from settlement.models import ZERO, PaymentLine, PaymentResultUpload, PaymentRun, Statement, StatementLine
from settlement.selectors import month_closed, owed_lines

logger = logging.getLogger(__name__)

S = Statement.Status
REASON_LENGTH = 500
BANK_REFERENCE_LENGTH = 64
RESULT_FILE_MAX_BYTES = 5 * 1024 * 1024
RESULT_ROWS_MAX = 50_000
AUDIT_STATEMENT = AuditEvent.Action.STATEMENT_CHANGED
AUDIT_RUN = AuditEvent.Action.PAYMENT_RUN_CHANGED


class StatementNotFound(NotFound):
    code = "statement_not_found"
    default_message = gettext_lazy("未找到该结算单。")


class StatementStateChanged(Conflict):
    code = "statement_state_changed"
    default_message = gettext_lazy("结算单状态已变化，请刷新后重试。")


# --- Helpers ---------------------------------------------------------------------------------------


def _ensure_staff_may(actor, permission: str, merchant: Merchant) -> None:
    if actor is None:
        return  # the system: a task, a command, the demo
    if not actor.has_perm(permission) or not user_can_reach_union(actor, merchant.region):
        raise PermissionDenied(_("您没有处理该商家结算单的权限。"))


def _ensure_merchant_manager(merchant_user: MerchantUser, statement: Statement) -> None:
    if (
        merchant_user is None
        or merchant_user.merchant_id != statement.merchant_id
        or merchant_user.role != MerchantUser.Role.MANAGER
        or not merchant_user.user.is_active
    ):
        # Another merchant's statement is as absent as one that does not exist.
        raise StatementNotFound()


def _transition(statement: Statement, old: list[str], new: str, **fields) -> None:
    """Change the status only if it still is one of ``old``; refuse otherwise."""
    changed = Statement.objects.filter(pk=statement.pk, status__in=old).update(status=new, **fields)
    if changed != 1:
        raise StatementStateChanged()
    statement.status = new
    for name, value in fields.items():
        setattr(statement, name, value)


def _audit(actor, statement: Statement, kind: str, **data) -> None:
    audit_record(
        actor=actor,
        action=AUDIT_STATEMENT,
        target=statement,
        union_path=statement.merchant.region.path,
        data={"kind": kind, "month": f"{statement.month:%Y-%m}", "total": str(statement.total), **data},
    )


def _clean_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(_("请填写异议原因。"), fields={"reason": [_("该字段是必填项。")]})
    if len(text) > REASON_LENGTH:
        raise ValidationFailed(
            _("原因过长。"), fields={"reason": [_("最多 %(n)s 个字。") % {"n": REASON_LENGTH}]}
        )
    return text


def _clean_bank_reference(value: str) -> str:
    text = (value or "").strip()
    if not text or len(text) > BANK_REFERENCE_LENGTH:
        raise ValidationFailed(_("银行流水号不正确。"), fields={"bank_reference": [_("请填写银行流水号。")]})
    return text


# --- Preparing -------------------------------------------------------------------------------------


def _rebuild_lines(statement: Statement) -> None:
    """Replace a draft's lines by what its month owes now (the statement row is locked)."""
    statement.lines.all().delete()
    lines = owed_lines(merchant_id=statement.merchant_id, month=statement.month)
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statement,
            redemption_id=line.redemption_id,
            kind=line.kind,
            offer_id=line.offer_id,
            fund_id=line.fund_id,
            local_day=line.local_day,
            amount=line.amount,
        )
        for line in lines
    )
    shares = sum((line.amount for line in lines if line.amount > 0), ZERO)
    adjustments = -sum((line.amount for line in lines if line.amount < 0), ZERO)
    statement.share_total = shares
    statement.adjustment_total = adjustments
    statement.total = shares - adjustments
    statement.line_count = len(lines)


def _notify_ready(statement: Statement) -> None:
    managers = MerchantUser.objects.filter(
        merchant_id=statement.merchant_id, role=MerchantUser.Role.MANAGER, user__is_active=True
    ).values_list("user_id", flat=True)
    for user_id in managers:
        notify(
            recipient=Recipient.user(user_id),
            topic=Topic.STATEMENT_READY,
            title=_("%(month)s 月度结算单已生成") % {"month": f"{statement.month:%Y-%m}"},
            body=_("工会应付 ¥%(total)s，请核对后确认或提出异议。") % {"total": statement.total},
            dedup_key=f"statement-ready:{statement.pk}",
            link=reverse("settlement_merchant:detail", args=[statement.pk]),
        )


@transaction.atomic
def statement_prepare(*, merchant: Merchant, month: date, actor=None) -> Statement:
    """Create the statement of ``merchant`` for ``month``, or bring a draft (or disputed) one up to
    date with what the month owes. A confirmed statement is never changed. The merchant's managers
    are told once the month is over."""
    if actor is not None:
        _ensure_staff_may(actor, "settlement.prepare_statement", merchant)
    now = timezone.now()
    month = month.replace(day=1)
    # INSERT … ON CONFLICT DO NOTHING, then lock the row: two preparations of the same month meet on it.
    Statement.objects.bulk_create(
        [Statement(merchant=merchant, month=month, prepared_at=now, prepared_by=actor)], ignore_conflicts=True
    )
    statement = (
        Statement.objects.select_for_update()
        .select_related("merchant__region")
        .get(merchant=merchant, month=month)
    )
    if statement.status not in (S.DRAFT, S.DISPUTED):
        return statement
    was = statement.total, statement.status
    _rebuild_lines(statement)
    statement.status = S.DRAFT
    statement.prepared_at = now
    statement.prepared_by = actor
    statement.save(
        update_fields=[
            "share_total", "adjustment_total", "total", "line_count", "status", "prepared_at", "prepared_by",
        ]
    )  # fmt: skip
    _audit(actor, statement, "prepared", previous_total=str(was[0]), previous_status=was[1])
    if month_closed(month):
        _notify_ready(statement)
    return statement


def statements_prepare_month(*, month: date, actor=None) -> int:
    """Prepare the statement of every merchant with a line in ``month`` (in the actor's subtree);
    one transaction per merchant. Returns how many were prepared."""
    from settlement.selectors import merchants_owed

    merchants = Merchant.objects.filter(pk__in=merchants_owed(month=month)).select_related("region")
    if actor is not None:
        from portal.scoping import scope_queryset

        merchants = scope_queryset(merchants, actor, "region__path")
    count = 0
    for merchant in merchants.order_by("pk"):
        statement_prepare(merchant=merchant, month=month, actor=actor)
        count += 1
    return count


# --- The merchant's answer ----------------------------------------------------------------------------


def _locked(statement_id: int) -> Statement:
    try:
        return (
            Statement.objects.select_for_update(of=("self",))
            .select_related("merchant__region")
            .get(pk=statement_id)
        )
    except Statement.DoesNotExist:
        raise StatementNotFound() from None


@transaction.atomic
def statement_confirm(*, statement_id: int, merchant_user: MerchantUser, expected_total) -> Statement:
    """The merchant's manager confirms the statement as shown to them (``expected_total``): it is
    brought up to date first and refused when its total is no longer what they saw."""
    statement = _locked(statement_id)
    _ensure_merchant_manager(merchant_user, statement)
    if statement.status != S.DRAFT:
        raise StatementStateChanged()
    if not month_closed(statement.month):
        raise Conflict(_("本月尚未结束，月度结算单不能确认。"), code="month_not_over")
    _rebuild_lines(statement)
    statement.save(update_fields=["share_total", "adjustment_total", "total", "line_count"])
    try:
        expected = Decimal(str(expected_total))
    except InvalidOperation:
        expected = None
    if expected != statement.total:
        raise Conflict(_("结算单已更新，请重新核对后再确认。"), code="statement_changed")
    _transition(
        statement, [S.DRAFT], S.CONFIRMED, confirmed_by=merchant_user.user, confirmed_at=timezone.now()
    )
    _audit(merchant_user.user, statement, "confirmed")
    return statement


@transaction.atomic
def statement_dispute(*, statement_id: int, merchant_user: MerchantUser, reason: str) -> Statement:
    statement = _locked(statement_id)
    _ensure_merchant_manager(merchant_user, statement)
    reason = _clean_reason(reason)
    _transition(statement, [S.DRAFT], S.DISPUTED, dispute_reason=reason)
    _audit(merchant_user.user, statement, "disputed", reason=reason)
    return statement


# --- Approval and payment --------------------------------------------------------------------------------


@transaction.atomic
def statement_approve(*, statement_id: int, actor) -> Statement:
    """A staff member other than the one who prepared the statement approves it for payment."""
    statement = _locked(statement_id)
    if not user_can_reach_union(actor, statement.merchant.region):
        raise StatementNotFound()
    _ensure_staff_may(actor, "settlement.approve_statement", statement.merchant)
    ensure_second_person(
        actor=actor, creator_id=statement.prepared_by_id, target=statement, what=_("审批结算单")
    )
    if statement.status != S.CONFIRMED:
        raise StatementStateChanged()
    if statement.lines.filter(fund__isnull=True).exists():
        raise Conflict(_("结算单中有核销未从普惠资金支出工会分担，不能审批。"), code="offer_without_fund")
    _transition(statement, [S.CONFIRMED], S.APPROVED, approved_by=actor, approved_at=timezone.now())
    _audit(actor, statement, "approved")
    return statement


@transaction.atomic
def statement_mark_paid(
    *,
    statement_id: int,
    bank_reference: str,
    paid_on: date,
    actor=None,
    payment_line: PaymentLine | None = None,
) -> Statement:
    """Record that the union paid an approved statement: by the line of a payment run (from the bank's
    result file), or, without a run, settled otherwise (a total of zero or less, offset against the
    merchant) — then a line without a run records it, so payments always add up."""
    statement = _locked(statement_id)
    if actor is not None:
        if not user_can_reach_union(actor, statement.merchant.region):
            raise StatementNotFound()
        _ensure_staff_may(actor, "settlement.approve_statement", statement.merchant)
    bank_reference = _clean_bank_reference(bank_reference)
    if payment_line is None:
        if statement.total > 0:
            raise Conflict(_("应付金额大于零的结算单须通过支付批次支付。"), code="payment_run_required")
        payment_line = PaymentLine.objects.create(
            statement=statement, amount=statement.total, status=PaymentLine.Status.PENDING
        )
    _transition(statement, [S.APPROVED], S.PAID, bank_reference=bank_reference, paid_on=paid_on)
    changed = PaymentLine.objects.filter(pk=payment_line.pk, status=PaymentLine.Status.PENDING).update(
        status=PaymentLine.Status.PAID, bank_reference=bank_reference, paid_on=paid_on, message=""
    )
    if changed != 1:
        raise StatementStateChanged()
    _audit(actor, statement, "paid", bank_reference=bank_reference, paid_on=paid_on.isoformat())
    return statement


# --- Payment runs --------------------------------------------------------------------------------------


def _ensure_run_manager(actor, run_union) -> None:
    if actor is None or not actor.has_perm("settlement.manage_paymentrun"):
        raise PermissionDenied(_("您没有管理支付批次的权限。"))
    ensure_union_in_scope(actor, run_union)


def _run_audit(actor, run: PaymentRun, kind: str, **data) -> None:
    audit_record(
        actor=actor,
        action=AUDIT_RUN,
        target=run,
        union_path=run.union.path,
        data={"kind": kind, "total": str(run.total), "lines": run.line_count, **data},
    )


@transaction.atomic
def payment_run_create(*, actor) -> PaymentRun:
    """Collect the approved statements (total above zero) of the actor's subtree that are not in a live
    payment yet into a new run. The statements are locked in id order, so two runs created at once
    never hold the same statement (and the unique live line would refuse it anyway)."""
    _ensure_run_manager(actor, actor.union)
    statements = list(
        Statement.objects.select_for_update(of=("self",))
        .filter(status=S.APPROVED, total__gt=0, merchant__region__path__startswith=actor.union.path)
        .exclude(payment_lines__status__in=[PaymentLine.Status.PENDING, PaymentLine.Status.PAID])
        .order_by("pk")
    )
    if not statements:
        raise Conflict(_("没有待支付的已审批结算单。"), code="nothing_to_pay")
    run = PaymentRun.objects.create(union=actor.union, created_by=actor, created_at=timezone.now())
    PaymentLine.objects.bulk_create(PaymentLine(run=run, statement=s, amount=s.total) for s in statements)
    run.total = sum((s.total for s in statements), ZERO)
    run.line_count = len(statements)
    run.save(update_fields=["total", "line_count"])
    _run_audit(actor, run, "created")
    return run


def _locked_run(run_id: int, actor) -> PaymentRun:
    run = PaymentRun.objects.select_for_update(of=("self",)).select_related("union").filter(pk=run_id).first()
    if run is None or not user_can_reach_union(actor, run.union):
        raise NotFound(_("未找到该支付批次。"), code="payment_run_not_found")
    return run


@transaction.atomic
def payment_run_approve(*, run_id: int, actor) -> PaymentRun:
    """A second staff member releases the run: only then can its payment file be downloaded."""
    run = _locked_run(run_id, actor)
    _ensure_run_manager(actor, run.union)
    ensure_second_person(actor=actor, creator_id=run.created_by_id, target=run, what=_("审批支付批次"))
    changed = PaymentRun.objects.filter(pk=run.pk, status=PaymentRun.Status.DRAFT).update(
        status=PaymentRun.Status.APPROVED, approved_by=actor, approved_at=timezone.now()
    )
    if changed != 1:
        raise Conflict(_("支付批次状态已变化，请刷新后重试。"), code="payment_run_state_changed")
    run.refresh_from_db()
    _run_audit(actor, run, "approved")
    return run


def payment_result_upload(*, run_id: int, actor, filename: str, content: bytes) -> PaymentResultUpload:
    """Keep the bank's result file of an approved run and let a worker apply it (one row per line)."""
    with transaction.atomic():
        run = _locked_run(run_id, actor)
        _ensure_run_manager(actor, run.union)
        if run.status == PaymentRun.Status.DRAFT:
            raise Conflict(_("支付批次尚未审批。"), code="payment_run_not_approved")
        if len(content) > RESULT_FILE_MAX_BYTES:
            raise ValidationFailed(_("文件过大。"), fields={"file": [_("文件不能超过 5 MB。")]})
        upload = PaymentResultUpload(
            run=run, original_filename=filename[:255], uploaded_by=actor, created_at=timezone.now()
        )
        upload.file.save(f"run-{run.pk}.csv", ContentFile(content), save=False)
        upload.save()
        _run_audit(actor, run, "result_uploaded", upload=upload.pk)
        enqueue_on_commit("settlement.tasks.apply_payment_result", upload.pk)
    return upload


RESULT_COLUMNS = ("reference", "status", "bank_reference", "paid_on", "message")
PAID_WORDS = {"paid", "success", "成功", "已支付"}
FAILED_WORDS = {"failed", "failure", "失败", "退回"}


def _result_rows(content: bytes) -> list[dict]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gbk")
    if "\x00" in text:
        raise ValidationFailed(_("文件含有无法识别的字符。"))
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"reference", "status"} <= {f.strip() for f in reader.fieldnames}:
        raise ValidationFailed(_("回单文件须有表头：reference,status,bank_reference,paid_on,message。"))
    rows = []
    for number, row in enumerate(reader, start=2):
        if number > RESULT_ROWS_MAX + 1:
            raise ValidationFailed(_("回单行数过多。"))
        rows.append({"row": number, **{k.strip(): (v or "").strip() for k, v in row.items() if k}})
    return rows


def _apply_row(run: PaymentRun, row: dict) -> dict:
    """One row of the result: mark the line paid (and its statement), or failed; a row already applied
    the same way is reported ``already``, so the file can be uploaded again."""
    outcome = {"row": row["row"], "reference": row.get("reference", "")}
    reference = row.get("reference", "")
    line = None
    if reference.upper().startswith("PL") and reference[2:].isdigit():
        line = PaymentLine.objects.filter(run=run, pk=int(reference[2:])).first()
    if line is None:
        return {**outcome, "outcome": "error", "message": _("本批次没有该付款编号。")}
    status = row.get("status", "").lower()
    if status in PAID_WORDS:
        try:
            paid_on = date.fromisoformat(row.get("paid_on", ""))
            bank_reference = _clean_bank_reference(row.get("bank_reference", ""))
        except (ValueError, ValidationFailed):
            return {**outcome, "outcome": "error", "message": _("支付日期或银行流水号不正确。")}
        if line.status == PaymentLine.Status.PAID:
            same = line.bank_reference == bank_reference
            return {
                **outcome,
                "outcome": "already" if same else "error",
                "message": "" if same else _("该笔已按其他流水号支付。"),
            }
        if line.status == PaymentLine.Status.FAILED:
            return {**outcome, "outcome": "error", "message": _("该笔已记为支付失败。")}
        try:
            statement_mark_paid(
                statement_id=line.statement_id,
                bank_reference=bank_reference,
                paid_on=paid_on,
                payment_line=line,
            )
        except (Conflict, ValidationFailed) as error:
            return {**outcome, "outcome": "error", "message": error.message}
        return {**outcome, "outcome": "paid", "message": ""}
    if status in FAILED_WORDS:
        message = row.get("message", "")[:255] or _("银行未说明原因")
        if line.status == PaymentLine.Status.FAILED:
            return {**outcome, "outcome": "already", "message": ""}
        changed = PaymentLine.objects.filter(pk=line.pk, status=PaymentLine.Status.PENDING).update(
            status=PaymentLine.Status.FAILED, message=message
        )
        if changed != 1:
            return {**outcome, "outcome": "error", "message": _("该笔已支付，不能改为失败。")}
        return {**outcome, "outcome": "failed", "message": message}
    return {**outcome, "outcome": "error", "message": _("状态应为 paid 或 failed。")}


def payment_result_apply(*, upload_id: int) -> PaymentResultUpload:
    """Apply a result file row by row (each row in its own transaction: one bad row does not hold the
    others back) and record every row's outcome. Running it again changes nothing already applied."""
    upload = PaymentResultUpload.objects.select_related("run__union").get(pk=upload_id)
    try:
        with upload.file.open("rb") as handle:
            rows = _result_rows(handle.read())
    except ValidationFailed as error:
        upload.status, upload.message = PaymentResultUpload.Status.FAILED, error.message
        upload.save(update_fields=["status", "message"])
        return upload
    results = []
    for row in rows:
        with transaction.atomic():
            results.append(_apply_row(upload.run, row))
    upload.results = results
    upload.status = PaymentResultUpload.Status.DONE
    upload.message = ""
    upload.save(update_fields=["results", "status", "message"])
    run = upload.run
    if not run.lines.filter(status=PaymentLine.Status.PENDING).exists():
        PaymentRun.objects.filter(pk=run.pk, status=PaymentRun.Status.APPROVED).update(
            status=PaymentRun.Status.CLOSED
        )
    logger.info("payment result %s applied: %s rows", upload.pk, len(results))
    return upload


def payment_file_rows(run: PaymentRun) -> list[list]:
    """The rows of the payment file for the bank (docs/settlement.md): one per line."""
    return [
        [line.reference, line.statement.merchant.name, line.statement.merchant.licence_number,
         f"{line.statement.month:%Y-%m}", f"{line.amount:.2f}"]
        for line in run.lines.select_related("statement__merchant").order_by("pk")
    ]  # fmt: skip


PAYMENT_FILE_HEADER = ["reference", "payee_name", "payee_licence", "month", "amount"]


def payment_file_csv(run: PaymentRun) -> bytes:
    if run.status == PaymentRun.Status.DRAFT:
        raise Conflict(_("支付批次尚未审批。"), code="payment_run_not_approved")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PAYMENT_FILE_HEADER)
    writer.writerows(payment_file_rows(run))
    return out.getvalue().encode("utf-8")

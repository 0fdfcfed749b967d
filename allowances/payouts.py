"""Paying approved allowances onto members' cards: payout runs, the bank's credit file and its result.

A run collects the approved claims of one bank's cards in the creator's subtree (a claim whose last
credit failed and was sent back for retry is approved again). Another staff member releases it
(``portal.approvals``): the credit file is then written for the bank as a bank file
(``banking.files``, kind ``allowance_credits``: one line per claim with the card, the amount and the
line's reference). The bank answers with a result file (kind ``credit_result``), uploaded like every
inbound bank file — kept, read by a worker, a result per line, the same file twice changes nothing:

- credited → the line and the claim are paid (已到账, with the bank's date and reference), and the
  claim's commitment in its fund becomes a spend (``fund_spend(from_commitment=True)``);
- failed → the line keeps the bank's reason and the claim is "发放失败": staff send it back for the
  next run (``claim_retry``) or cancel it (``claim_cancel``), which releases its commitment.

Every yuan can be followed: fund movement (reference ``allowances.claim``) → claim → payout line →
result line. The run is closed when every line has its answer."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from allowances.models import Claim, PayoutLine, PayoutRun
from allowances.services import yuan
from banking.files import BankFileProblem, bank_file_finish, line_record, read_lines
from banking.models import BankFile, BankFileLine
from funds.services import Reference, fund_release, fund_spend
from members.models import Card, PartnerBank, Union
from members.scope import ensure_member_in_scope
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import staff_union_path

MANAGE_PERMISSION = "allowances.manage_payoutrun"
# The credit file's columns, and the result file's (Chinese or English headers).
CREDIT_HEADER = ["参考号", "卡号", "金额", "摘要"]
RESULT_HEADERS = {
    "reference": ("参考号", "reference"),
    "outcome": ("结果", "result"),
    "bank_reference": ("银行流水号", "bank_reference"),
    "credited_on": ("入账日期", "credited_on"),
    "reason": ("失败原因", "reason"),
}
CREDITED_WORDS = {"成功", "已入账", "credited", "success", "ok"}
FAILED_WORDS = {"失败", "failed", "fail"}


def _audit(actor, target, event: str, union_path: str, **data) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.ALLOWANCE_CLAIM_CHANGED,
        target=target,
        union_path=union_path,
        data={"event": event, **data},
    )


def _ensure_manager(actor) -> str:
    scope = staff_union_path(actor)
    if scope is None or not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("您没有发放住院补贴的权限。"))
    return scope


@transaction.atomic
def payout_run_create(*, actor, bank: PartnerBank) -> PayoutRun:
    """A run of every approved claim in the actor's subtree whose member holds a live card of
    ``bank``; refused when there is none."""
    scope = _ensure_manager(actor)
    claims = list(
        Claim.objects.select_for_update(of=("self",))
        .filter(status=Claim.Status.APPROVED, union_path__startswith=scope, amount_fen__gt=0)
        .order_by("pk")
    )
    cards = {
        card.member_id: card
        for card in Card.objects.filter(
            member_id__in=[c.member_id for c in claims], bank=bank, status__in=Card.LIVE_STATUSES
        )
    }
    claims = [claim for claim in claims if claim.member_id in cards]
    if not claims:
        raise Conflict(_("没有待发放到该银行卡的已批准补贴。"), code="nothing_to_pay")
    # The run belongs to the maker's union (a superuser without one: the province, the tree's root).
    union = actor.union or Union.objects.province()
    run = PayoutRun.objects.create(bank=bank, union=union, created_by=actor)
    PayoutLine.objects.bulk_create(
        PayoutLine(run=run, claim=claim, card=cards[claim.member_id], amount_fen=claim.amount_fen)
        for claim in claims
    )
    Claim.objects.filter(pk__in=[claim.pk for claim in claims]).update(status=Claim.Status.PAYING)
    run.line_count, run.total_fen = len(claims), sum(claim.amount_fen for claim in claims)
    run.save(update_fields=["line_count", "total_fen"])
    _audit(actor, run, "payout_created", run.union.path, lines=run.line_count, total_fen=run.total_fen)
    return run


def _locked_run(run_id: int, actor) -> PayoutRun:
    scope = _ensure_manager(actor)
    run = PayoutRun.objects.select_for_update().select_related("bank", "union").filter(pk=run_id).first()
    if run is None or not run.union.path.startswith(scope):
        raise PermissionDenied(_("该发放批次不在您的管理范围内。"))
    return run


def credit_file_bytes(run: PayoutRun) -> bytes:
    """The credit file of a run: UTF-8 CSV, one line per claim (see docs/bank-files.md)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CREDIT_HEADER)
    for line in run.lines.select_related("card").order_by("pk"):
        writer.writerow([line.reference, line.card.number, yuan(line.amount_fen), "工会住院补贴"])
    return out.getvalue().encode("utf-8")


@transaction.atomic
def payout_run_release(*, run_id: int, actor) -> PayoutRun:
    """Release by a second person: the credit file is written for the bank."""
    run = _locked_run(run_id, actor)
    if run.status != PayoutRun.Status.DRAFT:
        raise Conflict(_("该批次已发放。"), code="payout_released")
    ensure_second_person(actor=actor, creator_id=run.created_by_id, target=run, what=_("发放住院补贴"))
    content = credit_file_bytes(run)
    now = timezone.now()
    bank_file = BankFile(
        bank=run.bank,
        kind=BankFile.Kind.ALLOWANCE_CREDITS,
        original_filename=f"allowance-credits-{run.bank.code}-{run.pk}.csv",
        content_hash=hashlib.sha256(content).hexdigest(),
        status=BankFile.Status.DONE,
        total_lines=run.line_count,
        applied_lines=run.line_count,
        uploaded_by=actor,
        finished_at=now,
    )
    bank_file.file.save(bank_file.original_filename, ContentFile(content), save=False)
    try:
        bank_file.save()
    except BaseException:
        bank_file.file.storage.delete(bank_file.file.name)
        raise
    run.status, run.released_by, run.released_at, run.credit_file = (
        PayoutRun.Status.RELEASED,
        actor,
        now,
        bank_file,
    )
    run.save(update_fields=["status", "released_by", "released_at", "credit_file"])
    _audit(actor, run, "payout_released", run.union.path, file=bank_file.pk, total_fen=run.total_fen)
    return run


# --- The bank's result ----------------------------------------------------------------------------


class LineRefused(Exception):
    pass


def _outcome(word: str) -> str:
    word = word.strip().lower()
    if word in CREDITED_WORDS:
        return PayoutLine.Status.CREDITED
    if word in FAILED_WORDS:
        return PayoutLine.Status.FAILED
    raise LineRefused(_("“结果”应为“成功”或“失败”。"))


def _apply_result(bank_file: BankFile, values: dict[str, str]) -> tuple[str, str, int | None]:
    reference = values["reference"].strip().upper()
    line_id = int(reference[2:]) if reference.startswith("BT") and reference[2:].isdigit() else None
    line = (
        PayoutLine.objects.select_for_update(of=("self",))
        .select_related("run", "claim")
        .filter(pk=line_id, run__bank_id=bank_file.bank_id)
        .first()
        if line_id
        else None
    )
    if line is None:
        raise LineRefused(_("参考号 %(ref)s 不是本行的补贴入账。") % {"ref": reference or "—"})
    outcome = _outcome(values["outcome"])
    if line.status != PayoutLine.Status.PENDING:
        if line.status == outcome:
            return BankFileLine.Outcome.UNCHANGED, "", line.card_id
        raise LineRefused(_("该笔已有相反的结果（%(status)s）。") % {"status": line.get_status_display()})
    claim = Claim.objects.select_for_update().get(pk=line.claim_id)
    if outcome == PayoutLine.Status.CREDITED:
        try:
            credited_on = datetime.date.fromisoformat(values["credited_on"].strip().replace("/", "-"))
        except ValueError:
            raise LineRefused(_("“入账日期”应为 2026-12-03 这样的日期。")) from None
        bank_reference = values["bank_reference"].strip()[:64]
        line.status, line.credited_on, line.bank_reference = outcome, credited_on, bank_reference
        line.save(update_fields=["status", "credited_on", "bank_reference"])
        claim.status, claim.paid_on, claim.bank_reference = Claim.Status.PAID, credited_on, bank_reference
        claim.save(update_fields=["status", "paid_on", "bank_reference"])
        fund_spend(
            fund_id=claim.fund_id,
            amount=yuan(line.amount_fen),
            reference=Reference.to(claim),
            from_commitment=True,
        )
        notify(
            recipient=Recipient.member(claim.member_id),
            topic=Topic.CLAIM_PAID,
            title=_("住院补贴已到账"),
            body=_("您在%(hospital)s的住院补贴 ¥%(amount)s 已于%(day)s打入您的会员卡。")
            % {"hospital": claim.hospital, "amount": yuan(line.amount_fen), "day": f"{credited_on:%Y-%m-%d}"},
            dedup_key=f"claim-paid:{claim.pk}",
            link="/me/allowances/",
        )
    else:
        reason = values["reason"].strip()[:200] or _("银行未说明原因")
        line.status, line.failure_reason = outcome, reason
        line.save(update_fields=["status", "failure_reason"])
        claim.status = Claim.Status.FAILED
        claim.save(update_fields=["status"])
    _audit(None, claim, f"credit_{outcome}", claim.union_path, line=line.pk, file=bank_file.pk)
    if not line.run.lines.filter(status=PayoutLine.Status.PENDING).exists():
        PayoutRun.objects.filter(pk=line.run_id).update(
            status=PayoutRun.Status.CLOSED, closed_at=timezone.now()
        )
    return BankFileLine.Outcome.APPLIED, "", line.card_id


def credit_results_process(*, bank_file: BankFile) -> None:
    """Read a result file (the worker's job, registered with ``banking.files``); lines already recorded
    (a redelivered task) are skipped, a bad line is an error line and never sinks the others."""
    done = set(BankFileLine.objects.filter(file=bank_file).values_list("line_number", flat=True))
    with bank_file.file.open("rb") as handle:
        for number, values in read_lines(handle, RESULT_HEADERS):
            if number in done:
                continue
            try:
                with transaction.atomic():
                    outcome, message, card_id = _apply_result(bank_file, values)
                    line_record(bank_file, number, outcome, message, card_id).save()
            except (LineRefused, BankFileProblem, ValidationFailed) as refused:
                message = str(getattr(refused, "message", refused))
                line_record(bank_file, number, BankFileLine.Outcome.ERROR, message).save()
    bank_file_finish(bank_file_id=bank_file.pk)


# --- A failed credit: try again, or give up ---------------------------------------------------------


def _failed_claim(actor, claim_id: int) -> Claim:
    _ensure_manager(actor)
    claim = Claim.objects.select_for_update().get(pk=claim_id)
    ensure_member_in_scope(actor, claim.member_id)
    if claim.status != Claim.Status.FAILED:
        raise Conflict(_("只有发放失败的补贴可以重新发放或取消。"), code="claim_not_failed")
    return claim


@transaction.atomic
def claim_retry(*, actor, claim_id: int) -> Claim:
    """Back to approved: the next run of the member's bank pays it (after the card was fixed)."""
    claim = _failed_claim(actor, claim_id)
    claim.status = Claim.Status.APPROVED
    claim.save(update_fields=["status"])
    _audit(actor, claim, "credit_retry", claim.union_path)
    return claim


@transaction.atomic
def claim_cancel(*, actor, claim_id: int, reason: str) -> Claim:
    """Give up paying: the commitment goes back to the fund."""
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写取消发放的原因。")
        raise ValidationFailed(message, fields={"reason": [message]})
    claim = _failed_claim(actor, claim_id)
    fund_release(
        fund_id=claim.fund_id, amount=yuan(claim.amount_fen), reference=Reference.to(claim), actor=actor
    )
    claim.status, claim.decision_note = Claim.Status.CANCELLED, reason[:300]
    claim.save(update_fields=["status", "decision_note"])
    _audit(actor, claim, "credit_cancelled", claim.union_path, reason=reason[:200])
    return claim


def run_totals(run: PayoutRun) -> dict[str, int]:
    """Fen by line status: what was sent, credited, failed and still awaited."""
    rows = dict(run.lines.values_list("status").annotate(fen=Sum("amount_fen")))
    return {status: rows.get(status, 0) or 0 for status in PayoutLine.Status.values}

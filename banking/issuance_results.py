"""The bank's issuance result file (制卡结果): for each card applied for, the account opened with
the number the bank assigned, or a rejection with its reason.

A line names the card by its application number — the number it carried in the production file the
bank received. An opened account gives the card the bank's number (``members.cards.card_take_bank_number``,
the card's one writer); a rejection cancels the card applied for (``members.cards.card_cancel``), so
the member can apply again, and lands on the workplace union's to-do list with a notice to its staff
and to the member. Each card is answered once (:class:`IssuanceResult` is unique per card): the same
answer again is "unchanged", a different one an error.

Lines are processed in chunks, one transaction each, every line in its own savepoint; a line result
is written with what the line did, so a redelivered task resumes after the last line recorded."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from banking.files import bank_file_finish, line_record, read_lines
from banking.models import BankFile, BankFileLine, IssuanceResult
from members.cards import card_cancel, card_take_bank_number
from members.models import Card
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.errors import ApplicationError

RESULT_CHUNK_LINES = 500

HEADERS = {
    "application_number": ("申请编号", "application_number"),
    "result": ("结果", "result"),
    "bank_card_number": ("银行卡号", "bank_card_number"),
    "reason": ("拒绝原因", "reason"),
}
OPENED_WORDS = {"开户", "成功", "opened", "ok"}
REJECTED_WORDS = {"拒绝", "退回", "rejected"}
REASON_MAX = 200


class LineRefused(Exception):
    """A line that changes nothing, with the reason written to its result."""


def issuance_results_process(*, bank_file: BankFile, chunk_lines: int | None = None) -> None:
    chunk_lines = chunk_lines or RESULT_CHUNK_LINES
    done = set(BankFileLine.objects.filter(file=bank_file).values_list("line_number", flat=True))
    chunk: list[tuple[int, dict[str, str]]] = []
    with bank_file.file.open("rb") as handle:
        for number, values in read_lines(handle, HEADERS):
            if number in done:
                continue
            chunk.append((number, values))
            if len(chunk) >= chunk_lines:
                _process_chunk(bank_file, chunk)
                chunk = []
        if chunk:
            _process_chunk(bank_file, chunk)
    bank_file_finish(bank_file_id=bank_file.pk)


@transaction.atomic
def _process_chunk(bank_file: BankFile, chunk: list[tuple[int, dict[str, str]]]) -> None:
    # The file row is locked first: a redelivered task that runs beside the first one waits here,
    # then skips the lines the first one recorded.
    BankFile.objects.select_for_update().filter(pk=bank_file.pk).values_list("pk", flat=True).get()
    done = set(
        BankFileLine.objects.filter(file=bank_file, line_number__in=[n for n, _v in chunk]).values_list(
            "line_number", flat=True
        )
    )
    records = []
    for number, values in chunk:
        if number in done:
            continue
        try:
            with transaction.atomic():
                outcome, message, card_id = _apply_line(bank_file, number, values)
        except LineRefused as refused:
            outcome, message, card_id = BankFileLine.Outcome.ERROR, str(refused), None
        except ApplicationError as error:
            outcome, message, card_id = BankFileLine.Outcome.ERROR, str(error.message), None
        records.append(line_record(bank_file, number, outcome, message, card_id))
    BankFileLine.objects.bulk_create(records)


def _outcome_of(word: str) -> str:
    word = word.strip().lower()
    if word in OPENED_WORDS:
        return IssuanceResult.Outcome.OPENED
    if word in REJECTED_WORDS:
        return IssuanceResult.Outcome.REJECTED
    raise LineRefused(_("“结果”应为“开户”或“拒绝”。"))


def _apply_line(bank_file: BankFile, number: int, values: dict[str, str]) -> tuple[str, str, int | None]:
    application_number = values["application_number"]
    outcome = _outcome_of(values["result"])
    bank_number = values["bank_card_number"]
    reason = values["reason"][:REASON_MAX]
    if outcome == IssuanceResult.Outcome.REJECTED and not reason:
        raise LineRefused(_("拒绝的申请须写明拒绝原因。"))
    if outcome == IssuanceResult.Outcome.OPENED and not bank_number:
        raise LineRefused(_("开户成功的申请须写明银行卡号。"))

    answered = (
        IssuanceResult.objects.select_related("card")
        .filter(application_number=application_number, card__bank=bank_file.bank)
        .first()
    )
    if answered is not None:
        same = answered.outcome == outcome and (
            outcome == IssuanceResult.Outcome.REJECTED or answered.bank_card_number == bank_number
        )
        if same:
            return BankFileLine.Outcome.UNCHANGED, _("该申请的结果已处理过。"), answered.card_id
        raise LineRefused(
            _("该申请已有不同的结果（%(outcome)s），请与银行核对。")
            % {"outcome": answered.get_outcome_display()}
        )

    card = (
        Card.objects.select_related("member__union", "bank")
        .filter(number=application_number, bank=bank_file.bank)
        .first()
    )
    if card is None:
        raise LineRefused(_("申请编号不存在，或不是该银行的制卡申请。"))
    if card.status != Card.Status.ISSUED:
        raise LineRefused(
            _("该卡当前状态为“%(status)s”，不再等待银行结果。") % {"status": card.get_status_display()}
        )
    actor = bank_file.uploaded_by
    member = card.member
    if outcome == IssuanceResult.Outcome.OPENED:
        card = card_take_bank_number(card=card, number=bank_number, actor=actor)
        message = _("已开户，卡号已更新为银行卡号。")
        notify(
            recipient=Recipient.member(member.pk),
            topic=Topic.CARD_READY,
            title=_("会员卡已制作完成"),
            body=_("银行已为您开户，会员卡（尾号 %(tail)s）请到所在基层工会领取，领取后在“我的卡”中激活。")
            % {"tail": card.number[-4:]},
            dedup_key=f"card-ready:{card.pk}",
            link="/me/card/",
            phone=member.phone,
        )
    else:
        card_cancel(card=card, actor=actor)
        message = _("银行拒绝：%(reason)s") % {"reason": reason}
    result = IssuanceResult.objects.create(
        card=card,
        union=member.union,
        outcome=outcome,
        application_number=application_number,
        bank_card_number=bank_number if outcome == IssuanceResult.Outcome.OPENED else "",
        reason=reason if outcome == IssuanceResult.Outcome.REJECTED else "",
        file=bank_file,
        line_number=number,
    )
    if outcome == IssuanceResult.Outcome.REJECTED:
        _notify_rejection(result, member)
    return BankFileLine.Outcome.APPLIED, message, card.pk


def _notify_rejection(result: IssuanceResult, member) -> None:
    """The workplace union's staff (its to-do) and the member hear of a rejection, once each."""
    title = _("银行退回办卡申请")
    staff = get_user_model().objects.filter(union_id=result.union_id, is_active=True, is_staff=True)
    for user_id in staff.values_list("pk", flat=True):
        notify(
            recipient=Recipient.user(user_id),
            topic=Topic.BANK_REJECTED,
            title=title,
            body=_("会员 %(name)s 的办卡申请被银行退回：%(reason)s。请在“银行退回”待办中处理。")
            % {"name": member.name_masked, "reason": result.reason},
            dedup_key=f"bank-rejected:{result.pk}",
            link="/staff/bank-rejections/",
        )
    notify(
        recipient=Recipient.member(member.pk),
        topic=Topic.BANK_REJECTED,
        title=title,
        body=_("您的会员卡申请被银行退回（%(reason)s），请联系所在基层工会重新办理。")
        % {"reason": result.reason},
        dedup_key=f"bank-rejected:{result.pk}",
        phone=member.phone,
    )

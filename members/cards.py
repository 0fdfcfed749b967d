"""Writes for cards: numbers (bank BIN + serial + Luhn digit, serials allocated without gaps or
duplicates), issuing, and the guarded transitions of a card's life (activate, freeze, replace, cancel)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import luhn

from members.models import Card, IssuanceBatch, Member, PartnerBank, mask_card_number
from members.people import audit_actor, is_staff_actor, staff_scope_check
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, PermissionDenied
from portal.models import AuditEvent


class CardTransitionRefused(Conflict):
    code = "card_transition_refused"


class CardExists(Conflict):
    code = "card_exists"
    default_message = gettext_lazy("该会员已有一张有效会员卡，不能重复制卡。")


class CardNotFound(NotFound):
    code = "card_not_found"
    default_message = gettext_lazy("您还没有有效的会员卡。")


class LostReportTooOld(Conflict):
    code = "lost_report_too_old"


# A member who finds the card again may undo the lost-card report for this long (解除挂失); after that
# the report stands and the member asks for a replacement (补卡).
UNDO_LOST_WINDOW = timedelta(days=7)


class CardInactive(Conflict):
    code = "card_inactive"
    default_message = gettext_lazy("会员卡尚未激活或已挂失，暂不能使用。")


def luhn_digit(partial: str) -> str:
    """The Luhn check digit of ``partial`` (python-stdnum's, the one every card number ends with)."""
    return luhn.calc_check_digit(partial)


def card_number_for(bank: PartnerBank, serial: int) -> str:
    partial = f"{bank.bin}{serial:0{bank.serial_length}d}"
    return partial + luhn_digit(partial)


def bank_allocate_serials(*, bank: PartnerBank, count: int) -> range:
    """Take ``count`` consecutive serials with one UPDATE … RETURNING.

    The row lock taken by the UPDATE is held until the caller's transaction ends, so concurrent
    batches queue on it and never share a serial; a transaction that rolls back returns its serials
    with it, so none are skipped. Must be called inside the transaction that inserts the cards."""
    if count <= 0:
        return range(0)
    if not connection.in_atomic_block:
        raise RuntimeError("serials must be allocated inside the transaction that uses them")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_partnerbank SET next_serial = next_serial + %s "
            "WHERE id = %s RETURNING next_serial",
            [count, bank.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("合作银行不存在。"))
    end = row[0]
    if end - 1 >= 10**bank.serial_length:
        raise Conflict(_("%(bank)s的卡号序号已用完，请联系银行扩展卡号段。") % {"bank": bank.name})
    return range(end - count, end)


def _audit_card(card: Card, *, actor, old: str, new: str, extra: dict | None = None) -> None:
    audit_record(
        actor=audit_actor(actor),
        action=AuditEvent.Action.CARD_STATE_CHANGED,
        target=card,
        label=card.number_masked,
        union_path=card.member.union.path,
        data={"from": old, "to": new, **(extra or {})},
    )


def card_issue(
    *,
    member: Member,
    bank: PartnerBank,
    actor=None,
    batch: IssuanceBatch | None = None,
    replaces: Card | None = None,
) -> Card:
    """A new card in status "issued". The member row is locked so two issuances for one member queue,
    and the partial unique index one_live_card_per_member is the last word."""
    staff_scope_check(actor, member.union)
    try:
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True).get()
            if Card.objects.filter(member=member, status__in=Card.LIVE_STATUSES).exists():
                raise CardExists()
            (serial,) = bank_allocate_serials(bank=bank, count=1)
            card = Card.objects.create(
                number=card_number_for(bank, serial),
                bank=bank,
                serial=serial,
                member=member,
                status=Card.Status.ISSUED,
                batch=batch,
                replaces=replaces,
            )
            card.member = member
            _audit_card(
                card,
                actor=actor,
                old="",
                new=Card.Status.ISSUED,
                extra={"replaces": replaces.pk} if replaces else None,
            )
    except IntegrityError:
        # The savepoint rolled back the serial too: no gap is left behind.
        raise CardExists() from None
    return card


# Which statuses each transition starts from, where it leads and which timestamp it sets.
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "activate": ((Card.Status.ISSUED,), Card.Status.ACTIVE, "activated_at"),
    "freeze": ((Card.Status.ISSUED, Card.Status.ACTIVE), Card.Status.FROZEN, "frozen_at"),
    "replace": ((Card.Status.ACTIVE, Card.Status.FROZEN), Card.Status.REPLACED, "closed_at"),
    "cancel": (
        (Card.Status.ISSUED, Card.Status.ACTIVE, Card.Status.FROZEN),
        Card.Status.CANCELLED,
        "closed_at",
    ),
}
_ACTION_LABELS = {
    "activate": gettext_lazy("激活"),
    "freeze": gettext_lazy("挂失"),
    "replace": gettext_lazy("补换"),
    "cancel": gettext_lazy("注销"),
}


def _card_transition(*, card: Card, action: str, actor) -> Card:
    allowed, target, stamp = _TRANSITIONS[action]
    now = timezone.now()
    old = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
    # The guard is in the UPDATE itself: a concurrent transition makes this one change no row.
    changed = Card.objects.filter(pk=card.pk, status__in=allowed).update(status=target, **{stamp: now})
    if changed != 1:
        current = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
        if current is None:
            raise CardNotFound(_("会员卡不存在。"))
        raise CardTransitionRefused(
            _("该卡当前状态为“%(status)s”，不能%(action)s。")
            % {"status": Card.Status(current).label, "action": _ACTION_LABELS[action]}
        )
    card.status = target
    setattr(card, stamp, now)
    if not Card.member.is_cached(card):
        card.member = Member.objects.select_related("union").get(pk=card.member_id)
    _audit_card(card, actor=actor, old=old, new=target)
    return card


@transaction.atomic
def card_activate(*, card: Card, actor=None) -> Card:
    return _card_transition(card=card, action="activate", actor=actor)


@transaction.atomic
def card_freeze(*, card: Card, actor=None) -> Card:
    """Report a card lost: it stops working at once."""
    return _card_transition(card=card, action="freeze", actor=actor)


@transaction.atomic
def card_cancel(*, card: Card, actor=None) -> Card:
    return _card_transition(card=card, action="cancel", actor=actor)


@transaction.atomic
def card_undo_lost(*, card: Card, actor=None) -> Card:
    """Undo a lost-card report (解除挂失) within :data:`UNDO_LOST_WINDOW` of it: the card works again,
    as it was before (active, or issued if it was never activated). A member reaches only their own
    card (the pages look it up by member); staff only cards of their subtree.

    The status and the age of the report are the guard of the UPDATE itself, so a concurrent
    replacement or a second undo changes no row and is refused."""
    if not Card.member.is_cached(card):
        card.member = Member.objects.select_related("union").get(pk=card.member_id)
    if is_staff_actor(actor) and not actor.has_perm("members.change_card"):
        raise PermissionDenied(_("您没有修改会员卡状态的权限。"))
    staff_scope_check(actor, card.member.union)
    now = timezone.now()
    earliest = now - UNDO_LOST_WINDOW
    guard = {"pk": card.pk, "status": Card.Status.FROZEN, "frozen_at__gte": earliest}
    changed = Card.objects.filter(activated_at__isnull=False, **guard).update(status=Card.Status.ACTIVE)
    if not changed:
        changed = Card.objects.filter(activated_at__isnull=True, **guard).update(status=Card.Status.ISSUED)
    if changed != 1:
        current = Card.objects.filter(pk=card.pk).values_list("status", "frozen_at").first()
        if current is None:
            raise CardNotFound(_("会员卡不存在。"))
        status, frozen_at = current
        if status == Card.Status.FROZEN:
            raise LostReportTooOld(
                _(
                    "挂失已于%(day)s办理，超过%(days)s天，不能再解除。请联系所在基层工会办理补卡，"
                    "新卡制作完成前，原卡保持停用。"
                )
                % {"day": f"{timezone.localtime(frozen_at):%Y-%m-%d}", "days": UNDO_LOST_WINDOW.days}
            )
        raise CardTransitionRefused(
            _("该卡当前状态为“%(status)s”，没有可解除的挂失。") % {"status": Card.Status(status).label}
        )
    card.refresh_from_db(fields=["status", "frozen_at", "activated_at"])
    _audit_card(card, actor=actor, old=Card.Status.FROZEN, new=card.status, extra={"undo_lost": True})
    return card


def card_lost_undo_deadline(card: Card):
    """Until when a frozen card's report may still be undone; None when it is not frozen or too late."""
    if card.status != Card.Status.FROZEN or card.frozen_at is None:
        return None
    deadline = card.frozen_at + UNDO_LOST_WINDOW
    return deadline if deadline > timezone.now() else None


@transaction.atomic
def member_cards_close(*, member: Member, actor=None) -> Card | None:
    """Cancel the member's live card, if any (a member who leaves or retires): the bank hears of it
    through the card-changes file, read from the card's ``closed_at`` (banking.card_changes)."""
    card = (
        Card.objects.select_related("member__union")
        .filter(member=member, status__in=Card.LIVE_STATUSES)
        .order_by("pk")
        .first()
    )
    if card is None:
        return None
    return _card_transition(card=card, action="cancel", actor=actor)


@transaction.atomic
def card_replace(*, card: Card, actor=None, bank: PartnerBank | None = None) -> Card:
    """Close the old card and issue its successor in the same transaction: the member is never left
    with two live cards, nor with none because of a half-done replacement."""
    old = _card_transition(card=card, action="replace", actor=actor)
    return card_issue(member=old.member, bank=bank or old.bank, actor=actor, replaces=old)


def card_for_member(*, member: Member, card_id: int) -> Card:
    card = Card.objects.select_related("member__union", "bank").filter(pk=card_id, member=member).first()
    if card is None:
        raise CardNotFound(_("会员卡不存在。"))
    return card


class BankNumberRefused(Conflict):
    code = "bank_number_refused"


def bank_number_problem(*, bank: PartnerBank, number: str) -> str | None:
    """Why ``number`` cannot be a card number of ``bank`` (digits, length, the bank's BIN, the Luhn
    check digit), or None when it can."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return _("银行卡号应为 12–19 位数字。")
    if not number.startswith(bank.bin):
        return _("银行卡号不以%(bank)s的卡 BIN %(bin)s 开头。") % {"bank": bank.name, "bin": bank.bin}
    if not luhn.is_valid(number):
        return _("银行卡号校验位不正确。")
    return None


@transaction.atomic
def card_take_bank_number(*, card: Card, number: str, actor=None) -> Card:
    """The bank opened the account of a card applied for and assigned ``number``: the card, still
    "issued" and still bearing the application number it went out with, takes the bank's number.

    Guarded like every transition: the UPDATE changes the row only while its status and number are
    those read, so a concurrent change (a cancellation, a second answer) makes it change nothing and
    the call is refused. A number already held by another card is refused by the unique index."""
    problem = bank_number_problem(bank=card.bank, number=number)
    if problem:
        raise BankNumberRefused(problem)
    old_number = card.number
    try:
        with transaction.atomic():
            changed = Card.objects.filter(pk=card.pk, status=Card.Status.ISSUED, number=old_number).update(
                number=number
            )
    except IntegrityError:
        raise BankNumberRefused(_("该银行卡号已属于另一张会员卡。")) from None
    if changed != 1:
        raise CardTransitionRefused(_("该卡已不是“已制卡”状态或卡号已变更，不能写入银行卡号。"))
    card.number = number
    if not Card.member.is_cached(card):
        card.member = Member.objects.select_related("union").get(pk=card.member_id)
    _audit_card(
        card,
        actor=actor,
        old=Card.Status.ISSUED,
        new=Card.Status.ISSUED,
        extra={"bank_number": card.number_masked, "application_number": mask_card_number(old_number)},
    )
    return card

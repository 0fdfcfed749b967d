"""The one writer of allowance claims. Every door (page, API, admin, import, task) calls these.

A claim is opened for a stay in hospital, matched to the bill paid with the union card (or marked
paid otherwise), and approved by someone other than its creator: the allowance is the daily rate ×
the days of the stay, capped by the bill paid, by the days per stay and per year, and by the fund,
which commits it (``funds.services.fund_commit``, reference ``allowances.claim``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from allowances.models import Claim
from banking.models import CardTransaction
from funds.models import Fund
from funds.services import Reference, fund_commit
from members.models import Member
from members.people import audit_actor
from members.scope import ensure_member_in_scope
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.clock import local_day
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent

# The programme's rule: 20 yuan a day, at most 30 days a stay and 60 days a calendar year.
RATE_FEN_PER_DAY = 2000
MAX_DAYS_PER_STAY = 30
MAX_DAYS_PER_YEAR = 60


@dataclass(frozen=True)
class Hospital:
    """A hospital's user opening a claim for the card presented at its counter. The caller (the
    merchant portal, an app above this one) has checked that ``user`` works for an open partner
    hospital called ``name``."""

    user: object
    name: str


# A bill is often paid at discharge or a few days later.
PAYMENT_DAYS_AFTER_DISCHARGE = 7


def stay_days(admitted_on: datetime.date, discharged_on: datetime.date) -> int:
    """Days in hospital, counted as nights; a same-day stay counts one day."""
    return max((discharged_on - admitted_on).days, 1)


def _audit(actor, claim: Claim, event: str, **data) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.ALLOWANCE_CLAIM_CHANGED,
        target=claim,
        union_path=claim.union_path,
        data={"event": event, **data},
    )


def _locked(claim: Claim | int) -> Claim:
    return Claim.objects.select_for_update().get(pk=getattr(claim, "pk", claim))


def _ensure_open(claim: Claim) -> None:
    if claim.status != Claim.Status.OPEN:
        raise Conflict(_("该申请已审核，不能再修改。"), code="claim_decided")


@transaction.atomic
def claim_open(
    *,
    actor,
    member: Member,
    hospital: str,
    admitted_on: datetime.date,
    discharged_on: datetime.date,
    bill_fen: int,
) -> Claim:
    """Open a claim for ``member``'s stay. ``actor`` is a staff user, who reaches only the members of
    their subtree, or the member themself (a :class:`Member`: their own claims only). The bill paid
    with the member's card is matched at once when the transaction feed holds it."""
    if isinstance(actor, Member):
        if actor.pk != member.pk:
            raise PermissionDenied(_("只能为本人申请住院补贴。"))
        actor = audit_actor(actor)
    elif isinstance(actor, Hospital):
        # The hospital names the stay of the card presented to it; the claim is in its own name.
        hospital = actor.name
        actor = actor.user
    else:
        ensure_member_in_scope(actor, member.pk)
    hospital = (hospital or "").strip()
    errors = {}
    if not hospital or len(hospital) > 100:
        errors["hospital"] = [_("请填写医院名称（100 字以内）。")]
    if discharged_on < admitted_on:
        errors["discharged_on"] = [_("出院日期不能早于入院日期。")]
    if discharged_on > local_day():
        errors["discharged_on"] = [_("出院日期不能晚于今天。")]
    if not isinstance(bill_fen, int) or bill_fen <= 0:
        errors["bill_fen"] = [_("医疗费用须大于零。")]
    if errors:
        raise ValidationFailed(fields=errors)
    member = Member.objects.select_related("union").get(pk=member.pk)
    claim = Claim.objects.create(
        member=member,
        union=member.union,
        union_path=member.union.path,
        hospital=hospital,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        bill_fen=bill_fen,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _audit(actor, claim, "opened", bill_fen=bill_fen)
    match = payment_candidates(claim).filter(amount_fen=bill_fen).first()
    if match is not None:
        claim.payment = match
        claim.save(update_fields=["payment"])
        _audit(actor, claim, "matched", transaction=match.pk)
    return claim


def payment_candidates(claim: Claim):
    """Card payments that may be the stay's bill: the member's cards, from admission until a week
    after discharge, not yet matched to another claim, earliest first."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(claim.admitted_on, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(
        claim.discharged_on + datetime.timedelta(days=PAYMENT_DAYS_AFTER_DISCHARGE + 1),
        datetime.time.min,
        tzinfo=tz,
    )
    taken = Claim.objects.exclude(pk=claim.pk).filter(payment__isnull=False).values("payment_id")
    return (
        CardTransaction.objects.filter(
            card__member_id=claim.member_id, occurred_at__gte=start, occurred_at__lt=end
        )
        .exclude(pk__in=taken)
        .order_by("occurred_at", "pk")
    )


@transaction.atomic
def claim_match(*, actor, claim: Claim, payment: CardTransaction) -> Claim:
    """Staff name the card payment that paid the stay (one of :func:`payment_candidates`)."""
    claim = _locked(claim)
    ensure_member_in_scope(actor, claim.member_id)
    _ensure_open(claim)
    if not payment_candidates(claim).filter(pk=payment.pk).exists():
        raise ValidationFailed(_("该交易不是此会员住院期间的用卡支付。"), code="payment_not_candidate")
    claim.payment, claim.paid_otherwise = payment, False
    claim.save(update_fields=["payment", "paid_otherwise"])
    _audit(actor, claim, "matched", transaction=payment.pk)
    return claim


@transaction.atomic
def claim_mark_paid_otherwise(*, actor, claim: Claim, note: str = "") -> Claim:
    """No card payment found: the bill was paid otherwise, and the approving staff decide on the
    receipts; the allowance is then capped by the bill amount claimed."""
    claim = _locked(claim)
    ensure_member_in_scope(actor, claim.member_id)
    _ensure_open(claim)
    claim.payment, claim.paid_otherwise = None, True
    claim.save(update_fields=["payment", "paid_otherwise"])
    _audit(actor, claim, "paid_otherwise", note=note[:200])
    return claim


def _days_used_in_year(claim: Claim) -> int:
    year = claim.admitted_on.year
    used = (
        Claim.objects.filter(member_id=claim.member_id, status__in=Claim.COUNTED, admitted_on__year=year)
        .exclude(pk=claim.pk)
        .aggregate(days=Sum("days"))["days"]
    )
    return used or 0


def allowance_for(claim: Claim) -> tuple[int, int]:
    """(days, fen) the claim is worth now: rate × days, the days capped per stay and by what the year
    has left, the money capped by the bill paid (the card payment, or the bill claimed when paid
    otherwise)."""
    days = min(stay_days(claim.admitted_on, claim.discharged_on), MAX_DAYS_PER_STAY)
    days = max(min(days, MAX_DAYS_PER_YEAR - _days_used_in_year(claim)), 0)
    paid = claim.payment.amount_fen if claim.payment_id else claim.bill_fen
    return days, min(days * RATE_FEN_PER_DAY, paid, claim.bill_fen)


def paying_fund(claim: Claim, *, year: int) -> Fund | None:
    """The fund that pays the claim: the year's fund of the claim's union, or else of the nearest
    union above it that has one (a workplace union often has no fund of its own)."""
    parts = claim.union_path.rstrip("/").split("/")
    paths = ["/".join(parts[: n + 1]) + "/" for n in range(len(parts))]
    return Fund.objects.filter(year=year, union__path__in=paths).order_by("-union__depth").first()


@transaction.atomic
def claim_approve(*, actor, claim: Claim) -> Claim:
    """Approve by a second person: fix days and amount and commit the money in the fund of the
    claim's union (or the nearest above with one) for the current year (refused with
    ``fund_exhausted`` when it has not got it)."""
    claim = _locked(claim)
    ensure_member_in_scope(actor, claim.member_id)
    _ensure_open(claim)
    ensure_second_person(actor=actor, creator_id=claim.created_by_id, target=claim, what=_("批准住院补贴"))
    if claim.payment_id is None and not claim.paid_otherwise:
        raise Conflict(_("尚未找到用卡支付记录：请先匹配交易或标记为其他方式支付。"), code="claim_unmatched")
    # The member's row (also locked by the scope check) serialises the yearly cap between two
    # approvals of the same member's claims.
    Member.objects.select_for_update().filter(pk=claim.member_id).exists()
    days, amount_fen = allowance_for(claim)
    if amount_fen <= 0:
        raise Conflict(_("本年度住院补贴天数已用完。"), code="claim_year_cap_reached")
    fund = paying_fund(claim, year=local_day().year)
    if fund is None:
        raise Conflict(_("本工会本年度尚未设立普惠资金。"), code="fund_missing")
    fund_commit(fund_id=fund.pk, amount=yuan(amount_fen), reference=Reference.to(claim), actor=actor)
    claim.status, claim.days, claim.amount_fen, claim.fund = Claim.Status.APPROVED, days, amount_fen, fund
    claim.decided_by, claim.decided_at = actor, timezone.now()
    claim.save(update_fields=["status", "days", "amount_fen", "fund", "decided_by", "decided_at"])
    _audit(actor, claim, "approved", days=days, amount_fen=amount_fen, fund=fund.pk)
    notify(
        recipient=Recipient.member(claim.member_id),
        topic=Topic.CLAIM_APPROVED,
        title=_("住院补贴申请已通过"),
        body=_("您在%(hospital)s的住院补贴 %(days)s 天、¥%(amount)s 已批准，将随下一批发放打入您的会员卡。")
        % {"hospital": claim.hospital, "days": days, "amount": yuan(amount_fen)},
        dedup_key=f"claim-approved:{claim.pk}",
        phone=claim.member.phone,
    )
    return claim


@transaction.atomic
def claim_reject(*, actor, claim: Claim, reason: str) -> Claim:
    claim = _locked(claim)
    ensure_member_in_scope(actor, claim.member_id)
    _ensure_open(claim)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("请填写不批准的原因。")]})
    claim.status, claim.decision_note = Claim.Status.REJECTED, reason[:300]
    claim.decided_by, claim.decided_at = actor, timezone.now()
    claim.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
    _audit(actor, claim, "rejected")
    return claim


def yuan(fen: int) -> Decimal:
    """Fen as yuan with two decimals (the money of a claim is kept in fen)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))

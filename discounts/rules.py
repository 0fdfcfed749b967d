"""The rules of an offer, each in one function, used by every door: the offer pages (can I use it
today?), the cashier screen and POS verify (which offers are eligible?) and the redemption service.

Times are Asia/Shanghai: ``local_now()`` is the one clock (``portal.clock``, named here too, as every
door of discounts reads it from here), and a quota day ends at local midnight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from discounts.models import Offer
from members.models import Card, Member
from portal.clock import local_day as local_day  # re-exported: discounts' doors read the day here
from portal.clock import local_now
from portal.errors import ApplicationError

FEN = Decimal("0.01")
WEEKDAY_NAMES = [
    gettext_noop("周一"),
    gettext_noop("周二"),
    gettext_noop("周三"),
    gettext_noop("周四"),
    gettext_noop("周五"),
    gettext_noop("周六"),
    gettext_noop("周日"),
]


def to_fen(value: Decimal) -> Decimal:
    """Round half-up to the fen (0.005 → 0.01)."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


class Refusal(ApplicationError):
    """A redemption (or verify) refused by a rule; ``code`` is the POS API error code."""

    status = 409


def offer_open_refusal(offer: Offer, moment: datetime | None = None) -> Refusal | None:
    """Why the offer cannot be used at ``moment`` (status, dates, weekday, time window), or None."""
    now = timezone.localtime(moment) if moment else local_now()
    if offer.status != Offer.Status.PUBLISHED:
        return Refusal(_("该优惠当前未开放。"), code="offer_not_active")
    today = now.date()
    if today < offer.valid_from or today > offer.valid_until:
        return Refusal(_("不在优惠有效期内。"), code="offer_not_active")
    if offer.weekdays and now.isoweekday() not in offer.weekdays:
        days = _("、").join(_(WEEKDAY_NAMES[d - 1]) for d in sorted(offer.weekdays))
        return Refusal(_("该优惠仅限%(days)s使用。") % {"days": days}, code="offer_not_active")
    if (offer.time_from and now.time() < offer.time_from) or (
        offer.time_until and now.time() >= offer.time_until
    ):
        return Refusal(_("不在每日优惠时段内。"), code="offer_not_active")
    return None


def member_refusal(member: Member, card: Card | None = None) -> Refusal | None:
    """Why this card or member cannot enjoy benefits at all, or None."""
    if card is not None and card.status != Card.Status.ACTIVE:
        messages = {
            Card.Status.ISSUED: _("该卡尚未激活。"),
            Card.Status.FROZEN: _("该卡已挂失。"),
            Card.Status.REPLACED: _("该卡已换卡停用。"),
            Card.Status.CANCELLED: _("该卡已注销。"),
        }
        return Refusal(messages.get(card.status, _("该卡不可用。")), code="card_inactive")
    if member.status != Member.Status.ACTIVE:
        return Refusal(_("会员不在会，不能享受会员优惠。"), code="member_inactive")
    return None


def eligibility_refusal(offer: Offer, member: Member) -> Refusal | None:
    """Why the member is outside the offer's union subtree or groups, or None.

    Needs ``offer.eligible_union`` and ``member.union`` loaded (select_related) to stay query-free."""
    if offer.eligible_union_id and not member.union.path.startswith(offer.eligible_union.path):
        return Refusal(
            _("该优惠仅限%(union)s会员使用。") % {"union": offer.eligible_union.name}, code="not_eligible"
        )
    if offer.eligible_groups and not set(offer.eligible_groups) & set(member.groups):
        return Refusal(_("该优惠仅限特定群体会员使用。"), code="not_eligible")
    return None


def store_refusal(store_id: int, offer_store_ids: set[int] | None) -> Refusal | None:
    """``offer_store_ids`` is the offer's store list (empty or None: every store of the merchant)."""
    if offer_store_ids and store_id not in offer_store_ids:
        return Refusal(_("该门店不参与此优惠。"), code="not_eligible")
    return None


@dataclass(frozen=True)
class Amounts:
    amount: Decimal
    discount: Decimal
    payable: Decimal
    union_subsidy: Decimal


def compute_amounts(offer: Offer, *, amount: Decimal, units: int) -> Amounts:
    """Exact money for a redemption.

    - percent_off: discount = amount × percent / 100, half-up to the fen.
    - amount_off: discount = amount_off once the amount reaches min_spend, never above the amount.
    - fixed_price: the member pays fixed_price per unit; discount = amount − fixed_price × units (≥ 0).
    - allowance: the union pays allowance_per_unit × units to the member; the till is unaffected
      (discount 0, payable = amount), union_subsidy carries the money.
    For merchant- and bank-funded offers payable + discount == amount; when the union funds a
    discount it is also recorded as union_subsidy, counted against the budget.
    """
    amount = to_fen(amount)
    if amount < 0:
        raise ApplicationError(_("金额不能为负数。"), code="validation_error", status=400)
    subsidy = Decimal("0.00")
    if offer.kind == Offer.Kind.PERCENT_OFF:
        discount = to_fen(amount * offer.percent_off / 100)
    elif offer.kind == Offer.Kind.AMOUNT_OFF:
        if offer.min_spend is not None and amount < offer.min_spend:
            raise Refusal(
                _("消费满%(min)s元才可使用此优惠。") % {"min": offer.min_spend}, code="not_eligible"
            )
        discount = min(to_fen(offer.amount_off), amount)
    elif offer.kind == Offer.Kind.FIXED_PRICE:
        discount = max(amount - to_fen(offer.fixed_price * units), Decimal("0.00"))
    else:  # allowance
        discount = Decimal("0.00")
        subsidy = to_fen(offer.allowance_per_unit * units)
    if offer.funder == Offer.Funder.UNION and offer.kind != Offer.Kind.ALLOWANCE:
        subsidy = discount
    return Amounts(amount=amount, discount=discount, payable=amount - discount, union_subsidy=subsidy)

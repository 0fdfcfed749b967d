"""The money and the clock of an offer: exact amounts of a redemption (``compute_amounts``), the fen,
the local day, and ``Refusal``, the error a rule refuses with. Whether an offer is usable for a member
now is one function of its own: ``discounts.usability.offer_usability``.

Times are Asia/Shanghai: ``local_day()`` is the one clock's day (``portal.clock``, named here too, as
every door of discounts reads it from here), and a quota day ends at local midnight."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from discounts.models import Offer, merchant_share
from portal.clock import local_day as local_day  # re-exported: discounts' doors read the day here
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


@dataclass(frozen=True)
class Amounts:
    amount: Decimal
    discount: Decimal
    payable: Decimal
    union_subsidy: Decimal

    @property
    def merchant_share(self) -> Decimal:
        return merchant_share(discount=self.discount, union_subsidy=self.union_subsidy)


def union_share(offer: Offer, *, discount: Decimal, units: int) -> Decimal:
    """The union's share of a co-funded discount, to the fen and never above the discount, so that the
    merchant's share (the rest) is never negative and merchant + union == discount exactly."""
    if offer.union_share_per_unit is not None:
        share = to_fen(offer.union_share_per_unit * units)
    elif offer.union_share_percent is not None:
        share = to_fen(discount * offer.union_share_percent / 100)
    else:
        share = Decimal("0.00")
    return min(share, discount)


def compute_amounts(offer: Offer, *, amount: Decimal, units: int) -> Amounts:
    """Exact money for a redemption.

    - percent_off: discount = amount × percent / 100, half-up to the fen.
    - amount_off: discount = amount_off once the amount reaches min_spend, never above the amount.
    - fixed_price: the member pays fixed_price per unit; discount = amount − fixed_price × units (≥ 0).
    - allowance: the union pays allowance_per_unit × units to the member; the till is unaffected
      (discount 0, payable = amount), union_subsidy carries the money.
    For merchant- and bank-funded offers payable + discount == amount; when the union funds a
    discount it is also recorded as union_subsidy, counted against the budget. A co-funded offer
    splits the discount: the union's share (``union_share``) is the union_subsidy, the merchant's the
    rest — the member sees one saving, the discount.
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
    elif offer.funder == Offer.Funder.COFUNDED and offer.kind != Offer.Kind.ALLOWANCE:
        subsidy = union_share(offer, discount=discount, units=units)
    return Amounts(amount=amount, discount=discount, payable=amount - discount, union_subsidy=subsidy)

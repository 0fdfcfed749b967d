"""Reads of settlement: which redemptions a statement owes, the statements a party may see, and
what the merchant has been paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from discounts.models import Offer, Redemption
from discounts.statements import month_start, next_month
from portal.scoping import scope_queryset
from settlement.models import ZERO, PaymentRun, Statement, StatementLine

_MONEY = DecimalField(max_digits=16, decimal_places=2)


def money_sum(name: str, **kwargs):
    return Coalesce(Sum(name, **kwargs), Value(ZERO), output_field=_MONEY)


def month_closed(first: date) -> bool:
    """A month can be confirmed only when it is over: redemptions of the open month still come in."""
    return next_month(first) <= timezone.localdate()


# --- What a month owes ---------------------------------------------------------------------------------
#
# The union share of a redemption is its ``union_subsidy``. A redemption is owed in the month of its
# local day, unless it was voided in that same month; a redemption voided in a later month (a late void)
# stays owed in its own month and is taken back as an adjustment in the month of the void. Both rules
# read only the redemption's own columns, so the lines of a month never depend on when the statement was
# prepared, and every month can be recomputed at any time (the reconciliation does exactly that).


# What the union owes a merchant: a redemption's union share. The retired hospital allowance offers
# recorded a subsidy at the hospital's till that was the member's, never the hospital's: they are not
# owed to the merchant (their records became allowance claims, paid onto the member's card). Nothing is
# owed for the integrators' test redemptions (discounts.sandbox).
OWED = Q(union_subsidy__gt=0) & ~Q(offer__kind=Offer.Kind.ALLOWANCE) & Q(merchant__is_sandbox=False)


def owed_shares(*, month: date) -> QuerySet[Redemption]:
    """Redemptions whose union share is owed in ``month`` (all merchants)."""
    end = next_month(month)
    return Redemption.objects.filter(OWED, local_day__gte=month, local_day__lt=end).filter(
        Q(status=Redemption.Status.COMPLETED)
        | Q(status=Redemption.Status.VOIDED, voided_at__gte=month_start(end))
    )


def late_voids(*, month: date) -> QuerySet[Redemption]:
    """Redemptions of an earlier month voided in ``month``: taken back in ``month``."""
    return Redemption.objects.filter(
        OWED,
        status=Redemption.Status.VOIDED,
        local_day__lt=month,
        voided_at__gte=month_start(month),
        voided_at__lt=month_start(next_month(month)),
    )


@dataclass(frozen=True)
class OwedLine:
    redemption_id: int
    kind: str
    offer_id: int
    fund_id: int | None
    local_day: date
    amount: Decimal


def owed_lines(*, merchant_id: int, month: date) -> list[OwedLine]:
    """The lines a statement of ``merchant_id`` for ``month`` holds, in the order of the redemptions."""
    fields = ("id", "offer_id", "fund_id", "local_day", "union_subsidy")  # the fund the till spent from
    lines = [
        OwedLine(rid, StatementLine.Kind.SHARE, offer, fund, day, share)
        for rid, offer, fund, day, share in owed_shares(month=month)
        .filter(merchant_id=merchant_id)
        .order_by("id")
        .values_list(*fields)
    ]
    lines += [
        OwedLine(rid, StatementLine.Kind.ADJUSTMENT, offer, fund, day, -share)
        for rid, offer, fund, day, share in late_voids(month=month)
        .filter(merchant_id=merchant_id)
        .order_by("id")
        .values_list(*fields)
    ]
    return lines


def merchants_owed(*, month: date) -> QuerySet:
    """Ids of the merchants with a line in ``month``."""
    shares = owed_shares(month=month).values("merchant_id")
    voids = late_voids(month=month).values("merchant_id")
    return shares.union(voids)


# --- Who sees what -------------------------------------------------------------------------------------


def statements_for_staff(user) -> QuerySet[Statement]:
    """Statements of the merchants whose region lies in the staff member's subtree."""
    if not user.has_perm("settlement.view_statement"):
        return Statement.objects.none()
    return scope_queryset(Statement.objects.all(), user, "merchant__region__path")


def statements_for_merchant(merchant_id: int) -> QuerySet[Statement]:
    return Statement.objects.filter(merchant_id=merchant_id)


def runs_for_staff(user) -> QuerySet[PaymentRun]:
    if not user.has_perm("settlement.view_paymentrun"):
        return PaymentRun.objects.none()
    return scope_queryset(PaymentRun.objects.all(), user, "union__path")


@dataclass(frozen=True)
class MerchantBalance:
    """What the union owes a merchant over every statement: due (confirmed or further, not yet
    paid), paid, and outstanding (everything not yet paid, drafts included)."""

    due: Decimal
    paid: Decimal
    outstanding: Decimal


def merchant_balance(merchant_id: int) -> MerchantBalance:
    S = Statement.Status
    figures = Statement.objects.filter(merchant_id=merchant_id).aggregate(
        due=money_sum("total", filter=Q(status__in=[S.CONFIRMED, S.APPROVED])),
        paid=money_sum("total", filter=Q(status=S.PAID)),
        outstanding=money_sum("total", filter=~Q(status=S.PAID)),
    )
    return MerchantBalance(**figures)

"""Settlement (对账): a merchant's monthly statement and the union subsidies report for staff, as data
and as XLSX (the pages are in ``discounts.views.statements``).

Totals are SQL sums of the same rows that are listed, so a statement reconciles to the fen with its
redemptions. Exports are XLSX written by ``portal.xlsx``, which neutralises formula-looking text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.models import Offer, Redemption, VoucherCode
from merchants.models import Merchant
from portal.scoping import scope_queryset
from portal.xlsx import workbook_bytes

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=16, decimal_places=2)


# --- Months ----------------------------------------------------------------------------------------


MONTH_YEARS = (2000, 2099)  # months outside are typing mistakes; 0001 and 9999 break the month links


def parse_month(raw: str | None) -> date:
    """The first day of ``YYYY-MM``; the current local month when missing, malformed or out of range."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        first = date(year, month, 1)
    except ValueError:
        return timezone.localdate().replace(day=1)
    if not MONTH_YEARS[0] <= first.year <= MONTH_YEARS[1]:
        return timezone.localdate().replace(day=1)
    return first


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_start(first: date) -> datetime:
    """The local midnight that opens the month (Asia/Shanghai), as an aware datetime."""
    return timezone.make_aware(datetime.combine(first, time.min))


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def _money_sum(name: str, **kwargs):
    return Coalesce(Sum(name, **kwargs), Value(ZERO), output_field=_MONEY)


# --- Merchant statement ------------------------------------------------------------------------------


@dataclass
class Statement:
    merchant: Merchant
    month: date
    rows: QuerySet
    count: int = 0
    units: int = 0
    amount: Decimal = ZERO
    discount: Decimal = ZERO
    payable: Decimal = ZERO
    union_subsidy: Decimal = ZERO
    voided: int = 0
    by_offer: list[dict] = field(default_factory=list)
    # Codes of the merchant's online offers that it reported used in the month, per offer.
    codes_used: list[dict] = field(default_factory=list)


def merchant_statement(*, merchant: Merchant, month: date) -> Statement:
    """Completed redemptions of ``merchant`` in the local month, with their totals."""
    period = Redemption.objects.filter(
        merchant=merchant, local_day__gte=month, local_day__lt=next_month(month)
    )
    rows = (
        period.filter(status=Redemption.Status.COMPLETED)
        .select_related("offer", "store", "card", "member")
        .order_by("created_at", "id")
    )
    totals = period.aggregate(
        count=Count("id", filter=Q(status=Redemption.Status.COMPLETED)),
        voided=Count("id", filter=Q(status=Redemption.Status.VOIDED)),
        units=Coalesce(Sum("units", filter=Q(status=Redemption.Status.COMPLETED)), 0),
        **{
            name: _money_sum(name, filter=Q(status=Redemption.Status.COMPLETED))
            for name in ("amount", "discount", "payable", "union_subsidy")
        },
    )
    by_offer = list(
        rows.order_by()
        .values("offer_id", "offer__title", "funder")
        .annotate(
            count=Count("id"),
            units=Sum("units"),
            amount=_money_sum("amount"),
            discount=_money_sum("discount"),
            payable=_money_sum("payable"),
            union_subsidy=_money_sum("union_subsidy"),
        )
        .order_by("offer_id")
    )
    codes_used = list(
        VoucherCode.objects.filter(
            offer__merchant=merchant,
            used_at__gte=month_start(month),
            used_at__lt=month_start(next_month(month)),
        )
        .values("offer_id", "offer__title")
        .annotate(count=Count("id"))
        .order_by("offer_id")
    )
    return Statement(
        merchant=merchant, month=month, rows=rows, by_offer=by_offer, codes_used=codes_used, **totals
    )


def statement_xlsx(statement: Statement) -> bytes:
    header = [
        _("编号"), _("核销时间"), _("门店"), _("优惠"), _("卡号"), _("会员"), _("数量"),
        _("消费金额"), _("优惠金额"), _("实付金额"), _("工会补贴"), _("出资方"),
    ]  # fmt: skip
    rows = (
        [
            r.pk,
            timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            r.store.name,
            r.offer.title,
            r.card.number_masked,
            r.member.name_masked,
            r.units,
            r.amount,
            r.discount,
            r.payable,
            r.union_subsidy,
            r.get_funder_display(),
        ]
        for r in statement.rows.iterator(chunk_size=2000)
    )
    total = [
        _("合计"), "", "", "", "", "", statement.units, statement.amount, statement.discount,
        statement.payable, statement.union_subsidy, "",
    ]  # fmt: skip
    by_offer = (
        _("按优惠汇总"),
        [_("优惠"), _("笔数"), _("数量"), _("消费金额"), _("优惠金额"), _("实付金额"), _("工会补贴")],
        (
            [
                o["offer__title"],
                o["count"],
                o["units"],
                o["amount"],
                o["discount"],
                o["payable"],
                o["union_subsidy"],
            ]
            for o in statement.by_offer
        ),
    )
    codes_used = (
        _("线上券码使用"),
        [_("优惠"), _("登记使用的券码")],
        ([o["offer__title"], o["count"]] for o in statement.codes_used),
    )
    return workbook_bytes([(_("核销明细"), header, chain(rows, [total])), by_offer, codes_used])


# --- Union subsidies (staff) -------------------------------------------------------------------------


@dataclass
class SubsidyReport:
    month: date
    offers: list[Offer]
    unions: list[dict]
    month_total: Decimal
    budget_total: Decimal
    used_total: Decimal


def union_funded_offers(user) -> QuerySet:
    """Offers whose subsidies the union pays, whose budget belongs to the staff member's subtree."""
    offers = Offer.objects.filter(
        Q(funder__in=[Offer.Funder.UNION, Offer.Funder.COFUNDED]) | Q(kind=Offer.Kind.ALLOWANCE)
    )
    return scope_queryset(offers, user, "budget_owner__path")


def subsidy_report(*, user, month: date) -> SubsidyReport:
    in_month = Q(
        redemptions__status=Redemption.Status.COMPLETED,
        redemptions__local_day__gte=month,
        redemptions__local_day__lt=next_month(month),
    )
    offers = list(
        union_funded_offers(user)
        .select_related("merchant", "budget_owner")
        .annotate(
            month_subsidy=_money_sum("redemptions__union_subsidy", filter=in_month),
            month_count=Count("redemptions", filter=in_month),
        )
        .order_by("budget_owner__path", "id")
    )
    owners: dict[int | None, dict] = {}
    for offer in offers:
        owner = owners.setdefault(
            offer.budget_owner_id,
            {
                "union": offer.budget_owner,
                "path": offer.budget_owner.path if offer.budget_owner else "",
                "offers": 0,
                "budget": ZERO,
                "budget_used": ZERO,
                "month_subsidy": ZERO,
            },
        )
        owner["offers"] += 1
        owner["budget"] += offer.budget or ZERO
        owner["budget_used"] += offer.budget_used
        owner["month_subsidy"] += offer.month_subsidy
    unions = sorted(owners.values(), key=lambda row: row["path"])
    # A node's subtree total adds the subsidies of every budget owner below it.
    for row in unions:
        below = [o for o in unions if o is row or (row["path"] and o["path"].startswith(row["path"]))]
        row["subtree_month_subsidy"] = sum((o["month_subsidy"] for o in below), ZERO)
        row["subtree_budget_used"] = sum((o["budget_used"] for o in below), ZERO)
    return SubsidyReport(
        month=month,
        offers=offers,
        unions=unions,
        month_total=sum((o.month_subsidy for o in offers), ZERO),
        budget_total=sum((o.budget or ZERO for o in offers), ZERO),
        used_total=sum((o.budget_used for o in offers), ZERO),
    )


def subsidy_xlsx(report: SubsidyReport) -> bytes:
    by_union = (
        _("按工会"),
        [_("工会"), _("代码"), _("优惠数"), _("预算"), _("已用预算"), _("本月补贴"), _("含下级本月补贴")],
        (
            [
                row["union"].name if row["union"] else _("未指定"),
                row["union"].code if row["union"] else "",
                row["offers"],
                row["budget"],
                row["budget_used"],
                row["month_subsidy"],
                row["subtree_month_subsidy"],
            ]
            for row in report.unions
        ),
    )
    by_offer = (
        _("按优惠"),
        [
            _("优惠"),
            _("商家"),
            _("预算归属"),
            _("预算"),
            _("已用预算"),
            _("剩余"),
            _("本月笔数"),
            _("本月补贴"),
        ],
        (
            [
                o.title,
                o.merchant.name,
                o.budget_owner.name if o.budget_owner else "",
                o.budget,
                o.budget_used,
                (o.budget - o.budget_used) if o.budget is not None else None,
                o.month_count,
                o.month_subsidy,
            ]
            for o in report.offers
        ),
    )
    return workbook_bytes([by_union, by_offer])

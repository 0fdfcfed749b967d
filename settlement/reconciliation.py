"""Reconciliation to the fen (对账核验), for a month and a union subtree (the merchants whose region
lies in it). Every figure is an SQL sum read in one transaction, and the report states each identity:

1. Σ union shares of the month's redemptions (owed shares less late voids) = Σ statement lines;
2. Σ statement lines = Σ paid payment lines + outstanding (statements not yet paid);
3. funds: Σ spent (net of given back) on the references of the subtree's redemptions = Σ union shares
   of its completed redemptions — cumulative over every month: the till spends each share from the
   offer's fund and a void, whenever it comes, gives it back (a share recorded without a fund breaks
   this identity, as it should: nothing paid for it).

A merchant whose figures disagree is listed with the difference (e.g. a draft not yet brought up to
date after a late void, or a merchant with no statement yet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from discounts.models import Redemption
from funds.models import FundMovement
from merchants.models import Merchant
from portal.xlsx import workbook_bytes
from settlement.models import ZERO, PaymentLine, Statement, StatementLine
from settlement.selectors import OWED, late_voids, money_sum, owed_shares

REDEMPTION_REFERENCE = Redemption._meta.label_lower


@dataclass
class MerchantFigures:
    merchant_id: int
    name: str = ""
    shares: Decimal = ZERO
    lines: Decimal = ZERO
    paid: Decimal = ZERO
    outstanding: Decimal = ZERO
    status: str = ""

    @property
    def balanced(self) -> bool:
        return self.shares == self.lines == self.paid + self.outstanding


@dataclass
class Reconciliation:
    month: date
    union_path: str
    redemption_shares: Decimal = ZERO
    statement_lines: Decimal = ZERO
    payments: Decimal = ZERO
    outstanding: Decimal = ZERO
    fund_spent: Decimal = ZERO
    union_shares_total: Decimal = ZERO
    merchants: list[MerchantFigures] = field(default_factory=list)

    @property
    def checks(self) -> list[tuple[str, Decimal, Decimal, bool]]:
        return [
            (_("核销工会分担 = 结算单明细"), self.redemption_shares, self.statement_lines,
             self.redemption_shares == self.statement_lines),
            (_("结算单明细 = 已支付 + 未支付"), self.statement_lines, self.payments + self.outstanding,
             self.statement_lines == self.payments + self.outstanding),
            (_("资金已支出 = 核销工会分担（累计）"), self.fund_spent, self.union_shares_total,
             self.fund_spent == self.union_shares_total),
        ]  # fmt: skip

    @property
    def balanced(self) -> bool:
        return all(check[3] for check in self.checks)


def _net_spent(redemptions) -> Decimal:
    """What the funds spent, net of what they got back, on these redemptions."""
    ids = redemptions.annotate(ref=Cast("pk", CharField())).values("ref")
    movements = FundMovement.objects.filter(reference_type=REDEMPTION_REFERENCE, reference_id__in=ids)
    figures = movements.aggregate(
        spent=money_sum("amount", filter=Q(kind=FundMovement.Kind.SPENT)),
        given_back=money_sum("amount", filter=Q(kind=FundMovement.Kind.GIVEN_BACK)),
    )
    return figures["spent"] - figures["given_back"]


def reconcile(*, month: date, union_path: str) -> Reconciliation:
    """The figures and identities of ``month`` for the merchants of the subtree at ``union_path``."""
    in_tree = Q(merchant__region__path__startswith=union_path)
    report = Reconciliation(month=month, union_path=union_path)
    by_merchant: dict[int, MerchantFigures] = {}

    def row(merchant_id: int) -> MerchantFigures:
        return by_merchant.setdefault(merchant_id, MerchantFigures(merchant_id))

    with transaction.atomic():
        # One snapshot for every figure (REPEATABLE READ would be stricter; one transaction at READ
        # COMMITTED is enough for a report that is re-run, and the tests run it with no writer).
        for merchant_id, shares in (
            owed_shares(month=month)
            .filter(in_tree)
            .values_list("merchant_id")
            .annotate(s=money_sum("union_subsidy"))
        ):
            row(merchant_id).shares += shares
        for merchant_id, voids in (
            late_voids(month=month)
            .filter(in_tree)
            .values_list("merchant_id")
            .annotate(s=money_sum("union_subsidy"))
        ):
            row(merchant_id).shares -= voids
        for merchant_id, lines in (
            StatementLine.objects.filter(statement__month=month)
            .filter(Q(statement__merchant__region__path__startswith=union_path))
            .values_list("statement__merchant_id")
            .annotate(s=money_sum("amount"))
        ):
            row(merchant_id).lines = lines
        for merchant_id, paid in (
            PaymentLine.objects.filter(status=PaymentLine.Status.PAID, statement__month=month)
            .filter(statement__merchant__region__path__startswith=union_path)
            .values_list("statement__merchant_id")
            .annotate(s=money_sum("amount"))
        ):
            row(merchant_id).paid = paid
        month_statements = Statement.objects.filter(in_tree, month=month)
        for merchant_id, status, total in month_statements.values_list("merchant_id", "status", "total"):
            figures = row(merchant_id)
            figures.status = status
            if status != Statement.Status.PAID:
                figures.outstanding = total
        names = dict(Merchant.objects.filter(pk__in=by_merchant).values_list("pk", "name"))
        for figures in by_merchant.values():
            figures.name = names.get(figures.merchant_id, "")
        report.merchants = sorted(by_merchant.values(), key=lambda f: (f.balanced, f.name))
        report.redemption_shares = sum((f.shares for f in by_merchant.values()), ZERO)
        report.statement_lines = sum((f.lines for f in by_merchant.values()), ZERO)
        report.payments = sum((f.paid for f in by_merchant.values()), ZERO)
        report.outstanding = sum((f.outstanding for f in by_merchant.values()), ZERO)

        shares = Redemption.objects.filter(OWED).filter(in_tree)
        report.union_shares_total = shares.filter(status=Redemption.Status.COMPLETED).aggregate(
            s=money_sum("union_subsidy")
        )["s"]
        report.fund_spent = _net_spent(shares)
    return report


def reconciliation_xlsx(report: Reconciliation) -> bytes:
    checks = (
        _("核验"),
        [_("恒等式"), _("左边"), _("右边"), _("是否相符")],
        ([name, left, right, _("相符") if ok else _("不符")] for name, left, right, ok in report.checks),
    )
    merchants = (
        _("按商家"),
        [
            _("商家"),
            _("核销工会分担"),
            _("结算单明细"),
            _("已支付"),
            _("未支付"),
            _("结算单状态"),
            _("是否相符"),
        ],
        (
            [
                f.name,
                f.shares,
                f.lines,
                f.paid,
                f.outstanding,
                f.status,
                _("相符") if f.balanced else _("不符"),
            ]
            for f in report.merchants
        ),
    )
    return workbook_bytes([checks, merchants])

"""The settlement pages: a merchant manager's monthly statement (from the till's menu) and the union
subsidies report for staff, each with its XLSX export (``discounts.statements`` computes them)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from discounts.statements import (
    merchant_statement,
    next_month,
    parse_month,
    previous_month,
    statement_xlsx,
    subsidy_report,
    subsidy_xlsx,
)
from merchants.access import merchant_user_required
from merchants.models import MerchantUser
from portal.scoping import staff_union_path
from portal.xlsx import xlsx_download


@merchant_user_required(role=MerchantUser.Role.MANAGER)
def statement_page(request):
    month = parse_month(request.GET.get("month"))
    statement = merchant_statement(merchant=request.merchant, month=month)
    if request.GET.get("format") == "xlsx":
        return xlsx_download(f"statement-{month:%Y-%m}.xlsx", statement_xlsx(statement))
    return render(
        request,
        "discounts/settlement_statement.html",
        {
            "statement": statement,
            "month": month,
            "previous": previous_month(month),
            "next": next_month(month) if next_month(month) <= timezone.localdate() else None,
        },
    )


@staff_member_required
def subsidies_page(request):
    if staff_union_path(request.user) is None:
        raise PermissionDenied
    month = parse_month(request.GET.get("month"))
    report = subsidy_report(user=request.user, month=month)
    if request.GET.get("format") == "xlsx":
        return xlsx_download(f"union-subsidies-{month:%Y-%m}.xlsx", subsidy_xlsx(report))
    for offer in report.offers:
        offer.budget_percent = min(int(offer.budget_used * 100 / offer.budget), 100) if offer.budget else None
    return render(
        request,
        "discounts/settlement_subsidies.html",
        {
            "report": report,
            "month": month,
            "previous": previous_month(month),
            "next": next_month(month) if next_month(month) <= timezone.localdate() else None,
        },
    )

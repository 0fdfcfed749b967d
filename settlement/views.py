"""Settlement pages. The merchant's manager sees due / paid / outstanding, each statement with its
lines, confirms or disputes it and downloads it; union staff prepare and approve statements, run
payments (the file for the bank, its result back) and read the reconciliation. The services decide;
these pages only ask, and show a refusal as a message."""

from __future__ import annotations

import functools
from datetime import date

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from discounts.statements import next_month, parse_month, previous_month
from merchants.access import merchant_user_required
from merchants.models import MerchantUser
from portal.errors import ApplicationError
from portal.scoping import staff_union_path
from portal.xlsx import xlsx_download
from settlement import services
from settlement.exports import statement_lines, statement_workbook
from settlement.models import PaymentLine, Statement
from settlement.reconciliation import reconcile, reconciliation_xlsx
from settlement.selectors import (
    merchant_balance,
    month_closed,
    runs_for_staff,
    statements_for_merchant,
    statements_for_staff,
)

MANAGER = MerchantUser.Role.MANAGER
LIST_LIMIT = 200


def _refused(request, error: ApplicationError) -> None:
    messages.error(request, error.message)


# --- The merchant's pages ------------------------------------------------------------------------------


def _merchant_statement(request, statement_id: int) -> Statement:
    statement = statements_for_merchant(request.merchant.pk).filter(pk=statement_id).first()
    if statement is None:
        raise Http404(_("未找到该结算单。"))
    return statement


@merchant_user_required(role=MANAGER)
def merchant_statements(request):
    statements = list(statements_for_merchant(request.merchant.pk).order_by("-month")[:LIST_LIMIT])
    return render(
        request,
        "settlement/merchant_list.html",
        {"statements": statements, "balance": merchant_balance(request.merchant.pk)},
    )


@merchant_user_required(role=MANAGER)
def merchant_statement(request, statement_id: int):
    statement = _merchant_statement(request, statement_id)
    return render(
        request,
        "settlement/merchant_detail.html",
        {
            "statement": statement,
            "lines": statement_lines(statement)[:LIST_LIMIT],
            "may_answer": statement.status == Statement.Status.DRAFT and month_closed(statement.month),
        },
    )


@merchant_user_required(role=MANAGER)
def merchant_statement_xlsx(request, statement_id: int):
    statement = _merchant_statement(request, statement_id)
    return xlsx_download(f"statement-{statement.month:%Y-%m}.xlsx", statement_workbook(statement))


@require_POST
@merchant_user_required(role=MANAGER)
def merchant_confirm(request, statement_id: int):
    statement = _merchant_statement(request, statement_id)
    try:
        services.statement_confirm(
            statement_id=statement.pk,
            merchant_user=request.merchant_user,
            expected_total=request.POST.get("expected_total", ""),
        )
        messages.success(request, _("已确认结算单，等待工会审批。"))
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement_merchant:detail", args=[statement.pk]))


@require_POST
@merchant_user_required(role=MANAGER)
def merchant_dispute(request, statement_id: int):
    statement = _merchant_statement(request, statement_id)
    try:
        services.statement_dispute(
            statement_id=statement.pk,
            merchant_user=request.merchant_user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("已提交异议，工会将核实后重新生成结算单。"))
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement_merchant:detail", args=[statement.pk]))


# --- The staff's pages ---------------------------------------------------------------------------------


def staff_access(permission: str = "settlement.view_statement"):
    def decorator(view):
        @staff_member_required(login_url="admin:login")
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if staff_union_path(user) is None or not user.has_perm(permission):
                return render(request, "settlement/denied.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _staff_statement(request, statement_id: int) -> Statement:
    statement = (
        statements_for_staff(request.user).select_related("merchant__region").filter(pk=statement_id).first()
    )
    if statement is None:
        raise Http404(_("该结算单不存在或不在您的管理范围内。"))
    return statement


@staff_access()
def staff_statements(request):
    month = parse_month(request.GET.get("month"))
    statements = list(
        statements_for_staff(request.user)
        .filter(month=month)
        .select_related("merchant", "prepared_by")
        .order_by("merchant__name")[:LIST_LIMIT]
    )
    return render(
        request,
        "settlement/staff_list.html",
        {
            "statements": statements,
            "month": month,
            "previous": previous_month(month),
            "next": next_month(month),
            "may_prepare": request.user.has_perm("settlement.prepare_statement"),
        },
    )


@require_POST
@staff_access("settlement.prepare_statement")
def staff_prepare(request):
    month = parse_month(request.POST.get("month"))
    try:
        count = services.statements_prepare_month(month=month, actor=request.user)
        messages.success(request, _("已生成或更新 %(n)s 份结算单。") % {"n": count})
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement:list") + f"?month={month:%Y-%m}")


@staff_access()
def staff_statement(request, statement_id: int):
    statement = _staff_statement(request, statement_id)
    return render(
        request,
        "settlement/staff_detail.html",
        {
            "statement": statement,
            "lines": statement_lines(statement)[:LIST_LIMIT],
            "payment_lines": statement.payment_lines.select_related("run").order_by("pk"),
            "may_approve": statement.status == Statement.Status.CONFIRMED
            and request.user.has_perm("settlement.approve_statement"),
            "may_settle": statement.status == Statement.Status.APPROVED and statement.total <= 0,
        },
    )


@staff_access()
def staff_statement_xlsx(request, statement_id: int):
    statement = _staff_statement(request, statement_id)
    return xlsx_download(
        f"statement-{statement.merchant_id}-{statement.month:%Y-%m}.xlsx", statement_workbook(statement)
    )


@require_POST
@staff_access("settlement.approve_statement")
def staff_approve(request, statement_id: int):
    statement = _staff_statement(request, statement_id)
    try:
        services.statement_approve(statement_id=statement.pk, actor=request.user)
        messages.success(request, _("已审批，工会分担已在普惠资金中承诺。"))
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement:detail", args=[statement.pk]))


@require_POST
@staff_access("settlement.approve_statement")
def staff_settle(request, statement_id: int):
    statement = _staff_statement(request, statement_id)
    try:
        services.statement_mark_paid(
            statement_id=statement.pk,
            bank_reference=request.POST.get("bank_reference", ""),
            paid_on=date.fromisoformat(request.POST.get("paid_on", "")),
            actor=request.user,
        )
        messages.success(request, _("已登记结清。"))
    except ValueError:
        messages.error(request, _("日期格式应为 YYYY-MM-DD。"))
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement:detail", args=[statement.pk]))


# --- Payment runs ---------------------------------------------------------------------------------------


def _run(request, run_id: int):
    run = (
        runs_for_staff(request.user)
        .select_related("union", "created_by", "approved_by")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404(_("该支付批次不存在或不在您的管理范围内。"))
    return run


@staff_access("settlement.view_paymentrun")
def runs(request):
    return render(
        request,
        "settlement/runs.html",
        {
            "runs": runs_for_staff(request.user).select_related("union", "created_by")[:LIST_LIMIT],
            "may_manage": request.user.has_perm("settlement.manage_paymentrun"),
        },
    )


@require_POST
@staff_access("settlement.manage_paymentrun")
def run_create(request):
    try:
        run = services.payment_run_create(actor=request.user)
    except ApplicationError as error:
        _refused(request, error)
        return HttpResponseRedirect(reverse("settlement:runs"))
    messages.success(request, _("已创建支付批次，请另一位工作人员审批后下载支付文件。"))
    return HttpResponseRedirect(reverse("settlement:run_detail", args=[run.pk]))


@staff_access("settlement.view_paymentrun")
def run_detail(request, run_id: int):
    run = _run(request, run_id)
    return render(
        request,
        "settlement/run_detail.html",
        {
            "run": run,
            "lines": run.lines.select_related("statement__merchant").order_by("pk"),
            "uploads": run.result_uploads.all()[:20],
            "may_manage": request.user.has_perm("settlement.manage_paymentrun"),
            "pending": run.lines.filter(status=PaymentLine.Status.PENDING).exists(),
        },
    )


@require_POST
@staff_access("settlement.manage_paymentrun")
def run_approve(request, run_id: int):
    run = _run(request, run_id)
    try:
        services.payment_run_approve(run_id=run.pk, actor=request.user)
        messages.success(request, _("已审批支付批次，可以下载支付文件。"))
    except ApplicationError as error:
        _refused(request, error)
    return HttpResponseRedirect(reverse("settlement:run_detail", args=[run.pk]))


@staff_access("settlement.manage_paymentrun")
def run_file(request, run_id: int):
    run = _run(request, run_id)
    try:
        content = services.payment_file_csv(run)
    except ApplicationError as error:
        _refused(request, error)
        return HttpResponseRedirect(reverse("settlement:run_detail", args=[run.pk]))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payment-run-{run.pk}.csv"'
    return response


@require_POST
@staff_access("settlement.manage_paymentrun")
def run_result(request, run_id: int):
    run = _run(request, run_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择银行回单文件。"))
    elif upload.size > services.RESULT_FILE_MAX_BYTES:
        messages.error(request, _("文件不能超过 5 MB。"))
    else:
        try:
            services.payment_result_upload(
                run_id=run.pk, actor=request.user, filename=upload.name, content=upload.read()
            )
            messages.success(request, _("已收到银行回单，正在逐行处理，请稍后刷新。"))
        except ApplicationError as error:
            _refused(request, error)
    return HttpResponseRedirect(reverse("settlement:run_detail", args=[run.pk]))


# --- Reconciliation ----------------------------------------------------------------------------------


@staff_access()
def reconciliation(request):
    month = parse_month(request.GET.get("month"))
    path = staff_union_path(request.user)
    report = reconcile(month=month, union_path=path)
    if request.GET.get("format") == "xlsx":
        return xlsx_download(f"reconciliation-{month:%Y-%m}.xlsx", reconciliation_xlsx(report))
    return render(
        request,
        "settlement/reconciliation.html",
        {"report": report, "month": month, "previous": previous_month(month), "next": next_month(month)},
    )

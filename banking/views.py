"""Pages of the bank exchange: the bank's (or the province's) files, batches and card-use figures under
/bank/, and the workplace union's to-do of rejections under /staff/bank-rejections/."""

from __future__ import annotations

import datetime
import functools

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from banking import access, selectors, services
from banking.card_changes import card_changes_export
from banking.files import bank_file_open, bank_file_receive
from banking.forms import BankFileUploadForm, BankLoginForm, CardChangesExportForm
from banking.models import BankFile, BankFileLine
from members import batches as batches_service
from members.models import IssuanceBatch, Union
from portal.errors import ApplicationError
from portal.scoping import staff_union_path
from portal.xlsx import xlsx_response

LINES_PER_PAGE = 200
FILES_PER_PAGE = 50


class BankLoginView(auth_views.LoginView):
    """Django's login view (django-axes counts failures), for a bank's staff."""

    template_name = "banking/login.html"
    authentication_form = BankLoginForm
    next_page = reverse_lazy("banking:home")

    def get_default_redirect_url(self):
        return str(reverse_lazy("banking:home"))


class BankLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("banking:login")


def bank_access(view):
    """A signed-in user who sees at least one bank (``banking.access``); others see why not."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('banking:login')}?{urlencode({'next': request.get_full_path()})}")
        banks = access.banks_for_user(request.user)
        if not banks.exists():
            return render(request, "banking/denied.html", status=403)
        request.banks = banks
        return view(request, *args, **kwargs)

    return wrapper


def _month(request) -> datetime.date:
    raw = request.GET.get("month", "").strip()
    try:
        return datetime.date.fromisoformat(f"{raw}-01")
    except ValueError:
        if raw:
            messages.error(request, _("月份格式应为 年-月，例如 2026-11；已显示本月。"))
        return timezone.localdate().replace(day=1)


@require_GET
@bank_access
def home(request):
    files = access.files_for_user(request.user).select_related("bank", "uploaded_by")
    kind = request.GET.get("kind", "")
    if kind in BankFile.Kind.values:
        files = files.filter(kind=kind)
    page = Paginator(files, FILES_PER_PAGE).get_page(request.GET.get("page"))
    may_exchange = request.user.has_perm(access.EXCHANGE_PERMISSION)
    return render(
        request,
        "banking/home.html",
        {
            "page": page,
            "kind": kind,
            "kinds": BankFile.Kind.choices,
            "may_exchange": may_exchange,
            "may_download": request.user.has_perm(access.DOWNLOAD_PERMISSION),
            # Two forms on one page, each with a "bank" field: ids of their own, so labels find them.
            "upload_form": BankFileUploadForm(banks=request.banks, auto_id="upload_%s")
            if may_exchange
            else None,
            "export_form": CardChangesExportForm(banks=request.banks, auto_id="export_%s")
            if may_exchange
            else None,
        },
    )


@require_POST
@bank_access
def upload(request):
    form = BankFileUploadForm(request.POST, request.FILES, banks=request.banks)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("banking:home")
    try:
        bank_file, created = bank_file_receive(
            bank=form.cleaned_data["bank"],
            kind=form.cleaned_data["kind"],
            uploaded_file=form.cleaned_data["file"],
            actor=request.user,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("banking:home")
    if created:
        messages.success(request, _("文件已上传，正在后台处理。"))
    else:
        messages.info(request, _("这个文件此前已上传过（内容相同），未重复处理。"))
    return redirect("banking:file_detail", file_id=bank_file.pk)


@require_POST
@bank_access
def export_card_changes(request):
    form = CardChangesExportForm(request.POST, banks=request.banks)
    if not form.is_valid():
        raise Http404(_("该银行不存在或不在您的查看范围内。"))
    try:
        bank_file = card_changes_export(bank=form.cleaned_data["bank"], actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("banking:home")
    if bank_file is None:
        messages.info(request, _("自上次导出以来没有新的卡片变更。"))
        return redirect("banking:home")
    messages.success(request, _("已生成卡片变更文件，共 %(n)d 行。") % {"n": bank_file.total_lines})
    return redirect("banking:file_detail", file_id=bank_file.pk)


def _file_or_404(request, file_id: int) -> BankFile:
    try:
        return access.bank_file_for_user(request.user, file_id)
    except ApplicationError as error:
        raise Http404(error.message) from None


@require_GET
@bank_access
def file_detail(request, file_id: int):
    bank_file = _file_or_404(request, file_id)
    lines = BankFileLine.objects.filter(file=bank_file).order_by("line_number")
    only = request.GET.get("outcome", "")
    if only in BankFileLine.Outcome.values:
        lines = lines.filter(outcome=only)
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "banking/file_detail.html",
        {
            "file": bank_file,
            "page": page,
            "outcome": only,
            "outcomes": BankFileLine.Outcome.choices,
            "changes": bank_file.card_changes.select_related("card", "new_card").order_by("changed_at", "pk")[
                :LINES_PER_PAGE
            ]
            if bank_file.kind == BankFile.Kind.CARD_CHANGES
            else (),
            "may_download": request.user.has_perm(access.DOWNLOAD_PERMISSION),
        },
    )


@require_GET
@bank_access
def file_download(request, file_id: int):
    bank_file = _file_or_404(request, file_id)
    try:
        handle = bank_file_open(bank_file=bank_file, actor=request.user)
    except ApplicationError as error:
        return render(request, "banking/denied.html", {"message": error.message}, status=error.status)
    name = f"{bank_file.bank.code}-{bank_file.kind}-{bank_file.pk}.csv"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="text/csv")


@require_GET
@bank_access
def batches(request):
    found = (
        IssuanceBatch.objects.filter(bank__in=request.banks)
        .exclude(status__in=[IssuanceBatch.Status.REJECTED])
        .select_related("bank", "union")
        .order_by("-created_at")
    )
    page = Paginator(found, FILES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "banking/batches.html",
        {"page": page, "may_download": request.user.has_perm(batches_service.ID_FILE_PERMISSION)},
    )


@require_GET
@bank_access
def batch_production_file(request, batch_id: int):
    """The issuance file of a batch of the reader's bank (full ID numbers): the permission, audited."""
    batch = (
        IssuanceBatch.objects.select_related("bank", "union")
        .filter(pk=batch_id, bank__in=request.banks)
        .first()
    )
    if batch is None:
        raise Http404(_("该批次不存在或不在您的查看范围内。"))
    try:
        handle = batches_service.batch_bank_file_open_for_bank(
            batch=batch, actor=request.user, bank_ids=request.banks.values_list("pk", flat=True)
        )
    except ApplicationError as error:
        return render(request, "banking/denied.html", {"message": error.message}, status=error.status)
    return FileResponse(
        handle, as_attachment=True, filename=f"batch-{batch.pk}-production.csv", content_type="text/csv"
    )


def _card_use(request):
    month = _month(request)
    province = Union.objects.province()
    bank_id = access.staff_bank_id(request.user)
    rows = selectors.card_use_by_union(parent=province, month=month, bank_id=bank_id) if province else []
    return month, rows


@require_GET
@bank_access
def card_use(request):
    month, rows = _card_use(request)
    return render(
        request,
        "banking/card_use.html",
        {
            "month": month,
            "rows": rows,
            "export_url": reverse("banking:card_use_export") + f"?month={month:%Y-%m}",
        },
    )


@require_GET
@bank_access
def card_use_export(request):
    month, rows = _card_use(request)
    header = [_("工会代码"), _("工会"), _("有效卡数"), _("本月用卡数"), _("用卡率（%）")]
    body = [
        [
            row.union.code,
            row.union.name,
            row.live_cards,
            row.used_cards,
            row.percent if row.percent is not None else "",
        ]
        for row in rows
    ]
    return xlsx_response(f"card-use-{month:%Y-%m}.xlsx", [(_("用卡率"), header, body)])


# --- The workplace union's to-do ------------------------------------------------------------------------


def rejections_access(view):
    @staff_member_required(login_url="admin:login")
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if staff_union_path(request.user) is None or not request.user.has_perm("members.view_card"):
            return render(request, "banking/denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@rejections_access
def rejections(request):
    show_all = request.GET.get("all") == "1"
    found = selectors.rejections_for_user(request.user, open_only=not show_all).order_by("-created_at", "-pk")
    page = Paginator(found, FILES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "banking/rejections.html", {"page": page, "show_all": show_all})


@require_POST
@rejections_access
def rejection_handled(request, result_id: int):
    try:
        services.rejection_mark_handled(result_id=result_id, actor=request.user)
    except ApplicationError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("已标记为已处理。"))
    return redirect("banking:rejections")

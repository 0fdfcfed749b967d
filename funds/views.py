"""Staff pages of benefit funds: the funds of the staff member's subtree for a year with their roll-up,
a fund with its ledger, and the forms that add money, allocate to a child and transfer — each shown
once to fill in and once to confirm what will happen. The services decide; these pages only ask."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from funds import exports
from funds.forms import AddMoneyForm, AllocateForm, ConfirmedForm, FundOpenForm, TransferForm
from funds.models import Fund
from funds.selectors import (
    LEDGER_PAGE_SIZE,
    child_funds,
    counterparts,
    fund_board,
    fund_in_scope,
    fund_ledger,
    fund_years,
    parent_fund,
    transfer_targets,
    user_may_manage,
)
from funds.services import (
    YEARS,
    default_fund_name,
    fund_add_money,
    fund_allocate_to_union,
    fund_open,
    fund_transfer,
)
from members.models import Union
from portal.errors import ApplicationError
from portal.scoping import staff_union_path, user_can_reach_union
from portal.xlsx import xlsx_response

VIEW_PERMISSION = "funds.view_fund"
MANAGE_PERMISSION = "funds.manage_fund"


def funds_access(permission: str = VIEW_PERMISSION):
    """Signed-in union staff with ``permission`` (and the view permission); others see why not."""

    def decorator(view):
        @staff_member_required(login_url="admin:login")
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if (
                staff_union_path(user) is None
                or not user.has_perm(VIEW_PERMISSION)
                or not user.has_perm(permission)
            ):
                return render(request, "funds/denied.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _fund_or_404(user, fund_id) -> Fund:
    fund = fund_in_scope(user, fund_id)
    if fund is None:
        raise Http404(_("该资金不存在或不在您的管理范围内。"))
    return fund


def _year(request) -> int:
    raw = request.GET.get("year", "").strip()
    if raw.isdigit() and YEARS[0] <= int(raw) <= YEARS[1]:
        return int(raw)
    if raw:
        messages.error(
            request, _("年度应为 %(a)s–%(b)s 之间的四位数字；已显示本年度。") % {"a": YEARS[0], "b": YEARS[1]}
        )
    return timezone.localdate().year


def _list_url(year: int) -> str:
    return f"{reverse('funds:list')}?year={year}"


def _detail_url(fund: Fund) -> str:
    return reverse("funds:detail", args=[fund.pk])


# --- The board ------------------------------------------------------------------------------------------


@require_GET
@funds_access()
def fund_list(request):
    year = _year(request)
    board = fund_board(user=request.user, year=year)
    own = request.user.union
    own_has_fund = own is not None and any(row.fund.union_id == own.pk for row in board.rows)
    may_manage = user_may_manage(request.user)
    open_form = None
    if may_manage and own is not None and not own_has_fund:
        open_form = FundOpenForm(
            user=request.user,
            initial={"union": own.code, "year": year, "name": default_fund_name(own, year)},
        )
    return render(
        request,
        "funds/list.html",
        {
            "board": board,
            "year": year,
            "years": fund_years(request.user),
            "open_form": open_form,
            "may_manage": may_manage,
            "export_url": reverse("funds:export") + f"?year={year}",
            "definitions": exports.definitions(),
        },
    )


@require_GET
@funds_access()
def fund_export(request):
    year = _year(request)
    board = fund_board(user=request.user, year=year)
    return xlsx_response(f"benefit-funds-{year}.xlsx", exports.board_sheets(board))


@require_POST
@funds_access(MANAGE_PERMISSION)
def fund_open_page(request):
    form = FundOpenForm(request.POST, user=request.user)
    valid = form.is_valid()
    back = _list_url(form.cleaned_data["year"]) if "year" in form.cleaned_data else reverse("funds:list")
    if not valid:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return HttpResponseRedirect(back)
    try:
        fund = fund_open(
            union=form.cleaned_data["union"],
            year=form.cleaned_data["year"],
            name=form.cleaned_data["name"],
            actor=request.user,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    messages.success(request, _("已开设“%(name)s”。") % {"name": fund.name})
    return HttpResponseRedirect(_detail_url(fund))


# --- One fund ---------------------------------------------------------------------------------------------


@require_GET
@funds_access()
def fund_detail(request, fund_id: int):
    fund = _fund_or_404(request.user, fund_id)
    page = Paginator(fund_ledger(fund), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    movements = list(page.object_list)
    others = counterparts(movements)
    for movement in movements:
        movement.counterpart = others.get(movement.pk)
    parent = parent_fund(fund)
    return render(
        request,
        "funds/detail.html",
        {
            "fund": fund,
            "page": page,
            "movements": movements,
            "children": child_funds(fund),
            "has_child_unions": Union.objects.filter(parent_id=fund.union_id).exists(),
            "parent": parent,
            "parent_in_scope": parent is not None and user_can_reach_union(request.user, parent.union),
            "may_manage": user_may_manage(request.user),
        },
    )


# --- Forms: fill in, confirm, done ------------------------------------------------------------------------


def _two_step(
    request,
    *,
    fund: Fund,
    form: ConfirmedForm,
    title: str,
    describe: Callable[[dict], list[str]],
    perform: Callable[[dict], None],
    done: str,
):
    """Show ``form``; once valid, a page saying what will happen (``describe``) with the same values
    and a new operation id; once confirmed, ``perform`` it and go back to the fund."""
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        if form.is_confirmation:
            try:
                perform(form.cleaned_data)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, done)
                return HttpResponseRedirect(_detail_url(fund))
        else:
            return render(
                request,
                "funds/confirm.html",
                {
                    "fund": fund,
                    "title": title,
                    "lines": describe(form.cleaned_data),
                    "hidden": [
                        (name, form[name].value())
                        for name in form.fields
                        if name != "operation_id" and form[name].value() not in (None, "")
                    ],
                    "operation_id": uuid.uuid4(),
                },
            )
    return render(request, "funds/form.html", {"fund": fund, "form": form, "title": title})


def _money(amount: Decimal) -> str:
    """Yuan to the fen, grouped as the page's figures are (the active language's format)."""
    return "¥" + number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


def _check_left(form: ConfirmedForm, fund: Fund) -> None:
    """A friendly early word when the amount is more than the fund has left; the service is what
    refuses (another transaction may take the money between this page and the confirmation)."""
    amount = form.cleaned_data.get("amount") if form.is_valid() else None
    if amount is not None and amount > fund.left and not form.is_confirmation:
        form.add_error("amount", _("超过可用余额（当前 %(left)s）。") % {"left": _money(fund.left)})


@require_http_methods(["GET", "POST"])
@funds_access(MANAGE_PERMISSION)
def fund_add_money_page(request, fund_id: int):
    fund = _fund_or_404(request.user, fund_id)
    form = AddMoneyForm(request.POST or None)

    def describe(data: dict) -> list[str]:
        return [
            _("向“%(fund)s”追加本级资金 %(amount)s。")
            % {"fund": fund.name, "amount": _money(data["amount"])},
            _("可用余额将由 %(old)s 变为 %(new)s。")
            % {"old": _money(fund.left), "new": _money(fund.left + data["amount"])},
        ]

    def perform(data: dict) -> None:
        fund_add_money(
            fund=fund,
            amount=data["amount"],
            note=data["note"],
            actor=request.user,
            operation_id=data["operation_id"],
        )

    return _two_step(
        request,
        fund=fund,
        form=form,
        title=_("追加本级资金"),
        describe=describe,
        perform=perform,
        done=_("已追加本级资金。"),
    )


@require_http_methods(["GET", "POST"])
@funds_access(MANAGE_PERMISSION)
def fund_allocate_page(request, fund_id: int):
    fund = _fund_or_404(request.user, fund_id)
    form = AllocateForm(request.POST or None, fund=fund)
    _check_left(form, fund)

    def describe(data: dict) -> list[str]:
        child = data["child"]
        existing = Fund.objects.filter(union=child, year=fund.year).first()
        target = existing.name if existing else default_fund_name(child, fund.year)
        lines = [
            _("从“%(fund)s”下拨 %(amount)s 到“%(target)s”。")
            % {"fund": fund.name, "amount": _money(data["amount"]), "target": target},
            _("本资金可用余额将由 %(old)s 变为 %(new)s。")
            % {"old": _money(fund.left), "new": _money(fund.left - data["amount"])},
        ]
        if existing is None:
            lines.append(_("%(union)s 本年度还没有资金，将同时为其开设。") % {"union": child.name})
        lines.append(_("下拨记入双方的资金流水和审计日志；如需收回，请由上级做一笔调剂。"))
        return lines

    def perform(data: dict) -> None:
        fund_allocate_to_union(
            parent_fund=fund,
            child_union=data["child"],
            amount=data["amount"],
            note=data["note"],
            actor=request.user,
            operation_id=data["operation_id"],
        )

    return _two_step(
        request,
        fund=fund,
        form=form,
        title=_("下拨到下级工会"),
        describe=describe,
        perform=perform,
        done=_("已下拨。"),
    )


@require_http_methods(["GET", "POST"])
@funds_access(MANAGE_PERMISSION)
def fund_transfer_page(request, fund_id: int):
    fund = _fund_or_404(request.user, fund_id)
    form = TransferForm(request.POST or None, targets=transfer_targets(user=request.user, fund=fund))
    _check_left(form, fund)

    def describe(data: dict) -> list[str]:
        target = data["to_fund"]
        return [
            _("从“%(fund)s”调出 %(amount)s 到“%(target)s”。")
            % {"fund": fund.name, "amount": _money(data["amount"]), "target": target.name},
            _("本资金可用余额将由 %(old)s 变为 %(new)s；对方由 %(t_old)s 变为 %(t_new)s。")
            % {
                "old": _money(fund.left),
                "new": _money(fund.left - data["amount"]),
                "t_old": _money(target.left),
                "t_new": _money(target.left + data["amount"]),
            },
            _("调剂原因：%(reason)s。调剂记入双方的资金流水和审计日志。") % {"reason": data["reason"]},
        ]

    def perform(data: dict) -> None:
        fund_transfer(
            from_fund=fund,
            to_fund=data["to_fund"],
            amount=data["amount"],
            reason=data["reason"],
            actor=request.user,
            operation_id=data["operation_id"],
        )

    return _two_step(
        request,
        fund=fund,
        form=form,
        title=_("调剂到其他资金"),
        describe=describe,
        perform=perform,
        done=_("已调剂。"),
    )

"""The staff to-do page (待办事项): what waits for this operator within their subtree — members' card
applications to approve or refuse, approved ones to put into a batch, transfer requests into their
unions to accept or refuse, lost-card reports that may still be undone. The services decide (scope,
permission, state); these views find the row in the user's subtree (another subtree's row is "not
found") and show the outcome.

Apps above members add what waits in them (the allowances' claims) as sections of their own, through
:func:`register_todo_section`, so that members never imports them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from members import applications, cards, selectors, transfers
from members.forms import ReasonForm, UndoLostForm
from members.models import CardApplication, PartnerBank, TransferRequest
from portal.errors import ApplicationError
from portal.scoping import staff_union_path


@dataclass(frozen=True)
class TodoItem:
    """One thing waiting: what it is, what it waits for, and the page where it is done."""

    key: int
    text: str
    detail: str
    url: str


@dataclass(frozen=True)
class TodoSection:
    """A section of the page kept by another app; ``key`` names it on the page (``data-role``)."""

    key: str
    heading: str
    items: list[TodoItem]
    empty: str
    count: int
    more_url: str = ""


# A section is a callable taking the staff user and returning its TodoSection, or None when the user
# may not act on that kind of thing (the section is then not shown).
TODO_SECTIONS: list[Callable[[object], TodoSection | None]] = []


def register_todo_section(section: Callable[[object], TodoSection | None]) -> None:
    """Called from an app's ``ready()``; registering the same callable again changes nothing."""
    if section not in TODO_SECTIONS:
        TODO_SECTIONS.append(section)


def todo_sections(user) -> list[TodoSection]:
    return [found for found in (section(user) for section in TODO_SECTIONS) if found is not None]


def todo_access(view):
    """Signed-in union staff attached to a union (or the superuser); others see why not."""

    @staff_member_required(login_url="admin:login")
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if staff_union_path(request.user) is None:
            return render(request, "members/todo_denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _run(request, action, success: str):
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("todo:list")


def _reason(request) -> str | None:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return None
    return form.cleaned_data["reason"]


@never_cache
@require_GET
@todo_access
def todo_list(request):
    todo = selectors.staff_todo(request.user)
    return render(
        request,
        "members/todo.html",
        {
            **todo,
            "reason_form": ReasonForm(),
            "undo_form": UndoLostForm(),
            "undo_window_days": cards.UNDO_LOST_WINDOW.days,
            "may_decide": request.user.has_perm(applications.DECIDE_PERMISSION),
            "may_change_cards": request.user.has_perm("members.change_card"),
            "more_sections": todo_sections(request.user),
        },
    )


def _application(request, application_id: int) -> CardApplication:
    found = selectors.card_applications_for_staff(request.user).filter(pk=application_id).first()
    if found is None:
        raise Http404(_("该申请不存在或不在您的管理范围内。"))
    return found


def _transfer(request, request_id: int) -> TransferRequest:
    found = selectors.transfer_requests_for_staff(request.user).filter(pk=request_id).first()
    if found is None:
        raise Http404(_("该转会申请不存在或不在您的管理范围内。"))
    return found


@require_POST
@todo_access
def application_approve(request, application_id: int):
    application = _application(request, application_id)
    return _run(
        request,
        lambda: applications.card_application_approve(application=application, actor=request.user),
        _("已通过办卡申请，将加入下一批制卡。"),
    )


@require_POST
@todo_access
def application_refuse(request, application_id: int):
    application = _application(request, application_id)
    reason = _reason(request)
    if reason is None:
        return redirect("todo:list")
    return _run(
        request,
        lambda: applications.card_application_refuse(
            application=application, actor=request.user, reason=reason
        ),
        _("已退回办卡申请，会员会收到原因。"),
    )


@require_POST
@todo_access
def applications_batch(request, bank_id: int):
    bank = PartnerBank.objects.filter(pk=bank_id).first()
    if bank is None:
        raise Http404(_("合作银行不存在。"))
    try:
        batch = applications.card_applications_batch(bank=bank, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("todo:list")
    messages.success(request, _("已生成发卡批次，校验完成后须由另一位工作人员批准。"))
    return redirect("admin:members_issuancebatch_change", batch.pk)


@require_POST
@todo_access
def transfer_accept(request, request_id: int):
    transfer = _transfer(request, request_id)
    return _run(
        request,
        lambda: transfers.transfer_request_accept(request=transfer, actor=request.user),
        _("已接收转会，会员已转入。"),
    )


@require_POST
@todo_access
def transfer_refuse(request, request_id: int):
    transfer = _transfer(request, request_id)
    reason = _reason(request)
    if reason is None:
        return redirect("todo:list")
    return _run(
        request,
        lambda: transfers.transfer_request_refuse(request=transfer, actor=request.user, reason=reason),
        _("已拒绝转会申请，会员会收到原因。"),
    )


@require_POST
@todo_access
def card_undo_lost(request, card_id: int):
    card = selectors.cards_for_staff(request.user).filter(pk=card_id).first()
    if card is None:
        raise Http404(_("会员卡不存在或不在您的管理范围内。"))
    form = UndoLostForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect("todo:list")
    return _run(
        request,
        lambda: cards.card_undo_lost(card=card, actor=request.user),
        _("已解除挂失，会员卡恢复使用。"),
    )

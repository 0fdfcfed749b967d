"""The staff home: card coverage of the user's union and its units, read from snapshot rows only."""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from banking.selectors import card_use_by_union
from members.models import Union
from portal.errors import ServiceUnavailable
from portal.scoping import staff_union_path
from portal.tasks_util import enqueue_now
from portal.xlsx import xlsx_response
from stats.coverage import (
    DEFINITIONS,
    VIEW_PERMISSION,
    CoverageDashboard,
    UnitRow,
    coverage_dashboard,
    coverage_union_for,
    snapshot_run_fail,
    snapshot_run_request,
)
from stats.models import SnapshotRun

_PENDING = (SnapshotRun.Status.QUEUED, SnapshotRun.Status.RUNNING)


def dashboard_access(view):
    """Signed-in union staff who may read coverage statistics; others see why they cannot."""

    @staff_member_required(login_url="admin:login")
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if staff_union_path(request.user) is None or not request.user.has_perm(VIEW_PERMISSION):
            return render(request, "stats/dashboard_denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _union_or_404(user, code: str | None = None) -> Union:
    union = coverage_union_for(user=user, code=code)
    if union is None:
        raise Http404(_("该工会不存在或不在您的管理范围内。"))
    return union


def _requested_day(request) -> datetime.date | None:
    raw = request.GET.get("date", "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        messages.error(request, _("日期格式应为 年-月-日，例如 2026-11-23；已显示最新数据。"))
        return None


def coverage_percent(coverage: Decimal | None) -> Decimal | None:
    if coverage is None:
        return None
    return (coverage * 100).quantize(Decimal("0.01"))


def _chart_data(board: CoverageDashboard) -> dict:
    return {
        "trend": [
            {
                "day": row.day.isoformat(),
                "coverage": float(coverage_percent(row.coverage)),
                "members": row.members,
                "cardholders": row.cardholders,
            }
            for row in board.trend
        ],
        "units": [
            {
                "code": unit.union.code,
                "name": unit.union.name,
                "coverage": float(coverage_percent(unit.snapshot.coverage)),
                "members": unit.snapshot.members,
                "cardholders": unit.snapshot.cardholders,
                "rank": unit.rank,
                "highlight": unit.highlight,
                "url": reverse("staff:unit", args=[unit.union.code]),
            }
            for unit in board.children
        ],
        "labels": {
            "coverage": _("覆盖率"),
            "members": _("会员数"),
            "cardholders": _("持卡人数"),
            "no_trend": _("至少需要两天的快照才能画出趋势。"),
            "trend_title": _("覆盖率趋势"),
            "units_title": _("下级单位覆盖率"),
        },
    }


def _breadcrumbs(user, union: Union) -> list[Union]:
    """The ancestors of ``union`` the user may open, from their own node down (one query)."""
    codes = union.path.strip("/").split("/")
    prefix = staff_union_path(user) or ""
    return list(Union.objects.filter(code__in=codes, path__startswith=prefix).order_by("depth"))


def _render_dashboard(request, union: Union):
    board = coverage_dashboard(union=union, on_or_before=_requested_day(request))
    run = board.latest_run
    context = {
        "board": board,
        "union": union,
        "node": board.node,
        "node_percent": coverage_percent(board.node.coverage) if board.node else None,
        "breadcrumbs": _breadcrumbs(request.user, union),
        "definitions": DEFINITIONS,
        "chart_data": _chart_data(board),
        "run": run,
        "run_pending": run is not None and run.status in _PENDING,
        "export_url": reverse("staff:unit_export", args=[union.code]),
        "today": timezone.localdate(),
        # Card use (share of live cards used this month), from the banks' transactions files.
        "card_use": card_use_by_union(parent=union, month=timezone.localdate()),
    }
    return render(request, "stats/dashboard.html", context)


@require_GET
@dashboard_access
def dashboard(request):
    return _render_dashboard(request, _union_or_404(request.user))


@require_GET
@dashboard_access
def unit(request, code: str):
    return _render_dashboard(request, _union_or_404(request.user, code))


@require_POST
@dashboard_access
def refresh(request):
    """Queue today's snapshot ("refresh now"); the page then polls the run's status."""
    target = request.POST.get("next", "")
    if not target.startswith("/staff/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = reverse("staff:dashboard")
    run, created = snapshot_run_request(day=timezone.localdate(), requested_by=request.user)
    if not created:
        messages.info(request, _("统计正在计算中，请稍候。"))
        return HttpResponseRedirect(target)
    try:
        enqueue_now("portal.tasks.coverage_snapshot_run", run.pk)
    except ServiceUnavailable as exc:
        snapshot_run_fail(run_id=run.pk, message=exc.message)
        messages.error(request, exc.message)
        return HttpResponseRedirect(target)
    messages.success(request, _("已开始重新计算统计数据，完成后页面会自动刷新。"))
    return HttpResponseRedirect(target)


@require_GET
@never_cache
@dashboard_access
def run_status(request, run_id: int):
    run = SnapshotRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404(_("未找到该计算任务。"))
    progress = {
        SnapshotRun.Status.QUEUED: 10,
        SnapshotRun.Status.RUNNING: 50,
        SnapshotRun.Status.DONE: 100,
        SnapshotRun.Status.FAILED: 100,
    }[run.status]
    return JsonResponse(
        {
            "id": run.pk,
            "day": run.day.isoformat(),
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": progress,
            "finished": run.status in (SnapshotRun.Status.DONE, SnapshotRun.Status.FAILED),
            "message": run.message,
            "nodes_written": run.nodes_written,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    )


# --- XLSX export (through portal.xlsx, which neutralises formula-looking text) --------------------

_UNIT_HEADER = (
    gettext_lazy("排名"),
    gettext_lazy("代码"),
    gettext_lazy("名称"),
    gettext_lazy("上级"),
    gettext_lazy("会员数"),
    gettext_lazy("持卡人数"),
    gettext_lazy("覆盖率（%）"),
    gettext_lazy("较上周（百分点）"),
    gettext_lazy("较上月（百分点）"),
    gettext_lazy("标注"),
)


def _unit_rows(units: list[UnitRow]):
    marks = {"leader": _("领先"), "laggard": _("落后"), "": ""}
    for unit in units:
        row = unit.snapshot
        yield [
            unit.rank,
            unit.union.code,
            unit.union.name,
            row.parent.name if row.parent_id else "",
            row.members,
            row.cardholders,
            unit.coverage_percent,
            unit.change_week,
            unit.change_month,
            marks[unit.highlight],
        ]


def export_sheets(board: CoverageDashboard) -> list[tuple[str, list[str], list]]:
    node = board.node
    summary = [
        board.union.name,
        board.union.code,
        board.day,
        node.members if node else None,
        node.cardholders if node else None,
        coverage_percent(node.coverage) if node else None,
        board.node_change_week,
        board.node_change_month,
    ]
    sheets = [
        (
            _("概况"),
            [
                _("单位"),
                _("代码"),
                _("数据日期"),
                _("会员数"),
                _("持卡人数"),
                _("覆盖率（%）"),
                _("较上周（百分点）"),
                _("较上月（百分点）"),
            ],
            [summary],
        ),
        (_("下级单位"), [str(name) for name in _UNIT_HEADER], list(_unit_rows(board.children))),
    ]
    if board.show_counties:
        sheets.append((_("全省县级"), [str(name) for name in _UNIT_HEADER], list(_unit_rows(board.counties))))
    sheets.append(
        (_("指标说明"), [_("指标"), _("说明")], [[label, text] for _key, label, text in DEFINITIONS])
    )
    return sheets


@require_GET
@dashboard_access
def unit_export(request, code: str):
    union = _union_or_404(request.user, code)
    board = coverage_dashboard(union=union, on_or_before=_requested_day(request))
    sheets = export_sheets(board)
    sheets.insert(-1, card_use_sheet(card_use_by_union(parent=union, month=timezone.localdate())))
    return xlsx_response(f"coverage-{union.code}-{board.day or 'none'}.xlsx", sheets)


def card_use_sheet(rows) -> tuple[str, list[str], list]:
    header = [_("单位"), _("代码"), _("有效卡数"), _("本月用卡数"), _("用卡率（%）")]
    return (
        _("本月用卡率"),
        header,
        [[row.union.name, row.union.code, row.live_cards, row.used_cards, row.percent] for row in rows],
    )

"""The allowance claims on the staff to-do page (``members.todo``): the claims of the operator's
subtree that wait for a staff decision — open ones (to match to a card payment or mark as paid
otherwise, then to approve or refuse) and failed credits (to pay again or cancel) — each linked to
its page in the admin, where the decision is taken."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from allowances.models import Claim
from members.todo import TodoItem, TodoSection
from portal.scoping import scope_queryset

# The page lists the oldest first; the admin's list has them all.
SHOWN = 50
WAITING = (Claim.Status.OPEN, Claim.Status.FAILED)


def _waits_for(claim: Claim, user) -> str:
    if claim.status == Claim.Status.FAILED:
        return _("发放失败：重新发放或取消发放")
    if claim.payment_id is None and not claim.paid_otherwise:
        return _("未找到用卡支付记录：匹配交易或标记为其他方式支付")
    if claim.created_by_id == user.pk:
        return _("待批准：您录入的申请，须由另一位工作人员批准")
    if claim.paid_otherwise:
        return _("其他方式支付，凭票据待批准")
    return _("已匹配用卡支付，待批准")


def claims_waiting(user) -> TodoSection | None:
    """The section for ``user``, or None for staff who may not see claims."""
    if not user.has_perm("allowances.view_claim"):
        return None
    found = scope_queryset(Claim.objects.filter(status__in=WAITING), user, "union_path")
    claims = list(found.select_related("member").order_by("created_at", "pk")[:SHOWN])
    count = len(claims) if len(claims) < SHOWN else found.count()
    return TodoSection(
        key="claims",
        heading=_("住院补贴申请待处理"),
        items=[
            TodoItem(
                key=claim.pk,
                text=_("%(member)s · %(hospital)s · %(admitted)s 至 %(discharged)s")
                % {
                    "member": claim.member.name_masked,
                    "hospital": claim.hospital,
                    "admitted": f"{claim.admitted_on:%Y-%m-%d}",
                    "discharged": f"{claim.discharged_on:%Y-%m-%d}",
                },
                detail=_waits_for(claim, user),
                url=reverse("admin:allowances_claim_change", args=[claim.pk]),
            )
            for claim in claims
        ],
        empty=_("没有待处理的住院补贴申请。"),
        count=count,
        more_url=f"{reverse('admin:allowances_claim_changelist')}?"
        + urlencode({"status__in": ",".join(WAITING)}),
    )

"""The member's own redemptions and what they saved: the selectors (shared with the member API,
``GET /api/v1/me/redemptions/``) and the page ``/me/redemptions/``."""

from __future__ import annotations

from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import render

from discounts.models import Redemption
from members.auth import member_required
from members.models import Member

PAGE_SIZE = 20
# What a member saved on a redemption: the discount, or the union subsidy of an allowance. A discount
# funded by the union carries the same money in both columns, so it is counted once.
SAVED = Greatest("discount", "union_subsidy")


def member_redemptions(member: Member) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(member=member)
        .select_related("offer", "store", "merchant")
        .annotate(saved=SAVED)
        .order_by("-created_at", "-id")
    )


def member_total_saved(member: Member) -> Decimal:
    return Redemption.objects.filter(member=member, status=Redemption.Status.COMPLETED).aggregate(
        total=Coalesce(Sum(SAVED), Value(0), output_field=DecimalField(max_digits=14, decimal_places=2))
    )["total"]


@member_required
def history_page(request):
    member = request.member
    page = Paginator(member_redemptions(member), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "discounts/history.html",
        {"member": member, "page": page, "total_saved": member_total_saved(member)},
    )

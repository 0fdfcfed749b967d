"""The member's page of their own redemptions and what they saved, ``/me/redemptions/``."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from discounts.history import history_sections, member_redemptions, member_total_saved
from members.auth import member_required

PAGE_SIZE = 20


@member_required
def history_page(request):
    member = request.member
    page = Paginator(member_redemptions(member), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "discounts/history.html",
        {
            "member": member,
            "page": page,
            "total_saved": member_total_saved(member),
            "sections": history_sections(member),
        },
    )

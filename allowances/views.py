"""The member's own allowance claims: each stay, its status in members' words and, once the bank has
credited it, "已到账 ¥60" with the day."""

from __future__ import annotations

from django.shortcuts import render

from allowances.models import Claim
from allowances.services import MAX_DAYS_PER_STAY, MAX_DAYS_PER_YEAR, RATE_FEN_PER_DAY, yuan
from members.auth import member_required


@member_required
def my_allowances(request):
    claims = list(Claim.objects.filter(member=request.member).order_by("-admitted_on", "-pk")[:100])
    for claim in claims:
        claim.amount = yuan(claim.amount_fen)
        claim.bill = yuan(claim.bill_fen)
    return render(
        request,
        "allowances/my_allowances.html",
        {
            "claims": claims,
            "paid_total": yuan(sum(c.amount_fen for c in claims if c.status == Claim.Status.PAID)),
            "rate": yuan(RATE_FEN_PER_DAY),
            "days_per_stay": MAX_DAYS_PER_STAY,
            "days_per_year": MAX_DAYS_PER_YEAR,
        },
    )

"""The member's own allowance claims: a claim for a stay, each claim's status in members' words and,
once the bank has credited it, "已到账 ¥60" with the day."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from allowances import services
from allowances.forms import StayForm, add_claim_errors, bill_fen
from allowances.models import Claim
from allowances.services import MAX_DAYS_PER_STAY, MAX_DAYS_PER_YEAR, RATE_FEN_PER_DAY, yuan
from members.auth import member_required
from portal.errors import ValidationFailed


@member_required
def my_allowances(request):
    form = StayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.claim_open(
                actor=request.member,
                member=request.member,
                hospital=data["hospital"],
                admitted_on=data["admitted_on"],
                discharged_on=data["discharged_on"],
                bill_fen=bill_fen(data),
            )
        except ValidationFailed as refused:
            add_claim_errors(form, refused)
        else:
            messages.success(request, _("申请已提交，所在工会审核后会通知您。"))
            return redirect("allowances:mine")
    claims = list(Claim.objects.filter(member=request.member).order_by("-admitted_on", "-pk")[:100])
    for claim in claims:
        claim.amount = yuan(claim.amount_fen)
        claim.bill = yuan(claim.bill_fen)
    return render(
        request,
        "allowances/my_allowances.html",
        {
            "form": form,
            "claims": claims,
            "paid_total": yuan(sum(c.amount_fen for c in claims if c.status == Claim.Status.PAID)),
            "rate": yuan(RATE_FEN_PER_DAY),
            "days_per_stay": MAX_DAYS_PER_STAY,
            "days_per_year": MAX_DAYS_PER_YEAR,
        },
    )

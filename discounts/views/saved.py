"""The member's saved offers and merchants: the save / unsave buttons and "我的收藏" (``/me/saved/``)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from discounts import saved, selectors
from members.auth import current_member, member_required
from portal.errors import NotFound

MEMBER_SIGN_IN_URL = "/me/sign-in/"


def _toggle(request, offer_id: int, *, merchant: bool, save: bool):
    detail_url = reverse("discounts:offer_detail", args=[offer_id])
    member = current_member(request)
    if member is None:
        return redirect(f"{MEMBER_SIGN_IN_URL}?next={quote(detail_url)}")
    try:
        offer = selectors.offer_get_listed(offer_id)
        if merchant and save:
            saved.merchant_save(member=member, merchant_id=offer.merchant_id)
        elif merchant:
            saved.merchant_unsave(member=member, merchant_id=offer.merchant_id)
        elif save:
            saved.offer_save(member=member, offer_id=offer.pk)
        else:
            saved.offer_unsave(member=member, offer_id=offer.pk)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("已收藏。") if save else _("已取消收藏。"))
    return redirect(detail_url)


@require_POST
def offer_save_view(request, offer_id: int):
    return _toggle(request, offer_id, merchant=False, save=request.POST.get("action") != "unsave")


@require_POST
def merchant_save_view(request, offer_id: int):
    return _toggle(request, offer_id, merchant=True, save=request.POST.get("action") != "unsave")


@member_required
def saved_page(request):
    member = request.member
    return render(
        request,
        "discounts/saved.html",
        {"offers": saved.member_saved_offers(member), "merchants": saved.member_saved_merchants(member)},
    )

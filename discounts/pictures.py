"""An offer's picture: uploaded by the merchant while the offer may still be edited (a draft or a
rejected offer — the same rule as every other field, ``services.offer_editable_fields``), drawn again
by the one image rule; an offer without one shows its merchant's (``merchants.pictures``)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from discounts.models import Offer
from discounts.services import EDITABLE_STATUSES, ensure_offer_editor, offer_locked_reason
from merchants.models import MerchantUser
from merchants.pictures import merchant_picture_url, replace_picture
from portal.errors import Conflict
from portal.images import versioned

# Offers members may see, whose pictures are public; any other's only the merchant's own users see.
PUBLIC_STATUSES = (Offer.Status.PUBLISHED, Offer.Status.PAUSED, Offer.Status.ENDED)


def offer_picture_url(offer: Offer) -> str:
    """The offer's own picture (served by ``discounts.views.offers.offer_picture``), or its merchant's."""
    if offer.picture:
        return versioned(reverse("discounts:offer_picture", args=[offer.pk]), offer.picture)
    return merchant_picture_url(offer.merchant)


def offer_picture_visible(offer: Offer, user) -> bool:
    if offer.status in PUBLIC_STATUSES:
        return True
    return MerchantUser.objects.filter(
        user_id=getattr(user, "pk", None), merchant_id=offer.merchant_id
    ).exists()


@transaction.atomic
def offer_picture_set(*, offer: Offer, uploaded, actor) -> Offer:
    ensure_offer_editor(actor, offer.merchant)
    locked = Offer.objects.select_for_update().get(pk=offer.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(offer_locked_reason(locked), code="offer_locked")
    replace_picture(locked, uploaded)
    return locked

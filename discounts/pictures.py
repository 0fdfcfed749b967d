"""An offer's picture: uploaded by the merchant while the offer may still be edited (a draft or a
rejected offer — the same rule as every other field, ``services.offer_editable_fields``), drawn again
by the one image rule; an offer without one shows its merchant's (``merchants.pictures``)."""

from __future__ import annotations

import datetime
import logging

from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from discounts.models import Offer
from discounts.services import EDITABLE_STATUSES, ensure_offer_editor, offer_locked_reason
from merchants.models import Merchant, MerchantUser
from merchants.pictures import merchant_picture_url, replace_picture
from portal.errors import Conflict
from portal.images import versioned

logger = logging.getLogger(__name__)

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


# A picture file no row names is removed once it is this old: a replacement's new file is saved
# before its transaction commits, and a transaction that rolls back leaves the file behind.
PICTURE_ORPHAN_AGE = datetime.timedelta(days=1)


def orphan_pictures_purge(*, older_than: datetime.timedelta = PICTURE_ORPHAN_AGE) -> int:
    """Delete the merchant and offer picture files that no merchant or offer names and that are older
    than ``older_than`` (younger ones may belong to a replacement not yet committed). Returns how many
    were deleted. The old file of a committed replacement is deleted at once, by ``replace_picture``."""
    cutoff = timezone.now() - older_than
    named = set(Merchant.objects.exclude(picture="").values_list("picture", flat=True))
    named |= set(Offer.objects.exclude(picture="").values_list("picture", flat=True))
    deleted = 0
    for folder in (Merchant.picture.field.upload_to, Offer.picture.field.upload_to):
        folder = folder.rstrip("/")
        if not default_storage.exists(folder):
            continue
        for filename in default_storage.listdir(folder)[1]:
            name = f"{folder}/{filename}"
            if name in named or default_storage.get_modified_time(name) >= cutoff:
                continue
            default_storage.delete(name)
            deleted += 1
    if deleted:
        logger.info("deleted %s picture files no merchant or offer names", deleted)
    return deleted

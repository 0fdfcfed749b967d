"""A merchant's picture (and an offer's, which falls back to it): uploaded by the merchant's manager,
checked and drawn again by the one image rule (``portal.images``) as a JPEG of at most 960 × 720,
EXIF and all metadata gone. A merchant without one shows its category's own drawing, a static file of
the portal (never loaded from another host)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchants.models import Merchant, MerchantUser
from portal.errors import PermissionDenied, ValidationFailed
from portal.images import ImageKind, normalise_image, versioned

PICTURE = ImageKind("picture", gettext_lazy("图片"), (960, 720), 160, "JPEG")
# Categories with a drawing of their own under merchants/static/merchants/pictures/.
CATEGORY_DRAWINGS = frozenset(
    {"supermarkets", "entertainment", "dining", "health", "services", "travel", "education", "finance"}
)
# Width and height of what the pages show, for the browser to keep the room (no layout shift).
SHOWN_SIZE = (400, 300)


def category_picture_url(category_code: str) -> str:
    name = category_code if category_code in CATEGORY_DRAWINGS else "default"
    return static(f"merchants/pictures/{name}.svg")


def merchant_picture_url(merchant: Merchant) -> str:
    """The merchant's own picture (served by ``merchants.views.picture``), or its category's drawing."""
    if merchant.picture:
        return versioned(reverse("merchants:picture", args=[merchant.pk]), merchant.picture)
    return category_picture_url(merchant.category.code)


def picture_visible(merchant: Merchant, user) -> bool:
    """A signed merchant's picture is public; any other only to the merchant's own users."""
    if merchant.status == Merchant.Status.APPROVED:
        return True
    return MerchantUser.objects.filter(user_id=getattr(user, "pk", None), merchant=merchant).exists()


def picture_content(uploaded):
    """The upload checked and drawn again; a clear refusal on the ``picture`` field otherwise."""
    try:
        return normalise_image(uploaded, kind=PICTURE)
    except ValidationError as problem:
        message = " ".join(problem.messages)
        raise ValidationFailed(message, fields={"picture": [message]}) from None


def replace_picture(instance, uploaded) -> None:
    """Store the new picture on ``instance`` (its ``picture`` field) and remove the old file once the
    change is committed; the upload is checked first, so a refused one changes nothing. Should the
    transaction roll back, the new file stays unnamed until the nightly sweep
    (``discounts.pictures.orphan_pictures_purge``) removes it."""
    content = picture_content(uploaded)
    old = instance.picture.name
    instance.picture.save(content.name, content, save=False)
    type(instance).objects.filter(pk=instance.pk).update(picture=instance.picture.name)
    if old and old != instance.picture.name:
        storage = instance.picture.storage
        transaction.on_commit(lambda: storage.delete(old))


@transaction.atomic
def merchant_picture_set(*, merchant: Merchant, uploaded, actor) -> Merchant:
    """The merchant's manager replaces the merchant's picture."""
    membership = MerchantUser.objects.filter(user_id=getattr(actor, "pk", None), merchant=merchant).first()
    if membership is None or membership.role != MerchantUser.Role.MANAGER:
        raise PermissionDenied(_("只有本商家的管理员可以更换商家图片。"))
    replace_picture(merchant, uploaded)
    return merchant

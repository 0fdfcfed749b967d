"""Pictures of merchants and offers: uploaded by the merchant's manager, checked and drawn again (a
bad file refused with a clear message, nothing else lost), an offer's only while it may be edited,
another merchant's never; without one, the category's drawing; the member's pages show them."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from discounts.models import Offer
from discounts.pictures import offer_picture_set, offer_picture_url, orphan_pictures_purge
from merchants.models import Merchant
from merchants.pictures import CATEGORY_DRAWINGS, merchant_picture_set, merchant_picture_url
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def photo(size=(1600, 1200), name="shop.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make: must not survive
    Image.new("RGB", size, (200, 80, 40)).save(out, format="JPEG", exif=exif)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def test_a_manager_uploads_the_merchants_picture_drawn_again_without_metadata(client, merchant, manager):
    code = merchant.category.code
    drawing = code if code in CATEGORY_DRAWINGS else "default"
    assert merchant_picture_url(merchant) == f"/static/merchants/pictures/{drawing}.svg"  # none yet
    client.force_login(manager)
    client.post("/merchant/picture/", {"picture": photo()})
    merchant.refresh_from_db()
    with Image.open(merchant.picture.open("rb")) as stored:
        assert stored.format == "JPEG" and stored.size == (960, 720)
        assert not stored.getexif()
    served = client.get(merchant_picture_url(merchant))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_a_bad_file_is_refused_with_its_reason_and_the_old_picture_kept(client, merchant, manager):
    merchant_picture_set(merchant=merchant, uploaded=photo(), actor=manager)
    merchant.refresh_from_db()
    before = merchant.picture.name
    client.force_login(manager)
    page = client.post(
        "/merchant/picture/", {"picture": SimpleUploadedFile("x.jpg", b"not an image")}, follow=True
    ).content.decode()
    assert "请上传 PNG、JPEG 或 WebP 格式的图片文件" in page
    assert Merchant.objects.get(pk=merchant.pk).picture.name == before
    with pytest.raises(ValidationFailed):
        merchant_picture_set(merchant=merchant, uploaded=photo(size=(100, 80)), actor=manager)


def test_only_the_merchants_own_manager_changes_its_pictures(merchant, cashier, stranger, manager):
    for outsider in (cashier, stranger):
        with pytest.raises(PermissionDenied):
            merchant_picture_set(merchant=merchant, uploaded=photo(), actor=outsider)
    offer = OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
    with pytest.raises(PermissionDenied):
        offer_picture_set(offer=offer, uploaded=photo(), actor=stranger)
    assert not Merchant.objects.get(pk=merchant.pk).picture
    assert not Offer.objects.get(pk=offer.pk).picture


def test_an_offers_picture_changes_only_while_it_may_be_edited(client, merchant, manager):
    draft = OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
    live = OfferFactory(merchant=merchant, status=Offer.Status.PUBLISHED)
    assert offer_picture_url(draft) == merchant_picture_url(merchant)  # none of its own yet
    client.force_login(manager)
    client.post(f"/merchant/offers/{draft.pk}/picture/", {"picture": photo()})
    draft.refresh_from_db()
    assert draft.picture and offer_picture_url(draft).startswith(f"/offers/{draft.pk}/picture/?v=")
    # A draft's picture is the merchant's own until members may see the offer.
    assert client.get(offer_picture_url(draft)).status_code == 200
    client.logout()
    assert client.get(offer_picture_url(draft)).status_code == 404
    with pytest.raises(Conflict):
        offer_picture_set(offer=live, uploaded=photo(), actor=manager)
    assert not Offer.objects.get(pk=live.pk).picture


def test_the_member_pages_show_the_pictures(client, merchant, manager, store):
    offer = OfferFactory(merchant=merchant, status=Offer.Status.PUBLISHED)
    offer.stores.add(store)
    merchant_picture_set(merchant=merchant, uploaded=photo(), actor=manager)
    merchant.refresh_from_db()
    url = merchant_picture_url(merchant)
    listing = client.get("/").content.decode()
    assert f'src="{url}"' in listing and 'loading="lazy"' in listing
    detail = client.get(f"/offers/{offer.pk}/").content.decode()
    assert f'src="{url}"' in detail and 'width="400" height="300"' in detail
    assert client.get(url).status_code == 200


def picture_files() -> set[str]:
    return {
        f"{folder}/{name}"
        for folder in ("pictures/merchants", "pictures/offers")
        if default_storage.exists(folder)
        for name in default_storage.listdir(folder)[1]
    }


def test_the_file_of_a_rolled_back_change_is_swept_once_a_day_old(merchant, manager):
    merchant_picture_set(merchant=merchant, uploaded=photo(), actor=manager)
    offer = OfferFactory(merchant=merchant, status=Offer.Status.DRAFT)
    offer_picture_set(offer=offer, uploaded=photo(), actor=manager)
    named = {Merchant.objects.get(pk=merchant.pk).picture.name, Offer.objects.get(pk=offer.pk).picture.name}

    class Interrupted(Exception):
        pass

    # A replacement whose transaction rolls back: the row keeps its picture, the new file stays behind.
    with pytest.raises(Interrupted), transaction.atomic():
        merchant_picture_set(merchant=merchant, uploaded=photo(name="new.jpg"), actor=manager)
        raise Interrupted
    assert Merchant.objects.get(pk=merchant.pk).picture.name in named
    left_behind = picture_files() - named
    assert len(left_behind) == 1

    # Too young to tell from a replacement not yet committed: kept.
    assert orphan_pictures_purge() == 0
    two_days_ago = time.time() - 2 * 86400
    for name in picture_files():
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))
    assert orphan_pictures_purge() == 1
    assert picture_files() == named

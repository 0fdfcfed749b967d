"""Fixtures of the city site tests: two cities of the small province (``tree``), each with a site,
and images made on the spot."""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cities import images
from cities.models import Banner, CitySite


@pytest.fixture(autouse=True)
def _media_and_fast_passwords(settings, tmp_path):
    """Uploaded images go to a per-test folder; the users these tests make are hashed quickly."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def categories(db):
    """The merchant categories come from a data migration that an earlier transactional test may
    have flushed: put them back with the migration's own function."""
    migration = importlib.import_module("merchants.migrations.0003_seed_categories")
    migration.seed_categories(apps, None)


def picture(size=(800, 400), colour=(200, 30, 40), image_format="PNG", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=image_format, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "picture.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored(kind: images.ImageKind, size=(800, 400)):
    return images.normalise_image(io.BytesIO(picture(size)), kind=kind)


@pytest.fixture
def make_site(tree):
    def make(union, slug: str, **fields) -> CitySite:
        fields.setdefault("name", f"{union.name}之家")
        fields.setdefault("short_name", slug[:12])
        site = CitySite(union=union, slug=slug, **fields)
        logo = stored(images.LOGO, (300, 300))
        site.logo.save(logo.name, logo, save=False)
        qr = stored(images.WECHAT_QR, (400, 400))
        site.wechat_qr.save(qr.name, qr, save=False)
        site.full_clean()
        site.save()
        return site

    return make


@pytest.fixture
def sites(tree, make_site):
    """City C1's site (blue) and city C2's (green)."""

    class Sites:
        pass

    found = Sites()
    found.c1 = make_site(tree.C1, "cityone", name="一城惠", primary_color="#0b5cab", accent_color="#08427a")
    found.c2 = make_site(tree.C2, "citytwo", name="二城家", primary_color="#17804a", accent_color="#0f5c35")
    return found


@pytest.fixture
def make_banner():
    def make(site, title="横幅", **fields) -> Banner:
        banner = Banner(site=site, title=title, **fields)
        image = stored(images.BANNER, (1200, 600))
        banner.image.save(image.name, image, save=False)
        banner.full_clean()
        banner.save()
        return banner

    return make

"""The member app's files: a manifest per site, the service worker at the root, the offline page, and
the demo sites."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

from cities import demo
from cities.models import Banner, CitySite, NewsPost
from members.auth import SESSION_KEY
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def icon_bytes(client, src: str) -> bytes:
    if src.startswith("/static/"):
        with open(finders.find(src.removeprefix("/static/").split("?")[0]), "rb") as file:
            return file.read()
    response = client.get(src)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return response.content


@pytest.mark.parametrize("url", ["/manifest.webmanifest", "/c/cityone/manifest.webmanifest"])
def test_each_site_has_an_installable_manifest(client, sites, url):
    response = client.get(url)
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/me/card/" and manifest["scope"] == "/"
    assert manifest["short_name"] and len(manifest["short_name"]) <= 12
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(icon_bytes(client, icon["src"])))
        sizes[icon["sizes"]] = image.size
        assert icon["type"] == "image/png" and image.format == "PNG"
    assert sizes == {"192x192": (192, 192), "512x512": (512, 512)}
    if url.startswith("/c/"):
        assert manifest["name"] == "一城惠" and manifest["theme_color"] == "#0b5cab"
        assert manifest["id"] == "/?site=cityone"
    else:
        assert manifest["name"] == "工会会员卡普惠服务平台" and manifest["theme_color"] == "#c8102e"


def test_an_icon_of_another_size_is_not_drawn(client, sites):
    assert client.get("/c/cityone/icon-193.png").status_code == 404


def test_the_service_worker_is_served_from_the_root_with_a_shell_that_exists(client, sites):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", body).group(1))
    assert "/offline/" in shell and "/static/members/card.js" in shell
    for url in shell:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
        else:
            assert client.get(url).status_code == 200, url
    # No personal page is ever part of the shell.
    assert not any(url.startswith("/me/") for url in shell)
    assert re.search(r'var VERSION = "[0-9a-f]{16}";', body)


def test_every_page_registers_the_service_worker_and_links_the_manifest(client, sites):
    for url in ("/", "/me/sign-in/", "/c/cityone/"):
        html = client.get(url).content.decode()
        assert 'src="/static/cities/pwa.js" data-service-worker="/sw.js"' in html, url
        assert '<link rel="manifest"' in html, url


def test_the_offline_page_carries_nobodys_data(client, sites):
    member = MemberFactory(name="张三丰")
    notify(
        recipient=Recipient.member(member.pk), topic=Topic.CARD_READY, title="卡", body="卡", dedup_key="x"
    )
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    html = client.get("/offline/").content.decode()
    assert "需要联网" in html
    assert "消息" not in html and "张" not in html
    assert 'href="/me/card/"' in html


def test_the_card_page_is_ready_for_offline_use(client, sites):
    from members.models import Card
    from tests.factories import CardFactory

    member = MemberFactory()
    member.consent_at = member.created_at
    member.save()
    CardFactory(member=member, status=Card.Status.ACTIVE)
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    html = client.get("/me/card/").content.decode()
    assert 'data-offline-code="/me/card/offline-code.json"' in html
    assert 'data-role="needs-connection"' in html and "需要联网" in html
    assert 'data-role="sign-out"' in html


def test_the_demo_sites_are_themed_apart_and_seeded_once(db, categories):
    from members import demo as members_demo

    members_demo.seed_unions(workplaces_per_county=0)
    assert demo.seed_cities(base_url="https://portal.example.org", log=lambda message: None) == 2
    assert demo.seed_cities(log=lambda message: None) == 0
    tangshan = CitySite.objects.get(slug="tangshan")
    shijiazhuang = CitySite.objects.get(slug="shijiazhuang")
    assert tangshan.name == "唐工惠" and tangshan.union.code == "130200"
    assert shijiazhuang.union.code == "130100"
    assert tangshan.primary_color != shijiazhuang.primary_color
    assert Banner.objects.filter(site=tangshan).count() == 2
    assert NewsPost.objects.filter(site=tangshan, status="published").count() == 3
    assert NewsPost.objects.filter(site=tangshan, status="draft").count() == 1
    client = Client()
    home = client.get("/c/tangshan/")
    assert home.status_code == 200 and len(home.context["banners"]) == 2
    for url in ("/c/tangshan/logo.png", "/c/tangshan/wechat-qr.png", "/c/shijiazhuang/icon-512.png"):
        assert client.get(url).status_code == 200, url
    assert (
        demo.site_address("tangshan", "https://portal.example.org")
        == "https://portal.example.org/c/tangshan/about/"
    )

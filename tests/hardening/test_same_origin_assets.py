"""Nothing loads from another host: unions run the portal on intranets without internet access.

Every page door of the access matrix is opened by every party allowed through it, and every asset the
page names — scripts, stylesheets, images, icons, the manifest, frames, form targets, ``url(...)`` in
styles — must be on the portal's own origin. Links (``<a href>``) to other sites are navigation, not
assets, and may leave."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.db import transaction

from tests.hardening.test_access_matrix import DOORS, EVERYBODY, bank, clients, objects  # noqa: F401

pytestmark = pytest.mark.django_db

ASSET_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "form": ("action",),
    "input": ("src",),
    "image": ("href",),
    "use": ("href",),
}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\s+['\"]([^'\"]+)", re.IGNORECASE)


class AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.assets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name in ASSET_ATTRIBUTES.get(tag, ()):
            value = values.get(name)
            if not value:
                continue
            if name == "srcset":
                self.assets += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]
            else:
                self.assets.append(value)
        if values.get("style"):
            self.assets += CSS_URL.findall(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.assets += CSS_URL.findall(data) + CSS_IMPORT.findall(data)


def foreign_assets(html: str) -> list[str]:
    collector = AssetCollector()
    collector.feed(html)
    foreign = []
    for asset in collector.assets:
        parts = urlsplit(asset.strip())
        if parts.scheme in ("data", "blob") or (not parts.netloc and parts.scheme in ("", "http", "https")):
            continue
        if parts.netloc in ("testserver", "") and parts.scheme in ("http", "https", ""):
            continue
        foreign.append(asset)
    return foreign


def test_the_collector_finds_assets_of_other_hosts():
    page = """
        <link rel="stylesheet" href="https://cdn.example.com/x.css">
        <script src="//cdn.example.com/x.js"></script>
        <img src="/static/ok.png" srcset="/static/ok@2x.png 2x, https://img.example.com/a.png 3x">
        <div style="background: url('https://fonts.example.com/f.woff')"></div>
        <style>@import "https://fonts.example.com/css"; .a { background: url(/static/ok.png) }</style>
        <a href="https://www.example.com/">a link may leave</a>
        <img src="data:image/png;base64,AAAA">
        <form action="http://testserver/me/sign-in/"></form>
    """
    assert foreign_assets(page) == [
        "https://cdn.example.com/x.css",
        "//cdn.example.com/x.js",
        "https://img.example.com/a.png",
        "https://fonts.example.com/f.woff",
        "https://fonts.example.com/css",
    ]


def test_every_page_loads_its_assets_from_its_own_origin(objects, world, settings):  # noqa: F811
    settings.POS_RATE_LIMIT_PER_MINUTE = 0
    parties = clients(world)
    pages = 0
    found = []
    for name, spec in sorted(DOORS.items()):
        if spec.method != "get":
            continue
        url = spec.url(objects)
        for role in sorted(EVERYBODY if spec.allowed is None else spec.allowed):
            client, headers = parties[role]
            with transaction.atomic():
                response = client.get(url, **headers)
                transaction.set_rollback(True)
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            pages += 1
            found += [f"{name} as {role}: {asset}" for asset in foreign_assets(response.content.decode())]
    assert pages > 50  # the pages were really opened, not all refused
    assert not found, "\n".join(found)


def test_the_interactive_api_docs_are_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert foreign_assets(html) == []
    script = re.search(r'<script src="([^"]+swagger-ui-bundle[^"]*)"', html)
    assert script and script.group(1).startswith("/static/")

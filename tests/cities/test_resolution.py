"""Which site a request is for: a city's by host name or /c/<slug>/, remembered for the member pages,
else the province's — and both ways can be switched off."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from cities.middleware import COOKIE_NAME

pytestmark = pytest.mark.django_db


def theme_of(response) -> tuple[str, str] | None:
    match = re.search(r"--red: (#[0-9a-f]{6}); --red-dark: (#[0-9a-f]{6});", response.content.decode())
    return match.groups() if match else None


def brand_of(response) -> str:
    match = re.search(r'<a class="brand" href="([^"]*)">(.*?)</a>', response.content.decode(), re.S)
    return re.sub(r"<[^>]+>", "", match.group(2)).strip() + " @ " + match.group(1)


def test_the_province_site_is_the_default_and_looks_as_before(client, sites):
    response = client.get("/")
    assert response.status_code == 200
    assert theme_of(response) is None
    assert brand_of(response) == "工会会员卡 @ /"
    assert '<link rel="manifest" href="/manifest.webmanifest">' in response.content.decode()
    assert COOKIE_NAME not in response.cookies


def test_a_city_path_shows_its_site_and_is_remembered_for_the_member_pages(client, sites):
    response = client.get("/c/cityone/")
    assert response.status_code == 200
    assert theme_of(response) == ("#0b5cab", "#08427a")
    assert brand_of(response) == "一城惠 @ /c/cityone/"
    assert response.cookies[COOKIE_NAME].value == "cityone"
    assert response.cookies[COOKIE_NAME]["httponly"]

    # The sign-in page and an unknown offer's 404 alike keep the city's look and name.
    response = client.get("/me/sign-in/")
    assert theme_of(response) == ("#0b5cab", "#08427a")
    assert "一城惠" in response.content.decode()
    assert '<link rel="manifest" href="/c/cityone/manifest.webmanifest">' in response.content.decode()
    assert "Cookie" in response["Vary"]


def test_another_city_path_switches_the_remembered_city(client, sites):
    client.get("/c/cityone/")
    response = client.get("/c/citytwo/news/")
    assert response.cookies[COOKIE_NAME].value == "citytwo"
    assert theme_of(client.get("/me/sign-in/")) == ("#17804a", "#0f5c35")


def test_leaving_for_the_province_forgets_the_city(client, sites):
    client.get("/c/cityone/")
    response = client.post("/c/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies[COOKIE_NAME].value == ""
    assert theme_of(client.get("/")) is None


def test_a_city_host_shows_its_site_at_the_root(settings, sites):
    settings.CITY_SITES_DOMAIN = "portal.test"
    settings.ALLOWED_HOSTS = [".portal.test", "testserver"]
    client = Client(HTTP_HOST="citytwo.portal.test")
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["site"] == sites.c2
    assert brand_of(response) == "二城家 @ /"
    html = response.content.decode()
    assert 'href="/news/"' in html and 'href="/about/"' in html
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert COOKIE_NAME not in response.cookies  # the host is the memory
    assert client.get("/news/").status_code == 200
    assert client.get("/about/").status_code == 200
    assert theme_of(client.get("/me/sign-in/")) == ("#17804a", "#0f5c35")
    # The manifest of the host is the city's.
    assert client.get("/manifest.webmanifest").json()["name"] == "二城家"
    # Another city's path on this host is not this city's page.
    assert client.get("/c/cityone/").status_code == 404


def test_an_unknown_city_host_is_the_province_site(settings, sites):
    settings.CITY_SITES_DOMAIN = "portal.test"
    settings.ALLOWED_HOSTS = [".portal.test", "testserver"]
    response = Client(HTTP_HOST="nowhere.portal.test").get("/")
    assert response.status_code == 200
    assert theme_of(response) is None


def test_host_names_can_be_switched_off(settings, sites):
    settings.CITY_SITES_DOMAIN = ""
    settings.ALLOWED_HOSTS = [".portal.test", "testserver"]
    response = Client(HTTP_HOST="citytwo.portal.test").get("/")
    assert theme_of(response) is None


def test_paths_can_be_switched_off(client, settings, sites):
    settings.CITY_SITES_PATH_PREFIX = False
    assert client.get("/c/cityone/").status_code == 404
    client.cookies[COOKIE_NAME] = "cityone"
    assert theme_of(client.get("/me/sign-in/")) is None


def test_an_unknown_or_switched_off_city_is_not_found(client, sites):
    assert client.get("/c/nosuchcity/").status_code == 404
    sites.c1.is_active = False
    sites.c1.save()
    assert client.get("/c/cityone/").status_code == 404
    assert client.get("/c/cityone/logo.png").status_code == 404


def test_a_remembered_city_that_was_switched_off_is_forgotten(client, sites):
    client.get("/c/cityone/")
    sites.c1.is_active = False
    sites.c1.save()
    response = client.get("/me/sign-in/")
    assert theme_of(response) is None
    assert response.cookies[COOKIE_NAME].value == ""


def test_a_forged_cookie_is_only_a_slug_and_themes_nothing_else(client, sites):
    client.cookies[COOKIE_NAME] = '"><script>alert(1)</script>'
    response = client.get("/me/sign-in/")
    assert response.status_code == 200
    assert theme_of(response) is None
    assert "<script>alert(1)" not in response.content.decode()


def test_the_apis_never_look_up_a_site(client, sites, django_assert_num_queries):
    client.cookies[COOKIE_NAME] = "cityone"
    with django_assert_num_queries(1):  # the categories themselves
        assert client.get("/api/v1/categories/").status_code == 200


def test_signing_out_asks_the_browser_to_clear_the_apps_data(client, sites):
    response = client.post("/me/sign-out/")
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/me/sign-in/")

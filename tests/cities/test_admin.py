"""Staff manage city sites in the admin: a city's operators edit only their own city's site, banners
and news — tried from the other city's side through every door of the admin — and province admins
create sites."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from cities.models import Banner, CitySite, NewsPost
from portal.roles import Role
from tests.cities.conftest import picture, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(tree, make_staff):
    class Staff:
        pass

    made = Staff()
    made.c1 = make_staff(tree.C1, Role.CITY_OPERATOR, username="c1_operator")
    made.c2 = make_staff(tree.C2, Role.CITY_OPERATOR, username="c2_operator")
    made.county = make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="c1a_operator")
    made.province = make_staff(tree.P, Role.PROVINCE_ADMIN, username="province_admin")
    return made


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def site_form(site: CitySite, **changes) -> dict:
    data = {
        "name": site.name,
        "short_name": site.short_name,
        "primary_color": site.primary_color,
        "accent_color": site.accent_color,
        "wechat_account": site.wechat_account,
        "service_phone": site.service_phone,
        "service_hours": site.service_hours,
        "service_address": site.service_address,
        "is_active": "on" if site.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def banner_form(site: CitySite, **changes) -> dict:
    data = {"site": str(site.pk), "title": "新横幅", "link": "/offers/", "order": "0", "is_active": "on"}
    data.update(changes)
    return data


def test_a_city_operator_lists_only_their_own_city(staff, sites, make_banner):
    make_banner(sites.c1, "一城横幅")
    make_banner(sites.c2, "二城横幅")
    NewsPost.objects.create(site=sites.c1, title="一城新闻", body="正文")
    NewsPost.objects.create(site=sites.c2, title="二城新闻", body="正文")
    client = signed_in(staff.c1)
    assert list(client.get("/admin/cities/citysite/").context["cl"].result_list) == [sites.c1]
    assert [b.title for b in client.get("/admin/cities/banner/").context["cl"].result_list] == ["一城横幅"]
    assert [n.title for n in client.get("/admin/cities/newspost/").context["cl"].result_list] == ["一城新闻"]


def test_another_citys_operator_cannot_open_or_change_this_citys_rows(staff, sites, make_banner):
    banner = make_banner(sites.c1, "一城横幅")
    post = NewsPost.objects.create(site=sites.c1, title="一城新闻", body="正文")
    client = signed_in(staff.c2)
    for url in (
        f"/admin/cities/citysite/{sites.c1.pk}/change/",
        f"/admin/cities/banner/{banner.pk}/change/",
        f"/admin/cities/newspost/{post.pk}/change/",
        f"/admin/cities/banner/{banner.pk}/delete/",
        f"/admin/cities/newspost/{post.pk}/delete/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/admin/", url
    # Forged POSTs change and delete nothing.
    client.post(f"/admin/cities/citysite/{sites.c1.pk}/change/", site_form(sites.c1, name="被改了"))
    client.post(f"/admin/cities/banner/{banner.pk}/change/", banner_form(sites.c2, title="被改了"))
    client.post(f"/admin/cities/newspost/{post.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/cities/banner/{banner.pk}/delete/", {"post": "yes"})
    sites.c1.refresh_from_db()
    banner.refresh_from_db()
    assert sites.c1.name == "一城惠" and banner.title == "一城横幅" and banner.site == sites.c1
    assert NewsPost.objects.filter(pk=post.pk).exists()


def test_a_forged_form_cannot_put_content_on_another_citys_site(staff, sites, make_banner):
    client = signed_in(staff.c2)
    response = client.post(
        "/admin/cities/banner/add/",
        {**banner_form(sites.c1), "image": upload(picture((1200, 600)))},
    )
    assert response.status_code == 200
    assert "site" in response.context["adminform"].form.errors
    response = client.post(
        "/admin/cities/newspost/add/",
        {
            "site": sites.c1.pk,
            "title": "冒充",
            "body": "正文",
            "status": "published",
            "published_at_0": "2026-01-01",
            "published_at_1": "08:00",
        },
    )
    assert "site" in response.context["adminform"].form.errors
    assert not Banner.objects.exists() and not NewsPost.objects.exists()

    # Nor move its own banner over to the other city.
    own = make_banner(sites.c2, "二城横幅")
    response = signed_in(staff.c2).post(
        f"/admin/cities/banner/{own.pk}/change/", banner_form(sites.c1, title="搬走")
    )
    assert "site" in response.context["adminform"].form.errors
    own.refresh_from_db()
    assert own.site == sites.c2


def test_the_site_choices_offered_are_the_users_own(staff, sites):
    choices = (
        signed_in(staff.c1).get("/admin/cities/banner/add/").context["adminform"].form.fields["site"].queryset
    )
    assert list(choices) == [sites.c1]
    choices = (
        signed_in(staff.province)
        .get("/admin/cities/banner/add/")
        .context["adminform"]
        .form.fields["site"]
        .queryset
    )
    assert set(choices) == {sites.c1, sites.c2}


def test_a_city_operator_edits_their_site_but_not_its_address_or_union(staff, sites, tree):
    client = signed_in(staff.c1)
    response = client.post(
        f"/admin/cities/citysite/{sites.c1.pk}/change/",
        site_form(sites.c1, name="一城新惠", primary_color="#7A1FA2", slug="hijack", union=str(tree.C2.pk)),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    sites.c1.refresh_from_db()
    assert sites.c1.name == "一城新惠" and sites.c1.primary_color == "#7a1fa2"
    assert sites.c1.slug == "cityone" and sites.c1.union == tree.C1


def test_only_the_province_creates_sites_and_nobody_deletes_them(staff, sites, tree):
    from tests.factories import UnionFactory

    c3 = UnionFactory(code="C3", name="C3市总工会", level="city", parent=tree.P)
    assert signed_in(staff.c1).get("/admin/cities/citysite/add/").status_code == 403
    client = signed_in(staff.province)
    union_choices = (
        client.get("/admin/cities/citysite/add/").context["adminform"].form.fields["union"].queryset
    )
    assert list(union_choices) == [c3]  # cities without a site only
    data = {
        **site_form(
            sites.c1, name="三城汇", short_name="三城汇", primary_color="#b3261e", accent_color="#8c1d18"
        ),
        "union": c3.pk,
        "slug": "citythree",
        "logo": upload(picture((900, 900))),
    }
    response = client.post("/admin/cities/citysite/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    site = CitySite.objects.get(slug="citythree")
    assert site.union == c3
    with site.logo.open("rb") as stored:
        logo = Image.open(io.BytesIO(stored.read()))
    assert logo.format == "PNG" and logo.size == (512, 512)
    assert client.get(f"/admin/cities/citysite/{site.pk}/delete/").status_code == 403


def test_a_county_operator_has_no_door_to_the_city_site(staff, sites):
    client = signed_in(staff.county)
    assert client.get("/admin/cities/citysite/").status_code == 403
    assert client.get(f"/admin/cities/citysite/{sites.c1.pk}/change/").status_code in (302, 403)
    assert client.get("/admin/cities/newspost/add/").status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("primary_color", "#ffeeaa", "主色太浅"),
        ("accent_color", "#cccccc", "强调色太浅"),
        ("primary_color", "red;}", "六位十六进制"),
        ("accent_color", "#12345", "六位十六进制"),
    ],
)
def test_colours_must_be_hex_and_readable(staff, sites, field, value, message):
    response = signed_in(staff.c1).post(
        f"/admin/cities/citysite/{sites.c1.pk}/change/", site_form(sites.c1, **{field: value})
    )
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    sites.c1.refresh_from_db()
    assert sites.c1.primary_color == "#0b5cab" and sites.c1.accent_color == "#08427a"


def test_an_upload_that_is_not_an_image_is_refused_with_a_message(staff, sites):
    fake = upload(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.png")
    response = signed_in(staff.c1).post(
        f"/admin/cities/citysite/{sites.c1.pk}/change/", {**site_form(sites.c1), "logo": fake}
    )
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["logo"])
    assert "图片" in errors


def test_a_banner_links_only_within_the_portal(staff, sites):
    client = signed_in(staff.c1)
    for link in ("https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil"):
        response = client.post(
            "/admin/cities/banner/add/",
            {**banner_form(sites.c1, link=link), "image": upload(picture((1200, 600)))},
        )
        assert "link" in response.context["adminform"].form.errors, link
    response = client.post(
        "/admin/cities/banner/add/",
        {
            **banner_form(sites.c1, link="/c/cityone/news/"),
            "image": upload(picture((2400, 1200), image_format="JPEG"), "b.jpg", "image/jpeg"),
        },
    )
    assert response.status_code == 302
    banner = Banner.objects.get()
    assert banner.image.name.startswith("cities/cityone/banner-") and banner.image.name.endswith(".jpg")


def test_news_written_in_the_admin_records_its_author(staff, sites):
    response = signed_in(staff.c1).post(
        "/admin/cities/newspost/add/",
        {
            "site": sites.c1.pk,
            "title": "工会新闻",
            "body": "第一段\n\n第二段",
            "status": "published",
            "published_at_0": "2026-01-01",
            "published_at_1": "08:00:00",
        },
    )
    assert response.status_code == 302
    assert NewsPost.objects.get().created_by == staff.c1

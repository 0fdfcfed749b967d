"""A city site's pages: its banners and news, its own offers before the province's, its contacts —
each page a bounded number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cities import selectors
from cities.models import NewsPost
from discounts.rules import local_day
from tests.factories import MerchantFactory, OfferFactory, UnionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offers(tree, categories):
    """Offers around city C1: its own (a merchant in C1A; C1 members only; C1B members only), one for
    the whole province, one for all members, and two of city C2 (one open to all, one C2's only)."""

    def offer(title, region, eligible_union=None, days_ago=0):
        merchant = MerchantFactory(region=region, name=f"{title}商家")
        published = timezone.now() - datetime.timedelta(days=days_ago)
        return OfferFactory(
            merchant=merchant, title=title, eligible_union=eligible_union, published_at=published
        )

    class Offers:
        pass

    made = Offers()
    made.merchant_in_c1 = offer("一城商家优惠", tree.C1A, days_ago=5)
    made.for_c1_members = offer("一城会员专享", tree.C2A, eligible_union=tree.C1, days_ago=4)
    made.for_c1b_members = offer("一城乙县专享", tree.C2B, eligible_union=tree.C1B, days_ago=6)
    made.for_province = offer("全省通用", tree.C2A, eligible_union=tree.P, days_ago=1)
    made.for_everyone = offer("人人可用", tree.C2B, days_ago=2)
    made.c2_open = offer("二城商家优惠", tree.C2A, days_ago=0)
    made.for_c2_members = offer("二城会员专享", tree.C1A, eligible_union=tree.C2, days_ago=3)
    return made


def test_the_city_offers_come_first_then_the_province_wide_ones(sites, offers):
    titles = [offer.title for offer in selectors.site_offers(sites.c1)]
    own = ["一城会员专享", "一城商家优惠", "一城乙县专享"]  # newest first within each part
    wide = ["二城商家优惠", "全省通用", "人人可用"]
    assert titles == own + wide
    # An offer only another city's members may use is never listed, whoever the merchant is.
    assert "二城会员专享" not in titles


def test_the_other_city_sees_its_own_first(sites, offers):
    # For C2, the offers of merchants in C2 are its own, whoever may use them (if C2's members may).
    titles = [offer.title for offer in selectors.site_offers(sites.c2)]
    assert titles == ["二城商家优惠", "全省通用", "人人可用", "二城会员专享", "一城商家优惠"]


def test_the_offer_list_filters_apply_to_the_city_list(client, sites, offers):
    response = client.get("/c/cityone/offers/", {"q": "专享"})
    titles = [item["offer"].title for item in response.context["items"]]
    assert titles == ["一城会员专享", "一城乙县专享"]
    assert all(item["own"] for item in response.context["items"])
    assert response.content.decode().count('data-own="1"') == 2


def test_the_home_page_shows_banners_in_their_dates_and_order(client, sites, make_banner, categories):
    today = local_day()
    make_banner(sites.c1, "第二张", order=2)
    make_banner(sites.c1, "第一张", order=1, starts_on=today, ends_on=today)
    make_banner(sites.c1, "已结束", order=0, ends_on=today - datetime.timedelta(days=1))
    make_banner(sites.c1, "未开始", order=0, starts_on=today + datetime.timedelta(days=1))
    make_banner(sites.c1, "已停用", order=0, is_active=False)
    make_banner(sites.c2, "别的城市", order=0)
    response = client.get("/c/cityone/")
    assert [entry["banner"].title for entry in response.context["banners"]] == ["第一张", "第二张"]
    html = response.content.decode()
    image_url = response.context["banners"][0]["image_url"]
    assert image_url.startswith(f"/c/cityone/banners/{response.context['banners'][0]['banner'].pk}.jpg?v=")
    assert client.get(image_url)["Content-Type"] == "image/jpeg"
    assert "别的城市" not in html
    # The six categories of the 特惠圈 lead to the city's offers of each.
    assert 'href="/c/cityone/offers/?category=' in html


def test_news_shows_only_published_posts_whose_time_has_come(client, sites):
    now = timezone.now()
    published = NewsPost.objects.create(site=sites.c1, title="已发布", body="正文", status="published")
    NewsPost.objects.create(site=sites.c1, title="草稿", body="正文", status="draft")
    later = NewsPost.objects.create(
        site=sites.c1,
        title="定时发布",
        body="正文",
        status="published",
        published_at=now + datetime.timedelta(days=1),
    )
    other = NewsPost.objects.create(site=sites.c2, title="别的城市", body="正文", status="published")
    response = client.get("/c/cityone/news/")
    assert [post.title for post in response.context["page"].object_list] == ["已发布"]
    assert client.get(f"/c/cityone/news/{published.pk}/").status_code == 200
    assert client.get(f"/c/cityone/news/{later.pk}/").status_code == 404
    draft = NewsPost.objects.get(title="草稿")
    assert client.get(f"/c/cityone/news/{draft.pk}/").status_code == 404
    # Another city's post is not reachable through this city's address.
    assert client.get(f"/c/cityone/news/{other.pk}/").status_code == 404
    assert client.get(f"/c/citytwo/news/{other.pk}/").status_code == 200


def test_a_news_body_is_plain_text_with_paragraphs(client, sites):
    post = NewsPost.objects.create(
        site=sites.c1,
        title="<b>标题</b>",
        body='第一段<script>alert("x")</script>\n第一段第二行\n\n<img src=x onerror=alert(1)>第二段',
        status="published",
    )
    html = client.get(f"/c/cityone/news/{post.pk}/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>标题" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;标题&lt;/b&gt;" in html
    assert "第一段第二行" in html and html.count("<p>") >= 2
    assert "<br>第一段第二行" in html


def test_the_about_page_shows_the_wechat_qr_and_the_contacts(client, sites):
    sites.c1.wechat_account = "一城惠"
    sites.c1.service_phone = "0315-12351"
    sites.c1.service_hours = "工作日 8:30–17:30"
    sites.c1.service_address = "一城职工服务中心"
    sites.c1.save()
    response = client.get("/c/cityone/about/")
    html = response.content.decode()
    assert "0315-12351" in html and 'href="tel:031512351"' in html
    assert "工作日 8:30–17:30" in html and "一城职工服务中心" in html and "微信搜索“一城惠”" in html
    qr = response.context["wechat_qr_url"]
    assert qr.startswith("/c/cityone/wechat-qr.png?v=")
    image = client.get(qr)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")


def test_images_of_a_site_without_them_are_not_found(client, sites):
    sites.c1.logo = ""
    sites.c1.wechat_qr = ""
    sites.c1.save()
    assert client.get("/c/cityone/logo.png").status_code == 404
    assert client.get("/c/cityone/wechat-qr.png").status_code == 404
    assert client.get("/c/cityone/banners/999999.jpg").status_code == 404


def test_a_banner_image_of_another_city_is_not_served_under_this_one(client, sites, make_banner):
    banner = make_banner(sites.c2, "二城横幅")
    assert client.get(f"/c/cityone/banners/{banner.pk}.jpg").status_code == 404
    assert client.get(f"/c/citytwo/banners/{banner.pk}.jpg").status_code == 200


def _more_offers(tree, count: int, start: int) -> None:
    for index in range(start, start + count):
        region = tree.C1A if index % 2 else UnionFactory(code=f"X{index}", level="county", parent=tree.C2)
        OfferFactory(merchant=MerchantFactory(region=region), title=f"更多优惠{index}", daily_quota=10)


def test_the_home_page_runs_a_fixed_number_of_queries(
    client, tree, sites, make_banner, django_assert_num_queries
):
    make_banner(sites.c1, "一")
    NewsPost.objects.create(site=sites.c1, title="新闻", body="正文", status="published")
    _more_offers(tree, 2, 0)
    client.get("/c/cityone/")  # the cookie is set once
    with django_assert_num_queries(5) as first:
        client.get("/c/cityone/")
    for index in range(5):
        make_banner(sites.c1, f"横幅{index}")
        NewsPost.objects.create(site=sites.c1, title=f"新闻{index}", body="正文", status="published")
    _more_offers(tree, 20, 2)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get("/c/cityone/")
    assert len(response.context["items"]) == 8


def test_the_offer_and_news_lists_run_a_fixed_number_of_queries(
    client, tree, sites, django_assert_num_queries
):
    _more_offers(tree, 2, 0)
    NewsPost.objects.create(site=sites.c1, title="新闻", body="正文", status="published")
    client.get("/c/cityone/")
    with django_assert_num_queries(4) as offers_first:
        client.get("/c/cityone/offers/")
    with django_assert_num_queries(3) as news_first:
        client.get("/c/cityone/news/")
    _more_offers(tree, 30, 2)
    for index in range(15):
        NewsPost.objects.create(site=sites.c1, title=f"新闻{index}", body="正文", status="published")
    with django_assert_num_queries(len(offers_first.captured_queries)):
        assert len(client.get("/c/cityone/offers/").context["items"]) == 20
    with django_assert_num_queries(len(news_first.captured_queries)):
        assert len(client.get("/c/cityone/news/").context["page"].object_list) == 10


def test_member_pages_reached_from_a_city_add_one_query_for_the_site(
    client, sites, django_assert_num_queries
):
    with django_assert_num_queries(0):
        client.get("/me/sign-in/")
    client.get("/c/cityone/")
    with django_assert_num_queries(1):
        client.get("/me/sign-in/")

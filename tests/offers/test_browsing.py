from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from discounts.models import Offer, OfferDayCounter
from merchants.models import Category, Merchant
from tests.factories import CategoryFactory, StoreFactory

pytestmark = pytest.mark.django_db


def listed_titles(client, **params):
    response = client.get("/", params)
    assert response.status_code == 200
    return [item["offer"].title for item in response.context["items"]]


def test_home_page_lists_published_offers_only(client, make_offer, today):
    make_offer(title="周末观影")
    make_offer(title="草稿优惠", status=Offer.Status.DRAFT)
    make_offer(title="待审核优惠", status=Offer.Status.PENDING)
    make_offer(title="已暂停", status=Offer.Status.PAUSED)
    make_offer(title="未开始", valid_from=today + datetime.timedelta(days=1))
    make_offer(
        title="已过期",
        valid_from=today - datetime.timedelta(days=30),
        valid_until=today - datetime.timedelta(days=1),
    )
    make_offer(title="商家已暂停", merchant_fields={"status": Merchant.Status.SUSPENDED})
    make_offer(
        title="合同到期",
        merchant_fields={
            "contract_start": today - datetime.timedelta(days=400),
            "contract_end": today - datetime.timedelta(days=1),
        },
    )
    assert listed_titles(client) == ["周末观影"]


def test_the_offers_address_leads_to_the_list_with_its_filters(client):
    response = client.get("/offers/?q=%E7%94%B5%E5%BD%B1")  # as a browser sends 电影
    assert response.status_code == 302
    assert response["Location"] == "/?q=%E7%94%B5%E5%BD%B1"


def test_category_tab_filters_by_merchant_category(client, make_offer):
    dining = Category.objects.get(code="dining")
    make_offer(title="观影")
    make_offer(title="聚餐", merchant_fields={"category": dining})
    assert listed_titles(client, category="dining") == ["聚餐"]
    assert listed_titles(client, category="entertainment") == ["观影"]


def test_region_filter_takes_the_whole_subtree(client, make_offer, city):
    make_offer(title="长安区的优惠", region=city.changan)
    make_offer(title="唐山的优惠", region=city.lunan)
    assert listed_titles(client, region=city.sjz.code) == ["长安区的优惠"]
    assert listed_titles(client, region=city.lunan.code) == ["唐山的优惠"]
    assert sorted(listed_titles(client, region=city.province.code)) == ["唐山的优惠", "长安区的优惠"]


def test_region_filter_finds_a_city_merchant_by_its_county_store(client, make_offer, city):
    offer = make_offer(title="全市连锁", region=city.sjz)
    offer.merchant.stores.update(region=city.changan)
    assert listed_titles(client, region=city.changan.code) == ["全市连锁"]


def test_keyword_search_matches_title_merchant_and_category(client, make_offer):
    make_offer(title="周末10元观影", merchant_fields={"name": "星光影城"})
    make_offer(
        title="满100减20",
        merchant_fields={"name": "燕赵饭庄", "category": Category.objects.get(code="dining")},
    )
    assert listed_titles(client, q="观影") == ["周末10元观影"]
    assert listed_titles(client, q="饭庄") == ["满100减20"]
    assert listed_titles(client, q="酒店餐饮") == ["满100减20"]
    assert listed_titles(client, q="影城 周末") == ["周末10元观影"]
    assert listed_titles(client, q="没有这个") == []


def test_available_today_leaves_out_other_weekdays_and_used_up_quotas(client, make_offer, today):
    other_day = today.isoweekday() % 7 + 1
    make_offer(title="每天可用")
    make_offer(title="今天可用", weekdays=[today.isoweekday()])
    make_offer(title="改天可用", weekdays=[other_day])
    used_up = make_offer(title="今日已抢完", daily_quota=5)
    OfferDayCounter.objects.create(offer=used_up, day=today, used=5)
    left = make_offer(title="今日还有", daily_quota=5)
    OfferDayCounter.objects.create(offer=left, day=today, used=4)
    OfferDayCounter.objects.create(offer=used_up, day=today - datetime.timedelta(days=1), used=0)
    make_offer(
        title="预算用完",
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget=Decimal("100"),
        budget_used=Decimal("100"),
    )
    titles = listed_titles(client, available_today="1")
    assert sorted(titles) == sorted(["每天可用", "今天可用", "今日还有"])
    assert len(listed_titles(client)) == 6


def test_near_sorts_by_distance_to_the_nearest_open_store(client, make_offer):
    # A point in Shijiazhuang; one merchant far away in Tangshan, one near, one with a far store
    # and a near store (the nearest counts), one without coordinates (last).
    far = make_offer(title="唐山", store_at=("39.630500", "118.180200"))
    near = make_offer(title="附近", store_at=("38.043000", "114.515000"))
    both = make_offer(title="两家店", store_at=("39.000000", "116.000000"))
    StoreFactory(merchant=both.merchant, latitude=Decimal("38.060000"), longitude=Decimal("114.520000"))
    closed = StoreFactory(
        merchant=far.merchant, latitude=Decimal("38.042100"), longitude=Decimal("114.514100")
    )
    closed.is_active = False
    closed.save()
    nowhere = make_offer(title="无坐标")
    nowhere.merchant.stores.update(latitude=None, longitude=None)
    response = client.get("/", {"near": "38.042000,114.514000"})
    items = response.context["items"]
    assert [item["offer"].title for item in items] == ["附近", "两家店", "唐山", "无坐标"]
    assert items[0]["distance_km"] < 0.2
    assert 1.5 < items[1]["distance_km"] < 2.5
    assert 340 < items[2]["distance_km"] < 390
    assert items[3]["distance_km"] is None
    assert near.pk


def test_near_uses_the_offer_own_stores_when_it_names_some(client, make_offer):
    offer = make_offer(title="仅远处门店", store_at=("38.042000", "114.514000"))
    far_store = StoreFactory(
        merchant=offer.merchant, latitude=Decimal("39.630500"), longitude=Decimal("118.180200")
    )
    offer.stores.set([far_store])
    make_offer(title="中等距离", store_at=("38.300000", "114.600000"))
    assert listed_titles(client, near="38.042,114.514") == ["中等距离", "仅远处门店"]


def test_bad_filters_on_the_page_show_a_message_and_are_ignored(client, make_offer):
    make_offer(title="观影")
    response = client.get("/", {"near": "north", "category": "nope", "region": "999"})
    assert response.status_code == 200
    assert [item["offer"].title for item in response.context["items"]] == ["观影"]
    text = response.content.decode()
    assert "位置格式" in text and "分类不存在" in text and "地区不存在" in text


def test_list_page_runs_a_fixed_number_of_queries(client, make_offer, django_assert_num_queries, city):
    for index in range(3):
        make_offer(title=f"优惠{index}", eligible_union=city.sjz)
    with django_assert_num_queries(5) as first:  # the 5th: the search words' synonyms
        client.get("/", {"near": "38.04,114.51", "available_today": "1", "q": "优惠"})
    for index in range(3, 20):
        make_offer(title=f"优惠{index}", eligible_union=city.sjz, daily_quota=10)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get("/", {"near": "38.04,114.51", "available_today": "1", "q": "优惠"})
    assert len(response.context["items"]) == 20


def test_pagination_keeps_the_filters(client, make_offer):
    for index in range(25):
        make_offer(title=f"观影{index}")
    response = client.get("/", {"q": "观影"})
    assert len(response.context["items"]) == 20
    assert "q=%E8%A7%82%E5%BD%B1&amp;page=2" in response.content.decode()
    response = client.get("/", {"q": "观影", "page": "2"})
    assert len(response.context["items"]) == 5
    assert client.get("/", {"page": "abc"}).status_code == 200


def test_unused_category_factory_code_is_the_seeded_one():
    assert CategoryFactory().name == "休闲娱乐"
    assert Category.objects.count() == 8

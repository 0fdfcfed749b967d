"""The public offer API and the offer detail page: same filters, same words, bounded queries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from discounts.models import Offer, OfferDayCounter
from discounts.selectors import offer_headline, offer_rules_in_words
from members.models import MemberGroup
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cinema(make_offer, city, today):
    offer = make_offer(
        title="周末10元观影",
        kind=Offer.Kind.FIXED_PRICE,
        percent_off=None,
        fixed_price=Decimal("10"),
        unit_label="张",
        weekdays=[6, 7],
        daily_quota=1500,
        per_member_daily_limit=1,
        merchant_fields={"name": "星光影城"},
    )
    OfferDayCounter.objects.create(offer=offer, day=today, used=1188)
    return offer


def test_rules_in_plain_words(cinema, city):
    assert offer_rules_in_words(cinema, remaining=312)[:2] == [
        "会员价10元/张",
        "仅限周六、周日，每日限量1500张，今日剩余312张",
    ]
    assert "每人每日限1次" in offer_rules_in_words(cinema)
    cinema.kind, cinema.amount_off, cinema.min_spend = Offer.Kind.AMOUNT_OFF, Decimal("20"), Decimal("100")
    assert offer_headline(cinema) == "满100减20"
    cinema.kind, cinema.percent_off = Offer.Kind.PERCENT_OFF, Decimal("12")
    assert offer_headline(cinema) == "8.8折"
    cinema.eligible_groups = [MemberGroup.HARDSHIP]
    cinema.eligible_union = city.sjz
    words = offer_rules_in_words(cinema)
    assert "仅限困难职工" in words and "仅限石家庄市总工会会员" in words


def test_detail_page_shows_rules_merchant_stores_and_map_link(client, cinema):
    StoreFactory(
        merchant=cinema.merchant,
        name="万达店",
        address="中山东路88号",
        latitude=Decimal("38.05"),
        longitude=Decimal("114.52"),
    )
    response = client.get(f"/offers/{cinema.pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "仅限周六、周日，每日限量1500张，今日剩余312张" in text
    assert "星光影城" in text and "中山东路88号" in text
    assert "https://uri.amap.com/marker?position=114.520000%2C38.050000" in text
    assert text.count("<h1") == 1


def test_detail_of_an_unlisted_offer_is_404(client, make_offer):
    draft = make_offer(status=Offer.Status.DRAFT)
    assert client.get(f"/offers/{draft.pk}/").status_code == 404
    assert client.get("/offers/999999/").status_code == 404


def test_api_categories(api_client):
    response = api_client.get("/api/v1/categories/")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()][:3] == ["百货超市", "休闲娱乐", "酒店餐饮"]
    assert {c["code"] for c in response.json()} >= {"entertainment", "dining", "finance"}


def test_api_offer_detail_has_remaining_today_and_the_same_words(api_client, cinema):
    response = api_client.get(f"/api/v1/offers/{cinema.pk}/")
    body = response.json()
    assert response.status_code == 200
    assert body["remaining_today"] == 312
    assert body["rules"][1] == "仅限周六、周日，每日限量1500张，今日剩余312张"
    assert body["merchant"]["name"] == "星光影城"
    assert body["stores"][0]["map_url"].startswith("https://uri.amap.com/marker?position=")
    assert body["fixed_price"] == "10.00"


def test_api_detail_of_an_unlisted_offer_is_a_404_envelope(api_client, make_offer):
    draft = make_offer(status=Offer.Status.PENDING)
    response = api_client.get(f"/api/v1/offers/{draft.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "offer_not_found"


def test_api_list_filters(api_client, make_offer, city, today):
    make_offer(title="观影", region=city.changan, weekdays=[today.isoweekday()])
    make_offer(
        title="聚餐",
        region=city.lunan,
        store_at=("39.63", "118.18"),
        merchant_fields={
            "category": __import__("merchants.models").models.Category.objects.get(code="dining")
        },
    )
    make_offer(title="改天", region=city.lunan, weekdays=[today.isoweekday() % 7 + 1])

    def titles(**params):
        response = api_client.get("/api/v1/offers/", params)
        assert response.status_code == 200, response.json()
        return [row["title"] for row in response.json()["results"]]

    assert sorted(titles()) == ["改天", "聚餐", "观影"]
    assert titles(category="dining") == ["聚餐"]
    assert sorted(titles(region=city.tangshan.code)) == ["改天", "聚餐"]
    assert titles(q="聚") == ["聚餐"]
    assert sorted(titles(available_today="true")) == ["聚餐", "观影"]
    near = api_client.get("/api/v1/offers/", {"near": "39.63,118.18"}).json()["results"]
    assert near[0]["title"] == "聚餐" and near[0]["distance_km"] < 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "abc"}, "near"),
        ({"near": "95,200"}, "near"),
        ({"near": "38.0"}, "near"),
        ({"category": "nope"}, "category"),
        ({"region": "000000"}, "region"),
        ({"available_today": "maybe"}, "available_today"),
        ({"q": "长" * 51}, "q"),
        ({"sort": "price"}, "sort"),
    ],
)
def test_api_invalid_filters_are_a_400_envelope(api_client, params, field):
    response = api_client.get("/api/v1/offers/", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_api_list_query_count_does_not_grow_with_page_size(
    api_client, make_offer, city, django_assert_num_queries
):
    for index in range(12):
        make_offer(title=f"优惠{index}", eligible_union=city.sjz, daily_quota=100)
    params = {"near": "38.04,114.51", "region": city.sjz.code, "available_today": "1"}
    with django_assert_num_queries(3) as small:
        response = api_client.get("/api/v1/offers/", {**params, "page_size": 2})
    assert len(response.json()["results"]) == 2
    with django_assert_num_queries(len(small.captured_queries)):
        response = api_client.get("/api/v1/offers/", {**params, "page_size": 12})
    assert len(response.json()["results"]) == 12


def test_api_is_in_the_openapi_schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/offers/" in text and "/api/v1/categories/" in text and "available_today" in text


def test_expired_contract_hides_offers_everywhere(api_client, make_offer, today):
    offer = make_offer(
        merchant_fields={
            "contract_start": datetime.date(2020, 1, 1),
            "contract_end": today - datetime.timedelta(days=1),
        }
    )
    assert api_client.get("/api/v1/offers/").json()["count"] == 0
    assert api_client.get(f"/api/v1/offers/{offer.pk}/").status_code == 404

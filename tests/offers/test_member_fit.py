"""The offer list for a signed-in member: "我能用" is the usability rule with their card and counters,
their city is the default place, and the page's query count does not grow with the offers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from discounts.models import MemberOfferTotalCounter, OfferDayCounter
from members.auth import SESSION_KEY
from tests.factories import CardFactory, MemberFactory, UnionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(city):
    workplace = UnionFactory(code="130102001", parent=city.changan)
    member = MemberFactory(union=workplace)
    CardFactory(member=member)
    return member


@pytest.fixture
def signed_in(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    return client


def titles(response) -> list[str]:
    return [item["offer"].title for item in response.context["items"]]


def test_mine_keeps_what_the_member_can_use(signed_in, member, make_offer, city):
    make_offer(title="人人可用")
    make_offer(title="唐山会员专享", eligible_union=city.tangshan)
    used_up = make_offer(title="每人限一次", per_member_total_limit=1)
    MemberOfferTotalCounter.objects.create(offer=used_up, member=member, used=1)
    assert sorted(titles(signed_in.get("/"))) == ["人人可用", "唐山会员专享", "每人限一次"]
    assert titles(signed_in.get("/", {"mine": "1"})) == ["人人可用"]


def test_mine_without_a_card_keeps_nothing(client, city, make_offer):
    member = MemberFactory(union=UnionFactory(code="130102002", parent=city.changan))
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    make_offer(title="人人可用")
    # The rule refuses a member without an active card only through the card: no card, nothing usable
    # at the till — but a member without a card still sees the list.
    assert titles(client.get("/")) == ["人人可用"]


def test_the_members_city_is_the_default_and_the_whole_province_a_choice(signed_in, make_offer, city):
    make_offer(title="石家庄", region=city.changan)
    make_offer(title="唐山", region=city.lunan)
    response = signed_in.get("/")
    assert response.context["filters"].region == city.sjz
    assert titles(response) == ["石家庄"]
    whole_province = signed_in.get("/", {"region": ""})
    assert sorted(titles(whole_province)) == ["唐山", "石家庄"]
    # The category tabs keep 全省 rather than falling back to the member's city.
    assert all("region=" in tab["query"] for tab in whole_province.context["tabs"])


def test_signed_in_mine_runs_a_fixed_number_of_queries(
    signed_in, make_offer, city, django_assert_num_queries
):
    for index in range(3):
        make_offer(title=f"优惠{index}")
    with CaptureQueriesContext(connection) as first:
        signed_in.get("/", {"mine": "1", "q": "优惠"})
    for index in range(3, 20):
        make_offer(title=f"优惠{index}", eligible_union=city.tangshan)
    with django_assert_num_queries(len(first.captured_queries)):
        response = signed_in.get("/", {"mine": "1", "q": "优惠"})
    assert len(response.context["items"]) == 3


def test_the_api_adds_whether_usable_today_and_why_not(client, make_offer, today):
    make_offer(title="人人可用")
    sold_out = make_offer(title="限量", daily_quota=1)
    OfferDayCounter.objects.create(offer=sold_out, day=today, used=1)
    body = client.get("/api/v1/offers/").json()
    rows = {row["title"]: row for row in body["results"]}
    assert rows["人人可用"]["usable_today"] is True and rows["人人可用"]["not_usable_words"] == ""
    assert rows["限量"]["usable_today"] is False and rows["限量"]["not_usable_words"] == "今日已抢光"
    assert rows["限量"]["remaining_today"] == 0  # the fields it had are kept
    mine = client.get("/api/v1/offers/", {"mine": "1"}).json()
    assert [row["title"] for row in mine["results"]] == ["人人可用"]

"""The offer list's FilterSet on its own: its form reads the parameters (with the page's messages),
and its filters applied to values already read give what the form's own filtering gives."""

from __future__ import annotations

import pytest

from discounts.filters import OfferFilterSet
from discounts.models import Offer
from discounts.selectors import offer_filters_parse, offer_list

pytestmark = pytest.mark.django_db


def test_the_form_reports_each_bad_value_in_plain_chinese():
    form = OfferFilterSet(
        data={"category": "nope", "region": "000000", "available_today": "maybe", "near": "95,200"},
        queryset=Offer.objects.none(),
    ).form
    assert not form.is_valid()
    assert form.errors["category"] == ["分类不存在。"]
    assert form.errors["region"] == ["地区不存在。"]
    assert form.errors["available_today"] == ["“今日可用”只能是 1 或 0。"]
    assert "纬度须在" in form.errors["near"][0]


def test_the_page_keeps_the_good_filters_and_reports_the_bad_ones(city):
    filters = offer_filters_parse(
        {"region": city.changan.code, "q": "  电影   票 ", "near": "abc", "available_today": "on"},
        strict=False,
    )
    assert (filters.region, filters.q, filters.near, filters.available_today) == (
        city.changan,
        "电影 票",
        None,
        True,
    )
    assert list(filters.errors) == ["near"]


def test_a_long_keyword_is_cut_and_reported():
    filters = offer_filters_parse({"q": "长" * 60}, strict=False)
    assert filters.q == "长" * 50
    assert filters.errors["q"] == ["关键词最多50个字。"]


def test_values_read_once_filter_as_the_form_does(make_offer, city):
    make_offer(title="长安观影", region=city.changan)
    make_offer(title="路南聚餐", region=city.lunan)
    params = {"region": city.changan.code, "q": "观影"}
    filterset = OfferFilterSet(data=params, queryset=Offer.objects.order_by("id"))
    by_form = list(filterset.qs.values_list("title", flat=True))
    by_values = [offer.title for offer in offer_list(filters=offer_filters_parse(params, strict=True))]
    assert by_form == by_values == ["长安观影"]

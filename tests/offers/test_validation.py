"""offer_validate: every rule refuses nonsense with a Chinese message on the right field."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from discounts.models import Offer
from discounts.services import offer_validate
from portal.errors import ValidationFailed
from tests.factories import MerchantFactory, PartnerBankFactory, StoreFactory, UnionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return MerchantFactory()


def build(merchant, **fields) -> Offer:
    values = {
        "merchant": merchant,
        "title": "会员优惠",
        "kind": Offer.Kind.PERCENT_OFF,
        "percent_off": Decimal("10"),
        "valid_from": timezone.localdate() - datetime.timedelta(days=30),  # live whenever the suite runs
        "valid_until": timezone.localdate() + datetime.timedelta(days=365),
    }
    values.update(fields)
    return Offer(**values)


def refusal(offer, stores=None) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        offer_validate(offer, stores=stores)
    assert caught.value.code == "validation_error"
    return caught.value.fields


def test_a_sensible_offer_passes(merchant):
    offer_validate(build(merchant))


@pytest.mark.parametrize("percent", ["0", "-5", "100", "120"])
def test_percent_off_outside_0_to_100_is_refused(merchant, percent):
    fields = refusal(build(merchant, percent_off=Decimal(percent)))
    assert "折扣比例" in fields["percent_off"][0]


def test_percent_off_needs_a_percentage(merchant):
    assert "折扣比例" in refusal(build(merchant, percent_off=None))["percent_off"][0]


def test_end_before_start_is_refused(merchant):
    fields = refusal(
        build(merchant, valid_from=datetime.date(2026, 5, 1), valid_until=datetime.date(2026, 4, 30))
    )
    assert fields["valid_until"] == ["结束日期不能早于开始日期。"]


def test_negative_quota_is_refused(merchant):
    assert fields_of(build(merchant, daily_quota=-1))["daily_quota"] == ["每日名额不能小于0。"]


def fields_of(offer):
    return refusal(offer)


def test_zero_per_member_limit_is_refused_but_zero_quota_is_allowed(merchant):
    offer_validate(build(merchant, daily_quota=0))
    assert "至少为1" in refusal(build(merchant, per_member_daily_limit=0))["per_member_daily_limit"][0]


def test_daily_member_limit_above_total_limit_is_refused(merchant):
    fields = refusal(build(merchant, per_member_daily_limit=3, per_member_total_limit=2))
    assert "不能超过" in fields["per_member_daily_limit"][0]


def test_the_retired_allowance_kind_is_refused_and_points_to_the_claims(merchant):
    fields = refusal(
        build(
            merchant,
            kind=Offer.Kind.ALLOWANCE,
            percent_off=None,
            allowance_per_unit=Decimal("20"),
            unit_label="天",
            funder=Offer.Funder.UNION,
            budget=Decimal("200000"),
            budget_owner=UnionFactory(),
        )
    )
    assert "住院补贴不再作为商家优惠" in fields["kind"][0]


def test_fixed_price_needs_a_price(merchant):
    fields = refusal(build(merchant, kind=Offer.Kind.FIXED_PRICE))
    assert fields["fixed_price"] == ["特价类优惠须填写每份特价。"]


def test_amount_off_needs_an_amount_and_a_minimum_not_below_it(merchant):
    assert "减免金额" in refusal(build(merchant, kind=Offer.Kind.AMOUNT_OFF))["amount_off"][0]
    fields = refusal(
        build(merchant, kind=Offer.Kind.AMOUNT_OFF, amount_off=Decimal("20"), min_spend=Decimal("10"))
    )
    assert fields["min_spend"] == ["最低消费不能低于减免金额。"]


def test_amounts_of_another_kind_are_cleared(merchant):
    offer = build(merchant, kind=Offer.Kind.AMOUNT_OFF, amount_off=Decimal("20"), min_spend=Decimal("100"))
    offer_validate(offer)
    assert offer.percent_off is None


def test_bank_funder_needs_a_bank_and_only_bank_offers_name_one(merchant):
    assert refusal(build(merchant, funder=Offer.Funder.BANK))["bank"] == ["银行出资的优惠须选择出资银行。"]
    assert "只有银行" in refusal(build(merchant, bank=PartnerBankFactory()))["bank"][0]
    offer_validate(build(merchant, funder=Offer.Funder.BANK, bank=PartnerBankFactory()))


def test_union_funded_discount_needs_a_budget(merchant):
    fields = refusal(build(merchant, funder=Offer.Funder.UNION))
    assert set(fields) == {"budget", "budget_owner"}


def test_stores_of_another_merchant_are_refused(merchant):
    own = StoreFactory(merchant=merchant)
    other = StoreFactory()
    offer = build(merchant)
    offer_validate(offer, stores=[own])
    assert refusal(offer, stores=[own, other])["stores"] == ["所选门店不属于该商家。"]


def test_weekdays_must_be_1_to_7_and_time_window_ordered(merchant):
    assert "1（周一）到7" in refusal(build(merchant, weekdays=[0, 8]))["weekdays"][0]
    fields = refusal(build(merchant, time_from=datetime.time(14), time_until=datetime.time(11)))
    assert fields["time_until"] == ["每日结束时间须晚于开始时间。"]
    assert "同时填写" in refusal(build(merchant, time_from=datetime.time(14)))["time_until"][0]


def test_unknown_member_group_and_missing_title_are_refused(merchant):
    fields = refusal(build(merchant, title=" ", eligible_groups=["vip"]))
    assert fields["title"] == ["请填写优惠标题。"]
    assert fields["eligible_groups"] == ["适用群体无效。"]


def test_budget_below_what_is_spent_is_refused(merchant):
    offer = build(
        merchant,
        funder=Offer.Funder.UNION,
        budget=Decimal("50"),
        budget_owner=UnionFactory(),
        budget_used=Decimal("80"),
    )
    assert "已用预算" in refusal(offer)["budget"][0]

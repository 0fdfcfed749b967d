"""The one usability rule (discounts.usability) from every door: a bank-funded offer only for cards of
that bank, at the till and over the POS API; the daily time window at the till, the API, verify and
the member list's "available today"; and the list filter agreeing with the function."""

from __future__ import annotations

import datetime
import itertools
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from discounts import selectors
from discounts.models import Offer, OfferDayCounter, Redemption
from discounts.redemption import redemption_verify
from discounts.usability import Usage, offer_usability, usable_today_q
from members.auth import SESSION_KEY
from members.models import Card
from tests.factories import CardFactory, MemberFactory, MerchantFactory, OfferFactory, PartnerBankFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TILL = "/merchant/till/"
REDEEM = "/api/v1/redemptions/"
VERIFY = "/api/v1/cards/verify/"


@pytest.fixture
def ccb():
    return PartnerBankFactory(code="CCB", name="建设银行", bin="621700")


@pytest.fixture
def ccb_card(tree, ccb):
    return CardFactory(bank=ccb, member=MemberFactory(union=tree.C1A1, name="李四光"))


@pytest.fixture
def bank_offer(make_offer, ccb):
    return make_offer(title="建行刷卡立减", funder=Offer.Funder.BANK, bank=ccb)


def _nonce(page) -> str:
    """The form's nonce; a page that offers no form for the offer is posted to as a forged form is."""
    found = re.search(r'name="nonce" value="([0-9a-f]{32})"', page.content.decode())
    return found.group(1) if found else uuid.uuid4().hex


def _till_redeem(client, card, offer):
    client.post(f"{TILL}identify/", {"card": card.number})
    page = client.get(TILL)
    response = client.post(
        f"{TILL}redeem/",
        {"offer": offer.pk, "amount": "100", "units": "1", "nonce": _nonce(page)},
        follow=True,
    )
    return page.content.decode(), response.content.decode()


def _api_redeem(api_client, shop, card, offer, key):
    return api_client.post(
        REDEEM,
        {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "100.00"},
        format="json",
        **shop.headers(HTTP_IDEMPOTENCY_KEY=key),
    )


def _verified(api_client, shop, card, offer) -> dict:
    response = api_client.post(VERIFY, {"card_number": card.number}, format="json", **shop.headers())
    assert response.status_code == 200, response.content
    return next(item for item in response.json()["offers"] if item["id"] == offer.pk)


# --- The bank's offers, for the bank's cards -------------------------------------------------------


def test_till_refuses_a_bank_funded_offer_on_another_banks_card(client, shop, card, bank_offer):
    client.force_login(shop.cashier.user)
    page, answer = _till_redeem(client, card, bank_offer)  # card: 河北银行
    assert "仅限建设银行工会会员卡使用" in page
    assert "仅限建设银行工会会员卡使用" in answer
    assert not Redemption.objects.exists()


def test_till_redeems_a_bank_funded_offer_on_that_banks_card(client, shop, ccb_card, bank_offer):
    client.force_login(shop.cashier.user)
    page, answer = _till_redeem(client, ccb_card, bank_offer)
    assert "仅限建设银行" not in page
    assert "核销成功" in answer
    assert Redemption.objects.get().card == ccb_card


def test_pos_api_refuses_a_bank_funded_offer_on_another_banks_card(api_client, shop, card, bank_offer):
    check = _verified(api_client, shop, card, bank_offer)
    assert (check["eligible"], check["reason_code"]) == (False, "not_eligible")
    assert "建设银行" in check["reason"]
    response = _api_redeem(api_client, shop, card, bank_offer, "bank-1")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "not_eligible"
    assert not Redemption.objects.exists()
    assert not OfferDayCounter.objects.exists()


def test_pos_api_redeems_a_bank_funded_offer_on_that_banks_card(api_client, shop, ccb_card, bank_offer):
    assert _verified(api_client, shop, ccb_card, bank_offer)["eligible"] is True
    response = _api_redeem(api_client, shop, ccb_card, bank_offer, "bank-2")
    assert response.status_code == 201, response.content


def test_a_merchant_funded_offer_takes_any_banks_card(api_client, shop, card, ccb_card, make_offer):
    offer = make_offer(title="商家自营折扣")
    assert _api_redeem(api_client, shop, card, offer, "any-1").status_code == 201
    assert _api_redeem(api_client, shop, ccb_card, offer, "any-2").status_code == 201


def test_an_online_bank_offer_gives_codes_only_to_that_banks_cardholders(card, ccb_card, bank_offer):
    from discounts.vouchers import voucher_claim, voucher_codes_add

    Offer.objects.filter(pk=bank_offer.pk).update(channel=Offer.Channel.ONLINE, per_member_total_limit=1)
    bank_offer.refresh_from_db()
    voucher_codes_add(offer=bank_offer, codes=["CODE-A", "CODE-B"])
    with pytest.raises(Exception, match="仅限建设银行工会会员卡使用"):
        voucher_claim(offer=bank_offer, member=card.member)
    assert voucher_claim(offer=bank_offer, member=ccb_card.member).code in {"CODE-A", "CODE-B"}


# --- The daily time window -------------------------------------------------------------------------


def _window_over_for_today() -> tuple[datetime.time, datetime.time]:
    """A window that has closed for today (or, just after midnight, not opened yet)."""
    if timezone.localtime().hour >= 2:
        return datetime.time(0, 0), datetime.time(1, 0)
    return datetime.time(22, 0), datetime.time(23, 0)


def test_till_and_api_refuse_outside_the_daily_time_window(client, api_client, shop, card, make_offer):
    start, end = _window_over_for_today()
    offer = make_offer(title="早场特惠", time_from=start, time_until=end)
    check = _verified(api_client, shop, card, offer)
    assert (check["eligible"], check["reason_code"], check["reason"]) == (
        False,
        "offer_not_active",
        "不在每日优惠时段内。",
    )
    response = _api_redeem(api_client, shop, card, offer, "window-1")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "offer_not_active")
    client.force_login(shop.cashier.user)
    _page, answer = _till_redeem(client, card, offer)
    assert "不在每日优惠时段内" in answer
    assert not Redemption.objects.exists()


def test_inside_the_daily_time_window_the_offer_is_usable(api_client, shop, card, make_offer):
    offer = make_offer(time_from=datetime.time(0, 0), time_until=datetime.time(23, 59, 59, 999999))
    assert _verified(api_client, shop, card, offer)["eligible"] is True
    assert _api_redeem(api_client, shop, card, offer, "window-2").status_code == 201


def test_member_list_available_today_leaves_out_an_offer_whose_window_is_over(client, make_offer):
    start, end = _window_over_for_today()
    over = make_offer(title="早场特惠")
    Offer.objects.filter(pk=over.pk).update(time_from=start, time_until=end)
    make_offer(title="全天特惠")
    if start == datetime.time(0, 0):  # the window closed earlier today
        listed = client.get("/?available_today=1").content.decode()
        assert "全天特惠" in listed and "早场特惠" not in listed
    api = client.get("/api/v1/offers/?available_today=1").json()
    titles = {item["title"] for item in api["results"]}
    assert "全天特惠" in titles
    assert ("早场特惠" in titles) is (start != datetime.time(0, 0))  # opens later today: still listed
    assert "早场特惠" in client.get("/").content.decode()


def test_verify_answers_by_the_moment_asked(shop, card, make_offer):
    offer = make_offer(weekdays=[6, 7], time_from=datetime.time(18), time_until=datetime.time(22))
    saturday_evening = datetime.datetime(2026, 12, 5, 19, 0, tzinfo=SHANGHAI)
    saturday_noon = saturday_evening.replace(hour=12)
    monday_evening = saturday_evening + datetime.timedelta(days=2)

    def check(now):
        found = redemption_verify(merchant=shop.merchant, card_number=card.number, now=now)
        return next(c for c in found.offers if c.offer.pk == offer.pk).usability

    assert check(saturday_evening).usable
    assert (check(saturday_noon).reason, check(saturday_noon).words) == ("time_window", "仅每日18:00–22:00")
    assert (check(monday_evening).reason, check(monday_evening).words) == ("weekday", "仅周六、周日")


# --- Words, order, counters ----------------------------------------------------------------------


def test_words_for_members_and_the_order_of_the_terms(tree, card):
    offer = OfferFactory(daily_quota=2, per_member_daily_limit=1)
    now = timezone.localtime()
    assert offer_usability(offer, now=now, usage=Usage(used_today=2)).words == "今日已抢光"
    # the member's own limit is met before the offer's quota, as the database function takes them
    both = offer_usability(offer, now=now, member=card.member, card=card, usage=Usage(2, 1, 1))
    assert (both.code, both.reason, both.words) == ("member_limit_reached", "member_daily", "今日已用过")
    frozen = Card(status=Card.Status.FROZEN, bank_id=card.bank_id)
    assert offer_usability(offer, now=now, member=card.member, card=frozen).code == "card_inactive"
    assert offer_usability(offer, now=now, usage=Usage(used_today=1)).remaining_today == 1


def test_a_union_budget_left_below_one_allowance_refuses():
    offer = OfferFactory(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget=Decimal("100"),
    )
    Offer.objects.filter(pk=offer.pk).update(budget_used=Decimal("80.01"))
    offer.refresh_from_db()
    assert offer_usability(offer, usage=Usage()).reason == "budget"
    assert not selectors.offer_list(filters=selectors.OfferFilters(available_today=True)).filter(pk=offer.pk)


# --- The list filter is the function ---------------------------------------------------------------

_MOMENTS = [
    datetime.datetime(2026, 12, 5, 9, 30, tzinfo=SHANGHAI),  # Saturday morning
    datetime.datetime(2026, 12, 5, 20, 0, tzinfo=SHANGHAI),  # Saturday evening
    datetime.datetime(2026, 12, 7, 13, 0, tzinfo=SHANGHAI),  # Monday
]


def test_available_today_filter_agrees_with_the_rule_for_every_offer_and_moment(tree):
    open_merchant = MerchantFactory(region=tree.C1A)
    closed_merchant = MerchantFactory(region=tree.C1A, status="suspended")
    day = datetime.date(2026, 12, 5)
    offers = []
    shapes = itertools.product(
        [[], [6, 7], [1, 2, 3, 4, 5]],
        [(None, None), (datetime.time(10), datetime.time(12)), (datetime.time(18), datetime.time(22))],
        [None, 3],
        [(None, Decimal("0")), (Decimal("50"), Decimal("49.99")), (Decimal("50"), Decimal("50"))],
    )
    for index, (weekdays, (start, end), quota, (budget, used)) in enumerate(shapes):
        offer = OfferFactory(
            merchant=closed_merchant if index % 11 == 0 else open_merchant,
            weekdays=weekdays,
            time_from=start,
            time_until=end,
            daily_quota=quota,
            funder=Offer.Funder.UNION if budget is not None else Offer.Funder.MERCHANT,
            budget=budget,
            status=Offer.Status.PAUSED if index % 13 == 0 else Offer.Status.PUBLISHED,
        )
        Offer.objects.filter(pk=offer.pk).update(budget_used=used)
        if quota is not None and index % 2:
            OfferDayCounter.objects.create(offer=offer, day=day, used=quota)
        offers.append(offer.pk)
    for now in _MOMENTS:
        annotated = Offer.objects.filter(pk__in=offers).annotate(used_today=selectors._used_today(now.date()))
        in_filter = set(annotated.filter(usable_today_q(now)).values_list("pk", flat=True))
        by_rule = {
            offer.pk
            for offer in annotated.select_related("merchant")
            if offer_usability(
                offer, now=now, usage=Usage(used_today=offer.used_today), rest_of_day=True
            ).usable
        }
        assert in_filter == by_rule, now
        assert by_rule and by_rule != set(offers)  # the sample has both answers


# --- The offer's page ------------------------------------------------------------------------------


def _sign_in(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def test_offer_page_tells_the_signed_in_member_if_they_can_use_it_now(client, card, ccb_card, bank_offer):
    assert "现在可用" in client.get(f"/offers/{bank_offer.pk}/").content.decode()  # for everyone
    _sign_in(client, card.member)  # a 河北银行 card
    page = client.get(f"/offers/{bank_offer.pk}/").content.decode()
    assert "现在不可用" in page and "仅限建设银行卡" in page
    _sign_in(client, ccb_card.member)
    assert "现在可用" in client.get(f"/offers/{bank_offer.pk}/").content.decode()


def test_offer_page_says_today_is_sold_out(client, make_offer):
    offer = make_offer(daily_quota=2)
    OfferDayCounter.objects.create(offer=offer, day=timezone.localdate(), used=2)
    page = client.get(f"/offers/{offer.pk}/").content.decode()
    assert "现在不可用" in page and "今日已抢光" in page

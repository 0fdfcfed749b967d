"""The integrators' sandbox, over real HTTP to gunicorn: a test key (pk_test_…) acts on the sandbox
merchant with its test cards, meets every refusal through the one rule, may fix "now", and never
touches a real card, a real offer's counters, a statement or the members' listings; real keys never
see a test card. (discounts.sandbox)"""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from discounts.models import Offer, OfferDayCounter, Redemption
from discounts.redemption import redemption_create
from discounts.sandbox import CARDS, OFFERS, sandbox_key_create, sandbox_merchant
from members.models import SANDBOX_UNION_CODE, Card, Union
from members.transfers import transfer_destination
from merchants.apikeys import api_key_create
from merchants.models import ApiKey
from portal.clock import local_day
from portal.errors import ValidationFailed
from settlement.selectors import merchants_owed, owed_shares
from stats.coverage import coverage_snapshot_compute
from stats.models import CoverageSnapshot
from tests.conftest import BASE_DIR
from tests.factories import CardFactory, MemberFactory, MerchantFactory, OfferFactory, StoreFactory
from tests.http import http_request

TEST_CARD, SECOND_CARD, FROZEN_CARD, RETIRED_CARD, MODEL_WORKER_CARD = (card.number for card in CARDS)
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class Till:
    """A POS client of one key, speaking HTTP to the server."""

    def __init__(self, base_url: str, key: str):
        self.base_url, self.key = base_url, key

    def call(self, method_path: str, body: dict | None = None, **headers) -> tuple[int, dict, dict]:
        method, path = method_path.split(" ", 1)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Api-Key {self.key}", "Content-Type": "application/json", **headers}
        request_headers = {name.replace("_", "-"): value for name, value in headers.items()}
        status, answer_headers, raw = http_request(
            f"{self.base_url}{path}", data, request_headers, method=method
        )
        return status, answer_headers, json.loads(raw) if raw else {}

    def redeem(self, offer_id: int, card_number: str, amount: str = "100.00", store=None, **headers):
        body = {"offer": offer_id, "card_number": card_number, "amount": amount}
        if store is not None:
            body["store"] = store
        return self.call("POST /api/v1/redemptions/", body, Idempotency_Key=str(uuid.uuid4()), **headers)


@pytest.fixture
def world(tree):
    """A real merchant with a real offer and a real member's card, its live key and two test keys
    (its own integrator's and another merchant's)."""
    merchant = MerchantFactory(region=tree.C1A, name="星光影城")
    store = StoreFactory(merchant=merchant)
    offer = OfferFactory(merchant=merchant, daily_quota=5)
    card = CardFactory(member=MemberFactory(union=tree.C1A1), status=Card.Status.ACTIVE)
    _key, live = api_key_create(merchant=merchant, name="收银台", created_by=None)
    test_key, test = sandbox_key_create(merchant=merchant, name="厂商联调", created_by=None)
    _other_key, other_test = sandbox_key_create(
        merchant=MerchantFactory(region=tree.C2A), name="另一厂商", created_by=None
    )
    offers = {offer.title: offer.pk for offer in sandbox_merchant().offers.all()}
    return {
        "offer": offer,
        "store": store,
        "card": card,
        "live": live,
        "test": test,
        "test_key": test_key,
        "other_test": other_test,
        "offers": offers,
    }


def _offer(world, title: str) -> int:
    return world["offers"][title]


@pytest.mark.django_db(transaction=True)
def test_a_test_key_meets_every_refusal_and_voids_through_the_real_api(gunicorn_server, world):
    till = Till(gunicorn_server, world["test"])
    assert world["test"].startswith("pk_test_")
    plain, percent, full, spent, model_only = (_offer(world, offer.title) for offer in OFFERS)

    status, _headers, verified = till.call("POST /api/v1/cards/verify/", {"card_number": TEST_CARD})
    assert status == 200, verified
    codes = {offer["id"]: offer.get("reason_code") for offer in verified["offers"]}
    assert codes == {
        plain: None,
        percent: None,
        full: "quota_exhausted",
        spent: "budget_exhausted",
        model_only: "not_eligible",
    }

    status, _headers, redeemed = till.redeem(plain, TEST_CARD)
    assert status == 201, redeemed
    assert (redeemed["discount"], redeemed["payable"], redeemed["store"]["id"]) == (
        "10.00",
        "90.00",
        world["test_key"].store_id,
    )
    assert till.redeem(model_only, MODEL_WORKER_CARD)[0] == 201
    for offer_id, card_number, code in [
        (plain, FROZEN_CARD, "card_inactive"),
        (plain, RETIRED_CARD, "member_inactive"),
        (full, SECOND_CARD, "quota_exhausted"),
        (spent, SECOND_CARD, "budget_exhausted"),
        (model_only, SECOND_CARD, "not_eligible"),
    ]:
        status, _headers, refused = till.redeem(offer_id, card_number)
        assert (status, refused["error"]["code"]) == (409, code), card_number

    tomorrow = (timezone.localtime() + datetime.timedelta(days=1)).isoformat()
    void = f"POST /api/v1/redemptions/{redeemed['id']}/void/"
    status, _headers, late = till.call(void, {"reason": "联调"}, Test_Now=tomorrow)
    assert (status, late["error"]["code"]) == (409, "void_window_closed")
    status, _headers, voided = till.call(void, {"reason": "联调"})
    assert (status, voided["status"]) == (200, "voided")

    # A redemption "made yesterday" cannot be voided today.
    yesterday = datetime.datetime.combine(
        local_day() - datetime.timedelta(days=1), datetime.time(12), SHANGHAI
    )
    status, _headers, old = till.redeem(percent, SECOND_CARD, Test_Now=yesterday.isoformat())
    assert status == 201, old
    assert Redemption.objects.get(pk=old["id"]).local_day == yesterday.date()
    status, _headers, refused = till.call(f"POST /api/v1/redemptions/{old['id']}/void/", {"reason": "联调"})
    assert (status, refused["error"]["code"]) == (409, "void_window_closed")


@pytest.mark.django_db(transaction=True)
def test_the_two_worlds_never_meet(gunicorn_server, world):
    test_till = Till(gunicorn_server, world["test"])
    live_till = Till(gunicorn_server, world["live"])
    real_card = world["card"].number
    plain = _offer(world, OFFERS[0].title)

    # A real card is unknown to a test key, a test card to a live key — at verify and at redeem.
    for till, card_number, offer_id, store in [
        (test_till, real_card, plain, None),
        (live_till, TEST_CARD, world["offer"].pk, world["store"].pk),
    ]:
        status, _headers, answer = till.call("POST /api/v1/cards/verify/", {"card_number": card_number})
        assert (status, answer["error"]["code"]) == (404, "card_not_found")
        status, _headers, answer = till.redeem(offer_id, card_number, store=store)
        assert (status, answer["error"]["code"]) == (404, "card_not_found")
    # A test key cannot redeem a real offer either (it is another merchant's).
    status, _headers, answer = test_till.redeem(world["offer"].pk, TEST_CARD)
    assert (status, answer["error"]["code"]) == (403, "offer_not_yours")
    # Only a test key may fix "now".
    status, _headers, answer = live_till.call(
        "POST /api/v1/cards/verify/", {"card_number": real_card}, Test_Now="2026-01-01T10:00:00+08:00"
    )
    assert (status, answer["error"]["code"]) == (400, "validation_error")
    status, _headers, answer = test_till.call(
        "POST /api/v1/cards/verify/", {"card_number": TEST_CARD}, Test_Now="tomorrow"
    )
    assert (status, answer["error"]["code"]) == (400, "validation_error")

    # Another integrator's test key sees none of this one's test redemptions.
    status, _headers, mine = test_till.redeem(plain, TEST_CARD)
    assert status == 201
    other = Till(gunicorn_server, world["other_test"])
    assert other.call(f"GET /api/v1/redemptions/{mine['id']}/")[0] == 404
    assert other.call("GET /api/v1/redemptions/")[2]["results"] == []
    assert [row["id"] for row in test_till.call("GET /api/v1/redemptions/")[2]["results"]] == [mine["id"]]

    # Nothing real was touched or shows the sandbox: counters, statements, listings, the province.
    assert not OfferDayCounter.objects.filter(offer=world["offer"]).exists()
    assert not Redemption.objects.filter(card=world["card"]).exists()
    status, _headers, listed = http_request(f"{gunicorn_server}/api/v1/offers/?page_size=100")
    assert status == 200
    assert {offer["merchant"]["id"] for offer in json.loads(listed)["results"]} == {
        world["offer"].merchant_id
    }
    assert Union.objects.province().code == "P"


@pytest.mark.django_db
def test_test_keys_are_made_once_per_integrator_on_one_sandbox_and_revoked_by_their_merchant(client, tree):
    from tests.factories import MerchantUserFactory

    merchant = MerchantFactory(region=tree.C1A)
    manager = MerchantUserFactory(merchant=merchant, role="manager")
    client.force_login(manager.user)
    page = client.get("/merchant/sandbox/")
    assert page.status_code == 200
    assert TEST_CARD in page.content.decode()

    created = client.post("/merchant/sandbox/", {"name": "厂商联调"})
    assert created.status_code == 200
    key = ApiKey.objects.get(sandbox_for=merchant)
    assert f"pk_test_{key.prefix}_" in created.content.decode()
    assert key.merchant.is_sandbox and key.store.merchant_id == key.merchant_id
    sandbox_key_create(merchant=merchant, name="第二个", created_by=None)
    assert ApiKey.objects.filter(sandbox_for=merchant).values("merchant").distinct().count() == 1

    listed = client.get("/merchant/sandbox/").content.decode()
    assert all(offer.title in listed for offer in OFFERS)
    revoked = client.post(f"/merchant/keys/{key.pk}/revoke/", {"confirmed": "1"})
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None

    # Another merchant's manager can neither see nor revoke it.
    stranger = MerchantUserFactory(merchant=MerchantFactory(region=tree.C2A), role="manager")
    client.force_login(stranger.user)
    other = ApiKey.objects.get(sandbox_for=merchant, revoked_at__isnull=True)
    assert other.prefix not in client.get("/merchant/sandbox/").content.decode()
    assert client.post(f"/merchant/keys/{other.pk}/revoke/", {"confirmed": "1"}).status_code == 404


@pytest.mark.django_db
def test_nothing_is_ever_owed_for_a_test_redemption(world):
    """Even a union-subsidised offer an operator added to the sandbox owes no merchant anything."""
    sandbox = sandbox_merchant()
    offer = OfferFactory(
        merchant=sandbox,
        kind=Offer.Kind.AMOUNT_OFF,
        percent_off=None,
        amount_off=Decimal("5.00"),
        funder=Offer.Funder.UNION,
        budget_owner=sandbox.region,
        budget=Decimal("100.00"),
    )
    redemption = redemption_create(
        merchant=sandbox,
        store_id=world["test_key"].store_id,
        offer_id=offer.pk,
        card_number=TEST_CARD,
        amount="50",
    )
    assert redemption.union_subsidy == Decimal("5.00")
    month = local_day().replace(day=1)
    assert not owed_shares(month=month).filter(pk=redemption.pk).exists()
    assert sandbox.pk not in {row["merchant_id"] for row in merchants_owed(month=month)}


def test_the_integrators_guide_names_every_test_card_and_offer():
    guide = (BASE_DIR / "docs" / "pos-api.md").read_text()
    assert all(f"`{card.number}`" in guide for card in CARDS)
    assert all(offer.title in guide for offer in OFFERS)


@pytest.mark.django_db
def test_the_province_counts_the_same_with_the_sandbox_beside_it(tree):
    """The test members live in a tree of their own: the province's snapshot does not change, and
    the province is still the province."""
    CardFactory(member=MemberFactory(union=tree.C1A1), status=Card.Status.ACTIVE)
    merchant = MerchantFactory(region=tree.C1A)
    today = local_day()

    def province_row():
        coverage_snapshot_compute(day=today)
        row = CoverageSnapshot.objects.get(union=tree.P, day=today)
        return row.members, row.cardholders, row.cards_activated, row.merchants

    before = province_row()
    sandbox_key_create(merchant=merchant, name="联调", created_by=None)
    assert province_row() == before
    assert Union.objects.province() == tree.P
    assert CoverageSnapshot.objects.filter(union__code="sandbox", day=today).exists()


@pytest.mark.django_db
def test_no_member_can_transfer_into_the_sandbox_and_no_list_shows_it(tree):
    sandbox_key_create(merchant=MerchantFactory(region=tree.C1A), name="联调", created_by=None)
    with pytest.raises(ValidationFailed):
        transfer_destination(SANDBOX_UNION_CODE)
    assert transfer_destination(tree.C1A2.code) == tree.C1A2
    assert not Union.objects.real().filter(code=SANDBOX_UNION_CODE).exists()

"""Redemption events from the committed rows (webhooks.outbox): from every door, with the POS API's own
body as data, once each, never for a merchant without an endpoint, and never missed when a redemption
commits after a newer one."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from discounts.redemption import redemption_create
from tests.factories import CardFactory, MemberFactory, OfferFactory
from tests.webhooks.conftest import POS_REDEMPTIONS, pos_redeem, pos_void, register, till_redeem
from webhooks import outbox, services
from webhooks.models import Delivery, Endpoint, Event, RedemptionFeed

pytestmark = pytest.mark.django_db

CREATED = "redemption.created"
VOIDED = "redemption.voided"


def event_of(type: str, redemption_id: int) -> Event:
    return Event.objects.get(event_id=f"{type}:{redemption_id}")


def test_a_pos_redemption_becomes_an_event_whose_data_is_the_pos_answer(api_client, shop, card):
    endpoint, _secret = register(shop, "https://pos.example.com/hooks")
    answer = pos_redeem(api_client, shop, card)

    assert outbox.redemption_events_collect() == 1

    event = event_of(CREATED, answer["id"])
    assert (event.type, event.merchant_id) == (CREATED, shop.merchant.pk)
    assert event.payload == answer
    assert list(Delivery.objects.filter(event=event).values_list("endpoint_id", "status")) == [
        (endpoint.pk, Delivery.Status.PENDING)
    ]


def test_a_till_redemption_becomes_an_event_too(client, api_client, shop, card):
    register(shop, "https://pos.example.com/hooks")
    redemption_id = till_redeem(client, shop, card)

    outbox.redemption_events_collect()

    listed = api_client.get(POS_REDEMPTIONS, **shop.headers()).json()["results"]
    [pos_view] = [row for row in listed if row["id"] == redemption_id]
    assert event_of(CREATED, redemption_id).payload == pos_view


def test_a_void_becomes_an_event_with_the_voided_redemption(api_client, shop, card):
    register(shop, "https://pos.example.com/hooks")
    answer = pos_redeem(api_client, shop, card)
    outbox.redemption_events_collect()
    voided = pos_void(api_client, shop, answer["id"])

    assert outbox.redemption_events_collect() == 1

    assert event_of(VOIDED, answer["id"]).payload == voided
    assert voided["status"] == "voided" and voided["voided_at"]
    assert event_of(CREATED, answer["id"]).payload == answer  # the creation event is unchanged


def test_a_redemption_voided_before_the_run_gives_both_events_each_as_it_was(api_client, shop, card):
    register(shop, "https://pos.example.com/hooks")
    answer = pos_redeem(api_client, shop, card)
    voided = pos_void(api_client, shop, answer["id"])

    assert outbox.redemption_events_collect() == 2

    assert event_of(CREATED, answer["id"]).payload == answer  # completed, not voided
    assert event_of(VOIDED, answer["id"]).payload == voided


def test_running_the_outbox_again_makes_no_second_event_or_delivery(api_client, shop, card):
    register(shop, "https://pos.example.com/hooks")
    pos_redeem(api_client, shop, card)

    assert outbox.redemption_events_collect() == 1
    assert outbox.redemption_events_collect() == 0
    assert outbox.redemption_events_collect() == 0

    assert Event.objects.count() == 1 and Delivery.objects.count() == 1


def test_only_the_subscribed_events_of_active_endpoints(api_client, shop, card):
    created_only, _s = register(shop, "https://a.example.com/hooks", events=[CREATED])
    disabled, _s = register(shop, "https://b.example.com/hooks")
    services.endpoint_disable(endpoint=disabled, disabled_by=shop.manager.user)
    answer = pos_redeem(api_client, shop, card)
    pos_void(api_client, shop, answer["id"])

    outbox.redemption_events_collect()

    assert list(Event.objects.values_list("type", flat=True)) == [CREATED]
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [created_only.pk]


def test_another_merchants_redemptions_never_reach_my_endpoint(api_client, shop, rival, card):
    mine, _s = register(shop, "https://mine.example.com/hooks")
    theirs, _s = register(rival, "https://theirs.example.com/hooks")
    their_card = CardFactory(member=MemberFactory(union=card.member.union))
    my_answer = pos_redeem(api_client, shop, card, key="mine")
    their_answer = pos_redeem(api_client, rival, their_card, key="theirs")

    outbox.redemption_events_collect()

    assert event_of(CREATED, my_answer["id"]).deliveries.get().endpoint == mine
    assert event_of(CREATED, their_answer["id"]).deliveries.get().endpoint == theirs


def test_redemptions_before_the_first_endpoint_are_not_sent(api_client, shop, card):
    before = pos_redeem(api_client, shop, card, key="before")
    register(shop, "https://pos.example.com/hooks")
    after = pos_redeem(api_client, shop, card, key="after")

    outbox.redemption_events_collect()

    assert list(Event.objects.values_list("event_id", flat=True)) == [f"{CREATED}:{after['id']}"]
    assert not Event.objects.filter(event_id=f"{CREATED}:{before['id']}").exists()


def test_a_merchant_that_subscribes_again_starts_afresh(api_client, shop, card):
    endpoint, _s = register(shop, "https://pos.example.com/hooks")
    services.endpoint_disable(endpoint=endpoint, disabled_by=shop.manager.user)
    while_away = pos_redeem(api_client, shop, card, key="away")
    outbox.redemption_events_collect()  # nobody subscribed: nothing read
    register(shop, "https://new.example.com/hooks")
    back = pos_redeem(api_client, shop, card, key="back")

    outbox.redemption_events_collect()

    assert list(Event.objects.values_list("event_id", flat=True)) == [f"{CREATED}:{back['id']}"]
    assert while_away["id"] < back["id"]


def test_without_a_subscribed_merchant_a_run_is_one_query(api_client, shop, card, django_assert_num_queries):
    pos_redeem(api_client, shop, card)
    with django_assert_num_queries(1):
        assert outbox.redemption_events_collect() == 0
    assert not Event.objects.exists()


def test_an_endpoint_adds_nothing_to_the_redemption_path(
    api_client, shop, rival, card, django_capture_on_commit_callbacks
):
    """A redemption costs the same queries and queues the same work whether or not its merchant has
    an endpoint: the events come from the rows afterwards."""
    register(rival, "https://theirs.example.com/hooks")
    their_card = CardFactory(member=MemberFactory(union=card.member.union))
    # Warm up: the first request of a key or an offer may read more (caches, last-used times).
    pos_redeem(api_client, shop, card, key="warm-1")
    pos_redeem(api_client, rival, their_card, key="warm-2")

    def cost(target_shop, target_card, key):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
            pos_redeem(api_client, target_shop, target_card, key=key)
        return [q["sql"] for q in queries.captured_queries], len(callbacks)

    plain_queries, plain_callbacks = cost(shop, card, "plain")
    watched_queries, watched_callbacks = cost(rival, their_card, "watched")

    assert len(watched_queries) == len(plain_queries)
    assert [q.split()[0] for q in watched_queries] == [q.split()[0] for q in plain_queries]
    assert not any("webhooks_" in sql for sql in watched_queries)
    assert watched_callbacks == plain_callbacks


def test_a_run_that_reaches_its_limit_goes_on_at_the_next(api_client, shop, card, monkeypatch):
    register(shop, "https://pos.example.com/hooks")
    monkeypatch.setattr(outbox, "ROWS_PER_RUN", 2)
    answers = [pos_redeem(api_client, shop, card, key=f"k-{i}", amount="10") for i in range(5)]
    feed_before = RedemptionFeed.objects.get(merchant=shop.merchant).resume_from

    assert outbox.redemption_events_collect() == 2
    assert RedemptionFeed.objects.get(merchant=shop.merchant).resume_from == feed_before  # not complete
    assert outbox.redemption_events_collect() == 2
    assert outbox.redemption_events_collect() == 1
    assert outbox.redemption_events_collect() == 0

    ids = {f"{CREATED}:{a['id']}" for a in answers}
    assert set(Event.objects.values_list("event_id", flat=True)) == ids


def test_a_subscribed_merchant_without_a_cursor_gets_one_and_its_events_from_then_on(api_client, shop, card):
    register(shop, "https://pos.example.com/hooks")
    RedemptionFeed.objects.filter(merchant=shop.merchant).delete()
    before = pos_redeem(api_client, shop, card, key="before")

    assert outbox.redemption_events_collect() == 0
    after = pos_redeem(api_client, shop, card, key="after")
    assert outbox.redemption_events_collect() == 1

    assert RedemptionFeed.objects.filter(merchant=shop.merchant).exists()
    assert list(Event.objects.values_list("event_id", flat=True)) == [f"{CREATED}:{after['id']}"]
    assert before["id"] < after["id"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("lag", "late_row_found"), [(60, True), (0, False)])
def test_a_redemption_that_commits_after_a_newer_one_is_still_sent(
    api_client, shop, card, settings, lag, late_row_found
):
    """Redemption A takes its id and time first but commits last; a run in between sees only the newer
    B. The next run reads again from its start minus the lag, so A is found. Without the lag (0) the
    cursor would have passed A for good: that is what the lag is for."""
    settings.WEBHOOK_OUTBOX_LAG_SECONDS = lag
    register(shop, "https://pos.example.com/hooks")
    inserted, release = threading.Event(), threading.Event()
    late: dict = {}

    def slow_till():
        try:
            with transaction.atomic():
                late["redemption"] = redemption_create(
                    merchant=shop.merchant,
                    store_id=shop.store.pk,
                    offer_id=shop.offer.pk,
                    card_number=card.number,
                    amount=Decimal("50.00"),
                )
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_till)
    thread.start()
    assert inserted.wait(30)
    # Another offer and member, so the newer redemption does not wait for the older one's counters.
    shop.offer = OfferFactory(merchant=shop.merchant, title="另一优惠")
    newer = pos_redeem(
        api_client, shop, CardFactory(member=MemberFactory(union=card.member.union)), key="newer"
    )
    assert outbox.redemption_events_collect() == 1  # only the newer one is visible
    release.set()
    thread.join(30)
    late_id = late["redemption"].pk
    assert late_id < newer["id"]

    outbox.redemption_events_collect()

    assert Event.objects.filter(event_id=f"{CREATED}:{late_id}").exists() is late_row_found
    assert Event.objects.filter(event_id=f"{CREATED}:{newer['id']}").count() == 1
    assert Endpoint.objects.count() == 1

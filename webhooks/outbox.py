"""Redemption events from the committed redemption rows: an outbox that adds nothing to a redemption.

Why read the rows afterwards. A redemption comes through several doors — the POS API, the cashier
screen, the admin's void — and its transaction is the hottest path of the portal (one statement,
measured against raw PostgreSQL in docs/benchmarks.md). Emitting the event there would put a query,
or a Celery message, on every redemption of every merchant, although few merchants have a webhook.
Instead, a beat task (every few seconds, ``collect_redemption_events``) reads the redemption rows of
the merchants that have an active endpoint subscribed to ``redemption.created`` or
``redemption.voided`` and turns the new ones into events with :func:`webhooks.services.event_publish`.
A merchant without an endpoint costs nothing; a run with no subscribed merchant is one query.

The rows are read through the model registry (``apps.get_model("discounts", "Redemption")``), not by
importing ``discounts``: this app sits below it (``discounts → webhooks → merchants``).

Out-of-order commits. Rows do not become visible in the order of their ids or their times: a
redemption whose ``created_at`` (or ``voided_at``) is 10:00:00.100 may commit after a run at
10:00:00.200 has read the rows up to then. A cursor that simply moved to the newest row seen would
skip it for ever. Two ways out were weighed:

- the transaction horizon — ``pg_snapshot_xmin(pg_current_snapshot())`` says which transactions may
  still commit, but a row's id or time is taken before its transaction has (or shows) an xid, and a
  void rewrites an old row, so tying a row to that horizon needs the rows' ``xmin`` (a 32-bit,
  wrapping, vacuum-frozen system column): exact in principle, fragile in practice;
- **a lag window, chosen here**: each merchant's cursor (``RedemptionFeed.resume_from``) trails the
  start of the last complete run by ``WEBHOOK_OUTBOX_LAG_SECONDS`` (10 minutes), and every run reads
  again every row created or voided since then. A row that was invisible to one run belongs to a
  transaction that had not committed when the run began; it took its timestamp less than the lag
  before that (the lag is far longer than any redemption transaction, plus any clock difference
  between the servers), so the next run, reading from the run's start minus the lag, sees it.
  Reading a row again is harmless: the event id is derived from the row
  (``redemption.created:<id>``, ``redemption.voided:<id>``) and unique, and rows whose event exists
  are left out by the query itself (an indexed ``NOT EXISTS``), so nothing is sent twice and the
  per-run limit is spent only on new rows.

The cost of a run is, per subscribed merchant, an index range over its rows of the current day
(``discounts_redemption (merchant_id, local_day)``), filtered by time. A run that reaches its row
limit keeps the cursor where it was, so the next run goes on with the rest.

Payloads are the redemption as the POS API answers it (``id, offer {id, title}, store {id, name},
card_number_masked, member_name_masked, units, amount, discount, payable, union_subsidy, status,
merchant_reference, created_at, voided_at``), built here from the row with the same keys and the
same masking; a ``redemption.created`` event shows the redemption as it was created (completed, not
voided), a ``redemption.voided`` one as it is after the void."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from members.models import mask_card_number, mask_name
from webhooks.models import REDEMPTION_TYPES, Endpoint, Event, EventType, RedemptionFeed
from webhooks.services import event_publish, iso_datetime

logger = logging.getLogger(__name__)

# New rows turned into events per merchant, event type and run; the rest wait for the next run.
ROWS_PER_RUN = 2_000

_ROW_FIELDS = (
    "id",
    "offer_id",
    "offer__title",
    "store_id",
    "store__name",
    "card__number",
    "member__name",
    "units",
    "amount",
    "discount",
    "payable",
    "union_subsidy",
    "status",
    "merchant_reference",
    "created_at",
    "voided_at",
)


def _redemption_model():
    return apps.get_model("discounts", "Redemption")


def event_id_for(type: str, redemption_id: int) -> str:
    return f"{type}:{redemption_id}"


def subscribed_merchants() -> dict[int, set[str]]:
    """The merchants with an active endpoint subscribed to a redemption event, with those events."""
    found: dict[int, set[str]] = {}
    rows = Endpoint.objects.filter(
        disabled_at__isnull=True, events__overlap=list(REDEMPTION_TYPES)
    ).values_list("merchant_id", "events")
    for merchant_id, events in rows:
        found.setdefault(merchant_id, set()).update(set(events) & set(REDEMPTION_TYPES))
    return found


def redemption_events_collect(*, now: datetime | None = None) -> int:
    """One outbox run over every subscribed merchant; returns how many events it published."""
    published = 0
    for merchant_id, types in sorted(subscribed_merchants().items()):
        published += _collect_for_merchant(merchant_id, types, now=now)
    return published


def _collect_for_merchant(merchant_id: int, types: set[str], *, now: datetime | None) -> int:
    lag = timedelta(seconds=settings.WEBHOOK_OUTBOX_LAG_SECONDS)
    with transaction.atomic():
        # One run at a time per merchant: a run still busy with this merchant is left to it.
        feed = (
            RedemptionFeed.objects.select_for_update(skip_locked=True).filter(merchant_id=merchant_id).first()
        )
        if feed is None:
            if not RedemptionFeed.objects.filter(merchant_id=merchant_id).exists():
                start = now or timezone.now()
                RedemptionFeed.objects.get_or_create(
                    merchant_id=merchant_id, defaults={"started_at": start, "resume_from": start}
                )
            return 0
        run_started = now or timezone.now()
        since = max(feed.resume_from, feed.started_at)
        published, complete = 0, True
        for type in REDEMPTION_TYPES:
            if type not in types:
                continue
            rows = _new_rows(merchant_id, type, since, lag)
            complete = complete and len(rows) < ROWS_PER_RUN
            for row in rows:
                event = event_publish(
                    merchant_id=merchant_id,
                    type=type,
                    event_id=event_id_for(type, row["id"]),
                    payload=redemption_payload(row, as_created=type == EventType.REDEMPTION_CREATED),
                )
                published += event is not None
        if complete:
            RedemptionFeed.objects.filter(pk=feed.pk).update(
                resume_from=max(run_started - lag, feed.started_at)
            )
    if published:
        logger.info("webhook outbox: %s redemption events for merchant %s", published, merchant_id)
    return published


def _new_rows(merchant_id: int, type: str, since: datetime, lag: timedelta) -> list[dict]:
    """The merchant's rows created (or voided) since ``since`` that have no event of ``type`` yet,
    oldest first. A row's local day is the day of a moment shortly before its timestamp (the
    redemption's start), so the day range begins a lag earlier than ``since``."""
    Redemption = _redemption_model()
    rows = Redemption.objects.filter(merchant_id=merchant_id, local_day__gte=timezone.localdate(since - lag))
    event_exists = Exists(
        Event.objects.filter(event_id=Concat(Value(f"{type}:"), Cast(OuterRef("id"), CharField())))
    )
    if type == EventType.REDEMPTION_CREATED:
        rows = rows.filter(created_at__gte=since).order_by("created_at", "id")
    else:
        rows = rows.filter(status=Redemption.Status.VOIDED, voided_at__gte=since).order_by("voided_at", "id")
    return list(rows.filter(~event_exists).values(*_ROW_FIELDS)[:ROWS_PER_RUN])


def _money(value) -> str:
    return f"{value:.2f}"


def redemption_payload(row: dict, *, as_created: bool) -> dict:
    """The POS API's redemption body for ``row`` (keys of ``_ROW_FIELDS``)."""
    completed = _redemption_model().Status.COMPLETED
    return {
        "id": row["id"],
        "offer": {"id": row["offer_id"], "title": row["offer__title"]},
        "store": {"id": row["store_id"], "name": row["store__name"]},
        "card_number_masked": mask_card_number(row["card__number"]),
        "member_name_masked": mask_name(row["member__name"]),
        "units": row["units"],
        "amount": _money(row["amount"]),
        "discount": _money(row["discount"]),
        "payable": _money(row["payable"]),
        "union_subsidy": _money(row["union_subsidy"]),
        "status": str(completed) if as_created else row["status"],
        "merchant_reference": row["merchant_reference"] or None,
        "created_at": iso_datetime(row["created_at"]),
        "voided_at": None if as_created else iso_datetime(row["voided_at"]),
    }

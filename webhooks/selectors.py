"""Reads: a merchant's endpoints, one endpoint, its deliveries, one delivery with its attempts.

Every read is filtered by the merchant: an id in a URL never reaches another merchant's rows ("not
found", exactly as for an id that does not exist)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from webhooks.models import Delivery, DeliveryAttempt, Endpoint

MAX_ID = 2**63 - 1  # ids are bigint: a larger number names no row (and must not reach the database)


def merchant_endpoints(*, merchant_id: int) -> QuerySet[Endpoint]:
    """The merchant's endpoints, active first, newest first."""
    return Endpoint.objects.filter(merchant_id=merchant_id).order_by(
        F("disabled_at").desc(nulls_first=True), "-created_at", "-id"
    )


def endpoint_of(*, merchant_id: int, endpoint_id: int) -> Endpoint | None:
    if not 0 < endpoint_id <= MAX_ID:
        return None
    return Endpoint.objects.filter(merchant_id=merchant_id, pk=endpoint_id).first()


def endpoint_deliveries(*, endpoint: Endpoint, status: str = "") -> QuerySet[Delivery]:
    """The endpoint's deliveries (of one status, if given), newest first (webhook_delivery_list_idx),
    with their events."""
    deliveries = Delivery.objects.filter(endpoint=endpoint)
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    return deliveries.select_related("event").defer("event__payload").order_by("-created_at", "-id")


def delivery_of(*, endpoint: Endpoint, delivery_id: int) -> Delivery | None:
    if not 0 < delivery_id <= MAX_ID:
        return None
    return Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).select_related("event").first()


def delivery_attempts(*, delivery: Delivery) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(delivery=delivery).order_by("-number")

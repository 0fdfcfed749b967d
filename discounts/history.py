"""The member's own redemptions and what they saved: the reads behind the page ``/me/redemptions/``
(``discounts.views.history``) and the member API ``GET /api/v1/me/redemptions/``
(``discounts.api.member``).

Apps above discounts show their own uses on the page as sections (the members' shop, its confirmed
orders) through :func:`register_history_section`, so that discounts never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from discounts.models import Offer, Redemption
from members.models import Member

# What a member saved on a redemption: the discount, or the union subsidy of an allowance. A discount
# funded by the union carries the same money in both columns, so it is counted once.
SAVED = Greatest("discount", "union_subsidy")


@dataclass(frozen=True)
class HistoryItem:
    """One use shown in a section: what, where and when, and the money (already formatted)."""

    title: str
    detail: str
    money: str


@dataclass(frozen=True)
class HistorySection:
    """A section of the history page kept by another app; ``key`` names it on the page (``data-role``)."""

    key: str
    heading: str
    items: list[HistoryItem]
    more_url: str = ""
    more_text: str = ""


# A section is a callable taking the member and returning its HistorySection, or None (not shown).
HISTORY_SECTIONS: list[Callable[[Member], HistorySection | None]] = []


def register_history_section(section: Callable[[Member], HistorySection | None]) -> None:
    """Called from an app's ``ready()``; registering the same callable again changes nothing."""
    if section not in HISTORY_SECTIONS:
        HISTORY_SECTIONS.append(section)


def history_sections(member: Member) -> list[HistorySection]:
    return [found for section in HISTORY_SECTIONS if (found := section(member)) is not None]


def member_redemptions(member: Member) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(member=member)
        .select_related("offer", "store", "merchant")
        .annotate(saved=SAVED)
        .order_by("-created_at", "-id")
    )


def member_total_saved(member: Member) -> Decimal:
    return Redemption.objects.filter(member=member, status=Redemption.Status.COMPLETED).aggregate(
        total=Coalesce(Sum(SAVED), Value(0), output_field=DecimalField(max_digits=14, decimal_places=2))
    )["total"]


def member_savings(member: Member) -> dict:
    """What the member's card page and menu say about savings, in one query: the total saved (as
    ``member_total_saved``), how many purchases, and how much of it is union allowance, which is paid
    to the member's card account later rather than taken off at the till."""
    money = DecimalField(max_digits=14, decimal_places=2)
    zero = Value(0, output_field=money)
    return Redemption.objects.filter(member=member, status=Redemption.Status.COMPLETED).aggregate(
        total=Coalesce(Sum(SAVED), zero, output_field=money),
        allowance=Coalesce(
            Sum("union_subsidy", filter=Q(offer__kind=Offer.Kind.ALLOWANCE)), zero, output_field=money
        ),
        count=Count("id"),
    )


def redemptions_for_export(member: Member) -> list[dict]:
    """The member's redemptions as their data export shows them (``members.people.member_data_export``,
    to which this part is added when the app starts)."""
    rows = (
        Redemption.objects.filter(member=member)
        .select_related("offer", "store")
        .order_by("created_at")
        .values("created_at", "offer__title", "store__name", "amount", "discount", "payable", "status")
    )
    return [
        {
            "at": row["created_at"].isoformat(),
            "offer": row["offer__title"],
            "store": row["store__name"],
            "amount": str(row["amount"]),
            "discount": str(row["discount"]),
            "payable": str(row["payable"]),
            "status": row["status"],
        }
        for row in rows
    ]

"""Reads for members, cards and issuance batches."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from members import pii
from members.models import Card, IssuanceBatch, IssuanceRow, Member, Union
from portal.scoping import scope_queryset


def union_contact(union: Union) -> Union | None:
    """The union a member turns to (for a frozen card, a new card): the member's own union when it has
    a contact phone or address, else its nearest ancestor that has one. One query along the path."""
    codes = [code for code in union.path.split("/") if code]
    return (
        Union.objects.filter(code__in=codes)
        .exclude(contact_phone="", contact_address="")
        .order_by("-depth")
        .first()
    )


def members_for_staff(user) -> QuerySet[Member]:
    return scope_queryset(Member.objects.select_related("union"), user, "union__path")


def cards_for_staff(user) -> QuerySet[Card]:
    return scope_queryset(Card.objects.select_related("member__union", "bank"), user, "member__union__path")


def batches_for_staff(user) -> QuerySet[IssuanceBatch]:
    return scope_queryset(IssuanceBatch.objects.select_related("union", "bank"), user, "union__path")


def member_for_staff_by_id_number(user, id_number: str) -> Member | None:
    """The member of the user's subtree with this (validated) full ID number, found by its keyed
    hash; None alike for a number nobody has and for a member out of reach."""
    return members_for_staff(user).filter(id_number_hash=pii.hash_id_number(id_number)).first()


def member_live_card(member: Member) -> Card | None:
    """The member's one live card (issued, active or frozen), if any."""
    return (
        Card.objects.select_related("bank")
        .filter(member=member, status__in=Card.LIVE_STATUSES)
        .order_by("-issued_at")
        .first()
    )


def member_active_card(member: Member) -> Card | None:
    card = member_live_card(member)
    return card if card is not None and card.status == Card.Status.ACTIVE else None


def batch_status(batch: IssuanceBatch) -> dict:
    """What the progress bar shows."""
    finished = batch.status in (
        IssuanceBatch.Status.COMPLETED,
        IssuanceBatch.Status.FAILED,
        IssuanceBatch.Status.REJECTED,
        IssuanceBatch.Status.VALIDATED,
    )
    return {
        "id": batch.pk,
        "status": batch.status,
        "status_display": str(batch.get_status_display()),
        "status_message": batch.status_message,
        "percent": batch.progress_percent,
        "total_rows": batch.total_rows,
        "valid_rows": batch.valid_rows,
        "error_rows": batch.error_rows,
        "processed_rows": batch.processed_rows,
        "cards_created": batch.cards_created,
        "finished": finished,
        "has_production_file": bool(batch.production_file),
    }


def batch_error_rows(batch: IssuanceBatch) -> Iterator[IssuanceRow]:
    return (
        IssuanceRow.objects.filter(batch=batch, status=IssuanceRow.Status.INVALID)
        .order_by("row_number")
        .only("row_number", "name", "id_number_masked", "phone", "union_code", "errors")
        .iterator(chunk_size=5000)
    )


def batch_error_preview(batch: IssuanceBatch, limit: int = 20) -> list[IssuanceRow]:
    return list(
        IssuanceRow.objects.filter(batch=batch, status=IssuanceRow.Status.INVALID)
        .order_by("row_number")
        .only("row_number", "name", "id_number_masked", "phone", "union_code", "errors")[:limit]
    )


def _member_change_rows(batch: IssuanceBatch):
    """The rows of the batch that change a member who already exists (still to be processed, or done)."""
    return (
        IssuanceRow.objects.filter(
            batch=batch, status__in=[IssuanceRow.Status.VALID, IssuanceRow.Status.DONE]
        )
        .exclude(member_changes={})
        .order_by("row_number")
        .only("row_number", "name", "id_number_masked", "phone", "member_changes")
    )


def batch_member_changes_preview(batch: IssuanceBatch, limit: int = 20) -> list[IssuanceRow]:
    return list(_member_change_rows(batch)[:limit])


def batch_member_change_rows(batch: IssuanceBatch) -> Iterator[IssuanceRow]:
    return _member_change_rows(batch).iterator(chunk_size=5000)

"""Reads for members, cards and issuance batches."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.utils import timezone

from members import pii
from members.cards import UNDO_LOST_WINDOW
from members.models import (
    Card,
    CardApplication,
    IssuanceBatch,
    IssuanceRow,
    Member,
    RosterMissing,
    TransferRequest,
    Union,
)
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
        IssuanceRow.objects.filter(batch=batch, status=IssuanceRow.Status.VALID)
        .exclude(member_changes={})
        .order_by("row_number")
        .only("row_number", "name", "id_number_masked", "phone", "member_changes")
    )


def batch_member_changes_preview(batch: IssuanceBatch, limit: int = 20) -> list[IssuanceRow]:
    return list(_member_change_rows(batch)[:limit])


def batch_member_change_rows(batch: IssuanceBatch) -> Iterator[IssuanceRow]:
    return _member_change_rows(batch).iterator(chunk_size=5000)


def union_staff_to_notify(union: Union) -> list[int]:
    """The staff who act for ``union``: its own active staff, or — for a workplace union without
    any — those of the nearest union above it that has some. One query over the ancestors' paths."""
    ancestors = [union.path[: index + 1] for index, char in enumerate(union.path) if char == "/"]
    rows = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, union__path__in=ancestors)
        .order_by("-union__depth", "pk")
        .values_list("pk", "union__depth")
    )
    deepest = None
    found = []
    for user_id, depth in rows:
        if deepest is None:
            deepest = depth
        if depth != deepest:
            break
        found.append(user_id)
    return found


def batch_approvers_to_notify(*, union: Union, uploader) -> list[int]:
    """Who may approve a batch ``uploader`` made for ``union``: the other staff of that union, or of
    the nearest union above with someone, who hold the approval permission (never the uploader)."""
    candidates = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(pk=uploader.pk)
    ancestors = [union.path[: index + 1] for index, char in enumerate(union.path) if char == "/"]
    by_depth: dict[int, list[int]] = {}
    for user in candidates.filter(union__path__in=ancestors).select_related("union").order_by("pk"):
        if user.has_perm("members.approve_issuancebatch"):
            by_depth.setdefault(user.union.depth, []).append(user.pk)
    return by_depth[max(by_depth)] if by_depth else []


def card_applications_for_staff(user) -> QuerySet[CardApplication]:
    return scope_queryset(
        CardApplication.objects.select_related("member", "union", "bank", "batch"), user, "union__path"
    )


def transfer_requests_for_staff(user) -> QuerySet[TransferRequest]:
    """Requests into the user's subtree: the receiving union decides."""
    return scope_queryset(
        TransferRequest.objects.select_related("member", "from_union", "to_union"), user, "to_union__path"
    )


def lost_reports_undoable_for_staff(user) -> QuerySet[Card]:
    """Frozen cards of the subtree whose report may still be undone (解除挂失)."""
    since = timezone.now() - UNDO_LOST_WINDOW
    return (
        cards_for_staff(user).filter(status=Card.Status.FROZEN, frozen_at__gte=since).order_by("-frozen_at")
    )


def staff_todo(user) -> dict:
    """What waits for this staff user, within their subtree: card applications to decide, approved
    ones to put into a batch (by bank), card batches someone else uploaded waiting for approval,
    transfer requests into their unions, lost-card reports that may still be undone, and the members a
    roster no longer lists, waiting to be confirmed as left or transferred (by union)."""
    applications = card_applications_for_staff(user)
    approved_by_bank = list(
        applications.filter(status=CardApplication.Status.APPROVED)
        .values("bank_id", "bank__name")
        .annotate(count=Count("id"))
        .order_by("bank__name")
    )
    batches_to_approve = []
    if user.has_perm("members.approve_issuancebatch"):
        # Card production needs a second person: the user's own uploads wait for someone else.
        batches_to_approve = list(
            batches_for_staff(user)
            .filter(status=IssuanceBatch.Status.VALIDATED, valid_rows__gt=0)
            .exclude(uploaded_by=user)
            .order_by("created_at")
        )
    return {
        "batches_to_approve": batches_to_approve,
        "applications": list(
            applications.filter(status=CardApplication.Status.PENDING).order_by("created_at")
        ),
        "approved_by_bank": approved_by_bank,
        "transfers": list(
            transfer_requests_for_staff(user)
            .filter(status=TransferRequest.Status.PENDING)
            .order_by("created_at")
        ),
        "lost_cards": list(lost_reports_undoable_for_staff(user)),
        "not_in_roster": (
            list(
                scope_queryset(RosterMissing.objects.all(), user, "union__path")
                .filter(resolution=RosterMissing.Resolution.PENDING)
                .values("union__name")
                .annotate(count=Count("id"))
                .order_by("union__name")
            )
            if user.has_perm("members.change_rostermissing")
            else []
        ),
    }


def member_open_application(member: Member) -> CardApplication | None:
    """The member's latest application, shown on their card page until a card exists."""
    return (
        CardApplication.objects.select_related("bank", "batch")
        .filter(member=member)
        .order_by("-created_at")
        .first()
    )


def member_transfer_requests(member: Member) -> list[TransferRequest]:
    return list(
        TransferRequest.objects.select_related("to_union").filter(member=member).order_by("-created_at")[:5]
    )

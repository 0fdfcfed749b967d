"""The card-changes file (卡片变更) to a bank: replacements, cancellations (the member left, a card
closed), lost reports and their undoing, since the last export.

What changed is read from the cards themselves — their status and the time it changed — in one
function, :func:`pending_card_changes`, so that a journal of card events can take its place without
touching the export. An export takes every change of the bank's cards that no export holds yet and
records each one as a :class:`CardChange` of the file (unique per card, kind and time): running the
export again, or twice at once, sends nothing twice, and with nothing new it makes no file."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from banking.access import ensure_may_exchange
from banking.models import BankFile, CardChange, IssuanceResult
from members.models import Card, PartnerBank

HEADERS = ["变更类型", "卡号", "新卡号", "变更时间", "基层工会代码"]
KIND_CODES = {
    CardChange.Kind.LOST: "LOST",
    CardChange.Kind.FOUND: "FOUND",
    CardChange.Kind.REPLACED: "REPLACE",
    CardChange.Kind.CANCELLED: "CANCEL",
}
# Serializes exports of one bank (two clicks, a click and the nightly task) without locking any row
# that card issuance or redemptions use.
EXPORT_LOCK = 0x62616E6B  # "bank"


@dataclass(frozen=True)
class PendingChange:
    card_id: int
    kind: str
    changed_at: datetime
    number: str
    new_card_id: int | None
    new_number: str
    union_code: str


def pending_card_changes(*, bank: PartnerBank, until: datetime) -> list[PendingChange]:
    """The changes of ``bank``'s cards up to ``until`` that no export holds yet, oldest first.

    Read from the cards: frozen → lost (at ``frozen_at``); issued or active again after a freeze →
    found (named by the same ``frozen_at``, and only once the loss went out: a loss undone before any
    export sends nothing); replaced or cancelled → at ``closed_at``. A card the bank itself rejected
    is not sent back to it."""
    sent = CardChange.objects.filter(card_id=OuterRef("pk"))
    cards = Card.objects.filter(bank=bank).select_related("member__union", "replaced_by")
    lost = cards.filter(status=Card.Status.FROZEN, frozen_at__lte=until).annotate(
        done=Exists(sent.filter(kind=CardChange.Kind.LOST, changed_at=OuterRef("frozen_at")))
    )
    found = (
        cards.filter(status__in=Card.HOLDING_STATUSES, frozen_at__isnull=False)
        .annotate(
            done=Exists(sent.filter(kind=CardChange.Kind.FOUND, changed_at=OuterRef("frozen_at"))),
            lost_sent=Exists(sent.filter(kind=CardChange.Kind.LOST, changed_at=OuterRef("frozen_at"))),
        )
        .filter(lost_sent=True)
    )
    closed = (
        cards.filter(status__in=[Card.Status.REPLACED, Card.Status.CANCELLED], closed_at__lte=until)
        .exclude(Q(issuance_result__outcome=IssuanceResult.Outcome.REJECTED))
        .annotate(
            done=Exists(
                sent.filter(
                    kind__in=[CardChange.Kind.REPLACED, CardChange.Kind.CANCELLED],
                    changed_at=OuterRef("closed_at"),
                )
            )
        )
    )
    changes = []
    for card in lost.filter(done=False):
        changes.append(_change(card, CardChange.Kind.LOST, card.frozen_at))
    for card in found.filter(done=False):
        changes.append(_change(card, CardChange.Kind.FOUND, card.frozen_at))
    for card in closed.filter(done=False):
        kind = CardChange.Kind.REPLACED if card.status == Card.Status.REPLACED else CardChange.Kind.CANCELLED
        changes.append(_change(card, kind, card.closed_at))
    changes.sort(key=lambda change: (change.changed_at, change.card_id))
    return changes


def _change(card: Card, kind: str, changed_at: datetime) -> PendingChange:
    new_card = getattr(card, "replaced_by", None) if kind == CardChange.Kind.REPLACED else None
    return PendingChange(
        card_id=card.pk,
        kind=kind,
        changed_at=changed_at,
        number=card.number,
        new_card_id=new_card.pk if new_card else None,
        new_number=new_card.number if new_card else "",
        union_code=card.member.union.code,
    )


def _csv_bytes(changes: list[PendingChange]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for change in changes:
        writer.writerow(
            [
                KIND_CODES[change.kind],
                change.number,
                change.new_number,
                f"{timezone.localtime(change.changed_at):%Y-%m-%d %H:%M:%S}",
                change.union_code,
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def card_changes_export(*, bank: PartnerBank, actor=None, now: datetime | None = None) -> BankFile | None:
    """The bank's card changes since the last export as a new file, or None when nothing changed.
    ``actor`` None is the nightly task; a person needs the exchange permission for the bank."""
    if actor is not None:
        ensure_may_exchange(actor, bank)
    until = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPORT_LOCK, bank.pk])
        changes = pending_card_changes(bank=bank, until=until)
        if not changes:
            return None
        content = _csv_bytes(changes)
        bank_file = BankFile(
            bank=bank,
            kind=BankFile.Kind.CARD_CHANGES,
            original_filename=f"card-changes-{bank.code}-{timezone.localtime(until):%Y%m%d-%H%M%S}.csv",
            content_hash=hashlib.sha256(content).hexdigest(),
            status=BankFile.Status.DONE,
            total_lines=len(changes),
            applied_lines=len(changes),
            changes_until=until,
            uploaded_by=actor,
            finished_at=until,
        )
        # A small local file written inside the transaction: if the transaction rolls back, the
        # stored copy is deleted below, so no file exists without its row.
        bank_file.file.save(bank_file.original_filename, ContentFile(content), save=False)
        try:
            bank_file.save()
            CardChange.objects.bulk_create(
                CardChange(
                    file=bank_file,
                    card_id=change.card_id,
                    kind=change.kind,
                    changed_at=change.changed_at,
                    new_card_id=change.new_card_id,
                )
                for change in changes
            )
        except BaseException:
            bank_file.file.storage.delete(bank_file.file.name)
            raise
    return bank_file

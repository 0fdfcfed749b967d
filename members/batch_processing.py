"""Processing an approved issuance batch (the ``members.tasks.batch_process`` and ``batch_finish``
tasks): members upserted and cards issued straight from the rows table, one chunk per transaction,
resumable and idempotent after a crash or a retry; then the bank production file."""

from __future__ import annotations

import tempfile
from datetime import datetime

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from members import issuance
from members.cards import bank_allocate_serials, card_number_for
from members.models import Card, IssuanceBatch, IssuanceRow, mask_name, mask_phone
from members.people import audit_member_changed
from members.scope import MEMBER_OUT_OF_REACH, member_in_scope_sql
from portal.db.arrays import bigint_array_literal, text_array_literal

# Rows processed per task invocation: a chunk takes about a second, far inside any time limit.
PROCESS_CHUNK_ROWS = 2000


def batch_process_chunk(*, batch_id: int, chunk_size: int = PROCESS_CHUNK_ROWS) -> str:
    """Create or update the members of the next ``chunk_size`` valid rows and issue their cards, in
    one transaction. Returns "more", "finish" (no valid row left) or "idle" (nothing to do).

    The batch row is locked first, so a redelivered task waits for the original and then finds its
    rows done (at or before ``processed_through``); a killed worker's transaction rolls back as a
    whole (members, cards, serials and the progress) and the next run starts again after the last
    row done. The rows never travel to Python and back: members are upserted with INSERT … SELECT
    from the rows table. Progress is the last row number done, kept on the locked batch: the rows
    themselves are not rewritten (a wide row with four indexes per applicant), only refused ones.

    A row whose member is out of the batch's reach (``members.scope``) — because it changed since
    validation, or because the row never went through it — changes nothing: the upsert skips it by
    itself, and the row ends as an error with the same text validation gives."""
    with transaction.atomic():
        batch = (
            IssuanceBatch.objects.select_for_update(of=("self",))
            .select_related("bank", "union", "approved_by")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None or batch.status not in (
            IssuanceBatch.Status.APPROVED,
            IssuanceBatch.Status.PROCESSING,
        ):
            return "idle"
        if batch.status == IssuanceBatch.Status.APPROVED:
            IssuanceBatch.objects.filter(pk=batch_id).update(status=IssuanceBatch.Status.PROCESSING)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, row_number, id_number_hash FROM members_issuancerow "
                "WHERE batch_id = %s AND status = 'valid' AND row_number > %s ORDER BY row_number LIMIT %s",
                [batch_id, batch.processed_through, chunk_size],
            )
            chunk = cursor.fetchall()
            if not chunk:
                return "finish"
            row_ids = [row[0] for row in chunk]
            member_by_row, refused, added, _updated = upsert_members_from_rows(
                cursor,
                rows_table="members_issuancerow",
                rows=[(row_id, hash_) for row_id, _number, hash_ in chunk],
                scope_path=batch.union.path,
                active_only=True,
                actor=batch.approved_by,
                audit_data={"batch": batch.pk},
                now=now,
            )
            accepted = [row_id for row_id in row_ids if row_id in member_by_row]
            # A member named twice in the chunk is impossible (duplicates are invalid rows), and a
            # member who already holds a live card is skipped: re-uploads never give a second card.
            # Members added by this transaction hold none, so only a chunk with known ones asks.
            holders = set()
            if added < len(accepted):
                cursor.execute(
                    "SELECT member_id FROM members_card "
                    "WHERE member_id = ANY(%s::bigint[]) AND status = ANY(%s)",
                    [bigint_array_literal(member_by_row.values()), list(Card.LIVE_STATUSES)],
                )
                holders = {row[0] for row in cursor.fetchall()}
            needing = [member_by_row[row_id] for row_id in accepted if member_by_row[row_id] not in holders]
            serials = bank_allocate_serials(bank=batch.bank, count=len(needing))
            if needing:
                cursor.execute(
                    "INSERT INTO members_card (number, bank_id, serial, member_id, status, batch_id, "
                    "issued_at) SELECT v.number, %s, v.serial, v.member_id, 'issued', %s, %s "
                    "FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[]) AS v(number, serial, member_id)",
                    [
                        batch.bank_id,
                        batch_id,
                        now,
                        text_array_literal(card_number_for(batch.bank, serial) for serial in serials),
                        bigint_array_literal(serials),
                        bigint_array_literal(needing),
                    ],
                )
            if refused:
                cursor.execute(
                    "UPDATE members_issuancerow SET status = 'invalid', errors = errors || %s "
                    "WHERE id = ANY(%s) AND status = 'valid'",
                    [Jsonb([str(MEMBER_OUT_OF_REACH)]), refused],
                )
                if cursor.rowcount != len(refused):
                    raise RuntimeError("issuance rows changed under a locked batch")
        IssuanceBatch.objects.filter(pk=batch_id).update(
            processed_through=chunk[-1][1],
            processed_rows=F("processed_rows") + len(accepted),
            cards_created=F("cards_created") + len(needing),
            valid_rows=F("valid_rows") - len(refused),
            error_rows=F("error_rows") + len(refused),
        )
    return "more"


def upsert_members_from_rows(
    cursor,
    *,
    rows_table: str,
    rows: list[tuple[int, str]],
    scope_path: str,
    active_only: bool,
    actor,
    audit_data: dict,
    now: datetime,
    new_status_column: str | None = None,
) -> tuple[dict, list, int, int]:
    """Insert new members and refresh the name and phone of known ones (matched by ID hash), straight
    from the rows table (``members_issuancerow`` for a batch, ``members_rosterrow`` for a roster):
    ``rows`` are the chunk's row ids with their ID hashes.
    Known members keep their groups and gain those named in the file; their union and status are left
    alone, since moving a member is a transfer and a status changes through ``member_set_status``.
    A new member is active, or takes the row's ``new_status_column``. A known member whose row
    changes nothing is not rewritten (a monthly roster repeats most of its members as they are).

    A known member is changed only if in the writer's reach (``scope_path``, ``active_only``): the
    scope rule (``members.scope``) is the ``WHERE`` of the update, so the statement itself skips a
    member out of reach, whatever the row says. Every known member that did change is written to the
    audit log, old and new values masked, in the name of ``actor``.

    Returns member ids by row id, the ids of the rows refused, and how many members were added and
    how many changed."""
    status = f"r.{new_status_column}" if new_status_column else "'active'"
    insert = f"""
        INSERT INTO members_member (name, id_number_encrypted, id_number_hash, id_number_masked, phone,
                                    union_id, status, groups, created_at, updated_at)
        SELECT r.name, r.id_number_encrypted, r.id_number_hash, r.id_number_masked, r.phone,
               r.union_id, {status}, r.groups, %s, %s
        FROM {rows_table} r WHERE r.id = ANY(%s::bigint[]) {{skip_known}}
        ORDER BY r.row_number
        {{on_conflict}}
        RETURNING id_number_hash, id
        """  # noqa: S608 - the callers' constants, no input
    params = [now, now, bigint_array_literal(row_id for row_id, _hash in rows)]
    # New members first, with a plain insert of the rows no member holds yet (measured a sixth
    # cheaper than ON CONFLICT's speculative insertion). Should another transaction add one of them
    # meanwhile, the insert waits for it and then fails on the unique ID hash; it is made again,
    # skipping whoever exists. Neither takes a lock on a member who exists: every row they leave names
    # a member who is there now, handled below.
    try:
        with transaction.atomic():
            cursor.execute(
                insert.format(
                    skip_known="AND NOT EXISTS (SELECT 1 FROM members_member m "
                    "WHERE m.id_number_hash = r.id_number_hash)",
                    on_conflict="",
                ),
                params,
            )
    except IntegrityError:
        cursor.execute(
            insert.format(skip_known="", on_conflict="ON CONFLICT (id_number_hash) DO NOTHING"), params
        )
    inserted = dict(cursor.fetchall())
    member_by_row = {row_id: inserted[hash_] for row_id, hash_ in rows if hash_ in inserted}
    known_rows = [(row_id, hash_) for row_id, hash_ in rows if hash_ not in inserted]
    if not known_rows:  # a chunk of new members: nothing to lock, compare or audit
        return member_by_row, [], len(inserted), 0
    known_by_row, refused, changed = _refresh_known_members(
        cursor,
        rows_table=rows_table,
        rows=known_rows,
        scope_path=scope_path,
        active_only=active_only,
        actor=actor,
        audit_data=audit_data,
        now=now,
    )
    return {**member_by_row, **known_by_row}, refused, len(inserted), changed


def _refresh_known_members(
    cursor, *, rows_table, rows, scope_path, active_only, actor, audit_data, now
) -> tuple[dict, list, int]:
    """The known members of ``rows``: locked in id order, refreshed from their rows where in reach
    and changed, audited. Returns member ids by row id of the rows in reach, the rows refused (their
    member out of reach) and how many members changed."""
    in_reach = member_in_scope_sql("m", active_only=active_only)
    # Locked before the update (which then waits on nothing), with the values they have now and
    # whether they are in reach (which the lock keeps true).
    cursor.execute(
        "SELECT m.id_number_hash, m.id, m.name, m.phone, m.groups, m.id_number_masked, u.path, "  # noqa: S608
        f"{in_reach} FROM members_member m JOIN members_union u ON u.id = m.union_id "
        "WHERE m.id_number_hash = ANY(%s::text[]) ORDER BY m.id FOR UPDATE OF m",
        [scope_path, text_array_literal(hash_ for _row, hash_ in rows)],
    )
    before = {row[0]: row[1:] for row in cursor.fetchall()}
    merged_groups = "ARRAY(SELECT DISTINCT g FROM unnest(m.groups || r.groups) AS g ORDER BY g)"
    cursor.execute(
        f"""
        UPDATE members_member AS m
        SET name = r.name, phone = r.phone, updated_at = %s, groups = {merged_groups}
        FROM {rows_table} r
        WHERE r.id = ANY(%s::bigint[]) AND m.id_number_hash = r.id_number_hash AND {in_reach}
          AND (m.name, m.phone, m.groups) IS DISTINCT FROM (r.name, r.phone, {merged_groups})
        RETURNING m.id_number_hash, m.name, m.phone, m.groups
        """,  # noqa: S608 - the scope rule's SQL and the callers' constants, no input
        [now, bigint_array_literal(row_id for row_id, _hash in rows), scope_path],
    )
    after = {hash_: (name, phone, groups) for hash_, name, phone, groups in cursor.fetchall()}
    member_by_row, refused = {}, []
    for row_id, hash_ in rows:
        known = before.get(hash_)
        if known is not None and known[6]:  # in reach (a member gone meanwhile is refused too)
            member_by_row[row_id] = known[0]
        else:
            refused.append(row_id)
    for hash_, (new_name, new_phone, new_groups) in after.items():
        member_id, name, phone, groups, masked_id, union_path, _reach = before[hash_]
        changes: dict[str, list] = {}
        if new_name != name:
            changes["name"] = [mask_name(name), mask_name(new_name)]
        if new_phone != phone:
            changes["phone"] = [mask_phone(phone), mask_phone(new_phone)]
        if list(new_groups) != list(groups):
            changes["groups"] = [list(groups), list(new_groups)]
        if changes:
            audit_member_changed(
                member_id=member_id,
                label=f"{mask_name(new_name)} ({masked_id})",
                union_path=union_path,
                actor=actor,
                data={**audit_data, **changes},
            )
    return member_by_row, refused, len(after)


def batch_finish(*, batch_id: int) -> bool:
    """Write the bank production file once every valid row is done, then mark the batch completed.
    The file is written outside any transaction; a second writer loses the race and deletes its copy."""
    batch = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.PROCESSING).first()
    if (
        batch is None
        or IssuanceRow.objects.filter(
            batch_id=batch_id, status=IssuanceRow.Status.VALID, row_number__gt=batch.processed_through
        ).exists()
    ):
        return False
    cards = (
        Card.objects.filter(batch_id=batch_id)
        .order_by("serial")
        .values_list(
            "number",
            "member__name",
            "member__id_number_encrypted",
            "member__phone",
            "member__union__code",
            "member__union__name",
            "bank__name",
        )
        .iterator(chunk_size=5000)
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8-sig", newline="") as out:
        issuance.write_production_csv(cards, out, batch_id=batch_id)
        out.seek(0)
        name = default_storage.save(
            f"bank-files/batch-{batch_id}-{timezone.localtime():%Y%m%d%H%M%S}.csv", File(out.buffer)
        )
    changed = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.PROCESSING).update(
        status=IssuanceBatch.Status.COMPLETED, production_file=name, completed_at=timezone.now()
    )
    if changed != 1:
        default_storage.delete(name)
        return False
    return True

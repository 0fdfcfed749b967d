"""Processing an approved issuance batch (the ``members.tasks.batch_process`` and ``batch_finish``
tasks): members upserted and cards issued straight from the rows table, one chunk per transaction,
resumable and idempotent after a crash or a retry; then the bank production file."""

from __future__ import annotations

import tempfile
from datetime import datetime

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
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
                "SELECT id, row_number FROM members_issuancerow "
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
                row_ids=row_ids,
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
    row_ids: list[int],
    scope_path: str,
    active_only: bool,
    actor,
    audit_data: dict,
    now: datetime,
    new_status_column: str | None = None,
) -> tuple[dict, list, int, int]:
    """Insert new members and refresh the name and phone of known ones (matched by ID hash), straight
    from the rows table (``members_issuancerow`` for a batch, ``members_rosterrow`` for a roster).
    Known members keep their groups and gain those named in the file; their union and status are left
    alone, since moving a member is a transfer and a status changes through ``member_set_status``.
    A new member is active, or takes the row's ``new_status_column``. A known member whose row
    changes nothing is not rewritten (a monthly roster repeats most of its members as they are).

    A known member is changed only if in the writer's reach (``scope_path``, ``active_only``): the
    scope rule (``members.scope``) is the ``WHERE`` of the ``DO UPDATE``, so the statement itself
    skips a member out of reach, whatever the row says. Every known member that did change is
    written to the audit log, old and new values masked, in the name of ``actor``.

    Returns member ids by row id, the ids of the rows refused, and how many members were added and
    how many changed."""
    in_reach = member_in_scope_sql("m", active_only=active_only)
    ids = bigint_array_literal(row_ids)
    # The known members, locked in id order before the upsert (which then waits on nothing), with
    # the values they have now and whether they are in reach (which the lock keeps true).
    cursor.execute(
        "SELECT m.id_number_hash, m.id, m.name, m.phone, m.groups, m.id_number_masked, u.path, "  # noqa: S608
        f"{in_reach} FROM members_member m JOIN members_union u ON u.id = m.union_id "
        f"WHERE m.id_number_hash IN (SELECT id_number_hash FROM {rows_table} WHERE id = ANY(%s::bigint[])) "
        "ORDER BY m.id FOR UPDATE OF m",
        [scope_path, ids],
    )
    before = {row[0]: row[1:] for row in cursor.fetchall()}
    merged_groups = "ARRAY(SELECT DISTINCT g FROM unnest(m.groups || EXCLUDED.groups) AS g ORDER BY g)"
    cursor.execute(
        f"""
        INSERT INTO members_member AS m (name, id_number_encrypted, id_number_hash, id_number_masked, phone,
                                         union_id, status, groups, created_at, updated_at)
        SELECT r.name, r.id_number_encrypted, r.id_number_hash, r.id_number_masked, r.phone,
               r.union_id, {f"r.{new_status_column}" if new_status_column else "'active'"}, r.groups, %s, %s
        FROM {rows_table} r WHERE r.id = ANY(%s::bigint[])
        ORDER BY r.row_number
        ON CONFLICT (id_number_hash) DO UPDATE
        SET name = EXCLUDED.name, phone = EXCLUDED.phone, updated_at = EXCLUDED.updated_at,
            groups = {merged_groups}
        WHERE {in_reach}
          AND (m.name, m.phone, m.groups) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone, {merged_groups})
        RETURNING m.id_number_hash, m.id, (xmax = 0) AS inserted,
                  -- the values the audit of a changed member needs; a new one needs only its id
                  CASE WHEN xmax <> 0 THEN m.name END, CASE WHEN xmax <> 0 THEN m.phone END,
                  CASE WHEN xmax <> 0 THEN m.groups END
        """,  # noqa: S608 - the scope rule's SQL and the callers' constants, no input
        [now, now, ids, scope_path],
    )
    returned = cursor.fetchall()
    after = {
        hash_: (member_id, name, phone, groups) for hash_, member_id, _new, name, phone, groups in returned
    }
    added = sum(1 for row in returned if row[2])
    # Known members in reach that the statement left as they were; and, should another transaction
    # have inserted one of the new members meanwhile, whether that one is in reach.
    unchanged = {hash_: known[0] for hash_, known in before.items() if known[6] and hash_ not in after}
    cursor.execute(f"SELECT id, id_number_hash FROM {rows_table} WHERE id = ANY(%s::bigint[])", [ids])  # noqa: S608
    hashes_by_row = cursor.fetchall()
    raced = [hash_ for _row, hash_ in hashes_by_row if hash_ not in after and hash_ not in before]
    if raced:
        cursor.execute(
            "SELECT m.id_number_hash, m.id FROM members_member m "  # noqa: S608
            f"WHERE m.id_number_hash = ANY(%s::text[]) AND {in_reach}",
            [text_array_literal(raced), scope_path],
        )
        unchanged.update(dict(cursor.fetchall()))
    member_by_row, refused = {}, []
    for row_id, hash_ in hashes_by_row:
        if hash_ in after:
            member_by_row[row_id] = after[hash_][0]
        elif hash_ in unchanged:
            member_by_row[row_id] = unchanged[hash_]
        else:
            refused.append(row_id)
    for hash_, (member_id, name, phone, groups, masked_id, union_path, _reach) in before.items():
        if hash_ not in after:
            continue
        _member_id, new_name, new_phone, new_groups = after[hash_]
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
    return member_by_row, refused, added, len(returned) - added


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

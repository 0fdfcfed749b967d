"""The membership roster (会员名册): a union's full list of its members, imported without issuing cards,
and the member count a workplace union reports while it has no roster.

A roster travels like an issuance batch and through the same code: the file is read by
``members.issuance`` (same template, CSV in UTF-8 or GBK, XLSX, the same limits) with one more
optional column, 会籍状态; the rows are checked by the batch's row checker with the roster's rule for
known members, stored by COPY and checked for duplicates by ``members.batch_validation``; once staff
confirm, the members are upserted by the batch's bulk statement (``members.batch_processing``) with the
scope rule in its ``ON CONFLICT … WHERE``, one chunk per task run, resumable.

What a roster may change, and through which function:

* new members are added (status as the row says, in 在会 by default) by the bulk statement;
* the name, phone and groups of known members in the roster union's subtree are refreshed by it too;
* a known member listed under another workplace union of the subtree is moved with
  ``members.people.member_transfer``, and a different 会籍状态 is set with ``member_set_status`` — the
  one function every status change goes through;
* a known member out of the subtree is never touched: the row is an error;
* active members of the roster's workplace unions that it does not list are only *listed*
  (:class:`~members.models.RosterMissing`, "不在最新名册") until staff confirm them as left or
  transferred, or keep them — never removed by the import itself.

Every change of a member's union or status is kept, dated, by the history triggers (``members.history``).

Longer than most modules because a roster's whole life (upload, validation, confirmation, the
chunks, the members it no longer lists, reported counts) reads in order here; the reading, checking
and bulk SQL it shares with card batches live in their own modules."""

from __future__ import annotations

import contextlib
import datetime
import io
import logging
import os
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from psycopg.types.json import Jsonb

from members import batch_validation, issuance
from members.batch_processing import upsert_members_from_rows
from members.batches import batch_check_upload
from members.models import (
    Member,
    ReportedMemberCount,
    RosterImport,
    RosterMissing,
    RosterRow,
    Union,
    UnionSubmission,
)
from members.people import member_set_status, member_transfer
from members.scope import member_in_scope_sql
from portal.audit import audit_record
from portal.db.arrays import bigint_array_literal, text_array_literal
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope, scope_queryset
from portal.tasks_util import enqueue_on_commit

logger = logging.getLogger(__name__)

HEADER_STATUS = "会籍状态"
EXTRA_HEADERS = {HEADER_STATUS: "member_status"}
STATUS_BY_TEXT = {
    **{str(label): value for value, label in Member.Status.choices},
    **{value: value for value in Member.Status.values},
    "": Member.Status.ACTIVE,
    "退会": Member.Status.LEFT,
    "转出": Member.Status.TRANSFERRED,
}
# Rows applied per task run: each chunk is one transaction of well under a second.
APPLY_CHUNK_ROWS = 5000
VALIDATION_LOCK_NAMESPACE = 3_002  # first key of the per-roster advisory lock (batches use 3_001)
RECOMPUTE_TASK = "stats.tasks.coverage_recompute_since"

ROSTER_MEMBER_OUT_OF_REACH = gettext_lazy(
    "该身份证号已登记为会员，但不在本名册工会的管辖范围内，不能通过本名册修改。"
    "如该会员已调入本单位，请由其原工会办理转会。"
)


class RosterStateConflict(Conflict):
    code = "roster_state_conflict"


# --- Checking rows: the batch's checker with the roster's rule for members already known ------------


class RosterRowChecker(issuance.RowChecker):
    """A roster row may name a known member of any status (it may say they left or retired, or bring
    them back) provided the member is in the roster union's subtree; a live card is no error, since
    a roster issues none. Of a member out of reach nothing leaves the database but that fact."""

    def _known_members(self, hashes: list[str]) -> dict[str, issuance.KnownMember]:
        in_reach = member_in_scope_sql("m", active_only=False)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT k.id_number_hash, k.in_reach, CASE WHEN k.in_reach THEN k.name END, "  # noqa: S608
                "       CASE WHEN k.in_reach THEN k.phone END "
                f"FROM (SELECT m.id_number_hash, m.name, m.phone, {in_reach} AS in_reach "
                "      FROM members_member m WHERE m.id_number_hash = ANY(%s::text[])) k",
                [self.batch_union.path, text_array_literal(hashes)],
            )
            return {
                hash_: issuance.KnownMember(
                    in_reach=reach, name=name or "", phone=phone or "", live_card=None
                )
                for hash_, reach, name, phone in cursor.fetchall()
            }

    def _check_known_member(self, row, errors, member) -> None:
        if not member.in_reach:
            errors.append(str(ROSTER_MEMBER_OUT_OF_REACH))
            return
        super()._check_known_member(row, errors, member)

    def _prepare(self, number: int, values: dict[str, str]):
        row, errors = super()._prepare(number, values)
        text = values.get("member_status", "").strip()
        status = STATUS_BY_TEXT.get(text)
        if status is None:
            errors.append(
                _("会籍状态“%(status)s”无法识别，可填：%(choices)s（不填为在会）。")
                % {"status": text[:20], "choices": "、".join(str(label) for label in Member.Status.labels)}
            )
            status = Member.Status.ACTIVE
        row.member_status = status
        return row, errors


# --- Upload, validation ---------------------------------------------------------------------------


def _ensure_staff(actor, union: Union, permission: str, message: str) -> None:
    if actor is None or not actor.has_perm(permission):
        raise PermissionDenied(message)
    ensure_union_in_scope(actor, union)


def roster_upload(*, union: Union, uploaded_file, uploaded_by) -> RosterImport:
    """Keep the file and queue its validation. The roster's union is the uploader's own or one below."""
    _ensure_staff(uploaded_by, union, "members.add_rosterimport", _("您没有导入会员名册的权限。"))
    if union.level == Union.Level.PROVINCE:
        raise ValidationFailed(_("请按市、县或基层工会分别导入名册。"))
    batch_check_upload(uploaded_file)
    original = os.path.basename(uploaded_file.name or "")
    extension = issuance.extension_of(original)
    roster = RosterImport(union=union, original_filename=original[:255], uploaded_by=uploaded_by)
    stored_name = f"{timezone.localtime():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}{extension}"
    roster.file.save(stored_name, uploaded_file, save=False)
    with transaction.atomic():
        roster.save()
        enqueue_on_commit("members.tasks.roster_validate", roster.pk)
    return roster


def roster_validate_run(*, roster_id: int) -> None:
    """Read the file, check every row and store the rows in chunks; resumable (rows already stored
    are skipped when the file is read again). One validator per roster (a session advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, roster_id])
        if not cursor.fetchone()[0]:
            return
    try:
        _roster_validate_locked(roster_id)
    except Exception:  # whatever stops the reading, the roster must not hang "校验中"
        logger.exception("roster %s: validation stopped", roster_id)
        _roster_fail_validation(roster_id, str(batch_validation.VALIDATION_STOPPED))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, roster_id])


def _roster_validate_locked(roster_id: int) -> None:
    claimed = RosterImport.objects.filter(
        pk=roster_id, status__in=[RosterImport.Status.UPLOADED, RosterImport.Status.VALIDATING]
    ).update(status=RosterImport.Status.VALIDATING, status_message="")
    if not claimed:
        return
    roster = RosterImport.objects.select_related("union").get(pk=roster_id)
    stored_through = roster.rows.aggregate(last=Max("row_number"))["last"] or 0
    checker = RosterRowChecker(batch_id=roster.pk, batch_union=roster.union)
    max_rows = settings.ISSUANCE_UPLOAD_MAX_ROWS
    try:
        with roster.file.open("rb") as handle:
            opened = issuance.open_application_file(
                handle, roster.original_filename, extra_headers=EXTRA_HEADERS
            )
            RosterImport.objects.filter(pk=roster_id).update(
                total_rows=min(opened.estimated_rows, max_rows + 1)
            )
            with contextlib.closing(opened.rows()) as rows:
                seen = batch_validation._validate_rows(
                    roster_id,
                    rows,
                    checker,
                    stored_through,
                    max_rows,
                    store=lambda chunk: _store_checked_rows(roster_id, chunk),
                )
            if seen == 0:
                raise issuance.FileProblem(_("文件中没有名册数据。"))
    except issuance.FileProblem as problem:
        _roster_fail_validation(roster_id, str(problem))
        return
    except FileNotFoundError:
        _roster_fail_validation(roster_id, _("上传的文件已丢失，请重新上传。"))
        return
    batch_validation._mark_duplicates_in_file(roster_id, table="members_rosterrow", owner="roster_id")
    # A roster may bring in more rows than the table held before: refresh the planner's statistics,
    # so the chunks that follow look rows up by index instead of scanning a table thought tiny.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_rosterrow")
    counts = RosterRow.objects.filter(roster_id=roster_id).aggregate(
        total=Count("id"),
        valid=Count("id", filter=Q(status=RosterRow.Status.VALID)),
        invalid=Count("id", filter=Q(status=RosterRow.Status.INVALID)),
    )
    RosterImport.objects.filter(pk=roster_id, status=RosterImport.Status.VALIDATING).update(
        status=RosterImport.Status.VALIDATED,
        total_rows=counts["total"],
        valid_rows=counts["valid"],
        error_rows=counts["invalid"],
        validated_at=timezone.now(),
    )


def _store_checked_rows(roster_id: int, rows: list[issuance.CheckedRow]) -> None:
    batch_validation.store_checked_rows(
        RosterImport, roster_id, rows, table="members_rosterrow", owner_column="roster_id", member_status=True
    )


def _roster_fail_validation(roster_id: int, message: str) -> None:
    with transaction.atomic():
        failed = RosterImport.objects.filter(pk=roster_id, status=RosterImport.Status.VALIDATING).update(
            status=RosterImport.Status.FAILED,
            status_message=message[:500],
            valid_rows=0,
            error_rows=0,
            total_rows=0,
        )
        if failed:
            RosterRow.objects.filter(roster_id=roster_id).delete()


# --- Staff steps: confirm, cancel, resume ---------------------------------------------------------


def roster_confirm(*, roster: RosterImport, actor) -> RosterImport:
    """Apply a validated roster: queue the import of its valid rows."""
    _ensure_staff(actor, roster.union, "members.confirm_rosterimport", _("您没有确认导入会员名册的权限。"))
    with transaction.atomic():
        changed = RosterImport.objects.filter(
            pk=roster.pk, status=RosterImport.Status.VALIDATED, valid_rows__gt=0
        ).update(status=RosterImport.Status.APPLYING, confirmed_by=actor, confirmed_at=timezone.now())
        if changed != 1:
            roster.refresh_from_db()
            raise RosterStateConflict(
                _("只有“待确认”且有有效行的名册可以导入，当前状态为“%(status)s”。")
                % {"status": roster.get_status_display()}
            )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ROSTER_CONFIRMED,
            target=roster,
            union_path=roster.union.path,
            data={"valid_rows": roster.valid_rows, "error_rows": roster.error_rows},
        )
        enqueue_on_commit("members.tasks.roster_apply", roster.pk)
    roster.refresh_from_db()
    return roster


def roster_cancel(*, roster: RosterImport, actor) -> RosterImport:
    _ensure_staff(actor, roster.union, "members.add_rosterimport", _("您没有导入会员名册的权限。"))
    changed = RosterImport.objects.filter(
        pk=roster.pk,
        status__in=[RosterImport.Status.VALIDATED, RosterImport.Status.FAILED],
        confirmed_at=None,
    ).update(status=RosterImport.Status.CANCELLED)
    roster.refresh_from_db()
    if changed != 1:
        raise RosterStateConflict(
            _("当前状态为“%(status)s”的名册不能放弃。") % {"status": roster.get_status_display()}
        )
    return roster


def roster_resume(*, roster: RosterImport) -> bool:
    """Queue the unfinished work of a roster again (lost worker, broker outage); every step skips
    what is done."""
    roster.refresh_from_db()
    if roster.status in (RosterImport.Status.UPLOADED, RosterImport.Status.VALIDATING):
        enqueue_on_commit("members.tasks.roster_validate", roster.pk)
        return True
    if roster.status == RosterImport.Status.APPLYING:
        enqueue_on_commit("members.tasks.roster_apply", roster.pk)
        return True
    return False


# --- Applying a confirmed roster --------------------------------------------------------------------


def roster_apply_chunk(*, roster_id: int, chunk_size: int = APPLY_CHUNK_ROWS) -> str:
    """Apply the next ``chunk_size`` valid rows in one transaction; the last run lists the missing
    members and completes the roster. Returns "more", "done" or "idle".

    The roster row is locked first, so a redelivered task waits for the original and then finds its
    rows done (past ``applied_through``); a killed worker's transaction rolls back as a whole."""
    with transaction.atomic():
        roster = (
            RosterImport.objects.select_for_update(of=("self",))
            .select_related("union", "confirmed_by")
            .filter(pk=roster_id, status=RosterImport.Status.APPLYING)
            .first()
        )
        if roster is None:
            return "idle"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, row_number, id_number_hash FROM members_rosterrow "
                "WHERE roster_id = %s AND status = 'valid' AND row_number > %s ORDER BY row_number LIMIT %s",
                [roster_id, roster.applied_through, chunk_size],
            )
            chunk = cursor.fetchall()
            row_ids = [row[0] for row in chunk]
            if not row_ids:
                _roster_complete(cursor, roster)
                return "done"
            member_by_row, refused, added, updated = upsert_members_from_rows(
                cursor,
                rows_table="members_rosterrow",
                rows=[(row_id, hash_) for row_id, _number, hash_ in chunk],
                scope_path=roster.union.path,
                active_only=False,
                actor=roster.confirmed_by,
                audit_data={"roster": roster.pk},
                now=timezone.now(),
                new_status_column="member_status",
            )
            accepted = [row_id for row_id in row_ids if row_id in member_by_row]
            # New members were inserted with their row's union and status: only known ones may differ.
            moved = (
                _apply_union_and_status(cursor, roster, accepted, member_by_row)
                if added < len(accepted)
                else 0
            )
            # Progress is the last row number applied, kept on the locked roster: the rows themselves
            # are not rewritten (a wide row per member), only the few refused ones.
            if refused:
                cursor.execute(
                    "UPDATE members_rosterrow SET status = 'invalid', errors = errors || %s "
                    "WHERE id = ANY(%s) AND status = 'valid'",
                    [Jsonb([str(ROSTER_MEMBER_OUT_OF_REACH)]), refused],
                )
                if cursor.rowcount != len(refused):
                    raise RuntimeError("roster rows changed under a locked roster")
        RosterImport.objects.filter(pk=roster_id).update(
            applied_through=chunk[-1][1],
            processed_rows=F("processed_rows") + len(accepted),
            members_added=F("members_added") + added,
            members_updated=F("members_updated") + updated,
            status_changes=F("status_changes") + moved,
            valid_rows=F("valid_rows") - len(refused),
            error_rows=F("error_rows") + len(refused),
        )
    return "more"


def _apply_union_and_status(cursor, roster: RosterImport, row_ids: list[int], member_by_row: dict) -> int:
    """Known members whose workplace union or 会籍状态 differs from their row: moved and set through
    the members services (scope, audit, history), in the name of the staff who confirmed."""
    if not row_ids:
        return 0
    cursor.execute(
        "SELECT r.id, r.union_id, r.member_status, m.id, m.union_id, m.status "
        "FROM members_rosterrow r JOIN members_member m ON m.id_number_hash = r.id_number_hash "
        "WHERE r.id = ANY(%s::bigint[]) AND (m.union_id <> r.union_id OR m.status <> r.member_status) "
        "ORDER BY m.id",
        [bigint_array_literal(row_ids)],
    )
    changes = cursor.fetchall()
    unions = Union.objects.in_bulk({row[1] for row in changes})
    for _row_id, union_id, status, member_id, current_union, current_status in changes:
        member = Member.objects.select_related("union").get(pk=member_id)
        if union_id != current_union:
            member_transfer(member=member, to_union=unions[union_id], actor=roster.confirmed_by)
        if status != current_status:
            member_set_status(member=member, status=status, actor=roster.confirmed_by)
    return len(changes)


def _roster_complete(cursor, roster: RosterImport) -> None:
    """The roster is in: list the active members of its workplace unions it does not name (replacing
    what an older roster of those unions still listed unresolved), record the unions as having a
    roster (dated like the history, ``members_history_at()``), and complete it."""
    now = timezone.now()
    cursor.execute(
        "SELECT DISTINCT union_id FROM members_rosterrow WHERE roster_id = %s AND status = 'valid'",
        [roster.pk],
    )
    covered = [row[0] for row in cursor.fetchall()]
    # A roster is a bulk load: the planner learns of the members it added before it compares the
    # members with the rows (one hash anti-join; the rows have no index on the ID hash to probe).
    cursor.execute("ANALYZE members_member, members_memberhistory")
    cursor.execute(
        "DELETE FROM members_rostermissing "
        "WHERE resolution = 'pending' AND union_id = ANY(%s) AND roster_id <> %s",
        [covered, roster.pk],
    )
    cursor.execute(
        """
        INSERT INTO members_rostermissing (roster_id, member_id, union_id, resolution)
        SELECT %s, m.id, m.union_id, 'pending' FROM members_member m
        WHERE m.union_id = ANY(%s) AND m.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM members_rosterrow r
                          WHERE r.roster_id = %s AND r.id_number_hash = m.id_number_hash)
        ON CONFLICT DO NOTHING
        """,
        [roster.pk, covered, roster.pk],
    )
    missing = cursor.rowcount
    cursor.execute(
        """
        WITH at AS MATERIALIZED (SELECT members_history_at() AS t)
        INSERT INTO members_unionsubmission (union_id, kind, first_at, last_at)
        SELECT u, %s, at.t, at.t FROM unnest(%s::bigint[]) AS u, at
        ON CONFLICT (union_id, kind) DO UPDATE SET last_at = EXCLUDED.last_at
        """,
        [UnionSubmission.Kind.ROSTER, covered],
    )
    RosterImport.objects.filter(pk=roster.pk, status=RosterImport.Status.APPLYING).update(
        status=RosterImport.Status.COMPLETED, completed_at=now, missing_members=missing
    )


# --- Members not in the latest roster ---------------------------------------------------------------


def missing_for_staff(user):
    return scope_queryset(
        RosterMissing.objects.select_related("member", "union", "roster"), user, "union__path"
    )


RESOLUTION_STATUS = {
    RosterMissing.Resolution.LEFT: Member.Status.LEFT,
    RosterMissing.Resolution.TRANSFERRED: Member.Status.TRANSFERRED,
    RosterMissing.Resolution.KEPT: None,
}


def roster_missing_resolve(*, missing_ids: list[int], resolution: str, actor) -> int:
    """Confirm members not in the latest roster as left or transferred (their status set through
    ``member_set_status``), or keep them as they are. Only pending entries of the actor's subtree
    are touched; returns how many."""
    if resolution not in RESOLUTION_STATUS:
        raise ValidationFailed(_("未知的处理结果。"))
    if actor is None or not actor.has_perm("members.change_rostermissing"):
        raise PermissionDenied(_("您没有处理名册差异的权限。"))
    status = RESOLUTION_STATUS[resolution]
    resolved = 0
    with transaction.atomic():
        entries = (
            missing_for_staff(actor)
            .filter(pk__in=missing_ids, resolution=RosterMissing.Resolution.PENDING)
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        for entry in entries:
            if status is not None and entry.member.status == Member.Status.ACTIVE:
                member_set_status(member=entry.member, status=status, actor=actor)
            resolved += RosterMissing.objects.filter(
                pk=entry.pk, resolution=RosterMissing.Resolution.PENDING
            ).update(resolution=resolution, resolved_by=actor, resolved_at=timezone.now())
    return resolved


# --- Reported member counts -------------------------------------------------------------------------


def reported_count_record(
    *, union: Union, count: int, as_of: datetime.date, source: str, actor
) -> ReportedMemberCount:
    """A workplace union's reported member count (its denominator while it has no roster). A count
    dated in the past changes the coverage of the days since, which are computed again."""
    _ensure_staff(actor, union, "members.add_reportedmembercount", _("您没有填报会员人数的权限。"))
    if union.level != Union.Level.WORKPLACE:
        message = _("会员人数按基层工会填报。")
        raise ValidationFailed(message, fields={"union": [message]})
    if count < 0:
        raise ValidationFailed(_("会员人数不能为负数。"), fields={"count": [_("会员人数不能为负数。")]})
    today = timezone.localdate()
    if as_of > today:
        message = _("统计日期不能晚于今天。")
        raise ValidationFailed(message, fields={"as_of": [message]})
    source = (source or "").strip()
    if not source:
        message = _("请填写数据来源。")
        raise ValidationFailed(message, fields={"source": [message]})
    with transaction.atomic():
        reported = ReportedMemberCount.objects.create(
            union=union, count=count, as_of=as_of, source=source[:200], entered_by=actor
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.MEMBER_COUNT_REPORTED,
            target=reported,
            union_path=union.path,
            data={"count": count, "as_of": as_of.isoformat(), "source": source[:200]},
        )
        if as_of < today:
            enqueue_on_commit(RECOMPUTE_TASK, as_of.isoformat())
    return reported


# --- Files ------------------------------------------------------------------------------------------


def roster_template_workbook() -> bytes:
    """The application template's columns, plus 会籍状态."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "会员名册"
    sheet.append([*issuance.REQUIRED_HEADERS, issuance.HEADER_GROUPS, HEADER_STATUS])
    for column, width in zip("ABCDEF", (12, 22, 14, 16, 16, 12), strict=True):
        sheet.column_dimensions[column].width = width
    for column in "BCD":
        for row in range(2, 1002):
            sheet[f"{column}{row}"].number_format = "@"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列", "说明"])
    notes.append(
        [
            "（全表）",
            "名册是本工会的完整会员名单；未列入的在会会员将列为“不在最新名册”，由您确认是否退会或转出。",
        ]
    )
    notes.append([issuance.HEADER_NAME, "必填，会员姓名"])
    notes.append([issuance.HEADER_ID, "必填，18位居民身份证号（设为文本格式）"])
    notes.append([issuance.HEADER_PHONE, "必填，11位手机号"])
    notes.append([issuance.HEADER_UNION, "必填，会员所在基层工会的代码"])
    notes.append([issuance.HEADER_GROUPS, "选填，多个用顿号分隔"])
    notes.append(
        [HEADER_STATUS, "选填：" + "、".join(str(label) for label in Member.Status.labels) + "，不填为在会"]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

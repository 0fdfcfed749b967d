"""Validating an issuance batch (the ``members.tasks.batch_validate`` task): read the uploaded file,
check every row and store the rows in chunks, resumable after a crash. A file that cannot be read
fails the batch as a whole with a plain message."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import traceback

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import issuance
from members.models import IssuanceBatch, IssuanceRow
from portal.db.arrays import text_array_literal

logger = logging.getLogger(__name__)

# Rows checked and stored per transaction while validating an uploaded file.
VALIDATE_CHUNK_ROWS = 5000
VALIDATION_LOCK_NAMESPACE = 3_001  # first key of the per-batch advisory lock


def batch_validate_run(*, batch_id: int) -> None:
    """Read the file, check every row and store the rows in chunks; resumable after a crash (rows
    already stored are skipped when the file is read again)."""
    # One validator per batch: a redelivered task finds the lock taken and leaves. The lock belongs to
    # the session, so a killed worker's lock goes with its connection.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, batch_id])
        if not cursor.fetchone()[0]:
            return
    try:
        _batch_validate_locked(batch_id)
    except Exception as exc:  # whatever stops the reading, the batch must not hang "校验中"
        _validation_stopped(batch_id, exc)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, batch_id])


VALIDATION_STOPPED = gettext_lazy(
    "校验时发生意外错误，已停止。请检查文件后重新上传；如果文件无误，可点击“继续处理”重新校验，"
    "或联系平台管理员。"
)


def _validation_stopped(batch_id: int, exc: Exception) -> None:
    """An error nobody foresaw (a parser's, a database's, a time limit's): the batch fails with a
    plain message, and the log says what and where, without the exception's text — it may quote a
    row of the file (a name, a phone, an ID number)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{frame.filename}:{frame.lineno}" if frame else "?"
    logger.error("batch %s: validation stopped by %s at %s", batch_id, type(exc).__name__, where)
    _batch_fail_validation(batch_id, str(VALIDATION_STOPPED))


def _batch_validate_locked(batch_id: int) -> None:
    claimed = IssuanceBatch.objects.filter(
        pk=batch_id, status__in=[IssuanceBatch.Status.UPLOADED, IssuanceBatch.Status.VALIDATING]
    ).update(status=IssuanceBatch.Status.VALIDATING, status_message="")
    if not claimed:
        return
    batch = IssuanceBatch.objects.select_related("union").get(pk=batch_id)
    stored_through = batch.rows.aggregate(last=Max("row_number"))["last"] or 0
    checker = issuance.RowChecker(batch_id=batch.pk, batch_union=batch.union)
    max_rows = settings.ISSUANCE_UPLOAD_MAX_ROWS
    try:
        with batch.file.open("rb") as handle:
            opened = issuance.open_application_file(handle, batch.original_filename)
            IssuanceBatch.objects.filter(pk=batch_id).update(
                total_rows=min(opened.estimated_rows, max_rows + 1)
            )
            with contextlib.closing(opened.rows()) as rows:
                seen = _validate_rows(batch_id, rows, checker, stored_through, max_rows)
            if seen == 0:
                raise issuance.FileProblem(_("文件中没有申请数据。"))
    except issuance.FileProblem as problem:
        _batch_fail_validation(batch_id, str(problem))
        return
    except FileNotFoundError:
        _batch_fail_validation(batch_id, _("上传的文件已丢失，请重新上传。"))
        return
    _mark_duplicates_in_file(batch_id)
    valid = Q(status=IssuanceRow.Status.VALID)
    counts = IssuanceRow.objects.filter(batch_id=batch_id).aggregate(
        total=Count("id"),
        valid=Count("id", filter=valid),
        invalid=Count("id", filter=Q(status=IssuanceRow.Status.INVALID)),
        changed=Count("id", filter=valid & ~Q(member_changes={})),
    )
    IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.VALIDATING).update(
        status=IssuanceBatch.Status.VALIDATED,
        total_rows=counts["total"],
        valid_rows=counts["valid"],
        error_rows=counts["invalid"],
        changed_members=counts["changed"],
        validated_at=timezone.now(),
    )
    _card_data_submitted(batch_id)


def _card_data_submitted(batch_id: int) -> None:
    """The workplace unions a validated batch names have submitted card data (上报办卡资料): the
    second count of the reporting rate (``members.UnionSubmission``), dated like the history."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH at AS MATERIALIZED (SELECT members_history_at() AS t)
            INSERT INTO members_unionsubmission (union_id, kind, first_at, last_at)
            SELECT DISTINCT r.union_id, 'cards', at.t, at.t
            FROM members_issuancerow r, at WHERE r.batch_id = %s AND r.union_id IS NOT NULL
            ON CONFLICT (union_id, kind) DO UPDATE SET last_at = EXCLUDED.last_at
            """,
            [batch_id],
        )


def _validate_rows(
    batch_id: int, rows, checker: issuance.RowChecker, stored_through: int, max_rows: int, store=None
) -> int:
    """Check the rows after ``stored_through`` a chunk at a time and ``store`` each chunk (by default
    as the rows of issuance batch ``batch_id``; the roster passes its own). Returns the rows seen.

    Chunks are stored in file order, so a validation stopped anywhere resumes after its last stored
    row. One thread does it all: reading and checking ahead on a second thread was measured slower
    (33.5 s against 27.1 s for a million rows), the two threads handing the interpreter lock to each
    other at every wait for PostgreSQL."""
    store = store or (lambda chunk: _store_checked_rows(batch_id, chunk))
    seen = 0
    pending: list[tuple[int, dict[str, str]]] = []
    with _without_cycle_collection():
        for number, values in rows:
            seen += 1
            if seen > max_rows:
                raise issuance.FileProblem(
                    _("文件超过 %(limit)s 行的上限，请拆分后分批上传。") % {"limit": f"{max_rows:,}"}
                )
            if number <= stored_through:
                continue
            pending.append((number, values))
            if len(pending) >= VALIDATE_CHUNK_ROWS:
                store(checker.check(pending))
                pending = []
        if pending:
            store(checker.check(pending))
    return seen


@contextlib.contextmanager
def _without_cycle_collection():
    """Python's cycle collector paused while a file is read and checked. The rows of a chunk (a
    few containers each, tens of thousands at a time) set it off again and again, and each time it
    walks every object of the process: about a tenth of the time of a check. The rows hold no
    reference cycles, so their memory is freed as it was; the collector runs again after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _store_checked_rows(batch_id: int, rows: list[issuance.CheckedRow]) -> None:
    store_checked_rows(IssuanceBatch, batch_id, rows, table="members_issuancerow", owner_column="batch_id")


def store_checked_rows(
    owner,
    owner_id: int,
    rows: list[issuance.CheckedRow],
    *,
    table: str,
    owner_column: str,
    member_status=False,
) -> None:
    """COPY the checked rows of a file in and count them on the file (``owner``: the batch or the
    roster model; a roster's rows carry their 会籍状态 too), in one transaction."""
    columns = [
        owner_column,
        *("row_number", "name", "id_number_encrypted", "id_number_hash", "id_number_masked", "phone"),
        *("union_code", "union_id", "groups", *(("member_status",) if member_status else ()), "status"),
        *("errors", "member_changes"),
    ]
    valid = sum(1 for row in rows if row.status == IssuanceRow.Status.VALID)
    with transaction.atomic():
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy,  # callers' constants
        ):
            for row in rows:
                values = [
                    owner_id,
                    row.row_number,
                    row.name,
                    row.id_number_encrypted,
                    row.id_number_hash,
                    row.id_number_masked,
                    row.phone,
                    row.union_code,
                    row.union_id,
                    text_array_literal(row.groups),
                ]
                if member_status:
                    values.append(row.member_status)
                values += [row.status, copy_json(row.errors, "[]"), copy_json(row.member_changes, "{}")]
                copy.write_row(values)
        owner.objects.filter(pk=owner_id).update(
            valid_rows=F("valid_rows") + valid, error_rows=F("error_rows") + (len(rows) - valid)
        )


def copy_json(value, empty: str) -> str:
    """A jsonb value for a text COPY, as psycopg's Jsonb writes it (json.dumps): psycopg escapes
    the text for COPY like any string, and the empty value of nearly every row is a constant —
    the Jsonb dumper costs several µs a value."""
    return json.dumps(value) if value else empty


def _batch_fail_validation(batch_id: int, message: str) -> None:
    """A file that cannot be read fails as a whole: no partial rows are kept, the file is (so the
    batch can be validated again, see :func:`members.batches.batch_resume`)."""
    with transaction.atomic():
        failed = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.VALIDATING).update(
            status=IssuanceBatch.Status.FAILED,
            status_message=message[:500],
            valid_rows=0,
            error_rows=0,
            total_rows=0,
            changed_members=0,
        )
        if failed:
            IssuanceRow.objects.filter(batch_id=batch_id).delete()


def _mark_duplicates_in_file(
    batch_id: int, *, table: str = "members_issuancerow", owner: str = "batch_id"
) -> None:
    """Every repeat of an ID number after its first row is an error, found in one statement
    (``table``/``owner``: the rows table and its file's column — the roster's rows too)."""
    template = _("与第%s行的身份证号重复。")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH ranked AS (
                SELECT id, row_number,
                       min(row_number) OVER (PARTITION BY id_number_hash) AS first_row
                FROM {table}
                WHERE {owner} = %s AND id_number_hash <> ''
            )
            UPDATE {table} r
            SET status = 'invalid', errors = r.errors || jsonb_build_array(format(%s, ranked.first_row))
            FROM ranked
            WHERE r.id = ranked.id AND ranked.row_number > ranked.first_row
            """,  # noqa: S608 - table names are the callers' constants
            [batch_id, template],
        )

"""The bank's daily card-transactions file (卡交易明细): card, bank merchant id, amount, time and the
bank's reference of each payment made with a union card.

A file of a million lines is loaded in one pass: its lines go as they are into a staging table (a
temporary table of the import's own transaction) by COPY, each with its line number, and one statement
splits, checks and converts them, inserts the good ones (``ON CONFLICT (bank, reference) DO NOTHING``:
a payment already loaded, from this file or another, is one transaction), and writes a result for every
refused line; the lines that changed nothing get theirs from a second statement, run only when there
are any. It all happens in one transaction with the file row locked, so a worker lost half-way leaves
nothing behind and a redelivered task starts again cleanly; the staging table goes with it.

Only lines that need attention get a line result; the lines that were applied are counted."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banking.files import BankFileProblem
from banking.models import BankFile

HEADERS = (
    ("卡号", "银行商户号", "金额", "交易时间", "交易流水号"),
    ("card_number", "bank_merchant_id", "amount", "occurred_at", "reference"),
)
COPY_BLOCK_LINES = 20_000


def _problem_messages() -> list[str]:
    return [
        _("列数不对：应为 卡号,银行商户号,金额,交易时间,交易流水号 五列。"),
        _("卡号不是该银行的会员卡。"),
        _("金额应为大于 0 的元金额，最多两位小数。"),
        _("交易时间应为 年-月-日 时:分:秒。"),
        _("交易流水号不能为空，且不超过 64 个字符。"),
        _("银行商户号不能为空，且不超过 32 个字符。"),
    ]


# The staging table: one per import, a temporary table dropped when the transaction ends — no WAL,
# nothing to delete, never seen by another import.
STAGING_SQL = (
    "CREATE TEMP TABLE banking_staging (line_number integer NOT NULL, raw text NOT NULL) ON COMMIT DROP"
)

# The staged lines split into their fields and checked; ``problem`` indexes the messages (NULL: good).
CHECKED_SQL = r"""
WITH fields AS (
    SELECT line_number, cardinality(f) AS n, btrim(f[1]) AS card_number, btrim(f[2]) AS merchant,
           btrim(f[3]) AS amount, btrim(f[4]) AS occurred, btrim(f[5]) AS reference
    FROM (SELECT line_number, string_to_array(raw, ',') AS f FROM banking_staging) AS s
), checked AS (
    SELECT x.*, c.id AS card_id, u.path AS union_path,
           CASE
             WHEN x.n <> 5 THEN 1
             WHEN c.id IS NULL THEN 2
             WHEN x.amount !~ '^\d{1,10}(\.\d{1,2})?$' THEN 3
             WHEN x.amount::numeric <= 0 THEN 3
             WHEN x.occurred !~ '^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?$' THEN 4
             WHEN NOT pg_input_is_valid(x.occurred, 'timestamp') THEN 4
             WHEN x.reference = '' OR length(x.reference) > 64 THEN 5
             WHEN x.merchant = '' OR length(x.merchant) > 32 THEN 6
           END AS problem
    FROM fields x
    LEFT JOIN members_card c ON c.number = x.card_number AND c.bank_id = %(bank)s
    LEFT JOIN members_member m ON m.id = c.member_id
    LEFT JOIN members_union u ON u.id = m.union_id
)
"""

# One statement loads the file: the good lines inserted (a reference already there — from another file,
# or earlier in this one — is skipped by ON CONFLICT), a result written for each refused line.
IMPORT_SQL = (
    CHECKED_SQL  # noqa: S608 - constant SQL, parameters passed apart
    + """
, inserted AS (
    INSERT INTO banking_cardtransaction
        (bank_id, reference, card_id, union_path, bank_merchant_id, amount_fen, occurred_at, file_id)
    SELECT %(bank)s, reference, card_id, union_path, merchant, round(amount::numeric * 100)::bigint,
           occurred::timestamp AT TIME ZONE 'Asia/Shanghai', %(file)s
    FROM checked WHERE problem IS NULL
    ON CONFLICT (bank_id, reference) DO NOTHING
    RETURNING 1
), refused AS (
    INSERT INTO banking_bankfileline (file_id, line_number, outcome, message, card_id)
    SELECT %(file)s, line_number, 'error', (%(messages)s::text[])[problem], card_id
    FROM checked WHERE problem IS NOT NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM fields), (SELECT count(*) FROM inserted), (SELECT count(*) FROM refused)
"""
)

# Only when some good lines changed nothing (rare: a file overlapping an earlier one): which. A line is
# unchanged when its reference came from another file, or from an earlier line of this one.
UNCHANGED_SQL = (
    CHECKED_SQL  # noqa: S608 - constant SQL, parameters passed apart
    + """
, ranked AS (
    SELECT line_number, card_id, reference,
           row_number() OVER (PARTITION BY reference ORDER BY line_number) AS nth
    FROM checked WHERE problem IS NULL
)
INSERT INTO banking_bankfileline (file_id, line_number, outcome, message, card_id)
SELECT %(file)s, r.line_number, 'unchanged', %(known)s, r.card_id
FROM ranked r
JOIN banking_cardtransaction t ON t.bank_id = %(bank)s AND t.reference = r.reference
WHERE r.nth > 1 OR t.file_id <> %(file)s
"""
)


def _check_header(line: str) -> None:
    cells = tuple(cell.strip().lower() for cell in line.strip().lstrip("\ufeff").split(","))
    if cells not in HEADERS:
        raise BankFileProblem(
            _("第 1 行应为表头：%(header)s（或 %(english)s）。")
            % {"header": ",".join(HEADERS[0]), "english": ",".join(HEADERS[1])}
        )


def stage_lines(cursor, *, lines) -> None:
    """COPY the data lines of a file into the staging table, each with its line number; a line is
    taken as it is (split in SQL), so a malformed one is a refused line, never a failed COPY."""
    block: list[str] = []
    cursor.execute(STAGING_SQL)
    with cursor.copy("COPY banking_staging (line_number, raw) FROM STDIN") as copy:
        for number, line in enumerate(lines, start=2):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "\\" in line or "\t" in line:
                line = line.replace("\\", "\\\\").replace("\t", "\\t")
            block.append(f"{number}\t{line}\n")
            if len(block) >= COPY_BLOCK_LINES:
                copy.write("".join(block))
                block.clear()
        if block:
            copy.write("".join(block))


def import_staged(cursor, *, file_id: int, bank_id: int) -> tuple[int, int, int, int]:
    """(lines, inserted, unchanged, refused) of the staged lines."""
    params = {
        "file": file_id,
        "bank": bank_id,
        "messages": _problem_messages(),
        "known": _("该交易流水号已导入过。"),
    }
    cursor.execute(IMPORT_SQL, params)
    total, inserted, refused = cursor.fetchone()
    unchanged = total - inserted - refused
    if unchanged:
        cursor.execute(UNCHANGED_SQL, params)
        if cursor.rowcount != unchanged:
            raise RuntimeError("unchanged transaction lines do not add up")
    # Dropped at once, not only at commit: the caller's transaction may be a savepoint of a larger one.
    cursor.execute("DROP TABLE banking_staging")
    return total, inserted, unchanged, refused


def transactions_process(*, bank_file: BankFile) -> None:
    with bank_file.file.open("rb") as handle, transaction.atomic():
        # Locked: a redelivered task that runs beside the first waits, then finds the file done.
        status = (
            BankFile.objects.select_for_update()
            .filter(pk=bank_file.pk)
            .values_list("status", flat=True)
            .get()
        )
        if status != BankFile.Status.PROCESSING:
            return
        lines = (raw.decode("utf-8-sig", errors="replace") for raw in handle)
        first = next(lines, "")
        _check_header(first)
        with connection.cursor() as cursor:
            stage_lines(cursor.cursor, lines=lines)
            total, inserted, unchanged, refused = import_staged(
                cursor, file_id=bank_file.pk, bank_id=bank_file.bank_id
            )
        BankFile.objects.filter(pk=bank_file.pk).update(
            status=BankFile.Status.DONE,
            total_lines=total,
            applied_lines=inserted,
            unchanged_lines=unchanged,
            error_lines=refused,
            finished_at=timezone.now(),
        )

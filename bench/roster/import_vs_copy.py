"""Benchmark of the roster import: N members through the real code path, against raw COPY of the same rows.

Runs in a database of its own (default ``portal_bench_roster`` on the server of DATABASE_URL; created and
migrated when missing), from empty members tables for every size:

1. writes a roster CSV of N rows (valid, unique ID numbers) and uploads it (``members.roster.roster_upload``);
2. validates it (``roster_validate_run``: parse, check digit, encryption, keyed hash, COPY of the rows);
3. confirms it and applies it chunk by chunk exactly as the Celery task does (``roster_apply_chunk``:
   the bulk upsert with the scope rule, the dated history written by the triggers, then the list of
   members missing from it);
4. imports the same file a second time (every member known and unchanged: the monthly roster that
   changes little);
5. as the baselines, COPYs the same N members (already encrypted) in one transaction
   - into the members table itself, emptied: its foreign key to the union and the trigger that writes
     the dated history (issue 15, item 3) run as they do for any writer — the database's own bulk-load
     rate for these rows in this table, the baseline of the target;
   - into an empty twin made with ``CREATE TABLE … (LIKE members_member INCLUDING ALL)``: the same
     columns, indexes and CHECK constraints, but neither the foreign key nor the trigger (``LIKE``
     copies neither) — the disk's rate for the bare rows, shown for comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/roster/import_vs_copy.py --rows 100000 1000000

Prints one line per phase and a Markdown table. Never point it at a database you care about: it
empties the members, cards, batches and rosters of the benchmark database before every size.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(BASE_DIR))
# The issuance benchmark's database helpers, keys and ID numbers: the two benchmarks measure alike.
_spec = importlib.util.spec_from_file_location("bench_issuance", BASE_DIR / "bench" / "issuance.py")
bench_issuance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_issuance)


def write_roster(path: Path, rows: int, union_code: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "身份证号", "手机号", "基层工会代码", "群体", "会籍状态"])
        for index in range(rows):
            writer.writerow(
                [f"会员{index}", bench_issuance.id_number(index), f"136{index:08d}", union_code, "", "在会"]
            )


def reset(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_rosterrow, members_rostermissing, members_rosterimport, "
            "members_unionsubmission, members_memberhistory, members_cardhistory, members_issuancerow, "
            "members_card, "
            "members_issuancebatch, members_membertransfer, members_member, members_memberapitoken "
            "RESTART IDENTITY CASCADE"
        )


def import_roster(csv_path: Path, county, user) -> dict:
    from django.core.files import File

    from members import roster
    from members.models import RosterImport

    started = time.perf_counter()
    with csv_path.open("rb") as handle:
        item = roster.roster_upload(
            union=county, uploaded_file=File(handle, name=csv_path.name), uploaded_by=user
        )
    upload_s = time.perf_counter() - started
    started = time.perf_counter()
    roster.roster_validate_run(roster_id=item.pk)
    validate_s = time.perf_counter() - started
    item.refresh_from_db()
    assert item.status == RosterImport.Status.VALIDATED and item.error_rows == 0, item.status_message
    roster.roster_confirm(roster=item, actor=user)
    started = time.perf_counter()
    chunks = 1
    while roster.roster_apply_chunk(roster_id=item.pk) == "more":
        chunks += 1
    apply_s = time.perf_counter() - started
    item.refresh_from_db()
    assert item.status == RosterImport.Status.COMPLETED, item.status
    return {
        "upload_s": upload_s,
        "validate_s": validate_s,
        "apply_s": apply_s,
        "chunks": chunks,
        "added": item.members_added,
        "updated": item.members_updated,
    }


def raw_copy(rows: int) -> dict[str, float]:
    """COPY N members (encrypted beforehand) in one transaction into the members table itself (emptied
    first) and into an empty twin without its foreign key and trigger; seconds for each."""
    from django.db import connection, transaction
    from django.utils import timezone

    from members import pii
    from members.models import Union

    workplace_id = Union.objects.get(code="B01001").pk
    now = timezone.now()
    members = []
    for index in range(rows):
        value = bench_issuance.id_number(index)
        members.append(
            (
                f"会员{index}",
                pii.encrypt_id_number(value),
                pii.hash_id_number(value),
                pii.mask_id_number(value),
                f"136{index:08d}",
                workplace_id,
                "active",
                [],
                now,
                now,
            )
        )
    reset(connection)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_member")
        cursor.execute("CREATE TABLE bench_member (LIKE members_member INCLUDING ALL)")
    seconds = {}
    for label, table in (("table", "members_member"), ("twin", "bench_member")):
        started = time.perf_counter()
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} (name, id_number_encrypted, id_number_hash, id_number_masked, phone, "
                "union_id, status, groups, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for row in members:
                copy.write_row(row)
        seconds[label] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_member")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--database", default="portal_bench_roster")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("set DATABASE_URL to a PostgreSQL server (its database is not touched)")
    os.environ["DATABASE_URL"] = bench_issuance.ensure_database(base_url, args.database)
    media = Path(tempfile.mkdtemp(prefix="bench-roster-"))
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    results = []
    for rows in args.rows:
        print(f"--- {rows:,} rows", flush=True)
        reset(connection)
        county, workplace, _bank, user, _approver = bench_issuance.setup_fixtures()
        csv_path = media / f"roster-{rows}.csv"
        write_roster(csv_path, rows, workplace.code)
        first = import_roster(csv_path, county, user)
        assert first["added"] == rows
        again = import_roster(csv_path, county, user)
        assert again["added"] == 0 and again["updated"] == 0  # the same roster: nobody changes
        copy_s = raw_copy(rows)
        for label, result in (("first import", first), ("same roster again", again)):
            print(
                f"{label}: validate {result['validate_s']:.1f} s "
                f"({rows / result['validate_s']:,.0f} rows/s), "
                f"apply {result['apply_s']:.1f} s in {result['chunks']} chunks "
                f"({rows / result['apply_s']:,.0f} members/s)",
                flush=True,
            )
        for label, seconds in copy_s.items():
            print(
                f"raw COPY of {rows:,} members ({label}): {seconds:.1f} s ({rows / seconds:,.0f} /s)",
                flush=True,
            )
        results.append((rows, first, again, copy_s))

    print()
    print(
        "| rows | validate (rows/s) | apply, new (/s) | apply, known (/s) | COPY into the table (/s) "
        "| COPY into a bare twin (/s) | apply ÷ COPY (new) | apply ÷ COPY (known) | apply ÷ bare COPY (new) "
        "| end to end ÷ COPY (new) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows, first, again, copy_s in results:
        total = first["upload_s"] + first["validate_s"] + first["apply_s"]
        table, twin = copy_s["table"], copy_s["twin"]
        print(
            f"| {rows:,} | {rows / first['validate_s']:,.0f} | {rows / first['apply_s']:,.0f} "
            f"| {rows / again['apply_s']:,.0f} | {rows / table:,.0f} | {rows / twin:,.0f} "
            f"| {table / first['apply_s']:.0%} | {table / again['apply_s']:.0%} "
            f"| {twin / first['apply_s']:.0%} "
            f"| {table / total:.0%} |"
        )


if __name__ == "__main__":
    main()

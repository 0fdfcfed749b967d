"""Benchmark of card issuance: a batch of N applicants through the real code path, against raw COPY.

Runs in a database of its own (default ``portal_bench_issuance`` on the server of DATABASE_URL; created
and migrated when missing) and starts each size from empty members and cards tables:

1. writes an application CSV of N rows (valid, unique ID numbers and phones) and uploads it
   (``members.batches.batch_upload``: the file is kept in a temporary MEDIA_ROOT);
2. validates it (``batch_validate_run``: parse, check digit, encryption, keyed hash, bulk insert);
3. approves it and processes it chunk by chunk exactly as the Celery task does
   (``batch_process_chunk`` until done, then ``batch_finish`` writes the bank production file);
4. as the baselines, COPYs the same N members (already encrypted) and N cards in one transaction
   into the members and cards tables themselves, emptied (their foreign keys checked, their history
   triggers writing as for every writer: the baseline of the target), and into bare twins made with
   ``LIKE … INCLUDING ALL`` (no triggers, no union foreign key), shown for comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/issuance.py --rows 100000 1000000

Prints one line per phase and a Markdown table. Never point it at a database you care about: it
empties the members, cards and batches of the benchmark database before every size.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
# The benchmark's own personal-data keys: the development ones serve only the embedded database, and
# settings refuse them anywhere else (a key given in the environment wins).
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("PII_HASH_KEY", "bench-pii-hash-key")
sys.path.insert(0, str(BASE_DIR))
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def ensure_database(base_url: str, name: str) -> str:
    url = database_url(base_url, name)
    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True
    )
    return url


# Birth dates of the applicants: 1960 to 2005. The day step is prime to the number of days, so a run of
# indexes walks all the days before a date comes back.
BIRTH_FIRST = datetime.date(1960, 1, 1)
BIRTH_DAYS = (datetime.date(2005, 12, 31) - BIRTH_FIRST).days + 1
BIRTH_DAY_STEP = 7919


@functools.cache
def area_codes() -> tuple[str, ...]:
    """The county codes python-stdnum accepts for any birth year (listed without a period of
    validity): a file of real people names hundreds of birth places, not one."""
    from stdnum import numdb

    return tuple(
        f"{province}{county}"
        for length, province, _high, _props, counties in numdb.get("cn/loc").prefixes
        if length == 2
        for county_length, county, county_high, props, _children in counties
        if county_length == 4 and county == county_high and "[" not in props.get("county", "[")
    )


def id_number(index: int) -> str:
    """A valid ID number, unique per index, deterministic: the area changes every row, the birth
    date every round of the areas, so nearly every row has its own area and birth date."""
    areas = area_codes()
    round_, area = divmod(index, len(areas))
    day = round_ * BIRTH_DAY_STEP % BIRTH_DAYS
    sequence = round_ // BIRTH_DAYS
    born = BIRTH_FIRST + datetime.timedelta(days=day)
    body = f"{areas[area]}{born:%Y%m%d}{sequence + 1:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def write_csv(path: Path, rows: int, union_code: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "身份证号", "手机号", "基层工会代码", "群体"])
        for index in range(rows):
            writer.writerow([f"申请人{index}", id_number(index), f"136{index:08d}", union_code, ""])


def reset(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_issuancerow, members_card, members_issuancebatch, members_membertransfer, "
            "members_member, members_memberapitoken RESTART IDENTITY CASCADE"
        )
        cursor.execute("UPDATE members_partnerbank SET next_serial = 1")


def setup_fixtures():
    from django.contrib.auth import get_user_model

    from members.models import PartnerBank, Union

    province, _ = Union.objects.get_or_create(
        code="B0", defaults={"name": "基准省总工会", "level": "province", "path": "B0/", "depth": 0}
    )
    county, _ = Union.objects.get_or_create(
        code="B01",
        defaults={
            "name": "基准县总工会",
            "level": "county",
            "parent": province,
            "path": "B0/B01/",
            "depth": 1,
        },
    )
    workplace, _ = Union.objects.get_or_create(
        code="B01001",
        defaults={
            "name": "基准单位工会",
            "level": "workplace",
            "parent": county,
            "path": "B0/B01/B01001/",
            "depth": 2,
        },
    )
    bank, _ = PartnerBank.objects.get_or_create(
        code="BENCH", defaults={"name": "基准银行", "bin": "628888", "serial_length": 10}
    )
    user, approver = (
        get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True, "union": province}
        )[0]
        for username in ("bench-issuance", "bench-issuance-approver")  # two people approve a batch
    )
    return county, workplace, bank, user, approver


def run_batch(rows: int, media: Path) -> dict:
    from django.core.files import File
    from django.db import connection

    from members import batch_processing, batch_validation, batches
    from members.models import Card, IssuanceBatch

    reset(connection)
    county, workplace, bank, user, approver = setup_fixtures()
    csv_path = media / f"applicants-{rows}.csv"
    write_csv(csv_path, rows, workplace.code)

    started = time.perf_counter()
    with csv_path.open("rb") as handle:  # read as Django hands over a large upload: from a file
        batch = batches.batch_upload(
            union=county, bank=bank, uploaded_file=File(handle, name=csv_path.name), uploaded_by=user
        )
    upload_s = time.perf_counter() - started

    started = time.perf_counter()
    batch_validation.batch_validate_run(batch_id=batch.pk)
    validate_s = time.perf_counter() - started
    batch.refresh_from_db()
    assert batch.status == IssuanceBatch.Status.VALIDATED and batch.valid_rows == rows, batch.status_message

    batches.batch_approve(batch=batch, actor=approver)
    started = time.perf_counter()
    chunks = 0
    while batch_processing.batch_process_chunk(batch_id=batch.pk) == "more":
        chunks += 1
    process_s = time.perf_counter() - started
    started = time.perf_counter()
    assert batch_processing.batch_finish(batch_id=batch.pk)
    finish_s = time.perf_counter() - started
    batch.refresh_from_db()
    assert batch.cards_created == rows and Card.objects.count() == rows
    serials = Card.objects.order_by("-serial").values_list("serial", flat=True).first()
    assert serials == rows, "serials are gapless"
    return {
        "rows": rows,
        "chunks": chunks,
        "upload_s": upload_s,
        "validate_s": validate_s,
        "process_s": process_s,
        "finish_s": finish_s,
        # The most memory this process has held so far: every phase above, one after the other.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def raw_copy(rows: int) -> dict[str, float]:
    """COPY N members and N cards (data prepared beforehand), in one transaction, two ways; seconds for each.

    - ``table``: into the members and cards tables themselves, emptied — their foreign keys are
      checked and their triggers write the dated history (issue 15), as for every writer: the
      database's own bulk-load rate for these rows in these tables, the baseline of the target;
    - ``twin``: into empty twins made with ``CREATE TABLE … (LIKE … INCLUDING ALL)`` — the same
      columns, indexes and CHECK constraints without the history triggers or the union's foreign key,
      which ``LIKE`` does not copy: the disk's rate for bare rows, shown for comparison."""
    from django.db import connection, transaction
    from django.utils import timezone

    from members import cards, pii
    from members.models import PartnerBank, Union

    bank = PartnerBank.objects.get(code="BENCH")
    workplace_id = Union.objects.get(code="B01001").pk
    now = timezone.now()
    members = []
    for index in range(rows):
        value = id_number(index)
        members.append(
            (
                index + 1,
                f"申请人{index}",
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
    cards = [
        (index + 1, cards.card_number_for(bank, index + 1), bank.pk, index + 1, index + 1, "issued", now)
        for index in range(rows)
    ]
    reset(connection)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_card, bench_member")
        cursor.execute("CREATE TABLE bench_member (LIKE members_member INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_card (LIKE members_card INCLUDING ALL)")
        cursor.execute(
            "ALTER TABLE bench_card ADD FOREIGN KEY (member_id) REFERENCES bench_member (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
    seconds = {}
    for label, member_table, card_table in (
        ("table", "members_member", "members_card"),
        ("twin", "bench_member", "bench_card"),
    ):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {member_table} (id, name, id_number_encrypted, id_number_hash, id_number_masked, "
                "phone, union_id, status, groups, created_at, updated_at) FROM STDIN"
            ) as copy:
                for row in members:
                    copy.write_row(row)
            with cursor.cursor.copy(
                f"COPY {card_table} (id, number, bank_id, serial, member_id, status, issued_at) FROM STDIN"
            ) as copy:
                for row in cards:
                    copy.write_row(row)
        seconds[label] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_card, bench_member")
    reset(connection)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--database", default="portal_bench_issuance")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("set DATABASE_URL to a PostgreSQL server (its database is not touched)")
    os.environ["DATABASE_URL"] = ensure_database(base_url, args.database)
    media = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()  # the upload limits are the defaults: a batch of 1,000,000 rows is the largest allowed

    results = []
    for rows in args.rows:
        print(f"--- {rows:,} rows", flush=True)
        result = run_batch(rows, media)
        print(
            f"upload {result['upload_s']:.1f} s, validate {result['validate_s']:.1f} s "
            f"({rows / result['validate_s']:,.0f} rows/s), process {result['process_s']:.1f} s in "
            f"{result['chunks']} chunks ({rows / result['process_s']:,.0f} cards/s), "
            f"bank file {result['finish_s']:.1f} s; peak memory {result['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        result["copy_s"] = raw_copy(rows)
        for label, seconds in result["copy_s"].items():
            print(
                f"raw COPY of {rows:,} members + cards ({label}): {seconds:.1f} s ({rows / seconds:,.0f} /s)",
                flush=True,
            )
        results.append(result)

    print()
    print(
        "| rows | validate (rows/s) | process chunks (cards/s) | bank file (s) | end to end (cards/s) "
        "| COPY into the tables (cards/s) | COPY into bare twins (cards/s) | processing ÷ COPY "
        "| end to end ÷ COPY | processing ÷ bare COPY | peak memory (MB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        total = r["upload_s"] + r["validate_s"] + r["process_s"] + r["finish_s"]
        table, twin = r["copy_s"]["table"], r["copy_s"]["twin"]
        print(
            f"| {r['rows']:,} | {r['rows'] / r['validate_s']:,.0f} | {r['rows'] / r['process_s']:,.0f} "
            f"| {r['finish_s']:.1f} | {r['rows'] / total:,.0f} | {r['rows'] / table:,.0f} "
            f"| {r['rows'] / twin:,.0f} | {table / r['process_s']:.0%} | {table / total:.0%} "
            f"| {twin / r['process_s']:.0%} | {r['peak_rss_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()

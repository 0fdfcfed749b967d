"""Benchmark of the daily card-transactions import against a raw COPY of the same rows.

Runs in a database of its own (default ``portal_bench_banking`` on the server of DATABASE_URL; created
and migrated when missing). For each size N:

1. fixtures (not timed): a bank, a union, ``--cards`` members with a card each (COPY);
2. writes a transactions file of N lines (random cards, unique references, the layout of
   docs/bank-files.md) to a temporary MEDIA_ROOT;
3. **import** (timed): receives it (``banking.files.bank_file_receive``: SHA-256 and the stored copy)
   and processes it as the Celery task does (``banking.tasks.bank_file_process``: COPY into the
   staging table, one checking INSERT … SELECT … ON CONFLICT into ``banking_cardtransaction``);
4. **raw COPY** (timed): empties the table and COPYs the same N rows, already converted (card id,
   union path, amount in fen, time), straight into ``banking_cardtransaction`` — the same table, with
   its indexes, unique constraint and foreign keys: the database's own bulk-load rate.

    .venv/bin/python -m portal.devservices exec -- \\
        .venv/bin/python bench/bank-transactions/run.py --lines 1000000

Prints one line per phase and a Markdown row. Never point it at a database you care about: it empties
the banking tables of the benchmark database before every size."""

from __future__ import annotations

import argparse
import datetime
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent.parent
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("PII_HASH_KEY", "bench-pii-hash-key")
sys.path.insert(0, str(BASE_DIR))


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


def card_number(bin_: str, serial: int) -> str:
    from stdnum import luhn

    partial = f"{bin_}{serial:010d}"
    return partial + luhn.calc_check_digit(partial)


def setup_cards(cards: int):
    """A bank, one workplace union and ``cards`` members with a live card each, loaded by COPY."""
    from django.db import connection
    from django.utils import timezone

    from members.models import PartnerBank, Union

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE banking_cardtransaction, banking_bankfileline, banking_issuanceresult, "
            "banking_cardchange, banking_bankfile, members_card, members_member RESTART IDENTITY CASCADE"
        )
    province, _ = Union.objects.get_or_create(
        code="B0", defaults={"name": "基准省总工会", "level": "province", "path": "B0/", "depth": 0}
    )
    workplace, _ = Union.objects.get_or_create(
        code="B0W",
        defaults={
            "name": "基准单位工会",
            "level": "workplace",
            "parent": province,
            "path": "B0/B0W/",
            "depth": 1,
        },
    )
    bank, _ = PartnerBank.objects.get_or_create(
        code="BENCH", defaults={"name": "基准银行", "bin": "628888", "serial_length": 10}
    )
    now = timezone.now()
    numbers = []
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY members_member (id, name, id_number_encrypted, id_number_hash, id_number_masked, phone, "
            "union_id, status, groups, created_at, updated_at) FROM STDIN"
        ) as copy:
            for index in range(1, cards + 1):
                copy.write_row(
                    (
                        index,
                        f"持卡人{index}",
                        "x",
                        f"h{index}",
                        "1301**",
                        f"136{index:08d}",
                        workplace.pk,
                        "active",
                        [],
                        now,
                        now,
                    )
                )
        with cursor.cursor.copy(
            "COPY members_card (id, number, bank_id, serial, member_id, status, issued_at) FROM STDIN"
        ) as copy:
            for index in range(1, cards + 1):
                number = card_number(bank.bin, index)
                numbers.append(number)
                copy.write_row((index, number, bank.pk, index, index, "active", now))
        cursor.execute("ANALYZE members_member; ANALYZE members_card")
    return bank, workplace, numbers


def write_file(path: Path, lines: int, numbers: list[str]) -> list[tuple]:
    """The file, and the same rows converted (card index, merchant, fen, local time, reference)."""
    rng = random.Random(lines)
    start = datetime.datetime(2026, 11, 1, 8, 0)
    converted = []
    with path.open("w", encoding="utf-8") as out:
        out.write("卡号,银行商户号,金额,交易时间,交易流水号\n")
        for index in range(lines):
            card = rng.randrange(len(numbers))
            fen = rng.randint(100, 500_000)
            at = start + datetime.timedelta(seconds=index * 2)
            reference = f"R{index:012d}"
            merchant = f"1051{card % 9999:04d}"
            amount = f"{fen // 100}.{fen % 100:02d}"
            out.write(f"{numbers[card]},{merchant},{amount},{at:%Y-%m-%d %H:%M:%S},{reference}\n")
            converted.append((card + 1, merchant, fen, at, reference))
    return converted


def run(lines: int, cards: int, media: Path) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.db import connection
    from django.utils import timezone

    from banking import tasks
    from banking.files import bank_file_receive
    from banking.models import BankFile, BankStaff, CardTransaction
    from portal.roles import Role, ensure_roles

    bank, workplace, numbers = setup_cards(cards)
    ensure_roles()
    user, created = get_user_model().objects.get_or_create(username="bench-bank")
    if created:
        user.groups.add(Role.BANK_STAFF.group())
    BankStaff.objects.get_or_create(user=user, defaults={"bank": bank})
    path = media / f"transactions-{lines}.csv"
    converted = write_file(path, lines, numbers)

    started = time.perf_counter()
    with path.open("rb") as handle:
        bank_file, _created = bank_file_receive(
            bank=bank, kind=BankFile.Kind.TRANSACTIONS, uploaded_file=File(handle, name=path.name), actor=user
        )
    receive_s = time.perf_counter() - started
    started = time.perf_counter()
    tasks.bank_file_process(bank_file.pk)
    process_s = time.perf_counter() - started
    bank_file.refresh_from_db()
    assert bank_file.applied_lines == lines and CardTransaction.objects.count() == lines, (
        bank_file.status_message
    )

    # Baseline: the same rows, converted, straight into the same (emptied) table.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE banking_cardtransaction")
    zone = timezone.get_default_timezone()
    rows = [
        (bank.pk, reference, card, workplace.path, merchant, fen, at.replace(tzinfo=zone), bank_file.pk)
        for card, merchant, fen, at, reference in converted
    ]
    started = time.perf_counter()
    columns = "bank_id, reference, card_id, union_path, bank_merchant_id, amount_fen, occurred_at, file_id"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY banking_cardtransaction ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    copy_s = time.perf_counter() - started
    return {"lines": lines, "receive_s": receive_s, "process_s": process_s, "copy_s": copy_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--database", default="portal_bench_banking")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = ensure_database(os.environ["DATABASE_URL"], args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    with tempfile.TemporaryDirectory() as media:
        os.environ["MEDIA_ROOT"] = media
        import django

        django.setup()
        results = []
        for lines in args.lines:
            result = run(lines, args.cards, Path(media))
            import_s = result["receive_s"] + result["process_s"]
            print(
                f"{lines:,} lines: receive {result['receive_s']:.1f} s, process {result['process_s']:.1f} s "
                f"({lines / import_s:,.0f} lines/s); raw COPY {result['copy_s']:.1f} s "
                f"({lines / result['copy_s']:,.0f} rows/s); import ÷ COPY {result['copy_s'] / import_s:.2f}",
                flush=True,
            )
            results.append((result, import_s))
        print(
            "\n| lines | receive (s) | process (s) | import (lines/s) | raw COPY (rows/s) | import ÷ COPY |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for result, import_s in results:
            print(
                f"| {result['lines']:,} | {result['receive_s']:.1f} | {result['process_s']:.1f} | "
                f"{result['lines'] / import_s:,.0f} | {result['lines'] / result['copy_s']:,.0f} | "
                f"{result['copy_s'] / import_s:.2f} |"
            )


if __name__ == "__main__":
    main()

"""Benchmark of the coverage snapshot (stats.coverage.coverage_snapshot_compute).

Builds a province of about 10,000 union nodes in a database of its own (default
``portal_bench_coverage`` on the server of DATABASE_URL; it is created and migrated when missing), then
grows the members table to each requested size with COPY (psycopg 3) and times the snapshot at every
size. Members and cards have the width of real rows (an encrypted ID number of Fernet length, a
64-character hash, masked ID, phone) so the scans read as many pages as production would.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/coverage.py --members 1000000 5000000 14000000

Prints one line per size (members, cards, snapshot seconds of each repetition) and a Markdown table.
``--drop`` removes the benchmark database at the end. Never point it at a database you care about:
it deletes the members, cards and snapshots of the benchmark database when it starts from zero.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
# The benchmark's own personal-data keys: the development ones serve only the embedded database, and
# settings refuse them anywhere else (a key given in the environment wins).
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("PII_HASH_KEY", "bench-pii-hash-key")
COPY_CHUNK = 200_000
CITIES = 12
COUNTIES_PER_CITY = 14  # 168 counties
DEFAULT_UNIONS = 10_000
# Member status mix and card mix, close to a province early in its card campaign.
MEMBER_STATUS_CYCLE = ["active"] * 92 + ["transferred"] * 4 + ["retired"] * 3 + ["left"]
CARD_STATUS_CYCLE = ["active"] * 50 + ["issued"] * 14 + ["frozen"] * 3 + ["cancelled"] * 3 + [None] * 30
FAKE_CIPHERTEXT = "gAAAAAB" + "x" * 113  # the length of a Fernet token of an 18-character ID number


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def ensure_database(base_url: str, name: str) -> str:
    url = database_url(base_url, name)
    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True
    )
    return url


def build_unions(conn: psycopg.Connection, total: int) -> list[int]:
    """Province → 12 cities → 168 counties → workplaces up to ``total`` nodes. Returns workplace ids."""
    existing = conn.execute("SELECT count(*) FROM members_union").fetchone()[0]
    if existing < total:
        conn.execute("TRUNCATE members_coveragesnapshot, members_card, members_member CASCADE")
        conn.execute("DELETE FROM members_union")
        now = datetime.datetime.now(datetime.UTC)
        rows = [("B", "省总工会", "province", None, "B/", 0)]
        counties = []
        for c in range(CITIES):
            city = f"B{c:02d}"
            rows.append((city, f"市总工会{c}", "city", "B", f"B/{city}/", 1))
            for k in range(COUNTIES_PER_CITY):
                county = f"{city}{k:02d}"
                rows.append((county, f"县总工会{county}", "county", city, f"B/{city}/{county}/", 2))
                counties.append((county, f"B/{city}/{county}/"))
        workplaces = total - len(rows)
        for w in range(workplaces):
            county, path = counties[w % len(counties)]
            code = f"{county}{w:05d}"
            rows.append((code, f"基层工会{code}", "workplace", county, f"{path}{code}/", 3))
        with conn.cursor() as cur:
            with cur.copy(
                "COPY members_union (code, name, name_en, level, path, depth, created_at, "
                "single_person_approval) FROM STDIN"
            ) as cp:
                for code, name, level, _parent, path, depth in rows:
                    cp.write_row((code, name, "", level, path, depth, now, False))
            cur.execute(
                "UPDATE members_union u SET parent_id = p.id FROM members_union p "
                "WHERE p.path = substring(u.path from '^(.*/)[^/]+/$')"
            )
        conn.commit()
    return [
        row[0]
        for row in conn.execute(
            "SELECT id FROM members_union WHERE level = 'workplace' ORDER BY id"
        ).fetchall()
    ]


def ensure_bank(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT id FROM members_partnerbank WHERE code = 'BENCH'").fetchone()
    if row:
        return row[0]
    row = conn.execute(
        "INSERT INTO members_partnerbank (code, name, bin, serial_length, next_serial, is_active) "
        "VALUES ('BENCH', '基准银行', '999999', 12, 1, true) RETURNING id"
    ).fetchone()
    conn.commit()
    return row[0]


def grow_members(conn: psycopg.Connection, target: int, workplaces: list[int], bank_id: int) -> None:
    """Append members (and their cards) with ids ``current+1 … target``; ids are deterministic."""
    current = conn.execute("SELECT coalesce(max(id), 0) FROM members_member").fetchone()[0]
    if current >= target:
        return
    now = datetime.datetime.now(datetime.UTC).isoformat()
    start = current + 1
    while start <= target:
        end = min(target, start + COPY_CHUNK - 1)
        members, cards = [], []
        for i in range(start, end + 1):
            status = MEMBER_STATUS_CYCLE[i % len(MEMBER_STATUS_CYCLE)]
            union_id = workplaces[(i * 7919) % len(workplaces)]
            members.append(
                f"{i}\t会员{i}\t{FAKE_CIPHERTEXT}\t{i:064x}\t1301**********{i % 10000:04d}\t"
                f"1{i % 10**10:010d}\t{union_id}\t{status}\t{{}}\t{now}\t{now}\n"
            )
            card_status = CARD_STATUS_CYCLE[(i * 31) % len(CARD_STATUS_CYCLE)]
            if card_status:
                cards.append(f"{i}\t999999{i:013d}\t{bank_id}\t{i}\t{i}\t{card_status}\t{now}\n")
        with conn.cursor() as cur:
            with cur.copy(
                "COPY members_member (id, name, id_number_encrypted, id_number_hash, id_number_masked, "
                "phone, union_id, status, groups, created_at, updated_at) FROM STDIN"
            ) as cp:
                cp.write("".join(members))
            with cur.copy(
                "COPY members_card (id, number, bank_id, serial, member_id, status, issued_at) FROM STDIN"
            ) as cp:
                cp.write("".join(cards))
        conn.commit()
        start = end + 1
    conn.execute("SELECT setval(pg_get_serial_sequence('members_member', 'id'), %s)", [target])
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('members_card', 'id'), (SELECT max(id) FROM members_card))"
    )
    conn.commit()


def time_snapshot(repeat: int, explain: bool) -> list[float]:
    import django

    django.setup()
    from django.db import connection

    from stats.coverage import SNAPSHOT_WORK_MEM, coverage_snapshot_compute

    day = datetime.date.today()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        coverage_snapshot_compute(day=day)
        timings.append(time.perf_counter() - started)
    if explain:
        from stats.coverage import MEMBER_CARDS_SQL, SNAPSHOT_SQL, snapshot_sql_params

        params = snapshot_sql_params(day=day)
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"SET LOCAL work_mem = '{SNAPSHOT_WORK_MEM}'")
            cursor.execute("DELETE FROM members_coveragesnapshot WHERE day = %s", [day])
            for sql in (MEMBER_CARDS_SQL, SNAPSHOT_SQL):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)
            cursor.execute("ROLLBACK")
    connection.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--unions", type=int, default=DEFAULT_UNIONS)
    parser.add_argument("--database", default="portal_bench_coverage")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the last size")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("DATABASE_URL must name a PostgreSQL server (any database on it)")
    url = ensure_database(base_url, args.database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(BASE_DIR))

    results = []
    with psycopg.connect(url) as conn:
        workplaces = build_unions(conn, args.unions)
        bank_id = ensure_bank(conn)
        for index, size in enumerate(sorted(args.members)):
            started = time.perf_counter()
            grow_members(conn, size, workplaces, bank_id)
            loaded = time.perf_counter() - started
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE members_member")
            conn.execute("VACUUM ANALYZE members_card")
            conn.execute("VACUUM ANALYZE members_union")
            # The snapshot reads the dated history the triggers wrote beside the members and cards.
            conn.execute("VACUUM ANALYZE members_memberhistory")
            conn.execute("VACUUM ANALYZE members_cardhistory")
            conn.autocommit = False
            cards = conn.execute("SELECT count(*) FROM members_card").fetchone()[0]
            nodes = conn.execute("SELECT count(*) FROM members_union").fetchone()[0]
            explain = args.explain and index == len(args.members) - 1
            timings = time_snapshot(args.repeat, explain)
            size_mb = conn.execute(
                "SELECT (pg_total_relation_size('members_member') + pg_total_relation_size('members_card'))"
                " / 1048576"
            ).fetchone()[0]
            conn.commit()
            print(
                f"members={size} cards={cards} unions={nodes} load={loaded:.0f}s "
                f"tables={size_mb} MB snapshot=" + ", ".join(f"{t:.1f}s" for t in timings),
                flush=True,
            )
            results.append((size, cards, nodes, size_mb, timings))

    print("\n| members | cards | union nodes | members+cards on disk | snapshot (each run) |")
    print("|---:|---:|---:|---:|---|")
    for size, cards, nodes, size_mb, timings in results:
        runs = ", ".join(f"{t:.1f} s" for t in timings)
        print(f"| {size:,} | {cards:,} | {nodes:,} | {size_mb:,} MB | {runs} |")

    if args.drop:
        with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{args.database}"')


if __name__ == "__main__":
    main()

"""Benchmark of redemption through the real POS API, next to pgbench running the same SQL transaction.

Creates (or reuses) a database of its own (default ``portal_bench_redemption`` on the server of
DATABASE_URL), seeds one merchant with a hot offer and many other offers, members with cards and one
POS key per client, starts gunicorn with several workers on it, and drives
``POST /api/v1/redemptions/`` (a new Idempotency-Key per request, keep-alive connections, one thread
per client) at each concurrency for a fixed time:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/redemption/run.py --clients 1 8 32 64 --seconds 15

Scenarios: ``hot`` (every request on the same offer: one counter row shared by all), ``many``
(requests spread over ``--offers`` offers) and ``floor`` (``GET /healthz``: one database query and one
Redis ping through the same Django stack — the most any endpoint can do on this machine). After
every run the invariants are checked in SQL (units of completed redemptions = the day counter ≤ quota,
member counters, one redemption per key, payable + discount = amount) and the number of violations is
printed; then pgbench runs ``redeem.sql`` (the same statements as the service) at the same client
counts. Each line also shows the CPU the server processes used per request and the load average.

Prints one line per run and a Markdown table. Never point it at a database you care about: it
empties the redemption tables of the benchmark database before each run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SQL_SCRIPT = Path(__file__).resolve().parent / "redeem.sql"
SEED_SCRIPT = Path(__file__).resolve().parent / "seed.py"
# The benchmark's own personal-data key (the development key is refused outside the embedded database).
BENCH_FERNET_KEY = "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE="
SEED_CARDS = 20_000


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def server_env(url: str, args) -> dict:
    """Production settings (DEBUG off) on plain HTTP on localhost."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 60,
        "PII_ENCRYPTION_KEYS": BENCH_FERNET_KEY,
        "PII_HASH_KEY": "bench-pii-hash-key",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
        "POS_RATE_LIMIT_PER_MINUTE": str(args.rate_limit),
        "CACHE_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "AXES_ENABLED": "false",
    }


def ensure_database(base_url: str, name: str, env: dict) -> str:
    url = database_url(base_url, name)
    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True
    )
    return url


def seed(env: dict, clients: int, offers: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), str(clients), str(offers), str(SEED_CARDS)],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE discounts_redemption, discounts_offerdaycounter, discounts_memberofferdaycounter, "
            "discounts_memberoffertotalcounter, discounts_idempotencyrecord"
        )
        conn.execute("UPDATE discounts_offer SET budget_used = 0")
        conn.execute("VACUUM ANALYZE")


INVARIANTS = {
    "day counter != units of completed redemptions": """
        SELECT count(*) FROM discounts_offerdaycounter c
        FULL JOIN (SELECT offer_id, local_day, sum(units) AS units FROM discounts_redemption
                   WHERE status = 'completed' GROUP BY 1, 2) r
          ON r.offer_id = c.offer_id AND r.local_day = c.day
        WHERE coalesce(c.used, 0) != coalesce(r.units, 0)""",
    "units above the daily quota": """
        SELECT count(*) FROM discounts_offerdaycounter c JOIN discounts_offer o ON o.id = c.offer_id
        WHERE o.daily_quota IS NOT NULL AND c.used > o.daily_quota""",
    "member total counter != units": """
        SELECT count(*) FROM discounts_memberoffertotalcounter c
        FULL JOIN (SELECT offer_id, member_id, sum(units) AS units FROM discounts_redemption
                   WHERE status = 'completed' GROUP BY 1, 2) r
          ON r.offer_id = c.offer_id AND r.member_id = c.member_id
        WHERE coalesce(c.used, 0) != coalesce(r.units, 0)""",
    "budget used != subsidies or above budget": """
        SELECT count(*) FROM discounts_offer o LEFT JOIN (
            SELECT offer_id, sum(union_subsidy) AS s FROM discounts_redemption
            WHERE status = 'completed' GROUP BY 1
        ) r ON r.offer_id = o.id
        WHERE o.budget_used != coalesce(r.s, 0) OR (o.budget IS NOT NULL AND o.budget_used > o.budget)""",
    "two redemptions for one key": """
        SELECT count(*) FROM (SELECT merchant_id, idempotency_key FROM discounts_redemption
        WHERE idempotency_key NOT IN ('', 'pgb') GROUP BY 1, 2 HAVING count(*) > 1) d""",
    "payable + discount != amount": """
        SELECT count(*) FROM discounts_redemption WHERE payable + discount != amount""",
}


def violations(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in INVARIANTS.items()}
    return {name: count for name, count in found.items() if count}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, args) -> tuple[subprocess.Popen, int]:
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    command = [
        gunicorn, "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--keep-alive", "30", "--backlog", "2048", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("gunicorn did not start")


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def drive(
    port: int, seedinfo: dict, clients: int, seconds: float, scenario: str, server_pid: int = 0
) -> dict:
    """``clients`` threads, each with its own keep-alive connection and key, for ``seconds``."""
    stop_at = [0.0]
    started = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict] = [{} for _ in range(clients)]
    offers = [seedinfo["hot"]] if scenario == "hot" else seedinfo["many"]
    cards = seedinfo["cards"]

    def client(index: int) -> None:
        rng = random.Random(index)
        key = seedinfo["keys"][index]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started.wait()
        while time.monotonic() < stop_at[0]:
            if scenario == "floor":
                begin = time.perf_counter()
                try:
                    conn.request("GET", "/healthz")
                    response = conn.getresponse()
                    response.read()
                    status = 201 if response.status == 200 else response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status = "io-error"
                latencies[index].append(time.perf_counter() - begin)
                statuses[index][status] = statuses[index].get(status, 0) + 1
                continue
            body = json.dumps(
                {
                    "offer": rng.choice(offers),
                    "card_number": rng.choice(cards),
                    "store": seedinfo["store"],
                    "amount": "45.00",
                    "units": 1,
                }
            )
            headers = {
                "Authorization": f"Api-Key {key}",
                "Idempotency-Key": uuid.uuid4().hex,
                "Content-Type": "application/json",
            }
            begin = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/redemptions/", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = "io-error"
            latencies[index].append(time.perf_counter() - begin)
            statuses[index][status] = statuses[index].get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    server_cpu = tree_cpu_seconds(server_pid) if server_pid else 0.0
    client_cpu = time.process_time()
    stop_at[0] = time.monotonic() + seconds
    begin = time.monotonic()
    started.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begin
    server_cpu = (tree_cpu_seconds(server_pid) - server_cpu) if server_pid else 0.0
    client_cpu = time.process_time() - client_cpu
    every = sorted(value for per_client in latencies for value in per_client)
    counts: dict = {}
    for per_client in statuses:
        for status, count in per_client.items():
            counts[status] = counts.get(status, 0) + count
    ok = counts.get(201, 0)
    return {
        "rate": ok / elapsed,
        "p50": statistics.median(every) * 1000 if every else 0,
        "p99": every[max(int(len(every) * 0.99) - 1, 0)] * 1000 if every else 0,
        "statuses": counts,
        "requests": len(every),
        "server_cpu_ms": server_cpu * 1000 / max(len(every), 1),
        "client_cpu_ms": client_cpu * 1000 / max(len(every), 1),
        "machine_load": os.getloadavg()[0],
    }


def pgbench(url: str, seedinfo: dict, clients: int, seconds: int, scenario: str) -> dict:
    binary = shutil.which("pgbench")
    if binary is None:
        try:
            import pgserver

            binary = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")
        except ImportError:
            return {"error": "pgbench not found"}
    parts = urlsplit(url)
    offers = [seedinfo["hot"]] if scenario == "hot" else seedinfo["many"]
    defines = {
        "merchant": seedinfo["merchant"],
        "store": seedinfo["store"],
        "offer_lo": min(offers),
        "offer_hi": max(offers),
        "card_lo": seedinfo["card_lo"],
        "card_hi": seedinfo["card_hi"],
    }
    command = [
        binary, "-n", "-f", str(SQL_SCRIPT), "-c", str(clients), "-j", str(min(clients, 2)),
        "-T", str(seconds), "-r", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
        "-U", parts.username or "postgres", parts.path.lstrip("/"),
    ]  # fmt: skip
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
    tps = latency = None
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            tps = float(line.split("=")[1].split()[0])
        if line.startswith("latency average"):
            latency = float(line.split("=")[1].split()[0])
    return {"rate": tps, "avg": latency, "machine_load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="portal_bench_redemption")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--offers", type=int, default=200)
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["hot", "many", "floor"],
        choices=["hot", "many", "floor"],
        help="floor: GET /healthz (one database query, one Redis ping) — the framework's own ceiling",
    )
    parser.add_argument("--rate-limit", type=int, default=100_000, help="POS requests per key per minute")
    parser.add_argument("--no-pgbench", action="store_true")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (any database on it).")
    url = database_url(base_url, args.database)
    env = server_env(url, args)
    ensure_database(base_url, args.database, env)
    seedinfo = seed(env, max(args.clients), args.offers)
    print(
        f"# {os.cpu_count()} CPUs; gunicorn {args.workers} {args.worker_class} workers "
        f"x {args.threads} threads; "
        f"{len(seedinfo['cards'])} cards; {len(seedinfo['many'])} offers in 'many'",
        flush=True,
    )
    process, port = start_gunicorn(env, args)
    rows = []
    try:
        for scenario in args.scenarios:
            for clients in args.clients:
                reset(url)
                drive(port, seedinfo, clients, min(2.0, args.seconds / 5), scenario)  # warm-up
                reset(url)
                result = drive(port, seedinfo, clients, args.seconds, scenario, process.pid)
                broken = violations(url)
                rows.append(("http", scenario, clients, result, broken))
                print(
                    f"http   {scenario:<4} c={clients:<3} {result['rate']:8.1f} redemptions/s  "
                    f"p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                    f"statuses {result['statuses']}  server CPU {result['server_cpu_ms']:.1f} ms/req  "
                    f"client CPU {result['client_cpu_ms']:.1f} ms/req  "
                    f"load {result['machine_load']:.1f}  "
                    f"violations {sum(broken.values())} {broken or ''}",
                    flush=True,
                )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    if not args.no_pgbench:
        for scenario in [s for s in args.scenarios if s != "floor"]:
            for clients in args.clients:
                reset(url)
                result = pgbench(url, seedinfo, clients, int(args.seconds), scenario)
                broken = violations(url)
                rows.append(("pgbench", scenario, clients, result, broken))
                print(
                    f"pgbench {scenario:<4} c={clients:<3} {result}  violations {sum(broken.values())}",
                    flush=True,
                )
    print()
    print(
        "| driver | offers | clients | redemptions/s | p50 ms | p99 ms | server CPU ms/redemption "
        "| load avg | invariant violations |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for driver, scenario, clients, result, broken in rows:
        if "error" in result:
            print(f"| {driver} | {scenario} | {clients} | error: {result['error']} | | | | | |")
        elif driver == "http":
            print(
                f"| {'GET /healthz' if scenario == 'floor' else 'HTTP API'} | {scenario} | {clients} | "
                f"{result['rate']:.0f} | {result['p50']:.1f} | "
                f"{result['p99']:.1f} | {result['server_cpu_ms']:.1f} | {result['machine_load']:.1f} | "
                f"{sum(broken.values())} |"
            )
        else:
            print(
                f"| pgbench | {scenario} | {clients} | {result['rate']:.0f} | (avg {result['avg']:.1f}) "
                "| | | "
                f"{result['machine_load']:.1f} | {sum(broken.values())} |"
            )


if __name__ == "__main__":
    main()

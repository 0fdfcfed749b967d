"""`make run`: everything a developer or an evaluator needs, in one process tree.

Starts (or reuses) PostgreSQL and Redis — the embedded ones under ./var unless DATABASE_URL /
REDIS_URL are set — migrates, loads the demo province on the first run, then runs the web server,
a Celery worker and Celery beat side by side and prints where to go and how to sign in.
Ctrl-C stops every process started here, the embedded services included; the data stays in ./var."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from portal import devservices

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = devservices.DEFAULT_VAR_DIR


def _manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _print_welcome(url: str, demo: dict) -> None:
    print("\n" + "=" * 72)
    print(f"  Portal running at {url}")
    print(f"  Member offers: {url}/   Merchant portal: {url}/merchant/   Staff: {url}/admin/  {url}/staff/")
    print(f"  API docs: {url}/api/docs/   Health: {url}/healthz")
    print("  Demo staff sign-ins:")
    for staff in demo.get("staff", []):
        print(f"    {staff['level']:<10} {staff['username']:<20} {staff['password']}")
    merchants = demo.get("merchants", [])[:3]
    if merchants:
        print("  Demo merchant sign-ins (manager / cashier / POS API key):")
        for merchant in merchants:
            print(
                f"    {merchant['name']}: {merchant['username']} / {merchant['password']}"
                f"  cashier {merchant.get('cashier_username', '-')} / {merchant.get('cashier_password', '-')}"
                f"  key {merchant['api_key']}"
            )
    members = demo.get("members", [])[:3]
    if members:
        print("  Demo members (sign in with the phone; the one-time code is printed in this log):")
        for member in members:
            print(f"    {member['name']} {member['phone']} card {member['card_number']}")
    print("  All sign-ins: .venv/bin/python manage.py seed_demo --json")
    print("  Ctrl-C stops everything; data stays in ./var")
    print("=" * 72 + "\n", flush=True)


def main() -> int:
    started_pg = not os.environ.get("DATABASE_URL")
    started_redis = not os.environ.get("REDIS_URL")
    env = {**os.environ, **devservices.service_environment()}
    port = env.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}"

    _manage(env, "migrate", "--no-input", "-v", "0")
    marker = VAR_DIR / ".demo-loaded"
    if not marker.exists() and not env.get("PORTAL_SKIP_DEMO"):
        print("Loading the demo province (first run)…", flush=True)
        _manage(env, "seed_demo")
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    demo = json.loads(_manage(env, "seed_demo", "--json", capture=True))  # idempotent: only reads now

    beat_schedule = VAR_DIR / "celerybeat-schedule"
    processes = {
        "web": [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            env.get("WEB_CONCURRENCY", "3"),
            "--access-logfile",
            "-",
            "--timeout",
            "60",
        ],
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "--quiet",  # no start-up banner: every line is a JSON log record
            "worker",
            "-l",
            "INFO",
            "--concurrency",
            "2",
        ],
        "beat": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "--quiet",  # no start-up banner: every line is a JSON log record
            "beat",
            "-l",
            "INFO",
            "-s",
            str(beat_schedule),
        ],
    }
    children: dict[str, subprocess.Popen] = {}
    for name, command in processes.items():
        children[name] = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603 - fixed commands

    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    time.sleep(2)
    _print_welcome(url, demo)

    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with code {child.returncode}; stopping the rest.", flush=True)
                exit_code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.5)

    print("Stopping web, worker and beat…", flush=True)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
    if started_pg:
        devservices.stop_postgres()
    if started_redis:
        devservices.stop_redis()
    print("Stopped. Data kept in ./var", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

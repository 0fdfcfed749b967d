"""`make run`: everything a developer or an evaluator needs, in one process tree.

Starts (or reuses) PostgreSQL and Redis — the embedded ones under ./var unless DATABASE_URL /
REDIS_URL are set — migrates, loads the demo province on the first run, then runs the web server,
a Celery worker and Celery beat side by side and prints where to go and how to sign in.
Ctrl-C stops every process started here, the embedded services included; the data stays in ./var.

A worker or beat that exits is started again, after a pause that doubles with each exit in a row
(1 s, 2 s, 4 s … at most a minute), so a Redis restart or a crash costs the background work a few
seconds instead of stopping the portal. The web is not restarted: gunicorn already replaces its own
dead workers, so gunicorn itself exiting means something a restart would not fix (the port taken,
a settings error); then everything stops and says why."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from portal import devservices
from portal.logs import JSON_FORMATTER, PERSONAL_NUMBER_FILTER

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = devservices.DEFAULT_VAR_DIR
logger = logging.getLogger("portal.run")

RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 60.0
# A process that ran this long before it exited starts again after the first delay, not a longer one.
RESTART_STABLE_AFTER = 60.0


@dataclass
class Child:
    """A process of the launcher. ``restart`` says whether it is started again when it exits."""

    name: str
    command: list[str]
    restart: bool
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    exits_in_a_row: int = 0
    start_again_at: float | None = None
    starts: int = 0


class Supervisor:
    """Starts the children, starts again those that may be restarted when they exit (with a pause
    that doubles), and stops everything when one that may not exits, or when asked to stop."""

    def __init__(
        self,
        children: list[Child],
        *,
        env: dict[str, str],
        cwd: Path = BASE_DIR,
        first_delay: float = RESTART_FIRST_DELAY,
        max_delay: float = RESTART_MAX_DELAY,
        stable_after: float = RESTART_STABLE_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.children = children
        self.env = env
        self.cwd = cwd
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.clock = clock
        self.stopping = False

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, cwd=self.cwd, env=self.env)  # noqa: S603 - fixed commands
        child.started_at = self.clock()
        child.start_again_at = None
        child.starts += 1

    def check(self) -> int | None:
        """One look at every child; returns an exit code when the launcher must stop."""
        now = self.clock()
        for child in self.children:
            if child.start_again_at is not None:
                if now >= child.start_again_at:
                    self._start(child)
                    logger.warning("%s started again (pid %s)", child.name, child.process.pid)
                continue
            code = child.process.poll()
            if code is None:
                continue
            if not child.restart:
                logger.error("%s exited with code %s; stopping the rest", child.name, code)
                return code or 1
            ran = now - child.started_at
            child.exits_in_a_row = 1 if ran >= self.stable_after else child.exits_in_a_row + 1
            delay = min(self.first_delay * 2 ** (child.exits_in_a_row - 1), self.max_delay)
            child.start_again_at = now + delay
            logger.warning(
                "%s exited with code %s after %.0f s; starting it again in %.0f s",
                child.name,
                code,
                ran,
                delay,
            )
        return None

    def run(self, interval: float = 0.5) -> int:
        exit_code = 0
        while not self.stopping:
            code = self.check()
            if code is not None:
                exit_code = code
                break
            time.sleep(interval)
        self.stop()
        return exit_code

    def stop(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _configure_logging() -> None:
    """The launcher's own lines are JSON log records like every other process's."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": JSON_FORMATTER},
            "filters": {"personal_numbers": PERSONAL_NUMBER_FILTER},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "filters": ["personal_numbers"],
                }
            },
            "loggers": {"portal.run": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
        }
    )


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
        if merchants[0].get("test_key"):
            print(f"  Sandbox (test cards, /merchant/sandbox/): test key {merchants[0]['test_key']}")
    members = demo.get("members", [])[:3]
    if members:
        print("  Demo members (sign in with the phone; the one-time code is printed in this log):")
        for member in members:
            print(f"    {member['name']} {member['phone']} card {member['card_number']}")
    print("  All sign-ins: .venv/bin/python manage.py seed_demo --json")
    print("  Ctrl-C stops everything; data stays in ./var")
    print("=" * 72 + "\n", flush=True)


def main() -> int:
    _configure_logging()
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
    supervisor = Supervisor(
        [
            Child(
                "web",
                [
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
                restart=False,
            ),
            Child(
                "worker",
                [
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
                restart=True,
            ),
            Child(
                "beat",
                [
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
                restart=True,
            ),
        ],
        env=env,
    )
    supervisor.start()

    def stop(signum=None, frame=None):
        supervisor.stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    time.sleep(2)
    _print_welcome(url, demo)

    exit_code = supervisor.run()
    print("Stopped web, worker and beat.", flush=True)
    if started_pg:
        devservices.stop_postgres()
    if started_redis:
        devservices.stop_redis()
    print("Stopped. Data kept in ./var", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

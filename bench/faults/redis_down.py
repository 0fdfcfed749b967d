"""Demonstrate that the portal keeps serving with Redis down.

Starts gunicorn on the database in DATABASE_URL (the demo province must be loaded: `manage.py
seed_demo`) with REDIS_URL pointing at a closed port, then asks it what a member, a till and a POS
would ask, and prints each answer. The figures recorded in docs/operations.md come from this script:

    DATABASE_URL=postgres://…/portal .venv/bin/python bench/faults/redis_down.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# The benchmark's own personal-data keys: the development ones serve only the embedded database, and
# settings refuse them anywhere else (a key given in the environment wins).
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("PII_HASH_KEY", "bench-pii-hash-key")
CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
            status, content, replayed = (
                response.status,
                response.read(),
                response.headers.get("Idempotent-Replayed"),
            )
    except urllib.error.HTTPError as error:
        status, content, replayed = error.code, error.read(), None
    elapsed_ms = (time.monotonic() - started) * 1000
    return status, content, replayed, elapsed_ms


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        print("set DATABASE_URL to a database with the demo province loaded", file=sys.stderr)
        return 2
    demo = json.loads(
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--json"],
            cwd=BASE_DIR,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "REDIS_URL": CLOSED_REDIS},
        ).stdout
    )
    merchant = demo["merchants"][0]
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    offer = merchant["offers"][0]
    store = merchant["stores"][0]
    key = {"Authorization": f"Api-Key {merchant['api_key']}"}

    port = free_port()
    env = {**os.environ, "REDIS_URL": CLOSED_REDIS, "DJANGO_DEBUG": "true"}
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        print(f"gunicorn with REDIS_URL={CLOSED_REDIS} (connection refused)\n")
        idempotency = {"Idempotency-Key": f"redis-down-{uuid.uuid4().hex[:8]}"}
        # A merchant with an offer this member may use today (some demo offers are for weekends only).
        for candidate in demo["merchants"]:
            ckey = {"Authorization": f"Api-Key {candidate['api_key']}"}
            cstore = candidate["stores"][0]
            _s, verified, _r, _e = call(
                base,
                "POST",
                "/api/v1/cards/verify/",
                {"card_number": member["card_number"], "store": cstore["id"]},
                ckey,
            )
            usable = [o["id"] for o in json.loads(verified).get("offers", []) if o["eligible"]]
            if usable:
                merchant, store, key, offer = candidate, cstore, ckey, {"id": usable[0]}
                break
        redeem = {
            "offer": offer["id"],
            "card_number": member["card_number"],
            "store": store["id"],
            "amount": "60.00",
        }
        steps = [
            ("GET /healthz", "GET", "/healthz", None, {}),
            ("GET / (offer list page)", "GET", "/", None, {}),
            (f"GET /offers/{offer['id']}/ (offer detail page)", "GET", f"/offers/{offer['id']}/", None, {}),
            ("GET /api/v1/offers/", "GET", "/api/v1/offers/", None, {}),
            (
                "POST /api/v1/cards/verify/",
                "POST",
                "/api/v1/cards/verify/",
                {"card_number": member["card_number"], "store": store["id"]},
                key,
            ),
            ("POST /api/v1/redemptions/", "POST", "/api/v1/redemptions/", redeem, {**key, **idempotency}),
            (
                "POST /api/v1/redemptions/ (same key again)",
                "POST",
                "/api/v1/redemptions/",
                redeem,
                {**key, **idempotency},
            ),
        ]
        redemption_id = None
        for label, method, path, body, headers in steps:
            status, content, replayed, elapsed = call(base, method, path, body, headers)
            note = ""
            if path == "/healthz":
                note = content.decode()
            elif path == "/api/v1/redemptions/" and status in (200, 201):
                answer = json.loads(content)
                redemption_id = answer["id"]
                note = f"id={answer['id']} payable={answer['payable']} replayed={replayed or 'false'}"
            elif path.startswith("/api/") and status >= 400:
                note = content.decode()[:160]
            print(f"{label:<48} {status}  {elapsed:6.0f} ms  {note}")
        if redemption_id:
            status, content, _r, elapsed = call(
                base, "POST", f"/api/v1/redemptions/{redemption_id}/void/", {"reason": "演示撤销"}, key
            )
            print(
                f"{'POST /api/v1/redemptions/{id}/void/':<48} {status}  {elapsed:6.0f} ms  "
                f"status={json.loads(content).get('status')}"
            )
    finally:
        web.terminate()
        web.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

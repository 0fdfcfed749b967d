"""Demonstrate that a worker killed in the middle of a task loses nothing and duplicates nothing.

A batch of 2,500 applicants (two chunks) is approved; the worker commits chunk one, is held inside
chunk two (its rows are locked by this script) and is killed with SIGKILL, as an out-of-memory kill
would. A new worker then gets the very same task back from Redis — nobody presses "resume": with
acks_late the message was never acknowledged, and the broker hands it out again once the visibility
timeout has passed. The batch completes with exactly one member and one card per applicant.

The visibility timeout is an hour in production; the demonstration workers use 10 seconds so the
redelivery shows within the run. Run on a database with the demo province loaded:

    DATABASE_URL=postgres://…/portal REDIS_URL=redis://…/0 .venv/bin/python bench/faults/worker_kill.py

(DATABASE_URL is required: the script's own lock connection uses it.)
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# The benchmark's own personal-data keys: the development ones serve only the embedded database, and
# settings refuse them anywhere else (a key given in the environment wins).
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("PII_HASH_KEY", "bench-pii-hash-key")
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
DEMO_VISIBILITY_TIMEOUT = 10
ROWS = 2500
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def run_worker(queue: str) -> None:
    """The worker process: the portal's Celery app with a short visibility timeout."""
    from portal.celery import app

    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": DEMO_VISIBILITY_TIMEOUT,
    }
    app.worker_main(
        ["worker", "-Q", queue, "--pool", "solo", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    )


def start_worker(queue: str, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", queue],
        cwd=BASE_DIR,
        env={**os.environ, "CELERY_QUEUE": queue, "DB_CONN_MAX_AGE": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def id_number(serial: int) -> str:
    day = datetime.date(1970, 1, 1) + datetime.timedelta(days=serial // 999)
    body = f"130104{day:%Y%m%d}{serial % 999 + 1:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def wait(predicate, what: str, timeout: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    queue = f"faults-demo-{uuid.uuid4().hex[:8]}"
    os.environ["CELERY_QUEUE"] = queue
    import django

    django.setup()
    import psycopg
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db.models import Count

    from members import batch_processing, batch_validation, batches
    from members.models import Card, IssuanceBatch, IssuanceRow, PartnerBank
    from portal.models import User

    # The workplace operator uploads, the province admin approves: two people for a card batch.
    uploader = User.objects.select_related("union").get(username="workplace_operator")
    workplace = uploader.union
    admin = User.objects.get(username="province_admin")
    bank = PartnerBank.objects.filter(is_active=True).first()
    salt = int(time.time()) % 100_000 * 1000  # new applicants on every run
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "身份证号", "手机号", "基层工会代码", "群体"])
    for index in range(ROWS):
        writer.writerow(
            [f"演示{index}", id_number(salt + index), f"135{(salt + index) % 10**8:08d}", workplace.code, ""]
        )
    batch = batches.batch_upload(
        union=workplace,
        bank=bank,
        uploaded_file=SimpleUploadedFile("worker-kill-demo.csv", buffer.getvalue().encode()),
        uploaded_by=uploader,
    )
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    print(f"batch {batch.pk}: {batch.valid_rows} valid rows, {batch_processing.PROCESS_CHUNK_ROWS} per chunk")

    url = os.environ["DATABASE_URL"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"{queue}.log", "ab")  # noqa: SIM115, S108
    first = start_worker(queue, log)
    holder = psycopg.connect(url, autocommit=False)
    holder.execute(
        "SELECT id FROM members_issuancerow WHERE batch_id = %s AND row_number > %s FOR UPDATE",
        [batch.pk, batch_processing.PROCESS_CHUNK_ROWS + 1],
    ).fetchall()
    watcher = psycopg.connect(url, autocommit=True)
    batches.batch_approve(batch=batch, actor=admin)
    t0 = time.monotonic()

    def state():
        return IssuanceBatch.objects.values_list("status", "processed_rows").get(pk=batch.pk)

    wait(lambda: state()[1] == batch_processing.PROCESS_CHUNK_ROWS, "chunk one")
    wait(
        lambda: (
            watcher.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            > 0
        ),
        "the worker to be inside chunk two",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    status, processed = state()
    cards = Card.objects.filter(batch=batch).count()
    print(
        f"{time.monotonic() - t0:5.1f} s  worker killed (SIGKILL) inside chunk two: status={status}, "
        f"processed_rows={processed}, cards={cards}"
    )
    holder.rollback()
    holder.close()

    second = start_worker(queue, log)
    t1 = time.monotonic()
    print(f"{t1 - t0:5.1f} s  new worker started; no resume, no new message: waiting for redelivery")
    wait(lambda: state()[0] == IssuanceBatch.Status.COMPLETED, "the batch to complete")
    print(
        f"{time.monotonic() - t0:5.1f} s  batch completed {time.monotonic() - t1:.1f} s after the new worker "
        f"started (visibility timeout {DEMO_VISIBILITY_TIMEOUT} s)"
    )
    second.terminate()
    second.wait(15)
    log.close()

    batch.refresh_from_db()
    cards = Card.objects.filter(batch=batch)
    members = cards.values("member").distinct().count()
    doubled = cards.values("member").annotate(n=Count("id")).filter(n__gt=1).count()
    done_rows = IssuanceRow.objects.filter(batch=batch, status=IssuanceRow.Status.DONE).count()
    print(
        f"result: status={batch.status} processed_rows={batch.processed_rows} cards={cards.count()} "
        f"members={members} members_with_two_cards={doubled} rows_done={done_rows}"
    )
    ok = cards.count() == ROWS == members and doubled == 0 and done_rows == ROWS
    print("OK: every applicant has exactly one card" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        import django

        django.setup()
        run_worker(sys.argv[2])
    else:
        sys.exit(main())

"""No log line carries a resident ID number, a full mobile number or a full card number: every record
of the application, the web server and the workers passes ``portal.logs.PersonalNumberFilter``.
Tested from outside: real requests to gunicorn, a management command and a Celery worker, whose
output is then searched for the numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from portal.logs import mask_personal_numbers
from tests.conftest import BASE_DIR, wait_for
from tests.factories import MemberFactory
from tests.http import http_request

ID_NUMBER = "130104199003071234"
ID_NUMBER_X = "11010519491231002X"
OLD_ID_NUMBER = "130104900307123"
PHONE = "13812345678"
CARD_NUMBER = "6222021234567890123"
FULL_NUMBERS = (ID_NUMBER, ID_NUMBER_X, ID_NUMBER_X.lower(), OLD_ID_NUMBER, PHONE, CARD_NUMBER)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"id {ID_NUMBER}.", "id 1301**********1234."),
        (f"id={ID_NUMBER_X}&x=1", "id=1101**********002X&x=1"),
        (f"old {OLD_ID_NUMBER}", "old 1301*******7123"),
        (f"tel:{PHONE}", "tel:138****5678"),
        (f"+86{PHONE}", "+86138****5678"),
        (f"card {CARD_NUMBER}", "card 6222***********0123"),
        ("card 6222021234567890", "card 6222********7890"),
        # Left alone: ids, amounts, dates, union codes, a landline, longer digit runs.
        ("batch 123 took 42.50 s on 2026-12-01", "batch 123 took 42.50 s on 2026-12-01"),
        ("union 130102001", "union 130102001"),
        ("tel 03118765432 or 12812345678", "tel 03118765432 or 12812345678"),
        ("trace 12345678901234567890123", "trace 12345678901234567890123"),
        ("succeeded in 0.036647505570347034s", "succeeded in 0.036647505570347034s"),
    ],
)
def test_personal_numbers_are_masked_and_other_numbers_kept(text, masked):
    assert mask_personal_numbers(text) == masked


def no_full_number_in(text: str) -> None:
    for number in FULL_NUMBERS:
        assert number not in text, f"{number} in the log:\n{text[-3000:]}"


def log_records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_command_logging_personal_numbers_writes_them_masked():
    code = (
        "import logging\n"
        "log = logging.getLogger('members')\n"
        f"log.warning('applicant %s phone %d', '{ID_NUMBER}', {PHONE}, extra={{'card': '{CARD_NUMBER}',"
        f" 'ids': ['{ID_NUMBER_X}', {OLD_ID_NUMBER}]}})\n"
        "try:\n"
        f"    raise ValueError('bad card {CARD_NUMBER}')\n"
        "except ValueError:\n"
        "    log.exception('import failed')\n"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    written = out.stdout + out.stderr
    no_full_number_in(written)
    records = log_records(written)
    warning = next(r for r in records if r["message"].startswith("applicant"))
    assert warning["message"] == "applicant 1301**********1234 phone 138****5678"
    assert warning["card"] == "6222***********0123"
    assert warning["ids"] == ["1101**********002X", "1301*******7123"]
    failure = next(r for r in records if r["message"] == "import failed")
    assert "ValueError: bad card 6222***********0123" in failure["exc_info"]


@pytest.mark.django_db(transaction=True)
def test_requests_carrying_personal_numbers_leave_only_masked_lines(gunicorn_server, tmp_path):
    MemberFactory(phone=PHONE)
    for url in (
        f"/staff/union/{ID_NUMBER}/",  # a redirect to sign in, in the access log
        f"/no-such-page/{ID_NUMBER_X}/",  # Django's "Not Found" warning too
        f"/api/v1/offers/?q={CARD_NUMBER}&phone={PHONE}",
    ):
        http_request(gunicorn_server + url)
    # The console SMS backend logs the text it sends, phone included.
    status, _headers, body = http_request(
        gunicorn_server + "/api/v1/auth/otp/request/",
        json.dumps({"phone": PHONE}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    log = tmp_path / "server.log"
    wait_for(lambda: b"/api/v1/auth/otp/request/" in log.read_bytes(), timeout=10, message="the access log")

    # The console backend also prints the text on standard error for the developer (not a log record).
    written = "\n".join(line for line in log.read_text().splitlines() if not line.startswith("[SMS]"))
    no_full_number_in(written)
    records = log_records(written)
    access = [r["message"] for r in records if r["name"] == "gunicorn.access"]
    assert any("/staff/union/1301**********1234/" in line for line in access), access
    assert any("q=6222***********0123&phone=138****5678" in line for line in access), access
    not_found = [r for r in records if r["name"] == "django.request"]
    assert any("1101**********002X" in r["message"] for r in not_found), not_found
    assert any(r["name"] == "notifications.backends.sms" and "138****5678" in r["message"] for r in records)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_writes_personal_numbers_masked(tmp_path):
    from portal.celery import app as celery_app
    from tests.portal.celery_log_app import log_personal_numbers

    queue = f"test-log-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.portal.celery_log_app",
                "--quiet",
                "worker",
                "-Q",
                queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=BASE_DIR,
            env={**os.environ, "REDIS_URL": settings.REDIS_URL, "CELERY_QUEUE": queue},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            log_personal_numbers.apply_async(args=[ID_NUMBER, PHONE, CARD_NUMBER], queue=queue)
            wait_for(lambda: b"refused" in log_path.read_bytes(), timeout=60, message="the task to fail")
            time.sleep(0.5)
        finally:
            worker.terminate()
            worker.wait(20)
            celery_app.connection_for_write().default_channel.queue_delete(queue)
    written = Path(log_path).read_text()
    no_full_number_in(written)
    records = log_records(written)
    assert any(r["message"] == "checking applicant 1301**********1234 phone 138****5678" for r in records)
    assert any(r.get("card") == "6222***********0123" for r in records)
    assert any("printed card 6222***********0123" in r["message"] for r in records)
    assert any("applicant 1301**********1234 refused" in r.get("exc_info", "") for r in records), records

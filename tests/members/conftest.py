from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from members import batch_processing, batch_validation, batches, sms
from members.models import IssuanceBatch
from tests.factories import PartnerBankFactory, make_id_number

HEADER = ["姓名", "身份证号", "手机号", "基层工会代码", "群体"]


@pytest.fixture(autouse=True)
def _media_and_sms(settings, tmp_path, monkeypatch):
    """Uploaded and generated files go to a per-test folder (shared with a worker subprocess through
    MEDIA_ROOT); text messages are kept in memory."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = str(media)
    monkeypatch.setenv("MEDIA_ROOT", str(media))
    settings.SMS_BACKEND = "members.sms.MemorySmsBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def bank(db):
    return PartnerBankFactory()


def applicant_id_number() -> str:
    return make_id_number(region="130104")


def applicant_rows(count: int, union_code: str, *, start: int = 0) -> list[list[str]]:
    return [
        [f"申请人{start + index}", applicant_id_number(), f"137{start + index:08d}", union_code, ""]
        for index in range(count)
    ]


def csv_bytes(rows, *, encoding: str = "utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(*, union, bank, user, content: bytes, filename: str = "申请表.csv") -> IssuanceBatch:
    return batches.batch_upload(
        union=union, bank=bank, uploaded_file=SimpleUploadedFile(filename, content), uploaded_by=user
    )


def validated_batch(*, union, bank, user, rows, filename="申请表.csv", content=None) -> IssuanceBatch:
    batch = upload(union=union, bank=bank, user=user, content=content or csv_bytes(rows), filename=filename)
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def process_all(batch: IssuanceBatch, chunk_size: int = 50) -> None:
    while batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=chunk_size) == "more":
        pass
    batch_processing.batch_finish(batch_id=batch.pk)
    batch.refresh_from_db()


def hold_chunk_two(lock_conn, batch: IssuanceBatch) -> None:
    """Insert, on ``lock_conn`` and without committing, the member named by the first row of the
    batch's second chunk: the worker commits chunk one, then its upsert of chunk two waits on this
    transaction (the same ID number, not yet committed) until ``lock_conn`` rolls back."""
    lock_conn.execute(
        "INSERT INTO members_member (name, id_number_encrypted, id_number_hash, id_number_masked, phone, "
        "union_id, status, groups, created_at, updated_at) "
        "SELECT name, id_number_encrypted, id_number_hash, id_number_masked, phone, union_id, 'active', "
        "'{}', now(), now() FROM members_issuancerow WHERE batch_id = %s AND row_number = %s",
        [batch.pk, batch_processing.PROCESS_CHUNK_ROWS + 2],  # row 1 is the header
    )

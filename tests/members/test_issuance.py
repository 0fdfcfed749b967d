from __future__ import annotations

import csv
import gc
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from openpyxl import load_workbook

from members import batch_processing, batch_validation, batches, issuance, pii
from members.models import Card, IssuanceBatch, Member, PartnerBank
from portal.errors import PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory, make_id_number
from tests.members.conftest import applicant_rows, csv_bytes, process_all, upload, validated_batch, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(tree, make_staff):
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR)


@pytest.fixture
def approver(tree, make_staff):
    """A second operator of the county: card batches are approved by someone other than the uploader."""
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR)


def row_errors(batch) -> dict[int, list[str]]:
    return dict(batch.rows.filter(status="invalid").values_list("row_number", "errors"))


@pytest.mark.parametrize(
    ("filename", "encode"),
    [
        ("a.csv", lambda rows: csv_bytes(rows, encoding="utf-8")),
        ("a.csv", lambda rows: csv_bytes(rows, encoding="utf-8-sig")),
        ("a.csv", lambda rows: csv_bytes(rows, encoding="gbk")),
        ("a.xlsx", xlsx_bytes),
    ],
    ids=["utf8", "utf8-bom", "gbk", "xlsx"],
)
def test_all_supported_file_formats_validate(tree, bank, operator, filename, encode):
    rows = applicant_rows(3, "C1A1")
    rows[1][4] = "困难职工、劳动模范"
    batch = validated_batch(
        union=tree.C1A, bank=bank, user=operator, rows=rows, filename=filename, content=encode(rows)
    )
    assert (batch.status, batch.total_rows, batch.valid_rows, batch.error_rows) == ("validated", 3, 3, 0)
    stored = batch.rows.get(row_number=3)
    assert stored.name == "申请人1" and stored.groups == ["hardship", "model_worker"]
    assert pii.decrypt_id_number(stored.id_number_encrypted) == rows[1][1]


def test_each_bad_row_gets_plain_errors_and_good_rows_are_kept(tree, bank, operator):
    holder = CardFactory(member=MemberFactory(union=tree.C1A1), bank=bank)
    holder_id = pii.decrypt_id_number(holder.member.id_number_encrypted)
    good = applicant_rows(2, "C1A1")
    valid = make_id_number()
    bad_checksum = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    duplicate_id = good[0][1]
    rows = [
        *good,  # rows 2, 3
        ["张三", bad_checksum, "13700000010", "C1A1", ""],  # 4
        ["李四", make_id_number(), "13700000011", "NOPE", ""],  # 5
        ["王五", make_id_number(), "13700000012", "C1B1", ""],  # 6: sibling county
        ["赵六", duplicate_id, "13700000013", "C1A2", ""],  # 7
        ["孙七", holder_id, "13700000014", "C1A1", ""],  # 8
        ["周八", make_id_number(), "1234", "C1A1", ""],  # 9
        ["", make_id_number(), "13700000016", "C1A1", ""],  # 10
        ["吴九", make_id_number(), "13700000017", "C1A", ""],  # 11: county, not workplace
        ["郑十", make_id_number(), "13700000018", "C1A1", "外星人"],  # 12
    ]
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    assert (batch.status, batch.total_rows, batch.valid_rows, batch.error_rows) == ("validated", 11, 2, 9)
    errors = row_errors(batch)
    assert errors[4] == ["身份证号校验位错误。"]
    # An unknown code and one of another county get the same words: nothing confirms which exist.
    assert errors[5] == ["基层工会代码“NOPE”不存在或不在C1A县总工会的管辖范围内。"]
    assert errors[6] == ["基层工会代码“C1B1”不存在或不在C1A县总工会的管辖范围内。"]
    assert errors[7] == ["与第2行的身份证号重复。"]
    assert "已持有有效会员卡" in errors[8][0]
    assert "手机号“1234”无效" in errors[9][0]
    assert errors[10] == ["姓名为空。"]
    assert "不是基层工会" in errors[11][0]
    assert "群体“外星人”无法识别" in errors[12][0]


def test_missing_headers_fail_the_batch_with_a_clear_message_and_keep_the_file(tree, bank, operator):
    content = csv_bytes(applicant_rows(2, "C1A1"), header=["姓名", "手机号", "基层工会代码"])
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=[], content=content)
    assert batch.status == "failed" and "身份证号" in batch.status_message
    assert batch.file.storage.exists(batch.file.name)


def test_broken_xlsx_fails_the_batch_and_keeps_the_file(tree, bank, operator):
    batch = validated_batch(
        union=tree.C1A,
        bank=bank,
        user=operator,
        rows=[],
        filename="坏.xlsx",
        content=b"PK\x03\x04 not a workbook",
    )
    assert batch.status == "failed" and "不是有效的 XLSX" in batch.status_message
    assert batch.file.storage.exists(batch.file.name) and not batch.rows.exists()


def test_row_limit_is_enforced_with_a_clear_error(tree, bank, operator, settings):
    settings.ISSUANCE_UPLOAD_MAX_ROWS = 3
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(4, "C1A1"))
    assert batch.status == "failed" and "超过 3 行的上限" in batch.status_message
    assert not batch.rows.exists()


def test_a_batch_of_the_most_rows_allowed_fits_under_the_size_limit(settings):
    long_row = "欧阳明华,13010419850101001X,13600000000,610102001001,退役军人\r\n".encode()
    assert len(long_row) * settings.ISSUANCE_UPLOAD_MAX_ROWS <= settings.ISSUANCE_UPLOAD_MAX_BYTES


def test_size_limit_and_file_type_are_enforced_at_upload(tree, bank, operator, settings):
    settings.ISSUANCE_UPLOAD_MAX_BYTES = 100
    with pytest.raises(ValidationFailed) as info:
        upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(5, "C1A1")))
    assert "超过" in info.value.message
    with pytest.raises(ValidationFailed):
        upload(union=tree.C1A, bank=bank, user=operator, content=b"x", filename="a.txt")
    assert not IssuanceBatch.objects.exists()


def test_upload_is_refused_for_a_union_outside_the_uploaders_subtree(tree, bank, operator):
    with pytest.raises(PermissionDenied):
        upload(union=tree.C1B, bank=bank, user=operator, content=csv_bytes(applicant_rows(1, "C1B1")))


def test_resumed_validation_skips_rows_already_stored(tree, bank, operator):
    batch = upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(4, "C1A1")))
    # A first run stored two rows and was killed before finishing.
    IssuanceBatch.objects.filter(pk=batch.pk).update(status="validating")
    checker = issuance.RowChecker(batch_id=batch.pk, batch_union=tree.C1A)
    with batch.file.open("rb") as handle:
        first_two = list(issuance.open_application_file(handle, "a.csv").rows())[:2]
    batch_validation._store_checked_rows(batch.pk, checker.check(first_two))
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.total_rows, batch.valid_rows) == ("validated", 4, 4)
    assert sorted(batch.rows.values_list("row_number", flat=True)) == [2, 3, 4, 5]


def test_approve_needs_the_permission_and_the_subtree(tree, bank, operator, make_staff, approver):
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(2, "C1A1"))
    with pytest.raises(PermissionDenied):
        batches.batch_approve(batch=batch, actor=make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR))
    with pytest.raises(PermissionDenied):
        batches.batch_approve(batch=batch, actor=make_staff(tree.C1B, Role.COUNTY_OPERATOR))
    batches.batch_approve(batch=batch, actor=approver)
    assert batch.status == "approved" and batch.approved_by == approver
    event = AuditEvent.objects.get(action=AuditEvent.Action.BATCH_APPROVED)
    assert event.target_id == str(batch.pk) and event.data["valid_rows"] == 2
    with pytest.raises(batches.BatchStateConflict):
        batches.batch_approve(batch=batch, actor=approver)


def test_processing_creates_members_and_cards_in_chunks_and_writes_the_bank_file(
    tree, bank, operator, approver
):
    rows = applicant_rows(7, "C1A1")
    rows.append(["坏行", "123", "13700000099", "C1A1", ""])
    known = MemberFactory(union=tree.C1A2, groups=["veteran"])
    known_id = pii.decrypt_id_number(known.id_number_encrypted)
    rows.append(["改名后", known_id, "13700000098", "C1A1", "困难职工"])
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    batches.batch_approve(batch=batch, actor=approver)
    assert batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=3) == "more"
    batch.refresh_from_db()
    assert (batch.status, batch.processed_rows, batch.progress_percent) == ("processing", 3, 37)
    process_all(batch, chunk_size=3)
    assert batch.status == "completed" and batch.processed_rows == 8 and batch.cards_created == 8
    assert list(Card.objects.filter(batch=batch).order_by("serial").values_list("serial", flat=True)) == list(
        range(1, 9)
    )
    known.refresh_from_db()
    assert known.name == "改名后" and known.union == tree.C1A2  # the union moves only by a transfer
    assert known.groups == ["hardship", "veteran"]
    assert Member.objects.count() == 8
    assert not batch.rows.filter(status="valid", row_number__gt=batch.processed_through).exists()
    assert batch.processed_through == 10
    # The bank file lists every new card with the full ID number.
    with batch.production_file.open("rb") as handle:
        lines = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert lines[0][:3] == ["卡号", "姓名", "身份证号"]
    assert len(lines) == 9
    assert known_id in {line[2] for line in lines}


def test_bank_files_are_deleted_after_their_retention_and_the_batch_says_so(
    client, tree, bank, operator, approver, make_staff, settings
):
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from members import tasks
    from portal.errors import NotFound

    settings.BANK_FILE_RETENTION = timedelta(days=30)
    old, recent = (
        validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(2, "C1A1", start=start))
        for start in (0, 10)
    )
    for batch in (old, recent):
        batches.batch_approve(batch=batch, actor=approver)
        process_all(batch)
    IssuanceBatch.objects.filter(pk=old.pk).update(completed_at=timezone.now() - timedelta(days=31))
    old_name = IssuanceBatch.objects.get(pk=old.pk).production_file.name

    assert tasks.purge_bank_files() == 1
    assert tasks.purge_bank_files() == 0  # nothing is due twice

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.production_file and old.production_file_purged_at is not None
    assert not default_storage.exists(old_name)
    assert recent.production_file and default_storage.exists(recent.production_file.name)
    admin = make_staff(tree.P, Role.PROVINCE_ADMIN)
    with pytest.raises(NotFound, match="按保存期限删除"):
        batches.batch_bank_file_open(batch=old, actor=admin)
    batches.batch_bank_file_open(batch=recent, actor=admin).close()
    assert Card.objects.filter(batch=old).count() == 2  # only the file goes, never the cards
    client.force_login(admin)
    page = client.get(f"/admin/members/issuancebatch/{old.pk}/change/").content.decode()
    assert "按保存期限删除" in page and "下载制卡文件" not in page


def test_a_failed_chunk_rolls_back_whole_and_a_rerun_completes_without_duplicates(
    tree, bank, operator, approver
):
    from members import tasks

    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(5, "C1A1"))
    batches.batch_approve(batch=batch, actor=approver)
    batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=2)
    # Somebody took serial 4 outside the allocator: the next chunk (serials 3 and 4) fails on insert.
    blocker = CardFactory(
        member=MemberFactory(union=tree.C1B1), bank=bank, serial=4, number="6228880000000049"
    )
    with pytest.raises(IntegrityError):
        batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=2)
    batch.refresh_from_db()
    bank.refresh_from_db()
    assert (batch.processed_rows, batch.processed_through) == (2, 3)  # rows 2 and 3 (row 1: the header)
    assert bank.next_serial == 3 and Member.objects.count() == 3  # blocker's member + first chunk
    Card.objects.filter(pk=blocker.pk).update(serial=999_999_999)
    assert tasks.batch_process(batch.pk, chunk_size=2) == "more"
    assert tasks.batch_process(batch.pk, chunk_size=2) == "more"
    assert tasks.batch_process(batch.pk, chunk_size=2) == "finish"  # and queues the bank file
    assert tasks.batch_process(batch.pk, chunk_size=2) == "finish"  # a redelivered task: nothing new
    assert tasks.batch_finish(batch.pk) is True
    assert tasks.batch_finish(batch.pk) is False  # redelivered: the file is written once
    assert tasks.batch_process(batch.pk, chunk_size=2) == "idle"
    batch.refresh_from_db()
    assert batch.status == "completed" and batch.cards_created == 5
    serials = sorted(Card.objects.filter(batch=batch).values_list("serial", flat=True))
    assert serials == [1, 2, 3, 4, 5]


def test_a_reuploaded_applicant_never_gets_a_second_live_card(tree, bank, operator, approver):
    rows = applicant_rows(2, "C1A1")
    first = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    second = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    batches.batch_approve(batch=first, actor=approver)
    batches.batch_approve(batch=second, actor=approver)
    process_all(first)
    process_all(second)  # validated before the first ran: the processing re-checks
    assert second.status == "completed" and second.cards_created == 0 and second.processed_rows == 2
    assert Card.objects.count() == 2


def test_error_report_neutralises_formulas(tree, bank, operator):
    rows = [['=HYPERLINK("http://x")', "110105194912310021", "+8613800", "@SUM(A1)", "-1"]]
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    workbook = load_workbook(io.BytesIO(issuance.error_report_workbook(batch.rows.all())))
    values = [cell.value for cell in list(workbook.active.iter_rows())[1]]
    assert values[1] == '\'=HYPERLINK("http://x")'
    assert values[4] == "'@SUM(A1)"
    assert all(not str(value).startswith(("=", "+", "-", "@")) for value in values)


def test_template_has_the_chinese_headers():
    workbook = load_workbook(io.BytesIO(issuance.template_workbook()))
    headers = [cell.value for cell in next(workbook.worksheets[0].iter_rows())]
    assert headers == ["姓名", "身份证号", "手机号", "基层工会代码", "群体"]


# --- Admin --------------------------------------------------------------------------------------------


def test_admin_upload_stores_the_file_and_shows_the_status_page(client, tree, bank, operator):
    client.force_login(operator)
    form = client.get("/admin/members/issuancebatch/add/")
    assert form.status_code == 200 and "每个文件最多 1,000,000 行、100 MB" in form.content.decode()
    content = csv_bytes(applicant_rows(2, "C1A1"), encoding="gbk")
    response = client.post(
        "/admin/members/issuancebatch/add/",
        {"union": tree.C1A.pk, "bank": bank.pk, "file": SimpleUploadedFile("二月申请.csv", content)},
    )
    batch = IssuanceBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    assert batch.original_filename == "二月申请.csv" and batch.uploaded_by == operator
    with batch.file.open("rb") as handle:
        assert handle.read() == content
    batch_validation.batch_validate_run(batch_id=batch.pk)
    page = client.get(f"/admin/members/issuancebatch/{batch.pk}/change/").content.decode()
    assert "batch_progress.js" in page and "批准并为 2 条有效记录制卡" in page
    status = client.get(f"/admin/members/issuancebatch/{batch.pk}/status/").json()
    assert status["status"] == "validated" and status["valid_rows"] == 2 and status["percent"] == 0


def test_admin_upload_form_shows_size_errors(client, tree, bank, operator, settings):
    settings.ISSUANCE_UPLOAD_MAX_BYTES = 10
    client.force_login(operator)
    response = client.post(
        "/admin/members/issuancebatch/add/",
        {"union": tree.C1A.pk, "bank": bank.pk, "file": SimpleUploadedFile("a.csv", b"0123456789abc")},
    )
    assert response.status_code == 200 and "上限" in response.content.decode()


def test_admin_approve_and_download_files(client, tree, bank, operator, approver, make_staff):
    rows = [*applicant_rows(2, "C1A1"), ["坏行", "123", "13700000099", "C1A1", ""]]
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=rows)
    client.force_login(operator)
    errors = client.get(f"/admin/members/issuancebatch/{batch.pk}/errors.xlsx")
    assert errors.status_code == 200
    sheet = load_workbook(io.BytesIO(errors.content)).active
    assert sheet.max_row == 2 and "身份证号应为18位" in sheet["F2"].value
    assert (
        client.get(f"/admin/members/issuancebatch/{batch.pk}/approve/").status_code == 302
    )  # GET changes nothing
    client.force_login(approver)  # the uploader may not approve their own batch
    asked = client.post(f"/admin/members/issuancebatch/{batch.pk}/approve/")
    assert asked.status_code == 200 and "批准后不能撤回" in asked.content.decode()  # asks first
    batch.refresh_from_db()
    assert batch.status == "validated"
    client.post(f"/admin/members/issuancebatch/{batch.pk}/approve/", {"confirmed": "1"})
    batch.refresh_from_db()
    assert batch.status == "approved"
    process_all(batch)
    # A county operator has no permission for the file with full ID numbers.
    assert client.get(f"/admin/members/issuancebatch/{batch.pk}/bank-file/").status_code == 403
    admin = make_staff(tree.P, Role.PROVINCE_ADMIN)
    client.force_login(admin)
    response = client.get(f"/admin/members/issuancebatch/{batch.pk}/bank-file/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert rows[0][1] in body
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BANK_FILE_DOWNLOADED, actor=admin).count() == 1
    assert client.get("/admin/members/issuancebatch/template.xlsx").status_code == 200


def test_the_uploaded_file_is_for_the_id_file_permission_only_audited_and_deleted_after_its_retention(
    client, tree, bank, operator, approver, make_staff, settings
):
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from members import tasks
    from portal.errors import NotFound

    settings.APPLICATION_FILE_RETENTION = timedelta(days=30)
    done, fresh, rejected, pending = (
        validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(1, "C1A1", start=start))
        for start in (0, 10, 20, 30)
    )
    for batch in (done, fresh):
        batches.batch_approve(batch=batch, actor=approver)
        process_all(batch)
    batches.batch_reject(batch=rejected, actor=operator, reason="重复上报")
    month_ago = timezone.now() - timedelta(days=31)
    IssuanceBatch.objects.filter(pk=done.pk).update(completed_at=month_ago)
    IssuanceBatch.objects.filter(pk__in=[rejected.pk, pending.pk]).update(created_at=month_ago)

    # The uploader's own operator sees the batch but not the full ID numbers of its file.
    client.force_login(operator)
    page = client.get(f"/admin/members/issuancebatch/{done.pk}/change/").content.decode()
    assert "下载申请原文件" not in page
    assert client.get(f"/admin/members/issuancebatch/{done.pk}/source/").status_code == 403
    admin = make_staff(tree.P, Role.PROVINCE_ADMIN)
    client.force_login(admin)
    response = client.get(f"/admin/members/issuancebatch/{pending.pk}/source/")
    assert response.status_code == 200
    with default_storage.open(IssuanceBatch.objects.get(pk=pending.pk).file.name) as stored:
        assert b"".join(response.streaming_content) == stored.read()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.APPLICATION_FILE_DOWNLOADED, actor=admin, target_id=str(pending.pk)
    ).exists()

    names = {b.pk: IssuanceBatch.objects.get(pk=b.pk).file.name for b in (done, fresh, rejected, pending)}
    assert tasks.purge_application_files() == 2  # the completed and the rejected batch of a month ago
    assert tasks.purge_application_files() == 0
    for batch, kept in ((done, False), (rejected, False), (fresh, True), (pending, True)):
        batch.refresh_from_db()
        assert bool(batch.file) is kept and (batch.file_purged_at is None) is kept
        assert default_storage.exists(names[batch.pk]) is kept
    assert done.valid_rows == 1 and Card.objects.filter(batch=done).count() == 1  # only the file goes
    with pytest.raises(NotFound, match="按保存期限删除"):
        batches.batch_application_file_open(batch=done, actor=admin)
    page = client.get(f"/admin/members/issuancebatch/{done.pk}/change/").content.decode()
    assert "申请原文件含完整身份证号，已于" in page and "下载申请原文件" not in page
    assert client.get(f"/admin/members/issuancebatch/{done.pk}/source/").status_code == 404
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"members.tasks.purge_application_files", "members.tasks.purge_bank_files"} <= schedule


def test_batches_of_a_sibling_county_are_invisible(client, tree, bank, operator, make_staff):
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(1, "C1A1"))
    sibling = make_staff(tree.C1B, Role.COUNTY_OPERATOR)
    client.force_login(sibling)
    assert str(batch.original_filename) not in client.get("/admin/members/issuancebatch/").content.decode()
    assert client.get(f"/admin/members/issuancebatch/{batch.pk}/change/").status_code == 302
    for suffix in ("status/", "errors.xlsx", "source/", "bank-file/"):
        assert client.get(f"/admin/members/issuancebatch/{batch.pk}/{suffix}").status_code == 404, suffix
    assert client.post(f"/admin/members/issuancebatch/{batch.pk}/approve/").status_code == 404
    batch.refresh_from_db()
    assert batch.status == "validated"
    with pytest.raises(PermissionDenied):
        batches.batch_approve(batch=batch, actor=sibling)


def test_batch_list_uses_a_fixed_number_of_queries(client, tree, bank, operator, django_assert_num_queries):
    client.force_login(operator)
    upload(union=tree.C1A, bank=bank, user=operator, content=csv_bytes(applicant_rows(1, "C1A1")))
    client.get("/admin/members/issuancebatch/")
    with django_assert_num_queries(9) as first:
        client.get("/admin/members/issuancebatch/")
    for _ in range(5):
        upload(union=tree.C1A1, bank=bank, user=operator, content=csv_bytes(applicant_rows(1, "C1A1")))
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get("/admin/members/issuancebatch/").status_code == 200


def test_bank_serials_survive_a_second_bank(tree, operator, approver):
    other = PartnerBank.objects.create(code="CCB", name="建设银行", bin="621700", serial_length=10)
    batch = validated_batch(union=tree.C1A, bank=other, user=operator, rows=applicant_rows(2, "C1A1"))
    batches.batch_approve(batch=batch, actor=approver)
    process_all(batch)
    numbers = sorted(Card.objects.values_list("number", flat=True))
    assert all(number.startswith("6217000000000") and len(number) == 17 for number in numbers)
    assert Card.objects.filter(batch=batch, bank=other).count() == 2


def test_reject_needs_the_permission_and_a_validated_batch(
    client, tree, bank, operator, approver, make_staff
):
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(1, "C1A1"))
    with pytest.raises(PermissionDenied):
        batches.batch_reject(batch=batch, actor=make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR))
    client.force_login(operator)
    client.post(f"/admin/members/issuancebatch/{batch.pk}/reject/", {"reason": "资料不全"})
    batch.refresh_from_db()
    assert batch.status == "rejected" and batch.status_message == "资料不全"
    client.force_login(approver)
    response = client.post(
        f"/admin/members/issuancebatch/{batch.pk}/approve/", {"confirmed": "1"}, follow=True
    )
    assert "只有“待审核”的批次可以批准" in response.content.decode()


def test_resume_requeues_unfinished_work_only(client, tree, bank, operator, approver):
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(3, "C1A1"))
    client.force_login(operator)
    response = client.post(f"/admin/members/issuancebatch/{batch.pk}/resume/", follow=True)
    assert "没有需要继续的工作" in response.content.decode()
    batches.batch_approve(batch=batch, actor=approver)
    batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=1)
    batches.batch_mark_failed(batch_id=batch.pk, message="制卡中断")
    response = client.post(f"/admin/members/issuancebatch/{batch.pk}/resume/", follow=True)
    assert "已重新排队" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == "processing"
    process_all(batch)
    assert batch.status == "completed" and batch.cards_created == 3
    assert batch_processing.batch_finish(batch_id=batch.pk) is False  # finishing twice writes nothing


def test_status_endpoint_reports_processing_progress(client, tree, bank, operator, approver):
    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(4, "C1A1"))
    batches.batch_approve(batch=batch, actor=approver)
    batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=1)
    client.force_login(operator)
    status = client.get(f"/admin/members/issuancebatch/{batch.pk}/status/").json()
    assert status == {
        "id": batch.pk,
        "status": "processing",
        "status_display": "制卡中",
        "status_message": "",
        "percent": 25,
        "total_rows": 4,
        "valid_rows": 4,
        "error_rows": 0,
        "processed_rows": 1,
        "cards_created": 1,
        "finished": False,
        "has_production_file": False,
    }


def test_member_admin_finds_a_member_by_full_id_number(client, tree, make_staff):
    """By the POST form above the list (a GET would leave the number in the address and the logs)."""
    member = MemberFactory(union=tree.C1A1, name="要找的人")
    MemberFactory(union=tree.C1A1, name="别人")
    client.force_login(make_staff(tree.C1A))
    full = pii.decrypt_id_number(member.id_number_encrypted)
    page = client.post("/admin/members/member/find-by-id/", {"id_number": full}, follow=True).content.decode()
    assert "要找的人" in page and "别人" not in page


def test_the_uploader_is_told_why_a_batch_was_sent_back(tree, bank, operator, approver):
    from notifications.models import Notification, Topic

    batch = validated_batch(union=tree.C1A, bank=bank, user=operator, rows=applicant_rows(1, "C1A1"))
    batches.batch_reject(batch=batch, actor=approver, reason="身份证号与名册不符")
    notice = Notification.objects.get(topic=Topic.BATCH_REJECTED)
    assert (notice.recipient_kind, notice.recipient_id) == ("user", operator.pk)
    assert "身份证号与名册不符" in notice.body and batch.original_filename in notice.body
    assert notice.link == f"/admin/members/issuancebatch/{batch.pk}/change/"
    with pytest.raises(batches.BatchStateConflict):
        batches.batch_reject(batch=batch, actor=approver, reason="again")
    assert Notification.objects.filter(topic=Topic.BATCH_REJECTED).count() == 1


@pytest.mark.parametrize("enabled", [True, False])
def test_validation_leaves_the_cycle_collector_as_it_found_it(enabled):
    """Validation pauses Python's cycle collector while it reads, even when the file is refused."""
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        rows = iter([(2, {}), (3, {})])
        with pytest.raises(issuance.FileProblem):
            batch_validation._validate_rows(1, rows, checker=None, stored_through=0, max_rows=1)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()

"""Bad files never break an issuance upload: each is refused at the form or fails its batch with a
plain message. Every spreadsheet the portal hands out shows formula-looking text as text."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from discounts.models import Offer
from discounts.redemption import redemption_create
from members import batch_validation, batches, pii
from members.models import IssuanceBatch
from stats.coverage import coverage_snapshot_compute
from tests.factories import OfferFactory, PartnerBankFactory, make_id_number

HEADER = ["姓名", "身份证号", "手机号", "基层工会代码", "群体"]
FORMULA_STARTS = ("=", "+", "-", "@")
EVIL = ['=HYPERLINK("http://evil.example","点我")', "+SUM(1,2)", "-1+2", "@cmd"]


def csv_bytes(rows, encoding="utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def applicants(count: int, union_code: str = "C1A1") -> list[list[str]]:
    return [[f"申请人{i}", make_id_number(), f"1370000{i:04d}", union_code, ""] for i in range(count)]


def formula_cells(content: bytes) -> list[str]:
    """Text cells of a workbook that a spreadsheet program would run as formulas."""
    book = load_workbook(io.BytesIO(content))
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (
                    isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS)
                ):
                    found.append(f"{sheet.title}!{cell.coordinate}={cell.value!r}")
    return found


@pytest.fixture
def bank(db):
    return PartnerBankFactory()


@pytest.fixture
def operator(world):
    return world.county_operator


def post_upload(client, world, bank, name: str, content: bytes):
    client.force_login(world.county_operator)
    return client.post(
        reverse("admin:members_issuancebatch_add"),
        {"union": world.tree.C1A.pk, "bank": bank.pk, "file": SimpleUploadedFile(name, content)},
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("名单.txt", b"a,b,c\n", "只支持 CSV 或 XLSX 文件"),
        ("名单.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "只支持 CSV 或 XLSX 文件"),
        ("名单.exe", b"MZ\x90\x00", "只支持 CSV 或 XLSX 文件"),
        ("名单", b"a,b\n", "只支持 CSV 或 XLSX 文件"),
        ("名单.csv", b"", "空"),
    ],
)
def test_wrong_file_types_and_empty_files_are_refused_on_the_form(
    client, world, bank, name, content, message
):
    response = post_upload(client, world, bank, name, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not IssuanceBatch.objects.exists()


def test_an_oversized_file_is_refused_on_the_form_with_the_limit(client, world, bank, settings):
    settings.ISSUANCE_UPLOAD_MAX_BYTES = 1024
    response = post_upload(client, world, bank, "名单.csv", csv_bytes(applicants(40)))

    assert response.status_code == 200
    assert "超过" in response.content.decode() and "拆分" in response.content.decode()
    assert not IssuanceBatch.objects.exists()


def validate(world, bank, name: str, content: bytes) -> IssuanceBatch:
    batch = batches.batch_upload(
        union=world.tree.C1A,
        bank=bank,
        uploaded_file=SimpleUploadedFile(name, content),
        uploaded_by=world.county_operator,
    )
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("坏.xlsx", b"PK\x03\x04 truncated"),
        ("坏.xlsx", _zip_without_workbook()),
        ("其实是CSV.xlsx", "姓名,身份证号\n张三,1\n".encode()),
        ("图片.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
        ("表头不对.csv", csv_bytes(applicants(2), header=["name", "id", "phone"])),
        ("只有表头.csv", csv_bytes([])),
        ("UTF16.csv", csv_bytes(applicants(2), encoding="utf-16")),
    ],
    ids=[
        "truncated-xlsx",
        "zip-not-xlsx",
        "csv-named-xlsx",
        "binary-csv",
        "wrong-header",
        "header-only",
        "utf16",
    ],
)
def test_unreadable_files_fail_their_batch_with_a_plain_message(world, bank, name, content):
    batch = validate(world, bank, name, content)

    assert batch.status == IssuanceBatch.Status.FAILED
    assert batch.status_message.strip(), "a message tells the uploader what is wrong"
    assert "Traceback" not in batch.status_message and "Error" not in batch.status_message
    assert not batch.rows.exists()


def test_too_many_rows_fail_the_batch_with_the_limit(world, bank, settings):
    settings.ISSUANCE_UPLOAD_MAX_ROWS = 5
    batch = validate(world, bank, "名单.csv", csv_bytes(applicants(6)))

    assert batch.status == IssuanceBatch.Status.FAILED
    assert "5" in batch.status_message and "上限" in batch.status_message


@pytest.mark.parametrize(
    "encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"], ids=["gbk", "gb18030", "utf8", "utf8-bom"]
)
def test_chinese_csv_in_every_common_encoding_reads_the_same(world, bank, encoding):
    rows = applicants(3)
    rows[0][0] = "欧阳娜娜"
    rows[1][4] = "困难职工"

    batch = validate(world, bank, f"名单-{encoding}.csv", csv_bytes(rows, encoding=encoding))

    assert (batch.status, batch.valid_rows, batch.error_rows) == ("validated", 3, 0)
    first = batch.rows.get(row_number=2)
    assert first.name == "欧阳娜娜"
    assert pii.decrypt_id_number(first.id_number_encrypted) == rows[0][1]
    assert batch.rows.get(row_number=3).groups == ["hardship"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formula_looking_cells_never_run_in_the_error_report(client, world, bank, kind):
    """In a CSV they are text; in an XLSX a real formula reads as an empty cell (its result is never
    computed). Either way the row is refused with a plain message and the report shows text only."""
    rows = [
        [EVIL[0], "=1+1", EVIL[1], "@C1A1", EVIL[3]],
        [EVIL[2], make_id_number(), "13700000001", "-C1A1", ""],
    ]
    content = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    batch = validate(world, bank, f"名单.{kind}", content)
    assert batch.status == IssuanceBatch.Status.VALIDATED
    assert (batch.valid_rows, batch.error_rows) == (0, 2)

    client.force_login(world.county_operator)
    report = client.get(reverse("admin:members_issuancebatch_errors", args=[batch.pk]))

    assert report.status_code == 200
    assert formula_cells(report.content) == []
    text = [c.value for row in load_workbook(io.BytesIO(report.content)).active.iter_rows() for c in row]
    assert "'-C1A1" in text
    if kind == "csv":
        assert "'" + EVIL[0] in text


@pytest.fixture
def evil_names(world):
    """Names and titles that spreadsheet programs would take for formulas, on every exported row."""
    world.tree.C1A1.name = EVIL[0]
    world.tree.C1A1.save()
    world.merchant.name = EVIL[1]
    world.merchant.save()
    world.store.name = EVIL[3]
    world.store.save()
    world.offer.title = EVIL[2]
    world.offer.save()
    allowance = OfferFactory(
        merchant=world.merchant,
        title=EVIL[0],
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20.00"),
        funder=Offer.Funder.UNION,
        budget=Decimal("1000.00"),
        budget_owner=world.tree.C1A,
    )
    for offer, key in ((world.offer, "x1"), (allowance, "x2")):
        redemption_create(
            merchant=world.merchant,
            store_id=world.store.pk,
            offer_id=offer.pk,
            card_number=world.card.number,
            amount=Decimal("100.00"),
            idempotency_key=key,
        )
    coverage_snapshot_compute(day=timezone.localdate())


def test_settlement_statement_export_neutralises_formulas(client, world, evil_names):
    client.force_login(world.manager.user)
    response = client.get(reverse("cashier:statement") + "?format=xlsx")

    assert response.status_code == 200
    assert formula_cells(response.content) == []


def test_subsidy_export_neutralises_formulas(client, world, evil_names):
    client.force_login(world.city_operator)
    response = client.get(reverse("subsidies:report") + "?format=xlsx")

    assert response.status_code == 200
    assert formula_cells(response.content) == []
    assert b"xl/" in response.content[:2000] or response.content[:2] == b"PK"


def test_coverage_export_neutralises_formulas(client, world, evil_names):
    client.force_login(world.city_operator)
    response = client.get(reverse("staff:unit_export", args=["C1A"]))

    assert response.status_code == 200
    cells = [
        c.value
        for s in load_workbook(io.BytesIO(response.content)).worksheets
        for r in s.iter_rows()
        for c in r
    ]
    assert formula_cells(response.content) == []
    assert "'" + EVIL[0] in cells  # the workplace union's name is there, as text

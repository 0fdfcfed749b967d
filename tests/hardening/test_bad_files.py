"""Application files built by hand to cost a worker as much as they can: zip bombs, a cell of many
megabytes, 16,384 columns, rows numbered past Excel's last, entity expansion ("billion laughs"), a
CSV with a NUL byte. Each ends its batch as FAILED with a plain message, in bounded time and memory,
and a failed validation can be run again.

The XLSX files are written part by part with ``zipfile`` (not with openpyxl, which would never write
them), so what is tested is exactly the bytes an attacker would upload."""

from __future__ import annotations

import csv
import io
import logging
import random
import struct
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl.utils import get_column_letter

from members import batch_validation, batches, issuance, pii
from members.models import IssuanceBatch
from tests.factories import PartnerBankFactory, make_id_number

HEADER = ["姓名", "身份证号", "手机号", "基层工会代码", "群体"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "{shared_override}</Types>"
)
SHARED_OVERRIDE = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">'
    '<sheets><sheet name="申请表" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "{shared_rel}</Relationships>"
)
SHARED_REL = f'<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'

LAUGHS = """<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(column: int, row: int, text: str) -> str:
    return f'<c r="{get_column_letter(column)}{row}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def row_xml(number: int, values) -> str:
    return (
        f'<row r="{number}">' + "".join(cell(i, number, v) for i, v in enumerate(values, 1) if v) + "</row>"
    )


def sheet(rows: list[str], *, dimension: str | None = "A1:E3", doctype: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = f'<worksheet xmlns="{MAIN}">{dim}<sheetData>{"".join(rows)}</sheetData></worksheet>'
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}{body}'.encode()


def handmade_xlsx(sheet_xml: bytes, shared_strings: bytes | None = None, extra_parts=()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            CONTENT_TYPES.format(shared_override=SHARED_OVERRIDE if shared_strings else ""),
        )
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            WORKBOOK_RELS.format(shared_rel=SHARED_REL if shared_strings else ""),
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in extra_parts:
            archive.writestr(name, data)
    return out.getvalue()


def applicant(index: int) -> list[str]:
    return [f"申请人{index}", make_id_number(), f"1370000{index:04d}", "C1A1", ""]


def good_rows() -> list[str]:
    return [row_xml(1, HEADER), row_xml(2, applicant(1)), row_xml(3, applicant(2))]


def validate(world, name: str, content: bytes) -> IssuanceBatch:
    batch = batches.batch_upload(
        union=world.tree.C1A,
        bank=PartnerBankFactory(),
        uploaded_file=SimpleUploadedFile(name, content),
        uploaded_by=world.county_operator,
    )
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def assert_failed_plainly(batch: IssuanceBatch, *words: str) -> None:
    assert batch.status == IssuanceBatch.Status.FAILED, (batch.status, batch.status_message)
    message = batch.status_message
    assert message.strip() and "Traceback" not in message and "Error" not in message, message
    for word in words:
        assert word in message, message
    assert not batch.rows.exists()


def test_the_handmade_workbook_itself_is_read(world):
    """The builder makes a valid file: every failure below is the limit's doing, not the builder's."""
    batch = validate(world, "手工.xlsx", handmade_xlsx(sheet(good_rows())))
    assert (batch.status, batch.valid_rows, batch.error_rows) == ("validated", 2, 0)


def test_openpyxl_parses_uploads_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


# --- Zip bombs and sizes ------------------------------------------------------------------------------


def test_a_huge_compressible_cell_is_refused_before_it_is_parsed(world):
    """50 MB of one letter packs into some 50 kB: refused by the ratio guard, never unpacked whole."""
    rows = [row_xml(1, HEADER), row_xml(2, ["A" * 50_000_000, make_id_number(), "13700000001", "C1A1"])]
    content = handmade_xlsx(sheet(rows))
    assert len(content) < 200_000

    batch = validate(world, "炸弹.xlsx", content)

    assert_failed_plainly(batch, "压缩")


def test_a_huge_cell_that_passes_the_ratio_guard_is_refused_before_it_is_parsed(world):
    """A cell of random letters packs poorly: the ratio guard lets it through, the scan of text runs
    before parsing does not (no XML text longer than a cell can be is ever built in memory)."""
    letters = "".join(
        random.Random(1).choice("abcdefghij") for _ in range(issuance.XLSX_MAX_TEXT_RUN_BYTES + 10)
    )
    rows = [row_xml(1, HEADER), row_xml(2, [letters, make_id_number(), "13700000001", "C1A1"])]

    batch = validate(world, "长单元格.xlsx", handmade_xlsx(sheet(rows)))

    assert_failed_plainly(batch, "单元格")


def test_a_cell_longer_than_the_limit_fails_the_file_while_it_is_read(world):
    rows = [
        row_xml(1, HEADER),
        row_xml(2, ["张" * (issuance.MAX_CELL_CHARS + 1), make_id_number(), "13700000001", "C1A1"]),
    ]

    batch = validate(world, "长姓名.xlsx", handmade_xlsx(sheet(rows)))

    assert_failed_plainly(batch, "第 2 行", str(issuance.MAX_CELL_CHARS))


def test_the_unzipped_size_limit_counts_every_part(world, monkeypatch):
    content = handmade_xlsx(sheet(good_rows()), extra_parts=[("xl/media/padding.bin", bytes(50_000))])
    monkeypatch.setattr(issuance, "XLSX_MAX_UNZIPPED_BYTES", 40_000)

    batch = validate(world, "大.xlsx", content)

    assert_failed_plainly(batch, "解压")


def test_a_part_larger_than_its_declared_size_is_refused(world):
    """The central directory says the sheet is tiny; the data unpacks to much more."""
    rows = [*good_rows(), *(row_xml(n, applicant(n)) for n in range(4, 200))]
    content = bytearray(handmade_xlsx(sheet(rows, dimension=None)))
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    name = info.filename.encode()
    entry = content.find(b"PK\x01\x02")
    while (
        struct.unpack_from("<H", content, entry + 28)[0] != len(name)
        or content[entry + 46 : entry + 46 + len(name)] != name
    ):
        entry = content.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", content, entry + 24, 1000)  # the central directory's uncompressed size
    struct.pack_into("<I", content, info.header_offset + 22, 1000)  # and the local header's

    batch = validate(world, "谎报.xlsx", bytes(content))

    assert batch.status == IssuanceBatch.Status.FAILED and batch.status_message and not batch.rows.exists()


def test_a_central_directory_larger_than_the_limit_is_refused_unread(world, monkeypatch):
    parts = [(f"xl/media/p{n:05d}.bin", b"x") for n in range(200)]
    monkeypatch.setattr(issuance, "XLSX_MAX_DIRECTORY_BYTES", 4096)

    batch = validate(world, "很多部件.xlsx", handmade_xlsx(sheet(good_rows()), extra_parts=parts))

    assert_failed_plainly(batch)


def test_a_million_row_application_fits_under_the_unzipped_limit(settings):
    """Measured, not assumed: 2,000 applicants written the way a spreadsheet program writes them,
    scaled to the row limit, unpack to well under the limit."""
    book = openpyxl.Workbook(write_only=True)
    sheet_ = book.create_sheet()
    sheet_.append(HEADER)
    for index in range(2000):
        sheet_.append(["欧阳明华", make_id_number(), f"136{index:08d}", "610102001001", "退役军人"])
    out = io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as archive:
        unpacked = sum(part.file_size for part in archive.infolist())
    assert unpacked / 2000 * settings.ISSUANCE_UPLOAD_MAX_ROWS <= issuance.XLSX_MAX_UNZIPPED_BYTES * 0.7


# --- Columns and rows -------------------------------------------------------------------------------


def sixteen_thousand_columns(dimension: str | None) -> bytes:
    wide = (
        '<row r="2">'
        + "".join(f'<c r="{get_column_letter(i)}2"><v>{i}</v></c>' for i in range(1, 16_385))
        + "</row>"
    )
    return handmade_xlsx(sheet([row_xml(1, HEADER), wide], dimension=dimension))


@pytest.mark.parametrize("dimension", ["A1:XFD2", None], ids=["declared", "undeclared"])
def test_sixteen_thousand_columns_fail_the_file(world, dimension):
    batch = validate(world, "宽.xlsx", sixteen_thousand_columns(dimension))
    assert_failed_plainly(batch, "列", str(issuance.MAX_COLUMNS))


def test_a_dimension_claiming_the_whole_sheet_is_refused_without_padding_a_million_rows(world):
    batch = validate(world, "声明.xlsx", handmade_xlsx(sheet(good_rows(), dimension="A1:XFD1048576")))
    assert_failed_plainly(batch, "列")


def test_a_row_numbered_past_excels_last_row_fails_the_file(world):
    rows = [*good_rows(), row_xml(999_999_999, applicant(9))]
    batch = validate(world, "远行.xlsx", handmade_xlsx(sheet(rows, dimension=None)))
    assert_failed_plainly(batch, "行")


# --- Entity expansion -----------------------------------------------------------------------------------


def test_billion_laughs_in_the_sheet_fails_the_batch(world):
    rows = [row_xml(1, HEADER), '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>']
    batch = validate(world, "笑.xlsx", handmade_xlsx(sheet(rows, doctype=LAUGHS)))
    assert_failed_plainly(batch, "实体")


def test_billion_laughs_in_the_shared_strings_fails_the_batch(world):
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?>{LAUGHS}'
        f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    ).encode()
    rows = [row_xml(1, HEADER), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']
    batch = validate(world, "笑.xlsx", handmade_xlsx(sheet(rows), shared_strings=shared))
    assert_failed_plainly(batch, "实体")


# --- CSV ----------------------------------------------------------------------------------------------


def csv_bytes(rows, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def test_a_csv_with_a_nul_byte_fails_the_batch_with_a_plain_message(world):
    content = csv_bytes([applicant(1), ["坏\x00人", make_id_number(), "13700000002", "C1A1", ""]])
    batch = validate(world, "空字符.csv", content)
    assert_failed_plainly(batch, "第 3 行")


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_gbk_and_utf8_csv_still_read(world, encoding):
    rows = [applicant(1), applicant(2)]
    batch = validate(world, f"{encoding}.csv", csv_bytes(rows, encoding=encoding))
    assert (batch.status, batch.valid_rows) == ("validated", 2)
    assert pii.decrypt_id_number(batch.rows.get(row_number=2).id_number_encrypted) == rows[0][1]


def test_a_csv_with_too_many_columns_fails_the_batch(world):
    content = csv_bytes([applicant(1) + ["备注"] * issuance.MAX_COLUMNS])
    batch = validate(world, "宽.csv", content)
    assert_failed_plainly(batch, "列", str(issuance.MAX_COLUMNS))


def test_a_csv_line_of_a_million_commas_fails_the_batch_unsplit(world):
    content = csv_bytes([applicant(1)]) + b"," * 1_000_000 + b"\r\n"
    batch = validate(world, "逗号.csv", content)
    assert_failed_plainly(batch, "第 3 行")


def test_a_csv_cell_longer_than_the_limit_fails_the_batch(world):
    content = csv_bytes(
        [applicant(1), ["王" * (issuance.MAX_CELL_CHARS + 1), make_id_number(), "13700000002", "C1A1", ""]]
    )
    batch = validate(world, "长.csv", content)
    assert_failed_plainly(batch, "第 3 行", str(issuance.MAX_CELL_CHARS))


# --- Whatever goes wrong, the batch ends, and can be validated again ---------------------------------


def test_an_unexpected_error_ends_the_batch_with_a_generic_message_and_is_logged(world, monkeypatch, caplog):
    def broken(self, chunk):
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(issuance.RowChecker, "check", broken)
    with caplog.at_level(logging.ERROR, logger="members.batch_validation"):
        batch = validate(world, "名单.csv", csv_bytes([applicant(1)]))

    assert_failed_plainly(batch)
    assert "a bug nobody foresaw" not in batch.status_message
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


def test_resume_validates_a_failed_batch_again_from_the_start(client, world, monkeypatch):
    content = csv_bytes([[*applicant(1), "备注一", "备注二"], applicant(2)])
    monkeypatch.setattr(issuance, "MAX_COLUMNS", 6)
    batch = validate(world, "名单.csv", content)
    assert_failed_plainly(batch, "列")

    monkeypatch.setattr(issuance, "MAX_COLUMNS", 50)  # the limit was raised
    client.force_login(world.county_operator)
    page = client.get(reverse("admin:members_issuancebatch_change", args=[batch.pk])).content.decode()
    assert "继续处理" in page
    response = client.post(reverse("admin:members_issuancebatch_resume", args=[batch.pk]), follow=True)
    assert "已重新排队" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == IssuanceBatch.Status.UPLOADED and batch.status_message == ""
    batch_validation.batch_validate_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.valid_rows, batch.error_rows) == ("validated", 2, 0)

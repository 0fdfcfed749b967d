"""Spreadsheet exports. Every cell goes through :func:`safe_cell` (CSV fields through :func:`safe_text`),
so text that a spreadsheet would run as a formula (=, +, -, @ at the start, also after tabs or line
breaks) is shown as text instead."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_text(value) -> str:
    """Text for a CSV field or spreadsheet cell that can never be taken for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_cell(value):
    """A spreadsheet cell value: numbers, dates and blanks as they are, anything else as safe text."""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, Decimal | int | float | date) or value is None:
        return value
    return safe_text(value)


def workbook_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """Build an XLSX from (sheet title, header row, rows) triples, streaming rows (write-only mode)."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([_header_cell(sheet, name) for name in header])
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_cell(sheet, name: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=safe_cell(name))
    cell.font = Font(bold=True)
    return cell


def xlsx_download(filename: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def xlsx_response(
    filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]
) -> HttpResponse:
    return xlsx_download(filename, workbook_bytes(sheets))

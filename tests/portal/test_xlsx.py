from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from portal.xlsx import safe_cell, workbook_bytes


def test_formula_looking_text_is_neutralised():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+86 138") == "'+86 138"
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("张三") == "张三"
    assert safe_cell(Decimal("-1.50")) == Decimal("-1.50")  # numbers stay numbers


def test_workbook_round_trips_rows_with_a_bold_header():
    data = workbook_bytes([("覆盖面", ["单位", "人数"], [["=cmd|' /C calc'!A0", 3], ["长安区", 5]])])
    sheet = load_workbook(BytesIO(data)).active
    assert sheet.title == "覆盖面"
    assert [c.value for c in sheet[1]] == ["单位", "人数"]
    assert sheet["A1"].font.bold
    assert sheet["A2"].value == "'=cmd|' /C calc'!A0"
    assert sheet["B3"].value == 5

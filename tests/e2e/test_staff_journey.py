"""A county operator at a desk: uploads a card-application file with some bad rows, watches the real
worker check it, downloads the error report, has a colleague of the city approve the batch (the
uploader may not), finds the new cards, sees the county's coverage rise after "refresh now", and
cannot reach a sibling county's members."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from members import people
from members.models import Card, IssuanceBatch, Member, Union
from tests.e2e.conftest import DESKTOP, assert_page_basics, staff_sign_in, switch_language_and_back
from tests.factories import make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

COUNTY = "130102"  # 长安区, the demo county operator's union
SIBLING = "130104"  # 桥西区, the same city's next county
WORKER_TIMEOUT = 90_000  # ms: the worker shares two cores with the browser and the live server

GOOD_NAMES = ["欧阳晓明", "欧阳晓红", "欧阳晓东", "欧阳晓丽", "欧阳晓峰"]


def application_file() -> tuple[bytes, list[tuple[int, str]]]:
    """An XLSX card-application file: five good rows and four bad ones. Returns the file and the
    (row number, expected error words) of the bad rows."""
    workplace = f"{COUNTY}001"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号", "手机号", "基层工会代码", "群体"])
    for number, name in enumerate(GOOD_NAMES):
        sheet.append([name, make_id_number(region=COUNTY), f"1391234{number:04d}", workplace, ""])
    valid_id = make_id_number(region=COUNTY)
    broken_check_digit = valid_id[:-1] + ("0" if valid_id[-1] != "0" else "1")
    sheet.append(["欧阳错号", broken_check_digit, "13912349001", workplace, ""])
    sheet.append(["欧阳错机", make_id_number(region=COUNTY), "12345", workplace, ""])
    sheet.append(["欧阳外县", make_id_number(region=COUNTY), "13912349003", f"{SIBLING}001", ""])
    sheet.append(["", make_id_number(region=COUNTY), "13912349004", workplace, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    first_bad = len(GOOD_NAMES) + 2  # spreadsheet rows: the header is row 1
    bad = [
        (first_bad, "身份证"),
        (first_bad + 1, "手机号"),
        (first_bad + 2, "管辖范围"),
        (first_bad + 3, "姓名"),
    ]
    return buffer.getvalue(), bad


def county_coverage(page) -> float:
    """The coverage figure of the dashboard's own union, e.g. 92.50 for "92.50%"."""
    figure = page.locator(".headline .card").filter(has_text="覆盖率").locator(".figure")
    return float(figure.inner_text().strip().rstrip("%"))


def refresh_now(page) -> None:
    """Press "refresh now" and wait for the worker's snapshot; the page reloads itself when done."""
    page.get_by_role("button", name="立即刷新").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    expect(page.locator("#run-progress")).to_be_hidden(timeout=WORKER_TIMEOUT)
    expect(page.get_by_role("region", name="本单位概况")).to_be_visible()


def members_without_cards(count: int) -> None:
    """The small demo gives 长安区 a card for nearly every member; real counties have members still
    waiting for one, and those are what an issuance batch changes."""
    workplace = Union.objects.get(code=f"{COUNTY}001")
    for number in range(count):
        people.member_create(
            name=f"待办卡会员{number + 1}",
            id_number=make_id_number(region=COUNTY),
            phone=f"1371234{number:04d}",
            union=workplace,
        )


def test_county_operator_issues_cards_from_a_file_and_sees_coverage_rise(new_page, demo, celery_worker):
    operator = next(s for s in demo["staff"] if s["username"] == "changan_operator")
    members_without_cards(5)
    page = new_page(DESKTOP)
    staff_sign_in(page, operator["username"], operator["password"], next_url="/staff/")

    # The dashboard starts at the operator's county; today's snapshot is computed on request.
    expect(page.get_by_role("heading", level=1)).to_contain_text("长安区")
    assert_page_basics(page)
    switch_language_and_back(page)
    refresh_now(page)
    before = county_coverage(page)
    assert 0 < before < 100

    # Upload the application file in the admin.
    page.goto("/admin/members/issuancebatch/add/")
    assert_page_basics(page)
    switch_language_and_back(page)  # the admin has the same switch
    expect(page.get_by_label("上报工会")).to_have_value(str(Union.objects.get(code=COUNTY).pk))
    page.get_by_label("制卡银行").select_option(label="河北银行")
    content, bad_rows = application_file()
    page.get_by_label("申请文件").set_input_files(
        {
            "name": "长安区发卡申请.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": content,
        }
    )
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/members/issuancebatch/\d+/change/$"))
    batch_id = int(re.search(r"/issuancebatch/(\d+)/", page.url).group(1))

    # The worker checks every row; the page follows it and offers approval for the good rows.
    approve = page.get_by_role("button", name=f"批准并为 {len(GOOD_NAMES)} 条有效记录制卡")
    expect(approve).to_be_visible(timeout=WORKER_TIMEOUT)
    assert_page_basics(page)
    panel = page.locator("#batch-progress")
    expect(panel.locator('[data-field="total_rows"]')).to_have_text(str(len(GOOD_NAMES) + len(bad_rows)))
    expect(panel.locator('[data-field="error_rows"]')).to_have_text(str(len(bad_rows)))
    preview = panel.locator(".batch-errors")
    for row_number, words in bad_rows:
        row = preview.get_by_role("row").filter(
            has=page.get_by_role("cell", name=str(row_number), exact=True)
        )
        expect(row).to_contain_text(words)

    # The error report, as a spreadsheet.
    with page.expect_download() as download_info:
        panel.get_by_role("link", name="下载错误明细（XLSX）").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    report = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active
    lines = list(report.iter_rows(values_only=True))
    assert lines[0][0] == "行号"
    reported = {line[0]: line[-1] for line in lines[1:]}
    assert sorted(reported) == [row_number for row_number, _ in bad_rows]
    for row_number, words in bad_rows:
        assert words in reported[row_number], f"row {row_number}: {reported[row_number]}"

    # The uploader may not approve their own batch: the page says so, and a colleague of the city
    # approves it; the worker makes the cards while the colleague's progress bar fills.
    expect(panel).to_contain_text("须由上传人以外的另一位工作人员批准")
    city = next(s for s in demo["staff"] if s["username"] == "sjz_operator")
    colleague = new_page(DESKTOP)
    batch_url = f"/admin/members/issuancebatch/{batch_id}/change/"
    staff_sign_in(colleague, city["username"], city["password"], next_url=batch_url)
    colleague.get_by_role("button", name=f"批准并为 {len(GOOD_NAMES)} 条有效记录制卡").click()
    confirmation = colleague.get_by_role("dialog")  # approving cannot be undone: it asks, and says why
    expect(confirmation).to_contain_text(f"立即为 {len(GOOD_NAMES)} 条有效记录制卡")
    confirmation.get_by_role("button", name="确认批准").click()
    expect(colleague.get_by_role("status").or_(colleague.locator(".messagelist"))).to_contain_text("已批准")
    approved_panel = colleague.locator("#batch-progress")
    expect(approved_panel.locator('[data-field="status_display"]')).to_have_text(
        "已完成", timeout=WORKER_TIMEOUT
    )
    expect(approved_panel.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(approved_panel.locator('[data-field="cards_created"]')).to_have_text(str(len(GOOD_NAMES)))
    page.reload()
    expect(panel.locator('[data-field="status_display"]')).to_have_text("已完成")
    batch = IssuanceBatch.objects.get(pk=batch_id)
    assert batch.status == IssuanceBatch.Status.COMPLETED and batch.cards_created == len(GOOD_NAMES)

    # The new cards, in the card list.
    page.goto("/admin/members/card/?q=欧阳")
    assert_page_basics(page)
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(len(GOOD_NAMES))
    for name in GOOD_NAMES:
        expect(rows.filter(has_text=name)).to_have_count(1)
    numbers = set(Card.objects.filter(batch_id=batch_id).values_list("number", flat=True))
    assert len(numbers) == len(GOOD_NAMES)
    for number in numbers:
        expect(rows.filter(has_text=number)).to_have_count(1)

    # The dashboard: after "refresh now" the county's coverage has risen.
    page.goto("/staff/")
    refresh_now(page)
    after = county_coverage(page)
    assert after > before, f"coverage did not rise: {before}% → {after}%"

    # A sibling county's members and statistics are out of reach, even by URL.
    outsider = Member.objects.filter(union__path__contains=f"/{SIBLING}/").order_by("pk").first()
    assert outsider is not None
    page.goto(f"/admin/members/member/{outsider.pk}/change/")
    assert f"/member/{outsider.pk}/change/" not in page.url, "a sibling county's member page opened"
    expect(page.locator("#content")).not_to_contain_text(outsider.id_number_masked)
    response = page.goto(f"/staff/union/{SIBLING}/")
    assert response.status == 404
    page.goto(f"/admin/members/member/?q={outsider.phone}")
    expect(page.locator("#result_list tbody tr")).to_have_count(0)

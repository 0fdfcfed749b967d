"""A county operator sends the roster of a workplace union: watches the real worker check it, confirms
it, sees the members it no longer lists waiting for a decision, confirms them as left, and finds the
reporting rate and the denominator source on the dashboard."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from members import people, pii
from members.models import Member, RosterMissing, Union
from tests.e2e.conftest import DESKTOP, assert_page_basics, staff_sign_in
from tests.factories import make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

COUNTY = "130102"
WORKPLACE = f"{COUNTY}001"
WORKER_TIMEOUT = 90_000


def roster_file(listed: list[Member]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号", "手机号", "基层工会代码", "群体", "会籍状态"])
    for member in listed:
        sheet.append(
            [member.name, pii.decrypt_id_number(member.id_number_encrypted), member.phone, WORKPLACE, "", ""]
        )
    sheet.append(["名册新人甲", make_id_number(region=COUNTY), "13712340001", WORKPLACE, "", ""])
    sheet.append(["名册新人乙", make_id_number(region=COUNTY), "13712340002", WORKPLACE, "", "在会"])
    sheet.append(["状态有误", make_id_number(region=COUNTY), "13712340003", WORKPLACE, "", "放长假"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_county_operator_imports_a_roster_and_settles_who_left(new_page, demo, celery_worker):
    operator = next(s for s in demo["staff"] if s["username"] == "changan_operator")
    workplace = Union.objects.get(code=WORKPLACE)
    for number in range(3):  # the small demo may give the workplace only a member or two
        people.member_create(
            name=f"在册会员{number}",
            id_number=make_id_number(region=COUNTY),
            phone=f"1381234{number:04d}",
            union=workplace,
        )
    active = list(Member.objects.filter(union=workplace, status=Member.Status.ACTIVE).order_by("id"))
    listed, not_listed = active[:-2], active[-2:]

    page = new_page(DESKTOP)
    staff_sign_in(
        page, operator["username"], operator["password"], next_url="/admin/members/rosterimport/add/"
    )
    assert_page_basics(page)
    page.get_by_label("名册工会").select_option(value=str(workplace.pk))
    page.get_by_label("名册文件").set_input_files(
        {
            "name": "单位会员名册.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": roster_file(listed),
        }
    )
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/members/rosterimport/\d+/change/$"))

    # The worker checks the rows; the page offers to import the valid ones and shows the bad one.
    confirm = page.get_by_role("button", name=f"确认导入 {len(listed) + 2} 条有效记录")
    expect(confirm).to_be_visible(timeout=WORKER_TIMEOUT)
    assert_page_basics(page)
    panel = page.locator("#batch-progress")
    expect(panel.locator(".batch-errors")).to_contain_text("会籍状态")
    page.once("dialog", lambda dialog: dialog.accept())  # "确认导入该名册？"
    confirm.click()
    expect(panel.locator('[data-field="status_display"]')).to_have_text("已完成", timeout=WORKER_TIMEOUT)
    expect(panel.locator('[data-field="members_added"]')).to_have_text("2")
    expect(panel.locator('[data-field="missing_members"]')).to_have_text(str(len(not_listed)))

    # Nobody left by the import itself: the two not listed wait for the operator.
    assert all(Member.objects.get(pk=m.pk).status == Member.Status.ACTIVE for m in not_listed)
    panel.get_by_role("link", name="处理不在最新名册的会员").click()
    assert_page_basics(page)
    for checkbox in page.locator("input.action-select").all():
        checkbox.check()
    page.get_by_label("动作").select_option(label="确认所选会员已退会")
    page.get_by_role("button", name="执行").click()
    expect(page.locator(".messagelist")).to_contain_text(f"已将 {len(not_listed)} 名会员确认为退会")
    assert all(Member.objects.get(pk=m.pk).status == Member.Status.LEFT for m in not_listed)
    assert not RosterMissing.objects.filter(resolution="pending", union=workplace).exists()

    # The dashboard of the workplace says its members are counted from the roster.
    page.goto(f"/staff/union/{WORKPLACE}/")
    page.get_by_role("button", name="立即刷新").click()
    expect(page.locator("#denominator-source")).to_have_text("按会员名册计", timeout=WORKER_TIMEOUT)
    page.wait_for_load_state("networkidle")  # the refresh's own reload ends before we leave the page
    page.goto(f"/staff/union/{COUNTY}/")
    page.get_by_role("link", name="查看未上报名单").click()
    assert_page_basics(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("上报情况")

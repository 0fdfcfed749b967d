"""A partner bank's staff on a phone, in Chromium on the demo province: signs in at /bank/, reads the
bank's files and the per-line results of a transactions file, the card use of its cards; another
bank's file is not there, even by URL. The workplace union sees the bank's rejections on its to-do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from banking.models import BankFile
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, staff_sign_in

pytestmark = pytest.mark.e2e


def bank_sign_in(demo: dict, open_page, bank_code: str, device=PHONE):
    person = next(s for s in demo["bank_staff"] if s["bank_code"] == bank_code)
    page = open_page(device)
    page.goto("/bank/login/")
    assert_page_basics(page)
    page.get_by_label("用户名").fill(person["username"])
    page.get_by_label("密码").fill(person["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/bank/$"))
    return page


def test_a_bank_reads_its_files_line_results_and_card_use_on_a_phone(new_page, demo):
    page = bank_sign_in(demo, new_page, "HBBANK")
    expect(page.get_by_role("heading", level=1)).to_contain_text("银行往来文件")
    assert_page_basics(page)
    expect(page.locator("table")).to_contain_text("demo-issuance-result")
    expect(page.locator("table")).not_to_contain_text("CCBHE")

    with_errors = BankFile.objects.filter(bank__code="HBBANK", kind="transactions", error_lines__gt=0).first()
    page.get_by_role("link", name=with_errors.original_filename).click()
    assert_page_basics(page)
    expect(page.locator("table")).to_contain_text("卡号不是该银行的会员卡")

    page.goto("/bank/card-use/")
    assert_page_basics(page)
    expect(page.locator("table tbody tr").first).to_contain_text("%")

    other = BankFile.objects.filter(bank__code="CCBHE").first()
    assert page.goto(f"/bank/files/{other.pk}/").status == 404


def test_the_workplace_sees_the_banks_rejections_on_its_to_do(new_page, demo):
    person = next(s for s in demo["staff"] if s["username"] == "workplace_operator")
    page = new_page(DESKTOP)
    staff_sign_in(page, person["username"], person["password"], next_url="/staff/bank-rejections/")
    assert_page_basics(page)
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table")).to_contain_text("身份证件已过有效期")  # the bank's reason

"""A city operator at a desk, in Chromium on the demo province: reads the city's funds rolled up by
level, allocates money to a county through the confirmation step, and sees it in both ledgers; the
county's sibling cannot open the county's fund, even by URL."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from funds.models import Fund, FundMovement
from funds.selectors import fund_ledger_mismatches
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, staff_sign_in, switch_language_and_back

pytestmark = pytest.mark.e2e

CITY = "130100"  # 石家庄, the demo city operator's union
COUNTY = "130102"  # 长安区


def sign_in(sign_ins: dict, open_page, username: str, device=DESKTOP):
    """A page in a fresh browser, signed in as the demo staff member ``username``, on the board."""
    person = next(s for s in sign_ins["staff"] if s["username"] == username)
    page = open_page(device)
    staff_sign_in(page, person["username"], person["password"], next_url="/staff/funds/")
    return page


def test_city_operator_allocates_to_a_county_after_confirming(new_page, demo):
    county_fund = Fund.objects.get(union__code=COUNTY)
    city_fund = Fund.objects.get(union__code=CITY)
    received_before = county_fund.received
    page = sign_in(demo, new_page, "sjz_operator")

    # The board: the city first, its counties below it, the roll-up by level.
    expect(page.get_by_role("heading", level=1)).to_contain_text("普惠资金")
    assert_page_basics(page)
    switch_language_and_back(page)
    levels = page.get_by_role("region", name="按层级汇总")
    expect(levels).to_contain_text("市级")
    expect(levels).to_contain_text("县级")
    funds_table = page.locator("table.funds")
    expect(funds_table.locator("tbody tr").first).to_contain_text("石家庄市总工会")
    expect(funds_table).to_contain_text("长安区总工会")

    # The city's fund, then the allocation form.
    funds_table.get_by_role("link", name="石家庄市总工会").click()
    page.wait_for_url(re.compile(rf"/staff/funds/{city_fund.pk}/$"))
    assert_page_basics(page)
    page.get_by_role("link", name="下拨到下级工会").click()
    assert_page_basics(page)
    page.get_by_label("下级工会").select_option(label="长安区总工会")
    page.get_by_label("金额（元）").fill("12345.67")
    page.get_by_label("说明").fill("消费季专项")
    page.get_by_role("button", name="下一步").click()

    # The confirmation says what will happen; nothing has happened yet.
    expect(page.get_by_role("heading", level=1)).to_contain_text("请确认")
    assert_page_basics(page)
    expect(page.locator(".confirm-lines")).to_contain_text("下拨 ¥12345.67")
    assert Fund.objects.get(pk=county_fund.pk).received == received_before
    page.get_by_role("button", name="确认执行").click()

    page.wait_for_url(re.compile(rf"/staff/funds/{city_fund.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("已下拨")
    ledger = page.locator("section", has_text="资金流水").locator("tbody tr").first
    expect(ledger).to_contain_text("下拨下级")
    expect(ledger).to_contain_text("12345.67")
    expect(ledger).to_contain_text("长安区总工会")
    assert Fund.objects.get(pk=county_fund.pk).received == received_before + Decimal("12345.67")
    assert FundMovement.objects.filter(fund=county_fund, note="消费季专项").count() == 1
    assert fund_ledger_mismatches() == []

    # The county's page, on a phone: the table scrolls inside itself, never the page.
    phone = sign_in(demo, new_page, "changan_operator", device=PHONE)
    phone.goto(f"/staff/funds/{county_fund.pk}/")
    assert_page_basics(phone)
    expect(phone.locator("section", has_text="资金流水").locator("tbody tr").first).to_contain_text(
        "上级拨入"
    )


def test_a_sibling_county_cannot_open_the_countys_fund(new_page, demo):
    county_fund = Fund.objects.get(union__code=COUNTY)
    page = sign_in(demo, new_page, "qiaoxi_operator")

    expect(page.locator("table.funds")).not_to_contain_text("长安区总工会")
    for path in ("", "add/", "allocate/", "transfer/"):
        response = page.goto(f"/staff/funds/{county_fund.pk}/{path}")
        assert response.status == 404, path

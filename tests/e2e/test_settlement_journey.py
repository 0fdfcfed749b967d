"""A month settled end to end, in Chromium on the demo province: the cinema's manager confirms last
month's statement (its redemptions of the co-funded ticket, one late void taken back); a city operator
approves it; the city operator makes a payment run, the province admin releases it (a second person),
the bank's result file is uploaded and applied; the manager sees the month paid."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from settlement.models import PaymentResultUpload, PaymentRun, Statement
from settlement.reconciliation import reconcile
from settlement.services import payment_result_apply
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, merchant_sign_in, staff_sign_in

pytestmark = pytest.mark.e2e


def staff_page(demo, new_page, username: str, next_url: str):
    person = next(s for s in demo["staff"] if s["username"] == username)
    page = new_page(DESKTOP)
    staff_sign_in(page, person["username"], person["password"], next_url=next_url)
    return page


def test_a_month_is_confirmed_approved_paid_and_seen_paid(new_page, demo, tmp_path):
    statement = Statement.objects.select_related("merchant").get(status="draft")
    shop = next(m for m in demo["merchants"] if m["id"] == statement.merchant_id)

    # The manager, on a phone: the open month, checked and confirmed.
    phone = new_page(PHONE)
    merchant_sign_in(phone, shop["username"], shop["password"])
    phone.goto("/merchant/settlement/")
    assert_page_basics(phone)
    phone.get_by_role("link", name=f"{statement.month:%Y-%m}").click()
    assert_page_basics(phone)
    expect(phone.get_by_test_id("statement-total")).to_have_text(str(statement.total))
    expect(phone.locator("table")).to_contain_text("跨月撤销")
    phone.get_by_label(re.compile("我已核对")).check()
    phone.get_by_role("button", name="确认结算单").click()
    expect(phone.get_by_test_id("statement-status")).to_have_text("商家已确认")

    # The city operator approves (the fund is the city's).
    city = staff_page(demo, new_page, "sjz_operator", f"/staff/settlement/{statement.pk}/")
    assert_page_basics(city)
    city.get_by_label(re.compile("审批后将在普惠资金中承诺")).check()
    city.get_by_role("button", name="审批结算单").click()
    expect(city.get_by_test_id("statement-status")).to_have_text("已审批待支付")

    # A run: made by the city operator, who cannot release it themself; the province admin does.
    city.goto("/staff/settlement/runs/")
    city.get_by_role("button", name=re.compile("新建支付批次")).click()
    city.wait_for_url(re.compile(r"/staff/settlement/runs/\d+/$"))
    run = PaymentRun.objects.order_by("-pk").first()
    city.get_by_label(re.compile("同意支付")).check()
    city.get_by_role("button", name="审批支付批次").click()
    expect(city.get_by_role("status")).to_contain_text("另一位工作人员")
    province = staff_page(demo, new_page, "province_admin", f"/staff/settlement/runs/{run.pk}/")
    province.get_by_label(re.compile("同意支付")).check()
    province.get_by_role("button", name="审批支付批次").click()
    with province.expect_download() as download:
        province.get_by_role("link", name=re.compile("下载支付文件")).click()
    rows = download.value.path().read_text().splitlines()[1:]
    result = tmp_path / "result.csv"
    result.write_text(
        "reference,status,bank_reference,paid_on,message\n"
        + "".join(f"{row.split(',')[0]},paid,BANK{n},2026-12-01,\n" for n, row in enumerate(rows)),
        encoding="utf-8",
    )
    province.get_by_label(re.compile("银行回单")).set_input_files(str(result))
    province.get_by_role("button", name="导入银行回单").click()
    expect(province.get_by_role("status")).to_contain_text("已收到银行回单")
    payment_result_apply(upload_id=PaymentResultUpload.objects.get(run=run).pk)  # what the worker does
    province.reload()
    expect(province.get_by_test_id("run-status")).to_have_text("已完成")

    # The manager sees the month paid, and nothing outstanding for it.
    phone.goto("/merchant/settlement/")
    newest = phone.locator("tbody tr").first  # newest month first
    expect(newest).to_contain_text(f"{statement.month:%Y-%m}")
    expect(newest).to_contain_text("已支付")
    expect(phone.get_by_test_id("balance-outstanding")).to_have_text("¥0.00")
    assert reconcile(month=statement.month, union_path="").balanced

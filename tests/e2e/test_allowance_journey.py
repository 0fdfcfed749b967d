"""One member from a card application to a hospital allowance on their card, every step on the page
its person uses (issue 17): the member applies for a card, the workplace union approves it and puts it
into an issuance batch on its to-do page, the county approves the batch, the bank downloads the
issuance file and answers with its result on the bank pages; the member activates the card, pays the
hospital bill with it (the bank's daily transactions file carries the payment) and claims the
allowance; the county approves the claim in the admin and makes a payout run, the province releases it and
downloads the credit file, the bank answers with its credit result; the member reads "已到账".

What no person does on a page — validating and producing a batch, reading an uploaded bank file — is
the real Celery worker's, as in production."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from stdnum import luhn

from allowances.models import Claim, PayoutRun
from members.models import CardApplication, IssuanceBatch, PartnerBank
from portal.clock import local_day
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, member_sign_in, staff_sign_in
from tests.e2e.test_bank_journey import bank_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WORKER_TIMEOUT = 90_000
BANK = "HBBANK"
HOSPITAL = "河北医科大学第二医院"
BILL = "1500.00"
# The bank's own numbers for the journey's card, apart from the demo's (banking.demo).
BANK_SERIAL_BASE = 800_000_000


def staff_page(new_page, demo: dict, username: str, next_url: str):
    person = next(s for s in demo["staff"] if s["username"] == username)
    page = new_page(DESKTOP)
    staff_sign_in(page, person["username"], person["password"], next_url=next_url)
    assert_page_basics(page)
    return page


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def download(page, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    return info.value.path().read_bytes()


def bank_upload(page, kind_label: str, name: str, content: bytes) -> None:
    """The bank's staff upload a file on /bank/ and follow it until the worker has read every line:
    its page says "正在后台处理" until then, and they look again, as a person would."""
    page.goto("/bank/")
    form = page.locator("form").filter(has=page.get_by_role("heading", name="上传银行文件"))
    form.get_by_label("文件类型").select_option(label=kind_label)
    form.get_by_label("文件（CSV）").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    form.get_by_role("button", name="上传").click()
    page.wait_for_url(re.compile(r"/bank/files/\d+/$"))
    expect(page.get_by_text("文件已上传，正在后台处理。")).to_be_visible()
    page.wait_for_function(
        "async () => !(await (await fetch(location.href)).text()).includes('正在后台处理')",
        polling=250,
        timeout=WORKER_TIMEOUT,
    )
    page.reload()
    assert_page_basics(page)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("已完成")
    expect(facts).to_contain_text("共 1 行：已处理 1，无变化 0，有误 0")


def test_a_member_gets_a_card_and_a_hospital_allowance_paid_onto_it(
    new_page, demo, sms_outbox, celery_worker
):
    phone = demo["journeys"]["no_card"]  # 郑可申 of the demo workplace union, without a card
    bank = PartnerBank.objects.get(code=BANK)
    today = local_day()

    # The member applies for a card on a phone.
    member = new_page(PHONE)
    member.goto("/me/card/")
    member_sign_in(member, phone, sms_outbox)
    member.wait_for_url(re.compile(r"/me/card/$"))
    member.get_by_role("link", name="申请办卡").click()
    assert_page_basics(member)
    member.get_by_label(bank.name).check()
    member.get_by_label(re.compile("同意提交给所在基层工会审核")).check()
    member.get_by_role("button", name="提交申请").click()
    member.wait_for_url(re.compile(r"/me/card/$"))
    expect(member.locator("[data-role=application-status]")).to_have_text("待工会审核")

    # The workplace union approves it on its to-do page and puts the approved ones into a batch.
    workplace = staff_page(new_page, demo, "workplace_operator", "/staff/todo/")
    application = CardApplication.objects.get(member__phone=phone)
    row = workplace.locator(f"tr[data-application='{application.pk}']")
    expect(row).to_contain_text("郑*")
    row.get_by_role("button", name="通过").click()
    expect(workplace.get_by_text("已通过办卡申请，将加入下一批制卡。")).to_be_visible()
    member.reload()
    expect(member.locator("[data-role=application-status]")).to_have_text("已通过，待制卡")
    approved = workplace.locator("[data-role=approved] li").filter(has_text=bank.name)
    approved.get_by_role("button", name="生成发卡批次").click()
    workplace.wait_for_url(re.compile(r"/admin/members/issuancebatch/\d+/change/$"))
    expect(workplace.get_by_text("已生成发卡批次，校验完成后须由另一位工作人员批准。")).to_be_visible()
    batch_id = int(re.search(r"/issuancebatch/(\d+)/", workplace.url).group(1))
    # The worker checks the rows; then the batch waits for someone allowed to approve it.
    expect(workplace.locator('#batch-progress [data-field="status_display"]')).to_have_text(
        "待审核", timeout=WORKER_TIMEOUT
    )

    # The county finds the batch on its to-do page and approves it; the worker makes the cards.
    county = staff_page(new_page, demo, "changan_operator", "/staff/todo/")
    county.locator(f"[data-role=batches] a[href$='/issuancebatch/{batch_id}/change/']").click()
    county.wait_for_url(re.compile(rf"/admin/members/issuancebatch/{batch_id}/change/$"))
    county.get_by_role("button", name=re.compile(r"批准并为 \d+ 条有效记录制卡")).click()
    county.get_by_role("dialog").get_by_role("button", name="确认批准").click()
    panel = county.locator("#batch-progress")
    expect(panel.locator('[data-field="status_display"]')).to_have_text("已完成", timeout=WORKER_TIMEOUT)
    assert IssuanceBatch.objects.get(pk=batch_id).status == IssuanceBatch.Status.COMPLETED

    # The member's card is made and waits for the bank.
    member.reload()
    expect(member.locator(".member-card")).to_contain_text("已制卡")

    # The bank downloads the batch's issuance file and answers: the account is opened with its number.
    teller = bank_sign_in(demo, new_page, BANK, device=DESKTOP)
    teller.goto("/bank/batches/")
    assert_page_basics(teller)
    newest = teller.locator("tbody tr").first
    expect(newest).to_contain_text("已完成")
    with teller.expect_download() as info:
        newest.get_by_role("link", name="下载").click()
    issued = next(r for r in csv_rows(info.value.path().read_bytes()) if r["姓名"] == "郑可申")
    application_number = issued["卡号"]
    serial = int(application_number[len(bank.bin) : -1])
    partial = f"{bank.bin}{BANK_SERIAL_BASE + serial:0{bank.serial_length}d}"
    bank_number = partial + luhn.calc_check_digit(partial)
    assert bank_number != application_number
    bank_upload(
        teller,
        "制卡结果（银行→工会）",
        "issuance-result.csv",
        csv_bytes(
            [["申请编号", "结果", "银行卡号", "拒绝原因"], [application_number, "开户", bank_number, ""]]
        ),
    )

    # The member sees the card with the bank's number and activates it.
    member.reload()
    card = member.locator(".member-card")
    expect(card.locator("[data-role=card-number-masked]")).to_have_text(
        f"{bank_number[:4]}{'*' * (len(bank_number) - 8)}{bank_number[-4:]}"
    )
    expect(card).to_contain_text(bank.name)
    assert_page_basics(member)
    member.get_by_role("button", name="激活会员卡").click()
    expect(member.get_by_text("会员卡已激活，可以在签约商家出示使用。")).to_be_visible()
    expect(card).to_contain_text("已激活")

    # In hospital, the bill is paid with the card: the bank's daily transactions file carries it.
    admitted, discharged = today - timedelta(days=3), today
    bank_upload(
        teller,
        "卡交易明细（银行→工会）",
        f"transactions-{today:%Y%m%d}.csv",
        csv_bytes(
            [
                ["卡号", "银行商户号", "金额", "交易时间", "交易流水号"],
                [
                    bank_number,
                    "105131999",
                    BILL,
                    f"{today - timedelta(days=1):%Y-%m-%d} 10:30:00",
                    "E2EHOSP0001",
                ],
            ]
        ),
    )

    # Home again, the member claims the allowance; the card payment is found at once.
    member.get_by_role("navigation", name="主导航").get_by_role("link", name="住院补贴").click()
    member.wait_for_url(re.compile(r"/me/allowances/$"))
    assert_page_basics(member)
    member.get_by_label("医院").fill(HOSPITAL)
    member.get_by_label("入院日期").fill(f"{admitted:%Y-%m-%d}")
    member.get_by_label("出院日期").fill(f"{discharged:%Y-%m-%d}")
    member.get_by_label("医疗费用（元）").fill(BILL)
    member.get_by_role("button", name="提交申请").click()
    expect(member.get_by_text("申请已提交，所在工会审核后会通知您。")).to_be_visible()
    claim_card = member.locator("article.claim").filter(has_text=HOSPITAL).first
    expect(claim_card).to_contain_text("待审核：工会正在核对您的用卡支付记录。")
    claim = Claim.objects.get(member__phone=phone)
    assert claim.payment is not None and claim.payment.reference == "E2EHOSP0001"

    # The county finds it on its to-do page, opens it (the card payment is named) and approves it in
    # the admin's list (the member opened it: any operator of the county may approve it).
    county.goto("/staff/todo/")
    waiting = county.locator(f"[data-role=claims] li[data-item='{claim.pk}']")
    expect(waiting).to_contain_text("已匹配用卡支付，待批准")
    waiting.get_by_role("link", name=re.compile(HOSPITAL)).click()
    county.wait_for_url(re.compile(rf"/admin/allowances/claim/{claim.pk}/change/$"))
    assert_page_basics(county)
    expect(county.locator("#content")).to_contain_text("E2EHOSP0001")
    county.goto("/admin/allowances/claim/?status__exact=open")
    assert_page_basics(county)
    county.locator(f"input.action-select[value='{claim.pk}']").check()
    county.get_by_label("动作").select_option(label="待审核：批准（按天数计算补贴并占用普惠资金）")
    county.get_by_role("button", name="执行").click()
    expect(county.get_by_role("heading", name="请确认：批准住院补贴")).to_be_visible()
    county.get_by_role("button", name="确认批准").click()
    expect(county.locator(".messagelist")).to_contain_text("已批准 1 份申请。")
    county.goto("/staff/todo/")
    expect(county.locator(f"[data-role=claims] li[data-item='{claim.pk}']")).to_have_count(0)
    member.reload()
    expect(claim_card).to_contain_text("已批准 3 天、¥60.00，将于下一批发放打入您的会员卡。")

    # The county makes the payout run to the bank; it may not release its own run.
    county.goto("/admin/allowances/payoutrun/add/")
    assert_page_basics(county)
    county.get_by_label("银行").select_option(label=bank.name)
    county.get_by_role("button", name="保存", exact=True).click()
    expect(county.locator(".messagelist")).to_contain_text("成功")
    run = PayoutRun.objects.get(lines__claim=claim)
    run_url = f"/admin/allowances/payoutrun/{run.pk}/change/"
    county.goto(run_url)
    expect(county.get_by_text("您是本批次的创建人：须由另一位工作人员发放。")).to_be_visible()
    member.reload()
    expect(claim_card).to_contain_text("发放中：¥60.00 已交银行入账")

    # The province releases it and downloads the credit file for the bank (full card numbers: the
    # bank-file download rule lets the province and the bank download it, not a city or a county).
    province = staff_page(new_page, demo, "province_admin", run_url)
    province.get_by_role("button", name="发放（生成银行入账文件）").click()
    expect(province.get_by_role("heading", name="请确认：发放住院补贴")).to_be_visible()
    province.get_by_role("button", name="确认发放").click()
    expect(province.locator(".messagelist")).to_contain_text("已发放：入账文件已生成，请下载后交银行。")
    credit = next(
        r for r in csv_rows(download(province, "下载入账文件（含完整卡号）")) if r["卡号"] == bank_number
    )
    assert credit["金额"] == "60.00"

    # The bank credits the card and answers with its result file.
    bank_upload(
        teller,
        "补贴入账结果（银行→工会）",
        f"credit-result-{run.pk}.csv",
        csv_bytes(
            [
                ["参考号", "结果", "银行流水号", "入账日期", "失败原因"],
                [credit["参考号"], "成功", f"{BANK}{today:%Y%m%d}E2E", f"{today:%Y-%m-%d}", ""],
            ]
        ),
    )

    # The member reads that the allowance is on the card, and since when.
    member.reload()
    expect(claim_card).to_contain_text(f"已到账 ¥60.00（{today:%Y年%-m月%-d日}）")
    assert_page_basics(member)
    # The run's page shows the line credited (the run also pays the demo's other approved claims).
    province.goto(run_url)
    line = province.locator("#content tr").filter(has_text=credit["参考号"])
    expect(line).to_contain_text("已入账")

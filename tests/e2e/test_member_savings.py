"""Savings up front (issue 16, item 5): "我的优惠记录" in the menu, "累计节省" on the card page, in
members' words; the hospital allowance shown as an allowance, with how and when it is paid — the
member claims it for a stay, and after the union and the bank, reads "已到账" with the day (issue 17)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from allowances import payouts, services
from allowances.models import Claim
from banking.files import bank_file_receive
from banking.models import BankFile, BankStaff
from discounts.models import Offer, Redemption
from discounts.redemption import redemption_create
from members.models import Card
from merchants.models import Merchant
from portal.clock import local_day
from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in, usable_every_day

pytestmark = pytest.mark.e2e


def _buy(merchant: Merchant, offer: Offer, card_number: str, amount: str, units: int, key: str) -> Redemption:
    store = merchant.stores.filter(is_active=True).order_by("id").first()
    return redemption_create(
        merchant=merchant,
        store_id=store.pk,
        offer_id=offer.pk,
        card_number=card_number,
        amount=Decimal(amount),
        units=units,
        idempotency_key=key,
    )


def _pay(claim: Claim) -> None:
    """The union's and the bank's part, as their pages do it: approved by the county, paid in a run
    released by the city, credited in the bank's result file."""
    staff = get_user_model().objects.in_bulk(
        ["workplace_operator", "changan_operator", "sjz_operator"], field_name="username"
    )
    services.claim_mark_paid_otherwise(actor=staff["workplace_operator"], claim=claim)
    services.claim_approve(actor=staff["changan_operator"], claim=claim)
    bank = claim.member.cards.get(status__in=Card.LIVE_STATUSES).bank
    run = payouts.payout_run_create(actor=staff["changan_operator"], bank=bank)
    payouts.payout_run_release(run_id=run.pk, actor=staff["sjz_operator"])
    line = run.lines.get(claim=claim)
    result = (
        f"参考号,结果,银行流水号,入账日期,失败原因\n{line.reference},成功,E2E0001,{local_day():%Y-%m-%d},\n"
    )
    bank_file, _ = bank_file_receive(
        bank=bank,
        kind=BankFile.Kind.CREDIT_RESULT,
        uploaded_file=SimpleUploadedFile("result.csv", result.encode()),
        actor=BankStaff.objects.filter(bank=bank).first().user,
    )
    payouts.credit_results_process(bank_file=bank_file)  # what the bank-file worker does


def test_the_member_finds_savings_and_allowances_in_plain_words(new_page, demo, sms_outbox):
    # A member of the demo workplace union, whose card is live: their claims are the union's to decide.
    member = next(
        m
        for m in demo["members"]
        if m["card_status"] == "active"
        and m["union_code"] == "130102001"
        and not Claim.objects.filter(member__phone=m["phone"]).exists()
    )
    merchant_entry, offer = usable_every_day(demo)
    discount = _buy(
        Merchant.objects.get(pk=merchant_entry["id"]), offer, member["card_number"], "120.00", 1, "s-1"
    )

    page = new_page(PHONE)
    page.goto("/me/sign-in/?next=/me/card/")
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))

    # On the card page: what the card has saved so far, and the way to the record.
    savings = page.get_by_role("region", name="累计节省")
    expect(savings).to_contain_text(f"¥{discount.discount}")
    expect(savings).to_contain_text("共使用会员优惠 1 次")
    assert_page_basics(page)

    # In the menu, in members' words: no "核销" anywhere on the way.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的优惠记录").click()
    page.wait_for_url(re.compile(r"/me/redemptions/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的优惠记录")
    assert_page_basics(page)
    assert "核销" not in page.locator("body").inner_text()
    discounted = page.locator("article").filter(has=page.get_by_role("heading", name=offer.title, exact=True))
    expect(discounted).to_contain_text(f"节省 ¥{discount.discount}")

    # The hospital allowance: claimed for a stay, not saved at a till; how and when it is paid.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="住院补贴").click()
    page.wait_for_url(re.compile(r"/me/allowances/$"))
    assert_page_basics(page)
    expect(page.locator("body")).to_contain_text("每天 ¥20.00")
    expect(page.locator("body")).to_contain_text("打入您的会员卡账户")
    page.get_by_label("医院").fill("河北医科大学第二医院")
    page.get_by_label("入院日期").fill(f"{local_day() - timedelta(days=3):%Y-%m-%d}")
    page.get_by_label("出院日期").fill(f"{local_day():%Y-%m-%d}")
    page.get_by_label("医疗费用（元）").fill("1500")
    page.get_by_role("button", name="提交申请").click()
    claim_card = page.locator("article.claim").first
    expect(claim_card).to_contain_text("待审核")
    claim = Claim.objects.get(member__phone=member["phone"])
    assert (claim.bill_fen, claim.created_by) == (150_000, None)

    _pay(claim)
    page.reload()
    expect(page.locator("article.claim").first).to_contain_text(
        f"已到账 ¥60.00（{local_day():%Y年%-m月%-d日}）"
    )
    assert_page_basics(page)

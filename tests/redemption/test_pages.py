"""The cashier screen, the member's history, the merchant statement, the staff subsidies report and
the redemption admin — each from the owner's and the outsider's side."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from discounts.history import HISTORY_SECTIONS
from discounts.models import Offer, OfferDayCounter, Redemption
from discounts.redemption import redemption_create
from discounts.statements import merchant_statement
from members.auth import SESSION_KEY
from members.models import Card
from members.tokens import card_token_issue
from merchants.models import MerchantUser
from portal.roles import Role
from tests.factories import MerchantUserFactory, OfferFactory

pytestmark = pytest.mark.django_db

TILL = "/merchant/till/"


def nonce_of(response) -> str:
    return re.search(r'name="nonce" value="([0-9a-f]{32})"', response.content.decode()).group(1)


def identify(client, value):
    return client.post(f"{TILL}identify/", {"card": value})


def redeem_at(shop, offer, card, amount="100", **kwargs):
    return redemption_create(
        merchant=shop.merchant,
        store_id=shop.store.pk,
        offer_id=offer.pk,
        card_number=card.number,
        amount=amount,
        **kwargs,
    )


# --- Cashier ------------------------------------------------------------------------------------


def test_cashier_identifies_redeems_and_gets_a_receipt(client, shop, card, make_offer):
    offer = make_offer(
        title="周末电影票", kind=Offer.Kind.FIXED_PRICE, percent_off=None, fixed_price=10, daily_quota=5
    )
    client.force_login(shop.cashier.user)
    page = client.get(TILL)
    assert page.status_code == 200
    assert "<h1>" in page.content.decode() and 'for="till-card"' in page.content.decode()
    assert identify(client, card.number).status_code == 302
    page = client.get(TILL)
    text = page.content.decode()
    assert "张**" in text and "周末电影票" in text and "今日剩余 5 个名额" in text
    response = client.post(
        f"{TILL}redeem/", {"offer": offer.pk, "amount": "45", "units": "2", "nonce": nonce_of(page)}
    )
    redemption = Redemption.objects.get()
    assert response.status_code == 302 and response.url == f"{TILL}redemptions/{redemption.pk}/"
    assert (redemption.units, redemption.payable, redemption.created_by) == (
        2,
        Decimal("20.00"),
        shop.cashier.user,
    )
    receipt = client.get(response.url).content.decode()
    assert "核销成功" in receipt and "¥20.00" in receipt and "确认撤销" in receipt


def test_a_double_submitted_form_gives_one_redemption_and_the_same_receipt(client, shop, card, make_offer):
    offer = make_offer()
    client.force_login(shop.cashier.user)
    identify(client, card.number)
    nonce = nonce_of(client.get(TILL))
    form = {"offer": offer.pk, "amount": "10", "units": "1", "nonce": nonce}
    first = client.post(f"{TILL}redeem/", form)
    identify(client, card.number)
    second = client.post(f"{TILL}redeem/", form)
    assert first.url == second.url
    assert Redemption.objects.count() == 1


def test_cashier_identifies_by_qr_token(client, shop, card, make_offer):
    make_offer(title="会员折扣")
    client.force_login(shop.cashier.user)
    identify(client, card_token_issue(card_id=card.pk))
    assert "张**" in client.get(TILL).content.decode()


def test_cashier_sees_plain_chinese_errors(client, shop, card, make_card, make_offer):
    offer = make_offer(daily_quota=1)
    client.force_login(shop.cashier.user)
    identify(client, card.number)
    page = client.get(TILL)
    OfferDayCounter.objects.create(offer=offer, day=timezone.localdate(), used=1)  # taken meanwhile
    response = client.post(
        f"{TILL}redeem/",
        {"offer": offer.pk, "amount": "10", "units": "1", "nonce": nonce_of(page)},
        follow=True,
    )
    assert "今日名额已用完" in response.content.decode()
    frozen = make_card()
    Card.objects.filter(pk=frozen.pk).update(status=Card.Status.FROZEN)
    identify(client, frozen.number)
    assert "该卡已挂失" in client.get(TILL).content.decode()
    unknown = identify(client, "6228880000000001")
    assert "未找到该会员卡" in client.get(unknown.url).content.decode()
    bad_amount = client.post(
        f"{TILL}redeem/", {"offer": offer.pk, "amount": "abc", "nonce": "0" * 32}, follow=True
    )
    assert bad_amount.status_code == 200
    assert not Redemption.objects.exists()


def test_a_pinned_cashier_redeems_only_at_their_store(client, shop, card, make_offer):
    make_offer()
    client.force_login(shop.cashier.user)
    response = client.post(f"{TILL}store/", {"store": shop.other_store.pk}, follow=True)
    assert "不能在该门店收银" in response.content.decode()
    identify(client, card.number)
    client.get(TILL)
    page = client.get(TILL).content.decode()
    assert "北国店" not in page


def test_a_manager_chooses_the_store(client, shop, card, make_offer):
    offer = make_offer()
    client.force_login(shop.manager.user)
    assert 'for="till-card"' not in client.get(TILL).content.decode()  # two stores: choose one first
    client.post(f"{TILL}store/", {"store": shop.other_store.pk})
    identify(client, card.number)
    page = client.get(TILL)
    client.post(f"{TILL}redeem/", {"offer": offer.pk, "amount": "10", "units": "1", "nonce": nonce_of(page)})
    assert Redemption.objects.get().store == shop.other_store


def test_void_from_the_receipt_releases_the_quota(client, shop, card, make_offer):
    offer = make_offer(daily_quota=1)
    redemption = redeem_at(shop, offer, card)
    client.force_login(shop.cashier.user)
    response = client.post(f"{TILL}redemptions/{redemption.pk}/void/", {"reason": "金额输错"}, follow=True)
    assert "已撤销" in response.content.decode()
    assert OfferDayCounter.objects.get(offer=offer).used == 0
    again = client.post(f"{TILL}redemptions/{redemption.pk}/void/", {"reason": "x"}, follow=True)
    assert "该笔核销已撤销" in again.content.decode()


def test_outsiders_cannot_use_the_till(client, shop, rival, card, make_offer, make_staff, tree):
    redemption = redeem_at(shop, make_offer(), card)
    response = client.get(TILL)
    assert response.status_code == 302 and "/merchant/login/" in response.url
    stranger = MerchantUserFactory(merchant=rival.merchant)
    client.force_login(stranger.user)
    assert client.get(f"{TILL}redemptions/{redemption.pk}/").status_code == 404
    assert client.post(f"{TILL}redemptions/{redemption.pk}/void/", {"reason": "x"}).status_code == 404
    assert Redemption.objects.get(pk=redemption.pk).status == "completed"
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    assert client.get(TILL).status_code == 302


def test_a_cashier_of_another_store_cannot_see_the_receipt(client, shop, card, make_offer):
    redemption = redeem_at(shop, make_offer(), card)
    other = MerchantUserFactory(
        merchant=shop.merchant, role=MerchantUser.Role.CASHIER, store=shop.other_store
    )
    client.force_login(other.user)
    assert client.get(f"{TILL}redemptions/{redemption.pk}/").status_code == 404


def test_till_page_query_count_does_not_grow_with_the_list(
    client, shop, card, make_card, make_offer, django_assert_max_num_queries
):
    offer = make_offer()
    for _ in range(3):
        redeem_at(shop, offer, make_card())
    client.force_login(shop.cashier.user)
    identify(client, card.number)
    client.get(TILL)
    with django_assert_max_num_queries(16) as few:
        client.get(TILL)
    for _ in range(10):
        redeem_at(shop, offer, make_card())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(TILL)


# --- Statement ------------------------------------------------------------------------------------


def test_statement_totals_reconcile_to_the_fen_with_the_rows(shop, make_card, make_offer, tree):
    percent = make_offer(percent_off=Decimal("12.5"))
    fixed = make_offer(kind=Offer.Kind.FIXED_PRICE, percent_off=None, fixed_price=Decimal("9.99"))
    allowance = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
    )
    amounts = ["0.01", "0.03", "0.05", "10.07", "33.33", "99.99", "100.01", "0.00"]
    for index, amount in enumerate(amounts):
        for offer in (percent, fixed, allowance):
            redeem_at(shop, offer, make_card(), amount=amount, units=1 + index % 3)
    voided = redeem_at(shop, percent, make_card(), amount="50")
    from discounts.redemption import redemption_void

    redemption_void(redemption=voided, reason="x")
    statement = merchant_statement(merchant=shop.merchant, month=timezone.localdate().replace(day=1))
    rows = list(statement.rows)
    assert statement.count == len(rows) == 24 and statement.voided == 1
    for name in ("amount", "discount", "payable", "union_subsidy"):
        assert getattr(statement, name) == sum(getattr(r, name) for r in rows)
        assert getattr(statement, name) == sum(o[name] for o in statement.by_offer)
    assert statement.payable + statement.discount == statement.amount
    assert statement.union_subsidy == sum(r.union_subsidy for r in rows if r.offer_id == allowance.pk)


def test_statement_page_and_xlsx_for_managers_only(
    client, shop, rival, card, make_offer, django_assert_max_num_queries
):
    offer = make_offer(title='=HYPERLINK("http://evil")')
    redeem_at(shop, offer, card, amount="88.80")
    month = timezone.localdate().strftime("%Y-%m")
    client.force_login(shop.cashier.user)
    assert client.get(f"{TILL}statement/").status_code == 403
    client.force_login(shop.manager.user)
    client.get(f"{TILL}statement/?month={month}")
    with django_assert_max_num_queries(9):  # fixed, whatever the month holds (the codes used: one)
        page = client.get(f"{TILL}statement/?month={month}")
    assert page.status_code == 200 and "88.80" in page.content.decode()
    assert client.get(f"{TILL}statement/?month=garbage").status_code == 200
    stranger = MerchantUserFactory(merchant=rival.merchant)
    client.force_login(stranger.user)
    assert "88.80" not in client.get(f"{TILL}statement/?month={month}").content.decode()
    client.force_login(shop.manager.user)
    export = client.get(f"{TILL}statement/?month={month}&format=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(export.content))
    detail = book.worksheets[0]
    assert detail.cell(row=2, column=4).value == '\'=HYPERLINK("http://evil")'
    assert detail.cell(row=2, column=8).value == 88.8
    assert detail.cell(row=3, column=1).value == "合计"


# --- Member history -------------------------------------------------------------------------------


def sign_in_member(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def test_member_history_page_and_api_show_only_their_own_with_total_saved(
    client, api_client, shop, card, make_card, make_offer, django_assert_max_num_queries
):
    offer = make_offer(percent_off=Decimal("10"))
    allowance = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
    )
    redeem_at(shop, offer, card, amount="100")  # saves 10
    redeem_at(shop, allowance, card, amount="300", units=2)  # union pays 40
    from discounts.redemption import redemption_void

    redemption_void(redemption=redeem_at(shop, offer, card, amount="50"), reason="x")
    redeem_at(shop, offer, make_card(), amount="999")  # someone else's
    assert client.get("/me/redemptions/").status_code == 302
    sign_in_member(client, card.member)
    # Six reads of its own, and one for each section an app above adds (the shop's confirmed orders).
    with django_assert_max_num_queries(6 + len(HISTORY_SECTIONS)):
        page = client.get("/me/redemptions/")
    text = page.content.decode()
    # (money as the page writes it: a bare "999" may turn up in a CSRF token)
    assert page.status_code == 200 and "¥50.00" in text and "999.00" not in text
    anonymous = api_client.get("/api/v1/me/redemptions/")
    assert anonymous.status_code == 401
    sign_in_member(api_client, card.member)
    with django_assert_max_num_queries(6):
        data = api_client.get("/api/v1/me/redemptions/").json()
    assert data["count"] == 3 and data["total_saved"] == "50.00"
    assert {row["saved"] for row in data["results"]} == {"10.00", "40.00", "5.00"}


# --- Staff --------------------------------------------------------------------------------------


def test_staff_subsidies_are_scoped_to_the_union_subtree(client, shop, card, make_staff, tree):
    mine = OfferFactory(
        merchant=shop.merchant, title="C1A住院补贴", kind=Offer.Kind.ALLOWANCE, percent_off=None,
        allowance_per_unit=Decimal("20"), funder=Offer.Funder.UNION, budget_owner=tree.C1A,
        budget=Decimal("1000"),
    )  # fmt: skip
    theirs = OfferFactory(
        merchant=shop.merchant, title="C2困难补贴", kind=Offer.Kind.ALLOWANCE, percent_off=None,
        allowance_per_unit=Decimal("30"), funder=Offer.Funder.UNION, budget_owner=tree.C2,
        budget=Decimal("500"),
    )  # fmt: skip
    redeem_at(shop, mine, card, units=3)
    redeem_at(shop, theirs, card, units=1)
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    page = client.get("/staff/subsidies/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "C1A住院补贴" in text and "60.00" in text
    assert "C2困难补贴" not in text
    export = client.get("/staff/subsidies/?format=xlsx")
    book = load_workbook(io.BytesIO(export.content))
    assert [row[0].value for row in book.worksheets[1].iter_rows(min_row=2)] == ["C1A住院补贴"]
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    text = client.get("/staff/subsidies/").content.decode()
    assert "C1A住院补贴" in text and "C2困难补贴" in text
    client.force_login(shop.manager.user)
    assert client.get("/staff/subsidies/").status_code == 302


def test_redemption_admin_is_read_only_and_scoped(
    client, shop, card, make_card, make_offer, make_staff, tree
):
    offer = make_offer()
    here = redeem_at(shop, offer, card)  # store in C1A, member in C1A1
    far_member = redeem_at(shop, offer, make_card(union=tree.C2B1))
    client.force_login(make_staff(tree.C2B, Role.COUNTY_OPERATOR))
    listing = client.get("/admin/discounts/redemption/")
    assert listing.status_code == 200
    ids = set(listing.context["cl"].result_list.values_list("pk", flat=True))
    assert ids == {far_member.pk}
    assert client.get(f"/admin/discounts/redemption/{here.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/discounts/redemption/add/").status_code == 403


def test_admin_void_action_uses_the_service_and_needs_the_permission(
    client, shop, card, make_offer, make_staff, tree
):
    offer = make_offer(daily_quota=3)
    redemption = redeem_at(shop, offer, card)
    form = {"action": "void_selected", "_selected_action": [redemption.pk]}
    operator = make_staff(tree.C1, Role.CITY_OPERATOR)
    client.force_login(operator)
    client.post("/admin/discounts/redemption/", form)
    assert Redemption.objects.get(pk=redemption.pk).status == "completed"
    admin = make_staff(tree.P, Role.PROVINCE_ADMIN)
    client.force_login(admin)
    client.post("/admin/discounts/redemption/", form)
    redemption.refresh_from_db()
    assert (redemption.status, redemption.voided_by) == ("voided", admin)
    assert OfferDayCounter.objects.get(offer=offer).used == 0

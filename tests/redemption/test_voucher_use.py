"""A member used a claimed code of an online offer at the partner's shop: the partner reports it, by
its POS key or on its portal, once however often it is sent; the month's statement counts it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from discounts import vouchers
from discounts.models import Offer, VoucherCode
from discounts.statements import merchant_statement
from merchants.models import MerchantUser
from portal.clock import local_day
from portal.models import AuditEvent
from tests.factories import MerchantUserFactory
from tests.redemption.conftest import run_in_threads
from tests.redemption.test_pages import sign_in_member

USE = "/api/v1/vouchers/use/"


@pytest.fixture
def claimed(shop, card, make_offer):
    """A code of the shop's online offer, claimed by the card's member, and one nobody claimed."""
    offer = make_offer(
        channel=Offer.Channel.ONLINE, kind=Offer.Kind.AMOUNT_OFF, percent_off=None, amount_off=Decimal("20")
    )
    vouchers.voucher_codes_add(offer=offer, codes=["ONLINE-0001", "ONLINE-0002"])
    code = vouchers.voucher_claim(offer=offer, member=card.member)
    unclaimed = VoucherCode.objects.get(offer=offer, member__isnull=True)
    return offer, code, unclaimed


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.django_db
def test_the_till_reports_a_code_used_once_and_a_retry_answers_the_first_report(api_client, shop, claimed):
    offer, code, _unclaimed = claimed
    first = api_client.post(
        USE, {"offer": offer.pk, "code": f" {code.code} "}, format="json", **shop.headers()
    )
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["offer"]["id"], body["code"], body["member_name_masked"]) == (
        offer.pk,
        code.code,
        code.member.name_masked,
    )
    again = api_client.post(USE, {"offer": offer.pk, "code": code.code}, format="json", **shop.headers())
    assert again.status_code == 200 and again.json()["used_at"] == body["used_at"]
    code.refresh_from_db()
    assert code.used_at is not None and code.used_api_key is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VOUCHER_CODE_USED).count() == 1


@pytest.mark.django_db
def test_another_merchants_unclaimed_or_unknown_codes_are_not_found(api_client, shop, rival, claimed):
    offer, code, unclaimed = claimed
    for key, offer_id, value in [
        (rival.key, offer.pk, code.code),  # another merchant's key
        (shop.key, offer.pk, unclaimed.code),  # nobody claimed it
        (shop.key, offer.pk, "NO-SUCH-CODE"),
        (shop.key, offer.pk + 1000, code.code),  # another offer
    ]:
        answer = api_client.post(USE, {"offer": offer_id, "code": value}, format="json", **shop.headers(key))
        assert (answer.status_code, error_code(answer)) == (404, "code_not_found"), value
    bad = api_client.post(USE, {"offer": offer.pk}, format="json", **shop.headers())
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")
    assert not VoucherCode.objects.filter(used_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_two_reports_at_once_record_one_use(shop, claimed):
    _offer, code, _unclaimed = claimed

    def report(_index):
        return vouchers.voucher_code_use(
            voucher=VoucherCode.objects.select_related("offer__merchant").get(pk=code.pk)
        )

    results = run_in_threads(4, report)
    assert all(isinstance(result, VoucherCode) for result in results), results
    assert len({result.used_at for result in results}) == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VOUCHER_CODE_USED).count() == 1


@pytest.mark.django_db
def test_the_cashier_records_a_code_on_the_portal_and_the_statement_counts_it(client, shop, rival, claimed):
    offer, code, _unclaimed = claimed
    client.force_login(shop.cashier.user)
    page = client.get(f"/merchant/vouchers/use/?offer={offer.pk}")
    assert page.status_code == 200
    wrong = client.post("/merchant/vouchers/use/", {"offer": offer.pk, "code": "NO-SUCH-CODE"})
    assert "没有这个已领取的券码" in wrong.content.decode()
    done = client.post("/merchant/vouchers/use/", {"offer": offer.pk, "code": code.code}, follow=True)
    text = done.content.decode()
    assert "已登记使用" in text and code.code in text
    again = client.post("/merchant/vouchers/use/", {"offer": offer.pk, "code": code.code}, follow=True)
    assert "登记过使用" in again.content.decode()

    statement = merchant_statement(merchant=shop.merchant, month=local_day().replace(day=1))
    assert [(row["offer_id"], row["count"]) for row in statement.codes_used] == [(offer.pk, 1)]
    client.force_login(shop.manager.user)
    assert "线上券码使用" in client.get("/merchant/till/statement/").content.decode()

    # Another merchant's staff cannot even choose the offer.
    rival_cashier = MerchantUserFactory(merchant=rival.merchant, role=MerchantUser.Role.CASHIER)
    client.force_login(rival_cashier.user)
    refused = client.post("/merchant/vouchers/use/", {"offer": offer.pk, "code": code.code})
    assert "offer" in refused.context["form"].errors


@pytest.mark.django_db
def test_the_member_reads_each_claimed_code_and_whether_it_was_used_in_the_history(
    client, api_client, shop, claimed
):
    offer, code, _unclaimed = claimed
    sign_in_member(client, code.member)
    section = _codes_section(client.get("/me/redemptions/").content.decode())
    assert offer.title in section and code.code in section and "未使用" in section

    api_client.post(USE, {"offer": offer.pk, "code": code.code}, format="json", **shop.headers())
    section = _codes_section(client.get("/me/redemptions/").content.decode())
    assert "已使用" in section and "未使用" not in section


def _codes_section(page: str) -> str:
    start = page.index('data-role="voucher-codes"')
    return page[start : page.index("</section>", start)]

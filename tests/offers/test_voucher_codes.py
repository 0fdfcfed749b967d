"""Online offers hand out one-time codes: at most the member's limit, never the same code twice,
also when many members (or one member on several phones) claim at the same moment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from discounts import services, vouchers
from discounts.models import Offer, VoucherCode
from discounts.rules import Refusal
from members.models import Member
from portal.errors import ValidationFailed
from tests.factories import MemberFactory, OfferFactory, UnionFactory


def online_offer(**fields):
    values = {
        "channel": Offer.Channel.ONLINE,
        "kind": Offer.Kind.AMOUNT_OFF,
        "percent_off": None,
        "amount_off": Decimal("30"),
        "min_spend": Decimal("199"),
    }
    values.update(fields)
    return OfferFactory(**values)


def claim_all(offer_id: int, member_ids: list[int]) -> list:
    """Each member id claims in its own thread and database connection, all released together."""
    barrier = threading.Barrier(len(member_ids))
    results: list = [None] * len(member_ids)

    def run(position: int, member_id: int) -> None:
        try:
            offer = Offer.objects.select_related("merchant", "eligible_union").get(pk=offer_id)
            member = Member.objects.select_related("union").get(pk=member_id)
            barrier.wait(timeout=30)
            results[position] = vouchers.voucher_claim(offer=offer, member=member).code
        except Refusal as refusal:
            results[position] = refusal.code
        except Exception as error:  # surfaced by the assertion below
            results[position] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, member_id)) for i, member_id in enumerate(member_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_hand_out_a_code_twice():
    offer = online_offer()
    vouchers.voucher_codes_generate(offer=offer, count=12)
    union = UnionFactory()
    members = [MemberFactory(union=union).pk for _ in range(16)]
    results = claim_all(offer.pk, members)
    codes = [result for result in results if result not in {"quota_exhausted"}]
    assert len(codes) == 12, results
    assert len(set(codes)) == 12
    assert results.count("quota_exhausted") == 4
    assert VoucherCode.objects.filter(offer=offer, member__isnull=True).count() == 0
    assert set(VoucherCode.objects.filter(offer=offer).values_list("member_id", flat=True)) <= set(members)


@pytest.mark.django_db(transaction=True)
def test_one_member_claiming_at_once_from_several_phones_gets_one_code():
    offer = online_offer()
    vouchers.voucher_codes_generate(offer=offer, count=10)
    member = MemberFactory()
    results = claim_all(offer.pk, [member.pk] * 6)
    assert results.count("member_limit_reached") == 5, results
    assert VoucherCode.objects.filter(offer=offer, member=member).count() == 1


@pytest.mark.django_db
def test_member_gets_up_to_their_total_limit():
    offer = online_offer(per_member_total_limit=2)
    vouchers.voucher_codes_add(offer=offer, codes=["A1", "A2", "A3"])
    member = MemberFactory()
    first = vouchers.voucher_claim(offer=offer, member=member)
    second = vouchers.voucher_claim(offer=offer, member=member)
    assert {first.code, second.code} == {"A1", "A2"}
    with pytest.raises(Refusal) as caught:
        vouchers.voucher_claim(offer=offer, member=member)
    assert caught.value.code == "member_limit_reached"


@pytest.mark.django_db
def test_claims_are_refused_to_ineligible_or_inactive_members_and_closed_offers(tree):
    offer = online_offer(eligible_union=tree.C1)
    vouchers.voucher_codes_add(offer=offer, codes=["X1", "X2"])
    outsider = MemberFactory(union=tree.C2A1)
    with pytest.raises(Refusal) as caught:
        vouchers.voucher_claim(offer=offer, member=outsider)
    assert caught.value.code == "not_eligible"
    retired = MemberFactory(union=tree.C1A1, status=Member.Status.RETIRED)
    with pytest.raises(Refusal) as caught:
        vouchers.voucher_claim(offer=offer, member=retired)
    assert caught.value.code == "member_inactive"
    offer.status = Offer.Status.PAUSED
    offer.save()
    with pytest.raises(Refusal) as caught:
        vouchers.voucher_claim(offer=offer, member=MemberFactory(union=tree.C1A1))
    assert caught.value.code == "offer_not_active"
    assert not VoucherCode.objects.filter(member__isnull=False).exists()


@pytest.mark.django_db
def test_upload_parses_text_and_csv_and_skips_duplicates():
    offer = online_offer()
    codes = vouchers.voucher_codes_parse("券码,备注\nABC123,首批\n\n# comment\nDEF456\nABC123\n".encode())
    assert codes == ["ABC123", "DEF456", "ABC123"]
    assert vouchers.voucher_codes_add(offer=offer, codes=codes) == 2
    assert vouchers.voucher_codes_add(offer=offer, codes=["DEF456", "GHI789"]) == 1
    with pytest.raises(ValidationFailed, match="第2行"):
        vouchers.voucher_codes_parse("OK1\nBAD CODE\n")


@pytest.mark.django_db
def test_in_store_offers_have_no_codes():
    offer = OfferFactory()
    with pytest.raises(ValidationFailed):
        vouchers.voucher_codes_generate(offer=offer, count=5)
    with pytest.raises(Refusal):
        vouchers.voucher_claim(offer=offer, member=MemberFactory())


@pytest.mark.django_db
def test_member_claims_on_the_detail_page_and_sees_their_code(client):
    from members.auth import SESSION_KEY

    offer = online_offer(title="品牌好物券")
    vouchers.voucher_codes_add(offer=offer, codes=["CODE0001", "CODE0002"])
    url = f"/offers/{offer.pk}/"
    page = client.get(url).content.decode()
    assert "登录后领取券码" in page and "/me/sign-in/?next=" in page
    response = client.post(f"{url}claim/")
    assert response.status_code == 302 and response["Location"].startswith("/me/sign-in/")

    member = MemberFactory()
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    assert "领取券码" in client.get(url).content.decode()
    response = client.post(f"{url}claim/", follow=True)
    text = response.content.decode()
    assert "领取成功" in text and "CODE0001" in text
    response = client.post(f"{url}claim/", follow=True)
    assert "每人限领1个券码" in response.content.decode()
    assert VoucherCode.objects.filter(member=member).count() == 1


# --- A claimed code takes the offer's limits, as a redemption does ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_hold_the_daily_quota():
    from discounts.models import OfferDayCounter
    from discounts.rules import local_day

    offer = online_offer(daily_quota=5)
    vouchers.voucher_codes_generate(offer=offer, count=20)
    union = UnionFactory()
    results = claim_all(offer.pk, [MemberFactory(union=union).pk for _ in range(12)])
    assert results.count("quota_exhausted") == 7, results
    assert VoucherCode.objects.filter(offer=offer, member__isnull=False).count() == 5
    assert OfferDayCounter.objects.get(offer=offer, day=local_day()).used == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_member_hold_the_per_member_daily_limit():
    from discounts.models import MemberOfferDayCounter, MemberOfferTotalCounter

    offer = online_offer(per_member_daily_limit=1, per_member_total_limit=3)
    vouchers.voucher_codes_generate(offer=offer, count=10)
    member = MemberFactory()
    results = claim_all(offer.pk, [member.pk] * 6)
    assert results.count("member_limit_reached") == 5, results
    assert VoucherCode.objects.filter(offer=offer, member=member).count() == 1
    assert MemberOfferDayCounter.objects.get(offer=offer, member=member).used == 1
    assert MemberOfferTotalCounter.objects.get(offer=offer, member=member).used == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_a_union_funded_code_hold_the_budget():
    offer = online_offer(
        funder=Offer.Funder.UNION,
        budget=Decimal("90"),
        budget_owner=UnionFactory(code="BUDGET", level="province"),
    )
    vouchers.voucher_codes_generate(offer=offer, count=10)
    union = UnionFactory()
    results = claim_all(offer.pk, [MemberFactory(union=union).pk for _ in range(8)])
    assert results.count("budget_exhausted") == 5, results
    offer.refresh_from_db()
    assert offer.budget_used == Decimal("90.00")
    assert VoucherCode.objects.filter(offer=offer, member__isnull=False).count() == 3


@pytest.mark.django_db
def test_a_claim_that_finds_no_code_takes_no_limit_and_the_api_counts_claims_today(api_client):
    from discounts.models import MemberOfferTotalCounter, OfferDayCounter

    offer = online_offer(daily_quota=10)
    vouchers.voucher_codes_add(offer=offer, codes=["ONLY1"])
    vouchers.voucher_claim(offer=offer, member=MemberFactory())
    latecomer = MemberFactory()
    with pytest.raises(Refusal) as caught:
        vouchers.voucher_claim(offer=offer, member=latecomer)
    assert caught.value.code == "quota_exhausted"
    assert OfferDayCounter.objects.get(offer=offer).used == 1
    assert not MemberOfferTotalCounter.objects.filter(member=latecomer).exists()
    assert api_client.get(f"/api/v1/offers/{offer.pk}/").json()["remaining_today"] == 9


@pytest.mark.django_db
def test_a_union_funded_online_offer_must_have_a_known_value_per_code():
    from discounts.models import Offer as OfferModel

    offer = OfferModel(
        title="工会出资线上折扣",
        kind=OfferModel.Kind.PERCENT_OFF,
        percent_off=Decimal("10"),
        funder=OfferModel.Funder.UNION,
        budget=Decimal("1000"),
        budget_owner=UnionFactory(code="B2", level="province"),
        channel=OfferModel.Channel.ONLINE,
        valid_from="2026-01-01",
        valid_until="2026-12-31",
    )
    with pytest.raises(ValidationFailed) as caught:
        services.offer_validate(offer)
    assert "kind" in caught.value.fields

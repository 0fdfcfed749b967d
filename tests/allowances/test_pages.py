"""The doors of a claim: the member opens their own on /me/allowances/, staff decide in the admin
(paid otherwise, approve by a second person after asking, reject with the reason the member sees)."""

from __future__ import annotations

import pytest

from allowances import services
from allowances.models import Claim
from discounts.sandbox import CARDS, sandbox_key_create
from members.auth import SESSION_KEY
from portal.errors import PermissionDenied
from tests.allowances.conftest import DAY
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
PAGE = "/me/allowances/"
CHANGELIST = "/admin/allowances/claim/"


def sign_in(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def stay(**extra):
    return {
        "hospital": "市第一医院",
        "admitted_on": "2026-03-02",
        "discharged_on": "2026-03-05",
        "bill": "1500.00",
    } | extra


def test_a_member_opens_a_claim_for_their_own_stay(client, member):
    sign_in(client, member)
    response = client.post(PAGE, stay(), follow=True)
    claim = Claim.objects.get()
    assert (claim.member, claim.bill_fen, claim.created_by, claim.status) == (member, 150_000, None, "open")
    assert "待审核" in response.content.decode()


def test_bad_input_is_said_on_the_page_and_nothing_is_opened(client, member):
    sign_in(client, member)
    page = client.post(PAGE, stay(discharged_on="2026-03-01")).content.decode()
    assert "出院日期不能早于入院日期" in page
    assert 'value="市第一医院"' in page  # what was typed is kept
    assert "0.01" in client.post(PAGE, stay(bill="0")).content.decode()
    assert not Claim.objects.exists()


def test_a_member_cannot_open_a_claim_for_someone_else(member, tree):
    with pytest.raises(PermissionDenied):
        services.claim_open(
            actor=member,
            member=MemberFactory(union=tree.C1A1),
            hospital="市第一医院",
            admitted_on=DAY,
            discharged_on=DAY,
            bill_fen=100,
        )


def test_anonymous_is_sent_to_sign_in(client):
    assert client.post(PAGE, stay()).status_code == 302
    assert not Claim.objects.exists()


def test_staff_approve_after_asking_and_only_as_a_second_person(client, member, people, fund):
    claim = services.claim_open(
        actor=people.opener,
        member=member,
        hospital="市第一医院",
        admitted_on=DAY,
        discharged_on=DAY,
        bill_fen=9000,
    )
    client.force_login(people.opener)
    selected = {"_selected_action": [claim.pk]}
    client.post(CHANGELIST, {"action": "mark_paid_otherwise", **selected})
    asked = client.post(CHANGELIST, {"action": "approve_claims", **selected})
    assert "请确认" in asked.content.decode()
    refused = client.post(CHANGELIST, {"action": "approve_claims", "confirmed": "1", **selected}, follow=True)
    assert "另一位工作人员" in refused.content.decode()
    assert Claim.objects.get().status == Claim.Status.OPEN

    client.force_login(people.approver)
    client.post(CHANGELIST, {"action": "approve_claims", "confirmed": "1", **selected})
    claim.refresh_from_db()
    assert (claim.status, claim.amount_fen) == (Claim.Status.APPROVED, 2000)


def test_staff_reject_with_the_reason_the_member_then_reads(client, member, people):
    claim = services.claim_open(
        actor=member, member=member, hospital="市第一医院", admitted_on=DAY, discharged_on=DAY, bill_fen=9000
    )
    client.force_login(people.approver)
    selected = {"action": "reject_claims", "_selected_action": [claim.pk]}
    form = client.post(CHANGELIST, selected).content.decode()
    assert "不批准的原因" in form
    empty = client.post(CHANGELIST, {**selected, "apply": "1", "reason": " "}).content.decode()
    assert "请填写不批准的原因" in empty
    client.post(CHANGELIST, {**selected, "apply": "1", "reason": "门诊费用，非住院"})
    assert Claim.objects.get().status == Claim.Status.REJECTED
    client.logout()
    sign_in(client, member)
    assert "未批准：门诊费用，非住院" in client.get(PAGE).content.decode()


def test_another_countys_staff_cannot_decide(client, member, people):
    claim = services.claim_open(
        actor=member, member=member, hospital="市第一医院", admitted_on=DAY, discharged_on=DAY, bill_fen=9000
    )
    client.force_login(people.outsider)
    client.post(CHANGELIST, {"action": "mark_paid_otherwise", "_selected_action": [claim.pk]})
    assert Claim.objects.get().paid_otherwise is False


def test_a_partner_hospital_opens_a_claim_for_the_card_presented(client, member, tree, people):
    from merchants.models import Category, Merchant, MerchantUser
    from tests.factories import CardFactory, MerchantFactory, MerchantUserFactory
    from tests.offers.conftest import seed_categories

    seed_categories()
    card = CardFactory(member=member)
    hospital = MerchantFactory(
        region=tree.C1A, name="河北仁济医院", category=Category.objects.get(code="health"),
        status=Merchant.Status.APPROVED,
    )  # fmt: skip
    clerk = MerchantUserFactory(merchant=hospital, role=MerchantUser.Role.CASHIER).user
    client.force_login(clerk)
    url = "/merchant/allowance-claims/"
    form = {"admitted_on": "2026-03-02", "discharged_on": "2026-03-05", "bill": "1500.00"}
    unknown = client.post(url, {**form, "card_number": "6200000000000000"}).content.decode()
    assert "没有这张有效的工会会员卡" in unknown
    # A test card of the integrators' sandbox is no member's card.
    sandbox_key_create(merchant=hospital, name="联调", created_by=None)
    test_card = client.post(url, {**form, "card_number": CARDS[0].number}).content.decode()
    assert "没有这张有效的工会会员卡" in test_card
    assert not Claim.objects.exists()
    client.post(url, {**form, "card_number": " ".join([card.number[:4], card.number[4:]])}, follow=True)
    claim = Claim.objects.get()
    assert (claim.member, claim.hospital, claim.created_by, claim.bill_fen) == (
        member,
        "河北仁济医院",
        clerk,
        150_000,
    )
    assert "待审核" in client.get(url).content.decode()
    # The union decides it; the hospital is no party to the approval.
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)


def test_only_a_partner_hospitals_users_open_claims_there(client, tree):
    from merchants.models import MerchantUser
    from tests.factories import MerchantFactory, MerchantUserFactory

    cinema = MerchantFactory(region=tree.C1A)
    client.force_login(MerchantUserFactory(merchant=cinema, role=MerchantUser.Role.MANAGER).user)
    assert client.get("/merchant/allowance-claims/").status_code == 403

"""The claims waiting for a staff decision on the staff to-do page (allowances.todo, registered with
members.todo): the operator's subtree only, each with what it waits for and the link to its admin page;
gone once decided; not shown to staff who may not see claims."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from allowances import payouts, services
from allowances.todo import claims_waiting
from banking import tasks
from banking.files import bank_file_receive
from banking.models import BankFile
from members.models import Card
from members.todo import TODO_SECTIONS, register_todo_section
from portal.roles import Role
from tests.allowances.conftest import DAY, open_claim, pay
from tests.factories import CardFactory, MemberFactory, PartnerBankFactory

pytestmark = pytest.mark.django_db
TODO = "/staff/todo/"


def claims_section(user) -> str | None:
    """The HTML of the claims section of ``user``'s to-do page, or None when it has none."""
    client = Client()
    client.force_login(user)
    response = client.get(TODO)
    assert response.status_code == 200
    found = re.search(r'<section[^>]*data-role="claims".*?</section>', response.content.decode(), re.S)
    return found.group(0) if found else None


def item(section: str, claim) -> str | None:
    found = re.search(rf'<li data-item="{claim.pk}">.*?</li>', section, re.S)
    return found.group(0) if found else None


def test_an_operator_sees_the_claims_of_their_subtree_and_not_another_countys(
    people, member, card, tree, fund
):
    pay(card, 150_000, DAY)
    ours = open_claim(people, member)  # matched to the card payment at once
    unmatched = open_claim(people, MemberFactory(union=tree.C1A2), start=DAY.replace(month=4))
    theirs = services.claim_open(
        actor=people.outsider,
        member=MemberFactory(union=tree.C2A1),
        hospital="外县医院",
        admitted_on=DAY,
        discharged_on=DAY,
        bill_fen=50_000,
    )

    section = claims_section(people.approver)
    assert section is not None and "住院补贴申请待处理" in section
    row = item(section, ours)
    assert row is not None
    assert f'href="/admin/allowances/claim/{ours.pk}/change/"' in row
    assert "市第一医院" in row and "已匹配用卡支付，待批准" in row
    assert "未找到用卡支付记录" in item(section, unmatched)
    assert item(section, theirs) is None
    assert f"/admin/allowances/claim/{theirs.pk}/change/" not in section

    # The one who entered it is told that someone else approves it.
    assert "须由另一位工作人员批准" in item(claims_section(people.opener), ours)
    # The other county sees its own claim and none of ours.
    outside = claims_section(people.outsider)
    assert item(outside, theirs) is not None
    assert item(outside, ours) is None and item(outside, unmatched) is None

    # The admin page the item links to opens for the operator; once decided, the claim leaves the list.
    client = Client()
    client.force_login(people.approver)
    assert client.get(f"/admin/allowances/claim/{ours.pk}/change/").status_code == 200
    services.claim_approve(actor=people.approver, claim=ours)
    assert item(claims_section(people.approver), ours) is None


def test_staff_who_may_not_see_claims_have_no_claims_section(people, member, tree, make_staff):
    open_claim(people, member)
    workplace = make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR, username="workplace")
    assert claims_section(workplace) is None
    assert claims_section(people.approver) is not None


def test_a_failed_credit_waits_to_be_paid_again_or_cancelled(
    people, tree, fund, make_staff, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    bank = PartnerBankFactory()
    holder = MemberFactory(union=tree.C1A1)
    CardFactory(member=holder, bank=bank, status=Card.Status.ACTIVE)
    claim = open_claim(people, holder)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)
    services.claim_approve(actor=people.approver, claim=claim)
    assert item(claims_section(people.approver), claim) is None  # approved: nothing to decide

    creator, releaser = (make_staff(tree.P, Role.PROVINCE_ADMIN, username=f"payer-{n}") for n in (1, 2))
    run = payouts.payout_run_create(actor=creator, bank=bank)
    run = payouts.payout_run_release(run_id=run.pk, actor=releaser)
    result = f"参考号,结果,银行流水号,入账日期,失败原因\n{run.lines.get().reference},失败,,,账户已销户\n"
    bank_file, _created = bank_file_receive(
        bank=bank,
        kind=BankFile.Kind.CREDIT_RESULT,
        uploaded_file=SimpleUploadedFile("result.csv", result.encode()),
        actor=creator,
    )
    tasks.bank_file_process(bank_file.pk)  # what the bank files' worker does
    assert "发放失败：重新发放或取消发放" in item(claims_section(people.approver), claim)


def test_the_section_is_registered_once():
    register_todo_section(claims_waiting)
    assert TODO_SECTIONS.count(claims_waiting) == 1

"""Payout runs: approved claims into the bank's credit file by two people, the bank's result paying or
failing each line (the same file twice changes nothing), a failed credit retried or cancelled, and
every yuan traceable from the fund to the result line, to the fen."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from allowances import payouts, services
from allowances.models import Claim, PayoutLine, PayoutRun
from banking import tasks
from banking.files import bank_file_receive
from banking.models import BankFile, BankFileLine, BankStaff
from funds.models import FundMovement
from funds.selectors import fund_ledger_mismatches
from members.models import Card
from notifications.models import Notification, Topic
from portal.approvals import SecondPersonRequired
from portal.errors import Conflict, PermissionDenied
from portal.roles import Role
from tests.allowances.conftest import DAY, open_claim
from tests.factories import CardFactory, MemberFactory, PartnerBankFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def payer(tree, make_staff):
    """Province staff: they create and release runs, and upload the bank's answer."""

    class Payer:
        creator = make_staff(tree.P, Role.PROVINCE_ADMIN, username="payer-1")
        releaser = make_staff(tree.P, Role.PROVINCE_ADMIN, username="payer-2")

    return Payer


def approved_claim(people, tree, bank, days: int = 3) -> Claim:
    holder = MemberFactory(union=tree.C1A1)
    CardFactory(member=holder, bank=bank, status=Card.Status.ACTIVE)
    claim = open_claim(people, holder, days=days, bill_fen=500_000)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)
    return services.claim_approve(actor=people.approver, claim=claim)


def released_run(payer, bank) -> PayoutRun:
    run = payouts.payout_run_create(actor=payer.creator, bank=bank)
    return payouts.payout_run_release(run_id=run.pk, actor=payer.releaser)


def credit_lines(run: PayoutRun) -> list[dict]:
    return list(csv.DictReader(io.StringIO(run.credit_file.file.open("rb").read().decode("utf-8"))))


def answer(bank, actor, rows: list[tuple], name: str = "result.csv") -> tuple[BankFile, bool]:
    text = "参考号,结果,银行流水号,入账日期,失败原因\n" + "".join(",".join(row) + "\n" for row in rows)
    upload = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    bank_file, created = bank_file_receive(
        bank=bank, kind=BankFile.Kind.CREDIT_RESULT, uploaded_file=upload, actor=actor
    )
    if created:
        tasks.bank_file_process(bank_file.pk)
    bank_file.refresh_from_db()
    return bank_file, created


@pytest.fixture
def bank(db):
    return PartnerBankFactory()


def test_a_run_pays_approved_claims_through_the_banks_credit_file_and_result(people, payer, tree, bank, fund):
    paid, failing = approved_claim(people, tree, bank), approved_claim(people, tree, bank, days=2)
    run = released_run(payer, bank)

    lines = credit_lines(run)
    assert [(row["卡号"], row["金额"]) for row in lines] == [
        (paid.member.cards.get().number, "60.00"),
        (failing.member.cards.get().number, "40.00"),
    ]
    assert Claim.objects.get(pk=paid.pk).status == Claim.Status.PAYING
    by_claim = {line.claim_id: line.reference for line in run.lines.all()}
    result, created = answer(
        bank,
        payer.creator,
        [
            (by_claim[paid.pk], "成功", "B20261203001", "2026-12-03", ""),
            (by_claim[failing.pk], "失败", "", "", "账户已销户"),
        ],
    )

    assert created and (result.applied_lines, result.error_lines) == (2, 0)
    paid.refresh_from_db()
    failing.refresh_from_db()
    assert (paid.status, paid.paid_on, paid.bank_reference) == (
        Claim.Status.PAID,
        datetime.date(2026, 12, 3),
        "B20261203001",
    )
    assert failing.status == Claim.Status.FAILED
    assert run.lines.get(claim=failing).failure_reason == "账户已销户"
    fund.refresh_from_db()
    assert (fund.spent, fund.committed) == (Decimal("60.00"), Decimal("40.00"))
    run.refresh_from_db()
    assert run.status == PayoutRun.Status.CLOSED
    assert Notification.objects.filter(topic=Topic.CLAIM_PAID, recipient_id=paid.member_id).exists()
    assert fund_ledger_mismatches() == []


def test_the_same_result_twice_changes_nothing_and_a_contrary_answer_is_refused(
    people, payer, tree, bank, fund
):
    claim = approved_claim(people, tree, bank)
    run = released_run(payer, bank)
    reference = run.lines.get().reference
    answer(bank, payer.creator, [(reference, "成功", "B1", "2026-12-03", "")])

    _again, created = answer(bank, payer.creator, [(reference, "成功", "B1", "2026-12-03", "")])
    assert not created
    other_file, _ = answer(
        bank,
        payer.creator,
        [(reference, "成功", "B1", "2026-12-03", ""), (reference, "失败", "", "", "x")],
        name="again.csv",
    )
    outcomes = list(
        BankFileLine.objects.filter(file=other_file).order_by("line_number").values_list("outcome")
    )
    assert outcomes == [(BankFileLine.Outcome.UNCHANGED,), (BankFileLine.Outcome.ERROR,)]
    fund.refresh_from_db()
    claim.refresh_from_db()
    assert (fund.spent, claim.status) == (Decimal("60.00"), Claim.Status.PAID)
    assert FundMovement.objects.filter(kind="spent").count() == 1


def test_bad_lines_are_refused_and_never_sink_the_good_ones(people, payer, tree, bank, fund):
    approved_claim(people, tree, bank)
    run = released_run(payer, bank)
    reference = run.lines.get().reference
    result, _ = answer(
        bank,
        payer.creator,
        [
            ("BT9999999999", "成功", "B9", "2026-12-03", ""),
            (reference, "也许", "", "", ""),
            (reference, "成功", "B1", "2026/12/03", ""),
        ],
    )
    lines = list(BankFileLine.objects.filter(file=result).order_by("line_number"))
    assert [line.outcome for line in lines] == ["error", "error", "applied"]
    assert "不是本行" in lines[0].message and "结果" in lines[1].message


def test_a_failed_credit_is_retried_in_the_next_run_or_cancelled_back_to_the_fund(
    people, payer, tree, bank, fund
):
    retried, cancelled = approved_claim(people, tree, bank), approved_claim(people, tree, bank, days=2)
    run = released_run(payer, bank)
    answer(bank, payer.creator, [(line.reference, "失败", "", "", "卡号有误") for line in run.lines.all()])

    payouts.claim_retry(actor=payer.creator, claim_id=retried.pk)
    payouts.claim_cancel(actor=payer.creator, claim_id=cancelled.pk, reason="会员已退会")
    second = released_run(payer, bank)
    assert list(second.lines.values_list("claim_id", flat=True)) == [retried.pk]
    answer(
        bank, payer.creator, [(second.lines.get().reference, "成功", "B2", "2026-12-05", "")], name="r2.csv"
    )

    fund.refresh_from_db()
    assert (fund.spent, fund.committed) == (Decimal("60.00"), Decimal("0.00"))
    assert Claim.objects.get(pk=cancelled.pk).status == Claim.Status.CANCELLED
    with pytest.raises(Conflict):
        payouts.claim_retry(actor=payer.creator, claim_id=cancelled.pk)
    assert fund_ledger_mismatches() == []


def test_every_yuan_reconciles_from_fund_to_claim_to_credit_line_to_result(people, payer, tree, bank, fund):
    claims = [approved_claim(people, tree, bank, days=days) for days in (1, 2, 3, 4)]
    run = released_run(payer, bank)
    refs = {line.claim_id: line.reference for line in run.lines.all()}
    answer(
        bank,
        payer.creator,
        [(refs[c.pk], "成功", f"B{c.pk}", "2026-12-03", "") for c in claims[:3]]
        + [(refs[claims[3].pk], "失败", "", "", "冻结")],
    )
    payouts.claim_cancel(actor=payer.creator, claim_id=claims[3].pk, reason="账户冻结")

    credited = run.lines.filter(status=PayoutLine.Status.CREDITED).aggregate(fen=Sum("amount_fen"))["fen"]
    paid = Claim.objects.filter(status=Claim.Status.PAID).aggregate(fen=Sum("amount_fen"))["fen"]
    spent = FundMovement.objects.filter(fund=fund, kind="spent", reference_type="allowances.claim")
    released = FundMovement.objects.filter(fund=fund, kind="released", reference_type="allowances.claim")
    file_total = sum(Decimal(row["金额"]) for row in credit_lines(run))
    fund.refresh_from_db()
    assert credited == paid == 2000 + 4000 + 6000
    assert sum(m.amount for m in spent) == fund.spent == Decimal("120.00")
    assert file_total == Decimal(run.total_fen) / 100 == Decimal("200.00")
    # Released: the three paid commitments turned into spends, and the cancelled one given up.
    assert sum(m.amount for m in released) == Decimal("200.00")
    assert fund.committed == Decimal("0.00")


def test_release_needs_a_second_person_and_a_run_once(people, payer, tree, bank, fund):
    approved_claim(people, tree, bank)
    run = payouts.payout_run_create(actor=payer.creator, bank=bank)
    with pytest.raises(SecondPersonRequired):
        payouts.payout_run_release(run_id=run.pk, actor=payer.creator)
    with pytest.raises(Conflict) as nothing:
        payouts.payout_run_create(actor=payer.releaser, bank=bank)
    assert nothing.value.code == "nothing_to_pay"
    payouts.payout_run_release(run_id=run.pk, actor=payer.releaser)
    with pytest.raises(Conflict):
        payouts.payout_run_release(run_id=run.pk, actor=payer.releaser)


def test_outsiders_cannot_pay_see_or_answer_another_subtree_or_bank(
    people, payer, tree, bank, fund, make_staff
):
    claim = approved_claim(people, tree, bank)
    other_county = make_staff(tree.C2A, Role.COUNTY_OPERATOR, username="elsewhere")
    with pytest.raises(Conflict):
        payouts.payout_run_create(actor=other_county, bank=bank)  # nothing of theirs to pay
    assert Claim.objects.get(pk=claim.pk).status == Claim.Status.APPROVED
    run = released_run(payer, bank)
    with pytest.raises(PermissionDenied):
        payouts.payout_run_release(run_id=run.pk, actor=other_county)
    other_bank = PartnerBankFactory(code="CCB", name="建设银行", bin="621700")
    other_bank_staff = UserFactory(is_staff=False, union=None)
    other_bank_staff.groups.add(Role.BANK_STAFF.group())
    BankStaff.objects.create(user=other_bank_staff, bank=other_bank)
    with pytest.raises(PermissionDenied):
        answer(bank, other_bank_staff, [(run.lines.get().reference, "成功", "B1", "2026-12-03", "")])
    # The other bank's own upload cannot name this bank's lines.
    result, _ = answer(
        other_bank, other_bank_staff, [(run.lines.get().reference, "成功", "B1", "2026-12-03", "")]
    )
    assert result.error_lines == 1
    assert Claim.objects.get(pk=claim.pk).status == Claim.Status.PAYING
    member_staff = make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR, username="workplace-only")
    with pytest.raises(PermissionDenied):
        payouts.payout_run_create(actor=member_staff, bank=bank)


def test_days_being_paid_still_count_against_the_year(people, payer, tree, bank, fund):
    holder = MemberFactory(union=tree.C1A1)
    CardFactory(member=holder, bank=bank, status=Card.Status.ACTIVE)
    first = open_claim(people, holder, days=45, bill_fen=500_000)
    services.claim_mark_paid_otherwise(actor=people.opener, claim=first)
    services.claim_approve(actor=people.approver, claim=first)
    released_run(payer, bank)  # the first claim is now "paying"
    second = open_claim(people, holder, days=40, bill_fen=500_000, start=DAY + datetime.timedelta(days=60))
    services.claim_mark_paid_otherwise(actor=people.opener, claim=second)
    services.claim_approve(actor=people.approver, claim=second)
    second.refresh_from_db()
    assert second.days == services.MAX_DAYS_PER_YEAR - services.MAX_DAYS_PER_STAY


def test_the_member_sees_paid_with_the_day(people, payer, tree, bank, fund, client):
    claim = approved_claim(people, tree, bank)
    run = released_run(payer, bank)
    answer(bank, payer.creator, [(run.lines.get().reference, "成功", "B1", "2026-12-03", "")])
    session = client.session
    from members.auth import SESSION_KEY

    session[SESSION_KEY] = claim.member_id
    session.save()
    page = client.get("/me/allowances/").content.decode()
    assert "已到账 ¥60.00（2026年12月3日）" in page
    other = MemberFactory(union=tree.C1A1)
    session[SESSION_KEY] = other.pk
    session.save()
    assert "市第一医院" not in client.get("/me/allowances/").content.decode()


def test_staff_make_and_release_a_run_in_the_admin_asking_first(people, payer, tree, bank, fund, client):
    claim = approved_claim(people, tree, bank)
    client.force_login(payer.creator)
    response = client.post("/admin/allowances/payoutrun/add/", {"bank": bank.pk}, follow=True)
    assert response.status_code == 200
    run = PayoutRun.objects.get()
    assert list(run.lines.values_list("claim_id", flat=True)) == [claim.pk]
    nothing = client.post("/admin/allowances/payoutrun/add/", {"bank": bank.pk}, follow=True)
    assert "没有待发放" in nothing.content.decode()

    client.force_login(payer.releaser)
    asked = client.post(f"/admin/allowances/payoutrun/{run.pk}/release/")
    assert "发放后不能撤回" in asked.content.decode()
    run.refresh_from_db()
    assert run.status == PayoutRun.Status.DRAFT
    client.post(f"/admin/allowances/payoutrun/{run.pk}/release/", {"confirmed": "1"})
    run.refresh_from_db()
    assert run.status == PayoutRun.Status.RELEASED
    link = f"/admin/allowances/payoutrun/{run.pk}/credit-file/"
    assert link in client.get(f"/admin/allowances/payoutrun/{run.pk}/change/").content.decode()
    download = client.get(link)
    assert download.status_code == 200
    assert claim.member.cards.get().number in b"".join(download.streaming_content).decode()

    # Without the permission to download files with full card numbers, no link to a 403.
    payer.releaser.groups.first().permissions.remove(Permission.objects.get(codename="download_bankfile"))
    payer.releaser = type(payer.releaser).objects.get(pk=payer.releaser.pk)  # permissions read anew
    client.force_login(payer.releaser)
    assert link not in client.get(f"/admin/allowances/payoutrun/{run.pk}/change/").content.decode()
    assert client.get(link).status_code == 403


def test_a_superuser_without_a_union_makes_a_run_of_the_province(people, tree, bank, fund):
    approved_claim(people, tree, bank)
    admin = UserFactory(is_staff=True, is_superuser=True, union=None)
    run = payouts.payout_run_create(actor=admin, bank=bank)
    assert run.union == tree.P and run.line_count == 1

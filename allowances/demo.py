"""Demo allowance claims in 长安区 (130102): one open and matched to nothing yet, one marked paid
otherwise, one approved, one rejected — opened by the workplace operator, decided by the county
operator — and a payout run to the members' bank, made by the county operator and released by the
city operator, whose result file (uploaded by the bank's staff) credits two claims and fails one.
Every claim status is on screen. Idempotent: nothing is added when the demo already has claims.
Needs the demo staff, members, bank staff and benefit funds."""

from __future__ import annotations

import csv
import datetime
import io

from django.contrib.auth import get_user_model

from allowances import payouts, services
from allowances.models import Claim
from banking.demo import receive_file
from banking.models import BankFile, BankStaff
from members.models import Card, Member
from portal.clock import local_day


def _answer(bank, run, today, bank_staff, failed: int) -> None:
    """The bank's result for ``run``: every line credited but the last ``failed``."""
    lines = list(run.lines.order_by("pk"))
    rows = [["参考号", "结果", "银行流水号", "入账日期", "失败原因"]]
    for n, line in enumerate(lines, start=1):
        if n > len(lines) - failed:
            rows.append([line.reference, "失败", "", "", "账户状态异常，请核实"])
        else:
            rows.append(
                [line.reference, "成功", f"{bank.code}{today:%Y%m%d}{n:04d}", f"{today:%Y-%m-%d}", ""]
            )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    name = f"credit-result-{run.pk}.csv"
    receive_file(bank, BankFile.Kind.CREDIT_RESULT, name, out.getvalue().encode(), bank_staff.user)


def seed_allowances(*, log=print) -> int:
    if Claim.objects.exists():
        return 0
    users = get_user_model().objects.in_bulk(
        ["workplace_operator", "changan_operator", "sjz_operator"], field_name="username"
    )
    opener, approver, releaser = (
        users.get(name) for name in ("workplace_operator", "changan_operator", "sjz_operator")
    )
    if opener is None or approver is None or releaser is None:
        return 0
    cards = list(
        Card.objects.filter(
            member__union__path__startswith=opener.union.path,
            member__status=Member.Status.ACTIVE,
            status__in=Card.HOLDING_STATUSES,
        )
        .select_related("member", "bank")
        .order_by("pk")
    )
    bank = cards[0].bank if cards else None
    members = [card.member for card in cards if card.bank_id == getattr(bank, "pk", None)][:9]
    bank_staff = BankStaff.objects.filter(bank=bank).select_related("user").first()
    if len(members) < 9 or bank_staff is None:
        return 0
    today = local_day()

    def claim(member, weeks_ago: int, days: int, bill_fen: int) -> Claim:
        discharged = today - datetime.timedelta(weeks=weeks_ago)
        return services.claim_open(
            actor=opener,
            member=member,
            hospital="河北医科大学第二医院",
            admitted_on=discharged - datetime.timedelta(days=days),
            discharged_on=discharged,
            bill_fen=bill_fen,
        )

    def approved(member, weeks_ago: int, days: int) -> Claim:
        stay = claim(member, weeks_ago, days, 120_000)
        services.claim_mark_paid_otherwise(actor=opener, claim=stay)
        return services.claim_approve(actor=approver, claim=stay)

    claim(members[0], 1, 4, 260_000)
    services.claim_mark_paid_otherwise(actor=opener, claim=claim(members[1], 2, 5, 180_000))
    services.claim_reject(actor=approver, claim=claim(members[2], 4, 2, 90_000), reason="门诊费用，非住院")

    # Last month's run: two credited, two failed; one failed credit cancelled, one left to decide.
    for n, member in enumerate(members[3:7]):
        approved(member, 8 + n, 2 + n)
    run = payouts.payout_run_create(actor=approver, bank=bank)
    run = payouts.payout_run_release(run_id=run.pk, actor=releaser)
    _answer(bank, run, today - datetime.timedelta(days=20), bank_staff, failed=2)
    last = run.lines.order_by("-pk").first()
    payouts.claim_cancel(actor=approver, claim_id=last.claim_id, reason="会员已办理退会，补贴不再发放")
    # This week's run, sent and not yet answered by the bank; and a claim approved since.
    approved(members[7], 3, 3)
    this_week = payouts.payout_run_create(actor=approver, bank=bank)
    payouts.payout_run_release(run_id=this_week.pk, actor=releaser)
    approved(members[8], 1, 2)
    log(f"allowance claims: 9 created; payout runs #{run.pk} (answered) and #{this_week.pk} (sent)")
    return 9

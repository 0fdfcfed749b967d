"""Demo allowance claims in 长安区 (130102): one open and matched to nothing yet, one marked paid
otherwise, one approved, one rejected — opened by the workplace operator, decided by the county
operator. Idempotent: nothing is added when the demo already has claims. Needs the demo staff,
members and benefit funds."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model

from allowances import services
from allowances.models import Claim
from members.models import Member
from portal.clock import local_day


def seed_allowances(*, log=print) -> int:
    if Claim.objects.exists():
        return 0
    users = get_user_model().objects.in_bulk(
        ["workplace_operator", "changan_operator"], field_name="username"
    )
    opener, approver = users.get("workplace_operator"), users.get("changan_operator")
    if opener is None or approver is None:
        return 0
    members = list(
        Member.objects.filter(
            union__path__startswith=opener.union.path, status=Member.Status.ACTIVE
        ).order_by("pk")[:4]
    )
    if len(members) < 4:
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

    claim(members[0], 1, 4, 260_000)
    services.claim_mark_paid_otherwise(actor=opener, claim=claim(members[1], 2, 5, 180_000))
    approved = claim(members[2], 3, 3, 150_000)
    services.claim_mark_paid_otherwise(actor=opener, claim=approved)
    services.claim_approve(actor=approver, claim=approved)
    services.claim_reject(actor=approver, claim=claim(members[3], 4, 2, 90_000), reason="门诊费用，非住院")
    log("allowance claims: 4 created (open, paid otherwise, approved, rejected)")
    return 4

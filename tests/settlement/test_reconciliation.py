"""Reconciliation to the fen, as properties: hypothesis draws redemptions of two merchants (one in the
county, one in the sibling county) over four months, some voided the same day and some voided in a
later month, and settles a random prefix of the months (paid), the next month approved, the next
confirmed, the rest left as drafts. For every month and for the county's subtree and the whole
province, every identity of the report holds — and the report's redemption side agrees with an oracle
computed from the drawn events alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funds.models import Fund
from funds.selectors import fund_ledger_mismatches
from settlement.models import Statement
from settlement.reconciliation import reconcile
from settlement.services import (
    payment_result_apply,
    payment_result_upload,
    payment_run_approve,
    payment_run_create,
    statement_approve,
    statement_confirm,
    statement_mark_paid,
    statement_prepare,
)
from tests.factories import MerchantFactory, MerchantUserFactory, OfferFactory, StoreFactory

MONTHS = [date(2026, m, 1) for m in (1, 2, 3, 4)]
FEN = Decimal("0.01")

event = st.tuples(
    st.integers(0, 1),  # which merchant
    st.integers(0, len(MONTHS) - 1),  # month of the redemption
    st.integers(1, 28),  # day
    st.integers(1, 500_00),  # union share in fen
    st.sampled_from(["kept", "kept", "same_day", "late"]),
    st.integers(1, 2),  # months later, for a late void
)


def month_of(day: date) -> date:
    return day.replace(day=1)


def settle(setting, manager, merchant, month: date, stage: str) -> None:
    # The city's operators prepare (both merchants are in the city) and approve: two people.
    statement = statement_prepare(merchant=merchant, month=month, actor=setting.city)
    if stage == "draft":
        return
    statement_confirm(statement_id=statement.pk, merchant_user=manager, expected_total=statement.total)
    if stage == "confirmed":
        return
    statement_approve(statement_id=statement.pk, actor=setting.approver)
    if stage == "approved":
        return
    if statement.total <= 0:
        statement_mark_paid(
            statement_id=statement.pk,
            bank_reference="offset",
            paid_on=date(2026, 6, 1),
            actor=setting.approver,
        )
        return
    run = payment_run_create(actor=setting.city)
    run = payment_run_approve(run_id=run.pk, actor=setting.approver)
    rows = "".join(f"PL{line.pk},paid,B{line.pk},2026-06-01,\n" for line in run.lines.all())
    upload = payment_result_upload(
        run_id=run.pk,
        actor=setting.approver,
        filename="r.csv",
        content=("reference,status,bank_reference,paid_on,message\n" + rows).encode(),
    )
    payment_result_apply(upload_id=upload.pk)
    assert Statement.objects.get(pk=statement.pk).status == "paid"


@pytest.mark.django_db
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(event, max_size=14), paid_months=st.integers(0, len(MONTHS)))
def test_every_identity_holds_for_every_month_and_subtree(setting, redeemed, tree, events, paid_months):
    with transaction.atomic():
        neighbour = MerchantFactory(region=tree.C1B, name="邻县影城")
        shops = [
            (setting.merchant, setting.manager, setting.offer),
            (
                neighbour,
                MerchantUserFactory(merchant=neighbour),
                OfferFactory(merchant=neighbour, funder="union", fund=setting.fund),
            ),
        ]
        StoreFactory(merchant=neighbour)
        expected = defaultdict(Decimal)  # (merchant index, month) → Σ union shares owed
        for which, month_index, day, fen, fate, later in events:
            merchant, _manager, offer = shops[which]
            share = Decimal(fen) * FEN
            when = MONTHS[month_index].replace(day=day)
            voided_on = {"kept": None, "same_day": when, "late": None}[fate]
            if fate == "late":
                m = MONTHS[month_index].month + later
                voided_on = date(2026, m, min(day, 28))
            r = redeemed(when, share, voided_on=voided_on, offer=offer)
            if merchant != setting.merchant:
                type(r).objects.filter(pk=r.pk).update(merchant=merchant, store=merchant.stores.first())
            if fate != "same_day":
                expected[(which, MONTHS[month_index])] += share
            if fate == "late":
                expected[(which, month_of(voided_on))] -= share

        stages = ["paid"] * paid_months + ["approved", "confirmed"] + ["draft"] * len(MONTHS)
        for month, stage in zip(MONTHS, stages, strict=False):
            for merchant, manager, _offer in shops:
                settle(setting, manager, merchant, month, stage)

        for month in MONTHS:
            county = reconcile(month=month, union_path=tree.C1A.path)
            province = reconcile(month=month, union_path=tree.P.path)
            assert county.redemption_shares == expected[(0, month)]
            assert province.redemption_shares == expected[(0, month)] + expected[(1, month)]
            for report in (county, province):
                assert report.balanced, (month, report.checks)

        # The till spent every share still standing from the fund, whatever its statement's stage;
        # voids, late or not, gave theirs back; approving and paying statements moved nothing.
        fund = Fund.objects.get(pk=setting.fund.pk)
        standing = sum(expected.values(), Decimal("0"))
        assert (fund.spent, fund.committed) == (standing, Decimal("0"))
        assert fund_ledger_mismatches() == []
        transaction.set_rollback(True)


def test_a_stale_draft_is_shown_out_of_step(setting, redeemed, tree):
    redeemed(date(2026, 1, 5), "20.00")
    statement_prepare(merchant=setting.merchant, month=MONTHS[0], actor=setting.preparer)
    redeemed(date(2026, 1, 6), "1.00")  # after the draft was prepared

    report = reconcile(month=MONTHS[0], union_path=tree.C1A.path)

    assert not report.balanced
    [figures] = report.merchants
    assert (figures.shares, figures.lines, figures.balanced) == (Decimal("21.00"), Decimal("20.00"), False)

"""Demo settlement (called by ``manage.py seed_demo`` after the funds): the cinema's 10-yuan ticket
draws its union share on the city's fund; two months of its redemptions — the month before last
settled and paid through a payment run, last month prepared and open for the merchant to confirm,
with one late void taken back as an adjustment. Deterministic, and nothing happens when the cinema
has statements already.

Redemptions of past months are written as rows here: the till records only today's redemptions
(its clock is the real one). Their shares are spent from the fund through ``funds.services``, as the
till spends them, and everything after them goes through ``settlement.services``."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from discounts.demo import CINEMA_TICKET
from discounts.models import Offer, Redemption
from discounts.rules import compute_amounts
from discounts.statements import next_month, previous_month
from funds.models import Fund
from funds.services import Reference, fund_give_back, fund_spend
from members.models import Card, Union
from merchants import demo as merchants_demo
from merchants.models import MerchantUser
from settlement.models import Statement
from settlement.services import (
    payment_result_apply,
    payment_result_upload,
    payment_run_approve,
    payment_run_create,
    statement_approve,
    statement_confirm,
    statement_prepare,
)

TICKET_PRICE = Decimal("45.00")  # the regular price; the member pays the offer's 10 yuan
UNION_SHARE = Decimal("15.00")  # per ticket: of the 35-yuan saving the union bears 15, the cinema 20
TICKETS_PER_MONTH = 12


def _weekend_days(first: date) -> list[date]:
    end = next_month(first)
    days = [first + timedelta(days=n) for n in range((end - first).days)]
    return [d for d in days if d.isoweekday() in (6, 7)]


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def seed_settlement(*, seed: int = 1, log=print) -> int:
    """Returns how many statements were made (0 when there is nothing to do)."""
    offer = (
        Offer.objects.filter(
            merchant__licence_number=merchants_demo.licence_number(seed, 0), title=CINEMA_TICKET
        )
        .select_related("merchant__region")
        .first()
    )
    if offer is None or Statement.objects.filter(merchant=offer.merchant).exists():
        return 0
    merchant = offer.merchant
    city = Union.objects.filter(
        level=Union.Level.CITY,
        path__in=[merchant.region.path[:n] for n in range(1, len(merchant.region.path) + 1)],
    ).first()
    fund = Fund.objects.filter(union=city, year=timezone.localdate().year).first()
    manager = MerchantUser.objects.filter(merchant=merchant, role=MerchantUser.Role.MANAGER).first()
    store = merchant.stores.order_by("pk").first()
    users = get_user_model().objects.in_bulk(["province_admin", "sjz_operator"], field_name="username")
    if fund is None or manager is None or store is None or len(users) < 2:
        return 0
    # The cinema's ticket becomes co-funded: of each ticket's saving the union bears 15 yuan, drawn on the
    # city's fund (fields of the offer set here for the demo: the offer forms do not offer them yet).
    Offer.objects.filter(pk=offer.pk).update(
        fund=fund,
        funder=Offer.Funder.COFUNDED,
        union_share_per_unit=UNION_SHARE,
        budget=offer.budget or Decimal("100000.00"),
        budget_owner=city,
    )
    offer.refresh_from_db()
    amounts = compute_amounts(offer, amount=TICKET_PRICE, units=1)
    rng = random.Random(seed)
    cards = list(Card.objects.filter(status=Card.Status.ACTIVE).select_related("member").order_by("pk")[:40])
    this_month = timezone.localdate().replace(day=1)
    paid_month, open_month = previous_month(previous_month(this_month)), previous_month(this_month)
    made: list[Redemption] = []
    for month in (paid_month, open_month):
        days = _weekend_days(month)
        for n in range(TICKETS_PER_MONTH):
            card = rng.choice(cards)
            day = days[n % len(days)]
            made.append(
                Redemption(
                    offer=offer, merchant=merchant, store=store, card=card, member=card.member, units=1,
                    amount=amounts.amount, discount=amounts.discount, payable=amounts.payable,
                    union_subsidy=amounts.union_subsidy, fund=fund, funder=offer.funder, local_day=day,
                    idempotency_key=f"demo-settlement-{month:%Y%m}-{n}",
                )
            )  # fmt: skip
    Redemption.objects.bulk_create(made)
    for redemption in made:
        Redemption.objects.filter(pk=redemption.pk).update(created_at=_moment(redemption.local_day, 15))
        # What the till does for each of them: the union's share spent from the offer's fund.
        fund_spend(fund_id=fund.pk, amount=redemption.union_subsidy, reference=Reference.to(redemption))
    # One ticket of the paid month voided late, in the open month: an adjustment there, its share
    # given back to the fund as a void does.
    late = made[TICKETS_PER_MONTH - 1]
    Redemption.objects.filter(pk=late.pk).update(
        status=Redemption.Status.VOIDED, voided_at=_moment(open_month, 10), void_reason="重复收款，次月撤销"
    )
    fund_give_back(fund_id=fund.pk, amount=late.union_subsidy, reference=Reference.to(late))

    province_admin, city_operator = users["province_admin"], users["sjz_operator"]
    paid = statement_prepare(merchant=merchant, month=paid_month, actor=None)
    statement_confirm(statement_id=paid.pk, merchant_user=manager, expected_total=paid.total)
    statement_approve(statement_id=paid.pk, actor=city_operator)
    run = payment_run_create(actor=city_operator)
    run = payment_run_approve(run_id=run.pk, actor=province_admin)
    rows = "".join(
        f"PL{line.pk},paid,DEMO{run.pk:04d}{line.pk:04d},{open_month + timedelta(days=9)},\n"
        for line in run.lines.all()
    )
    upload = payment_result_upload(
        run_id=run.pk,
        actor=city_operator,
        filename="bank-result.csv",
        content=("reference,status,bank_reference,paid_on,message\n" + rows).encode(),
    )
    payment_result_apply(upload_id=upload.pk)
    statement_prepare(merchant=merchant, month=open_month, actor=None)
    log(f"settlement: {merchant.name} {paid_month:%Y-%m} paid, {open_month:%Y-%m} open")
    return 2

"""Random sequences of redemptions, voids, quota changes, card and member status changes and offers
paused and published, checked against a model and against every invariant after each step — and,
after each step, verify's answer for every offer and card predicts exactly what a redemption then
does (``verify_predicts_every_redemption``): the one usability rule and the database function that
takes the counters agree."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from discounts.models import Offer, OfferDayCounter, Redemption
from discounts.redemption import redemption_create, redemption_verify, redemption_void
from discounts.rules import Refusal
from members.models import Card, Member
from portal.errors import ApplicationError
from tests.factories import (
    CardFactory,
    MemberFactory,
    MerchantFactory,
    OfferFactory,
    PartnerBankFactory,
    StoreFactory,
    UnionFactory,
)

MEMBERS = 3
# The amount of a probe: the smallest that gives the offer's kind a positive subsidy (one fen of
# discount, or one allowance), which is the use verify answers for.
PROBE_AMOUNT = {
    Offer.Kind.PERCENT_OFF: Decimal("0.08"),  # 12.5 % → 0.01
    Offer.Kind.FIXED_PRICE: Decimal("10.00"),  # 10.00 − 9.99 → 0.01
    Offer.Kind.ALLOWANCE: Decimal("0.00"),
}


class Rollback(Exception):
    """Undoes a probe: the redemption is tried, looked at and never kept."""


class RedemptionMachine(RuleBasedStateMachine):
    @initialize(
        kind=st.sampled_from([Offer.Kind.PERCENT_OFF, Offer.Kind.FIXED_PRICE, Offer.Kind.ALLOWANCE]),
        quota=st.one_of(st.none(), st.integers(0, 6)),
        daily_limit=st.one_of(st.none(), st.integers(1, 3)),
        total_limit=st.one_of(st.none(), st.integers(1, 4)),
        budget=st.one_of(st.none(), st.integers(0, 8).map(lambda n: Decimal(n * 10))),
    )
    def setup(self, kind, quota, daily_limit, total_limit, budget):
        union = UnionFactory()
        branch = UnionFactory(parent=union)
        self.merchant = MerchantFactory(region=union)
        self.store = StoreFactory(merchant=self.merchant)
        other_store = StoreFactory(merchant=self.merchant)
        other_bank = PartnerBankFactory(code="CCB", name="建设银行", bin="621700")
        money = {
            Offer.Kind.PERCENT_OFF: {"percent_off": Decimal("12.5")},
            Offer.Kind.FIXED_PRICE: {"percent_off": None, "fixed_price": Decimal("9.99")},
            Offer.Kind.ALLOWANCE: {"percent_off": None, "allowance_per_unit": Decimal("10.00")},
        }[kind]
        self.offer = OfferFactory(
            merchant=self.merchant,
            kind=kind,
            funder=Offer.Funder.UNION,
            daily_quota=quota,
            per_member_daily_limit=daily_limit,
            per_member_total_limit=total_limit,
            budget=budget,
            **money,
        )
        self.cards = [
            CardFactory(member=MemberFactory(union=union)),
            CardFactory(member=MemberFactory(union=branch, groups=["hardship"])),
            CardFactory(member=MemberFactory(union=branch), bank=other_bank),
        ]
        # Offers only the probes use, one for each term of the rule a member or a moment can fail.
        now = timezone.localtime()
        closed_window = (
            (datetime.time(0), datetime.time(1)) if now.hour >= 2 else (datetime.time(22), datetime.time(23))
        )
        fixed = {"kind": Offer.Kind.FIXED_PRICE, "percent_off": None, "fixed_price": Decimal("9.99")}
        self.others = [
            OfferFactory(merchant=self.merchant, funder=Offer.Funder.BANK, bank=other_bank, **fixed),
            OfferFactory(
                merchant=self.merchant, eligible_union=branch, eligible_groups=["hardship"], **fixed
            ),
            OfferFactory(
                merchant=self.merchant, time_from=closed_window[0], time_until=closed_window[1], **fixed
            ),
            OfferFactory(merchant=self.merchant, weekdays=[now.isoweekday() % 7 + 1], **fixed),
            OfferFactory(merchant=self.merchant, per_member_daily_limit=0, **fixed),
        ]
        self.others.append(OfferFactory(merchant=self.merchant, **fixed))
        self.others[-1].stores.add(other_store)
        self.live: dict[int, Redemption] = {}
        self.voided: list[Redemption] = []

    # --- model --------------------------------------------------------------------------------
    def units_live(self, member_id=None) -> int:
        return sum(r.units for r in self.live.values() if member_id in (None, r.member_id))

    def subsidy_live(self) -> Decimal:
        return sum((r.union_subsidy for r in self.live.values()), Decimal("0.00"))

    def card_refusal(self, card: Card) -> str | None:
        if Card.objects.get(pk=card.pk).status != Card.Status.ACTIVE:
            return "card_inactive"
        if Member.objects.get(pk=card.member_id).status != Member.Status.ACTIVE:
            return "member_inactive"
        return None

    def expected_refusal(self, card: Card, units: int, subsidy: Decimal) -> str | None:
        offer, member_id = self.offer, card.member_id
        refused = self.card_refusal(card)
        if refused is not None:
            return refused
        if Offer.objects.get(pk=offer.pk).status != Offer.Status.PUBLISHED:
            return "offer_not_active"
        member_units = self.units_live(member_id)
        if offer.per_member_daily_limit is not None and member_units + units > offer.per_member_daily_limit:
            return "member_limit_reached"
        if offer.per_member_total_limit is not None and member_units + units > offer.per_member_total_limit:
            return "member_limit_reached"
        if offer.daily_quota is not None and self.units_live() + units > offer.daily_quota:
            return "quota_exhausted"
        if subsidy > 0 and offer.budget is not None and self.subsidy_live() + subsidy > offer.budget:
            return "budget_exhausted"
        return None

    # --- rules --------------------------------------------------------------------------------
    @rule(
        member=st.integers(0, MEMBERS - 1),
        units=st.integers(1, 3),
        amount=st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False),
    )
    def redeem(self, member, units, amount):
        from discounts.rules import compute_amounts

        card = self.cards[member]
        expected_amounts = compute_amounts(self.offer, amount=amount, units=units)
        expected = self.expected_refusal(card, units, expected_amounts.union_subsidy)
        try:
            redemption = redemption_create(
                merchant=self.merchant,
                store_id=self.store.pk,
                offer_id=self.offer.pk,
                card_number=card.number,
                amount=amount,
                units=units,
            )
        except Refusal as refusal:
            assert refusal.code == expected
            return
        assert expected is None
        assert redemption.payable + redemption.discount == redemption.amount == amount
        self.live[redemption.pk] = redemption

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def void(self, data):
        pk = data.draw(st.sampled_from(sorted(self.live)))
        redemption = self.live.pop(pk)
        redemption_void(redemption=Redemption.objects.get(pk=pk), reason="撤销")
        self.voided.append(redemption)

    @precondition(lambda self: self.voided)
    @rule(data=st.data())
    def void_again(self, data):
        redemption = data.draw(st.sampled_from(self.voided))
        with pytest.raises(Exception) as caught:
            redemption_void(redemption=Redemption.objects.get(pk=redemption.pk), reason="再次撤销")
        assert caught.value.code == "already_voided"

    @rule(extra=st.one_of(st.none(), st.integers(0, 4)))
    def change_quota(self, extra):
        # Staff raise or lower a live quota, never below what is already used today.
        quota = None if extra is None else self.units_live() + extra
        Offer.objects.filter(pk=self.offer.pk).update(daily_quota=quota)
        self.offer.daily_quota = quota

    @rule(index=st.integers(0, MEMBERS - 1), status=st.sampled_from([Card.Status.ACTIVE, Card.Status.FROZEN]))
    def change_card_status(self, index, status):
        Card.objects.filter(pk=self.cards[index].pk).update(status=status)

    @rule(
        index=st.integers(0, MEMBERS - 1),
        status=st.sampled_from([Member.Status.ACTIVE, Member.Status.RETIRED]),
    )
    def change_member_status(self, index, status):
        Member.objects.filter(pk=self.cards[index].member_id).update(status=status)

    @rule(which=st.integers(0, 6), status=st.sampled_from([Offer.Status.PUBLISHED, Offer.Status.PAUSED]))
    def change_offer_status(self, which, status):
        offers = [self.offer, *self.others]
        Offer.objects.filter(pk=offers[which].pk).update(status=status)

    # --- invariants ---------------------------------------------------------------------------
    def probe(self, offer: Offer, card: Card) -> str | None:
        """Redeem one unit of ``offer`` with ``card`` at the store, and undo it: None when it went
        through, else the refusal's code."""
        try:
            with transaction.atomic():
                redemption_create(
                    merchant=self.merchant,
                    store_id=self.store.pk,
                    offer_id=offer.pk,
                    card_number=card.number,
                    amount=PROBE_AMOUNT[offer.kind],
                )
                raise Rollback
        except Rollback:
            return None
        except ApplicationError as refusal:
            return refusal.code

    @invariant()
    def verify_predicts_every_redemption(self):
        if not hasattr(self, "offer"):
            return
        offers = Offer.objects.filter(pk__in=[self.offer.pk, *(o.pk for o in self.others)])
        for card in self.cards:
            try:
                verification = redemption_verify(
                    merchant=self.merchant, card_number=card.number, store_id=self.store.pk
                )
            except ApplicationError as error:  # the card itself is refused before any offer
                raise AssertionError(error.code) from None
            answers = {check.offer.pk: check for check in verification.offers}
            for offer in offers:
                done = self.probe(offer, card)
                check = answers.get(offer.pk)
                if check is None:  # not offered at this till today: the card's refusal, or not active
                    assert done == (self.card_refusal(card) or "offer_not_active"), (offer.title, done)
                    continue
                assert (done is None) is check.eligible, (offer.title, check.reason_code, done)
                if not check.eligible:
                    assert done == check.reason_code, (offer.title, check.reason_code, done)

    @invariant()
    def database_matches_every_invariant(self):
        if not hasattr(self, "offer"):
            return
        offer = Offer.objects.get(pk=self.offer.pk)
        rows = Redemption.objects.filter(offer=offer)
        live = rows.filter(status=Redemption.Status.COMPLETED)
        units = live.aggregate(n=Sum("units"))["n"] or 0
        assert units == self.units_live()
        counter = OfferDayCounter.objects.filter(offer=offer, day=timezone.localdate()).first()
        assert (counter.used if counter else 0) == units
        if offer.daily_quota is not None:
            assert units <= offer.daily_quota
        for card in self.cards:
            mine = live.filter(member=card.member).aggregate(n=Sum("units"))["n"] or 0
            for limit in (offer.per_member_daily_limit, offer.per_member_total_limit):
                assert limit is None or mine <= limit
        subsidies = live.aggregate(s=Sum("union_subsidy"))["s"] or Decimal("0.00")
        assert offer.budget_used == subsidies
        assert offer.budget is None or offer.budget_used <= offer.budget
        for amount, discount, payable in rows.values_list("amount", "discount", "payable"):
            assert payable + discount == amount


@pytest.mark.django_db
def test_random_redeem_void_and_quota_sequences_keep_every_invariant():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        RedemptionMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )

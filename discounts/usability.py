"""The one rule that decides whether an offer is usable for a member now, and why not.

``offer_usability`` answers for one offer: its status, dates, weekday and daily time window, whether
its merchant is open, the card and the member (active, inside the offer's union subtree and groups,
and — for a bank-funded offer — a card of that bank), the store, and what its counters leave (the
daily quota, the member's daily and total limits, the union budget, an online offer's codes). It
returns a ``Usability``: usable or not, the POS API error ``code``, a finer ``reason``, the sentence
a cashier or an API client reads (``message``) and a few words a member reads on a page (``words``,
e.g. "仅周六、周日", "今日已抢光"), with what is left of today's quota (``remaining_today``).

Every door asks it: ``redemption_verify`` (POS API and cashier screen) with the counters read,
``redemption_create`` and ``voucher_claim`` without them (the database function
``discounts_redemption_take`` takes the counters and is their authority), the member pages and the
public API through ``usable_today_q`` (the same terms as one queryset filter, for lists) and
``remaining_today``. tests/redemption/test_usability.py checks that the filter and the function agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.models import Offer, VoucherCode
from discounts.rules import WEEKDAY_NAMES, Refusal
from members.models import Card, Member
from merchants.models import Merchant

SMALLEST_SUBSIDY = Decimal("0.01")


@dataclass(frozen=True)
class Usage:
    """What the offer's counters say (read by the caller): units of the offer used today, the
    member's units today and in total, an online offer's unclaimed codes and what is left in the
    fund its union share comes from (None: not read)."""

    used_today: int = 0
    member_today: int = 0
    member_total: int = 0
    codes_left: int | None = None
    fund_left: Decimal | None = None


@dataclass(frozen=True)
class Usability:
    usable: bool
    code: str = ""  # the POS API error code ("quota_exhausted" …); "" when usable
    reason: str = ""  # the rule that failed ("weekday", "time_window", "bank" …); "" when usable
    message: str = ""  # a sentence for the cashier and the API
    words: str = ""  # a few words for the member's page
    remaining_today: int | None = None  # units left of today's quota; None: unlimited

    def refusal(self) -> Refusal | None:
        return None if self.usable else Refusal(self.message, code=self.code)


def _no(code: str, reason: str, message: str, words: str = "") -> Usability:
    return Usability(usable=False, code=code, reason=reason, message=message, words=words or message)


def remaining_today(offer: Offer, used_today: int) -> int | None:
    """Units left of today's quota (None: unlimited): the figure the pages, the API and verify show."""
    if offer.daily_quota is None:
        return None
    return max(offer.daily_quota - used_today, 0)


def smallest_subsidy(offer: Offer) -> Decimal | None:
    """The least a use of the offer takes from its budget, or None when it takes nothing: an
    allowance takes its amount per unit, a union-funded discount at least one fen."""
    if offer.kind == Offer.Kind.ALLOWANCE:
        return offer.allowance_per_unit if offer.allowance_per_unit is not None else SMALLEST_SUBSIDY
    if offer.funder in (Offer.Funder.UNION, Offer.Funder.COFUNDED):
        return SMALLEST_SUBSIDY
    return None


def weekdays_words(weekdays: list[int]) -> str:
    days = sorted(set(weekdays))
    if days == [1, 2, 3, 4, 5]:
        return _("仅周一至周五")
    return _("仅%(days)s") % {"days": _("、").join(_(WEEKDAY_NAMES[day - 1]) for day in days)}


def _card_refusal(member: Member, card: Card | None) -> Usability | None:
    if card is not None and card.status != Card.Status.ACTIVE:
        messages = {
            Card.Status.ISSUED: _("该卡尚未激活。"),
            Card.Status.FROZEN: _("该卡已挂失。"),
            Card.Status.REPLACED: _("该卡已换卡停用。"),
            Card.Status.CANCELLED: _("该卡已注销。"),
        }
        return _no("card_inactive", "card_inactive", messages.get(card.status, _("该卡不可用。")))
    if member.status != Member.Status.ACTIVE:
        return _no("member_inactive", "member_inactive", _("会员不在会，不能享受会员优惠。"))
    return None


def member_card_refusal(member: Member, card: Card | None) -> Usability | None:
    """The card-and-member term of the rule alone (the card active, the member in the union), for a
    use that is no offer: the members' shop (shop.services) asks it before a member reserves."""
    return _card_refusal(member, card)


def _open_refusal(offer: Offer, now: datetime, *, rest_of_day: bool) -> Usability | None:
    """Status, dates, weekday, time window. ``rest_of_day``: a window that opens later today passes."""
    if offer.status != Offer.Status.PUBLISHED:
        return _no("offer_not_active", "status", _("该优惠当前未开放。"), _("暂未开放"))
    today = now.date()
    if today < offer.valid_from or today > offer.valid_until:
        return _no("offer_not_active", "dates", _("不在优惠有效期内。"), _("不在有效期内"))
    if offer.weekdays and now.isoweekday() not in offer.weekdays:
        days = _("、").join(_(WEEKDAY_NAMES[d - 1]) for d in sorted(offer.weekdays))
        return _no(
            "offer_not_active",
            "weekday",
            _("该优惠仅限%(days)s使用。") % {"days": days},
            weekdays_words(offer.weekdays),
        )
    before = offer.time_from is not None and now.time() < offer.time_from and not rest_of_day
    after = offer.time_until is not None and now.time() >= offer.time_until
    if before or after:
        start = offer.time_from.strftime("%H:%M") if offer.time_from else "00:00"
        end = offer.time_until.strftime("%H:%M") if offer.time_until else "24:00"
        return _no(
            "offer_not_active",
            "time_window",
            _("不在每日优惠时段内。"),
            _("仅每日%(start)s–%(end)s") % {"start": start, "end": end},
        )
    return None


def _merchant_refusal(offer: Offer, day: date) -> Usability | None:
    merchant = offer.merchant
    if not merchant.is_open_on(day):
        return _no("offer_not_active", "merchant_closed", _("该商家暂未开放优惠。"), _("商家暂停营业"))
    return None


def _eligibility_refusal(offer: Offer, member: Member) -> Usability | None:
    """Needs ``offer.eligible_union`` and ``member.union`` loaded to stay query-free."""
    if offer.eligible_union_id and not offer.eligible_union.contains(member.union):
        name = offer.eligible_union.name
        return _no(
            "not_eligible",
            "union",
            _("该优惠仅限%(union)s会员使用。") % {"union": name},
            _("仅限%(union)s会员") % {"union": name},
        )
    if offer.eligible_groups and not set(offer.eligible_groups) & set(member.groups):
        return _no("not_eligible", "group", _("该优惠仅限特定群体会员使用。"), _("仅限特定群体"))
    return None


def _bank_refusal(offer: Offer, card: Card | None) -> Usability | None:
    """A bank pays for its offers for its own cardholders only: the card must be of that bank."""
    if offer.funder != Offer.Funder.BANK or offer.bank_id is None:
        return None
    if card is None or card.bank_id != offer.bank_id:
        name = offer.bank.name
        return _no(
            "not_eligible",
            "bank",
            _("该优惠仅限%(bank)s工会会员卡使用。") % {"bank": name},
            _("仅限%(bank)s卡") % {"bank": name},
        )
    return None


def _store_refusal(store_id: int | None, offer_store_ids: set[int] | None) -> Usability | None:
    """``offer_store_ids``: the offer's store list (empty or None: every store of the merchant)."""
    if store_id is not None and offer_store_ids and store_id not in offer_store_ids:
        return _no("not_eligible", "store", _("该门店不参与此优惠。"), _("本店不参与"))
    return None


def _quota() -> Usability:
    return _no("quota_exhausted", "quota", _("今日名额已用完。"), _("今日已抢光"))


def _member_daily() -> Usability:
    return _no("member_limit_reached", "member_daily", _("该会员今日使用此优惠已达上限。"), _("今日已用过"))


def _member_total() -> Usability:
    return _no("member_limit_reached", "member_total", _("该会员使用此优惠已达累计上限。"), _("已达使用上限"))


def _budget() -> Usability:
    return _no("budget_exhausted", "budget", _("该优惠的工会补贴预算已用完。"), _("补贴已发完"))


def _fund() -> Usability:
    """The fund the union's share comes from cannot cover it: to the till, the subsidy money is gone
    (the POS code of an exhausted budget), in words that say which money."""
    return _no("budget_exhausted", "fund", _("工会普惠资金已用完，该优惠暂不能使用。"), _("补贴已发完"))


# The refusals of ``discounts_redemption_take()`` ('refused:<name>'), in the rule's own words, so a
# redemption the database refuses reads as verify predicted it.
REFUSED_BY_DATABASE = {
    "member_daily_limit": _member_daily,
    "member_total_limit": _member_total,
    "quota_exhausted": _quota,
    "budget_exhausted": _budget,
    "fund_exhausted": _fund,
}


def _counter_refusal(offer: Offer, usage: Usage, remaining: int | None) -> Usability | None:
    """In the order ``discounts_redemption_take()`` takes them — the member's day and total counters,
    the offer's day counter, the budget, the fund — so verify names the refusal a redemption then meets."""
    daily, total = offer.per_member_daily_limit, offer.per_member_total_limit
    if daily is not None and usage.member_today >= daily:
        return _member_daily()
    if total is not None and usage.member_total >= total:
        return _member_total()
    if remaining == 0:
        return _quota()
    smallest = smallest_subsidy(offer)
    if offer.budget is not None and smallest is not None and offer.budget - offer.budget_used < smallest:
        return _budget()
    if offer.fund_id is not None and None not in (usage.fund_left, smallest) and usage.fund_left < smallest:
        return _fund()
    if offer.channel == Offer.Channel.ONLINE and usage.codes_left == 0:
        return _no("quota_exhausted", "codes", _("券码已领完。"), _("券码已领完"))
    return None


def offer_usability(
    offer: Offer,
    *,
    now: datetime | None = None,
    member: Member | None = None,
    card: Card | None = None,
    store_id: int | None = None,
    offer_store_ids: set[int] | None = None,
    usage: Usage | None = None,
    merchant_checked: bool = False,
    rest_of_day: bool = False,
) -> Usability:
    """Whether ``offer`` is usable now — for ``member`` (with ``card``, at ``store_id``) when given.

    - ``usage``: the counters as read by the caller; None leaves the counters out (a redemption takes
      them in the database, which refuses with the same codes).
    - ``merchant_checked``: the caller has already refused a closed merchant as a whole (verify and
      redeem answer ``merchant_closed`` for every offer at once); otherwise the offer's merchant is
      read (``offer.merchant``: select it with the offer).
    - ``rest_of_day``: "still usable today" — a time window that opens later today passes.
    - A bank-funded offer needs ``card`` (of that bank); without a member only the offer's own
      terms are judged.
    The first failed term answers, in this order: card and member, status, dates, weekday, time
    window, merchant, union subtree and groups, bank, store, member limits, quota, budget, codes."""
    now = timezone.localtime(now) if now else timezone.localtime()
    remaining = remaining_today(offer, usage.used_today) if usage is not None else None
    terms = _refusals(
        offer,
        now=now,
        member=member,
        card=card,
        store_id=store_id,
        offer_store_ids=offer_store_ids,
        usage=usage,
        remaining=remaining,
        merchant_checked=merchant_checked,
        rest_of_day=rest_of_day,
    )
    refused = next((term for term in terms if term is not None), None)
    if refused is None:
        return Usability(usable=True, remaining_today=remaining)
    return Usability(
        usable=False,
        code=refused.code,
        reason=refused.reason,
        message=refused.message,
        words=refused.words,
        remaining_today=remaining,
    )


def _refusals(
    offer, *, now, member, card, store_id, offer_store_ids, usage, remaining, merchant_checked, rest_of_day
) -> Iterator[Usability | None]:
    """Each term's answer in order, judged only when asked for (the first refusal stops the rest)."""
    if member is not None:
        yield _card_refusal(member, card)
    yield _open_refusal(offer, now, rest_of_day=rest_of_day)
    if not merchant_checked:
        yield _merchant_refusal(offer, now.date())
    if member is not None:
        yield _eligibility_refusal(offer, member)
        yield _bank_refusal(offer, card)
    yield _store_refusal(store_id, offer_store_ids)
    if usage is not None:
        yield _counter_refusal(offer, usage, remaining)


def usable_today_q(now: datetime | None = None, *, used_today: str = "used_today") -> Q:
    """``offer_usability(offer, now=now, usage=…, rest_of_day=True)`` for every member as one filter:
    published, in its dates, the weekday fits, the daily window not over yet, the merchant open,
    today's quota and the union budget not used up, an online offer with codes left. Needs the
    ``used_today`` annotation (units used today). Member-specific terms (union, groups, bank card,
    member limits) are left to ``offer_usability`` with the member."""
    now = timezone.localtime(now) if now else timezone.localtime()
    today = now.date()
    unclaimed = VoucherCode.objects.filter(offer=OuterRef("pk"), member__isnull=True)
    budget_left = F("budget") - F("budget_used")
    union_subsidised = Q(kind=Offer.Kind.ALLOWANCE) | Q(
        funder__in=[Offer.Funder.UNION, Offer.Funder.COFUNDED]
    )
    return (
        Q(status=Offer.Status.PUBLISHED, valid_from__lte=today, valid_until__gte=today)
        & (Q(weekdays=[]) | Q(weekdays__contains=[now.isoweekday()]))
        & (Q(time_until__isnull=True) | Q(time_until__gt=now.time()))
        & Merchant.open_q(today, prefix="merchant__")
        & (Q(daily_quota__isnull=True) | Q(daily_quota__gt=F(used_today)))
        & (
            Q(budget__isnull=True)
            | ~union_subsidised
            | Q(
                kind=Offer.Kind.ALLOWANCE,
                allowance_per_unit__isnull=False,
                allowance_per_unit__lte=budget_left,
            )
            | (
                (~Q(kind=Offer.Kind.ALLOWANCE) | Q(allowance_per_unit__isnull=True))
                & Q(budget__gte=F("budget_used") + SMALLEST_SUBSIDY)
            )
        )
        & (Q(channel=Offer.Channel.IN_STORE) | Q(Exists(unclaimed)))
    )

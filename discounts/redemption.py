"""The one redemption service (核销): verify a card, redeem an offer, void a redemption.

Every door calls these functions: the POS API, the cashier screen and the admin. A claimed code of an
online offer is a use too: ``limits_take`` takes the same limits with the same database function.

Limits are enforced by counter rows changed with one conditional SQL statement each, never by reading a
count and deciding in Python, so they hold under any interleaving of concurrent transactions:

- ``discounts_offerdaycounter``: units of an offer used on a local day (daily quota);
- ``discounts_memberofferdaycounter`` / ``discounts_memberoffertotalcounter``: per-member limits;
- ``discounts_offer.budget_used``: union subsidies against the offer's budget;
- ``funds_fund.spent``: the union's share, spent from the offer's fund (``Redemption.fund``), guarded by
  what the fund has left, with its ledger row (docs/funds.md).

Every transaction that touches these rows takes them in one order — the redemption row, the member's
day counter, the member's total counter, the offer's day counter, the offer row, the fund row — so two
writers can never wait for each other in a cycle. A redemption is recorded by one statement: the
insert of its row and ``discounts_redemption_take()`` (migration discounts 0006, 0015), which takes the
limits inside the database. The hot rows (shared by every member of an offer, or of every offer of a
fund) come last, so their row locks are held only for the end of that statement and its commit, which
does not wait for the disk: the answer to the till does (``_await_durable``).

Whether an offer is usable for the member is not decided here but by the one usability rule,
``discounts.usability.offer_usability``: verify asks it with the counters read, redeem without them
(the database function takes them, with the same refusals).

Longer than most modules, and kept whole: verify, redeem and void share the identification of store,
offer and card, the lock order and the statements above, which are read and changed together."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from discounts import idempotency, rules, usability
from discounts.models import (
    MemberOfferDayCounter,
    MemberOfferTotalCounter,
    Offer,
    OfferDayCounter,
    Redemption,
)
from funds.models import Fund
from funds.services import Reference, fund_give_back
from members.models import Card, Member, Union
from members.tokens import card_token_card_id, is_short_code, normalize_card_input
from merchants.access import ensure_merchant_open
from merchants.models import ApiKey, Merchant, Store
from portal.audit import audit_record
from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.rows import fetch_instances, model_columns, select_list

logger = logging.getLogger(__name__)

MAX_UNITS = 1000
MAX_ID = 2**63 - 1  # ids are bigint: a larger number names no row (and must not reach the database)
MAX_AMOUNT = Decimal("9999999999.99")
CARD_NUMBER_RE = re.compile(r"^\d{8,19}$")
# The caps of what a till sends, checked here and imported by the API's serializers (their shape check
# uses the same numbers, so the two can never disagree):
MAX_CARD_NUMBER_INPUT = 40  # 19 digits with the spaces or dashes a till may keep from a printed card
MAX_MEMBER_TOKEN_INPUT = 500  # a QR token of the member's card page
MAX_MERCHANT_REFERENCE = 64  # the till's own receipt or transaction number, unique per merchant
MAX_VOID_REASON = 255
MERCHANT_REFERENCE_RE = re.compile(rf"^[\x21-\x7e]{{1,{MAX_MERCHANT_REFERENCE}}}$")


# --- Errors with the POS API codes --------------------------------------------------------------


def _card_not_found() -> ApplicationError:
    return NotFound(_("未找到该会员卡，请核对卡号或请会员刷新二维码。"), code="card_not_found")


def _store_not_allowed() -> ApplicationError:
    return PermissionDenied(_("不能为该门店核销。"), code="store_not_allowed")


# --- Identification ----------------------------------------------------------------------------
# The store, the offer and the card of a redemption are read with one hand-written query
# (``portal.rows``): it is on the path of every redemption. A part not asked for (NULL) comes back empty.

_STORE_COLUMNS = model_columns(Store, {"id", "merchant_id", "name", "is_active"})
_OFFER_COLUMNS = model_columns(Offer)
_CARD_COLUMNS = model_columns(Card, {"id", "number", "bank_id", "status", "member_id"})
_MEMBER_COLUMNS = model_columns(Member, {"id", "name", "status", "groups", "union_id"})
_UNION_COLUMNS = model_columns(Union, {"id", "code", "name", "path"})
CardKey = tuple[str, str | int | None]  # ("number", digits) or ("id", card id)
_PARTS = (
    (Store, _STORE_COLUMNS),
    (Offer, _OFFER_COLUMNS),
    (Union, _UNION_COLUMNS),
    (Card, _CARD_COLUMNS),
    (Member, _MEMBER_COLUMNS),
    (Union, _UNION_COLUMNS),
)


def _rows_sql(card_column: str) -> str:
    return (
        "SELECT "  # noqa: S608 - column names from the models and the code, never from input
        + select_list(
            ("s", _STORE_COLUMNS),
            ("o", _OFFER_COLUMNS),
            ("eu", _UNION_COLUMNS),
            ("c", _CARD_COLUMNS),
            ("m", _MEMBER_COLUMNS),
            ("u", _UNION_COLUMNS),
        )
        + ", ARRAY(SELECT os.store_id FROM discounts_offer_stores os WHERE os.offer_id = o.id)"  # noqa: S608
        " FROM (SELECT 1) AS one"
        " LEFT JOIN merchants_store s ON s.id = %(store)s"
        " LEFT JOIN discounts_offer o ON o.id = %(offer)s"
        " LEFT JOIN members_union eu ON eu.id = o.eligible_union_id"
        f" LEFT JOIN members_card c ON c.{card_column} = %(card)s"
        " LEFT JOIN members_member m ON m.id = c.member_id"
        " LEFT JOIN members_union u ON u.id = m.union_id"
    )


_ROWS_BY_CARD = {"number": _rows_sql("number"), "id": _rows_sql("id")}


def _rows(
    *,
    store_id: int | None = None,
    offer_id: int | None = None,
    card: CardKey = ("id", None),
) -> tuple[Store | None, Offer | None, Card | None]:
    """The store, the offer (with its eligible union and ``listed_store_ids``, its store list) and
    the card (with its member and the member's union) named, each None when not asked for or not
    found. ``card`` is ("number", digits) or ("id", card id)."""
    column, value = card
    params = {"store": store_id, "offer": offer_id, "card": value}
    store, offer, eligible_union, found_card, member, union, store_ids = fetch_instances(
        _ROWS_BY_CARD[column], params, *_PARTS
    )
    if offer.pk is not None:
        offer.eligible_union = eligible_union if offer.eligible_union_id else None
        offer.listed_store_ids = store_ids or []
    if found_card.pk is not None:
        member.union = union
        found_card.member = member
    return (
        store if store.pk is not None else None,
        offer if offer.pk is not None else None,
        found_card if found_card.pk is not None else None,
    )


def normalize_card_number(raw: str) -> str:
    return normalize_card_input(raw)


def _card_key(card_number: str | None, member_token: str | None) -> CardKey:
    """("number", digits) or ("id", the card id of a QR token; None when expired or forged)."""
    if bool(card_number) == bool(member_token):
        raise ValidationFailed(
            _("请提供卡号或会员二维码中的一项。"),
            fields={"card_number": [_("卡号与会员二维码必须且只能提供一项。")]},
        )
    if card_number:
        number = normalize_card_number(card_number)
        if not CARD_NUMBER_RE.match(number):
            raise ValidationFailed(
                _("卡号格式不正确。"), fields={"card_number": [_("卡号应为 8–19 位数字。")]}
            )
        return "number", number
    return "id", card_token_card_id(member_token)


def _card_at(merchant: Merchant, card: Card | None) -> Card:
    """The card, when it may be shown at this merchant: test cards at the sandbox merchant only, and
    only test cards there (discounts.sandbox). A card of the other world is as unknown as one that
    does not exist, so neither world's counters, limits or history ever see the other's."""
    if card is None or card.is_test != merchant.is_sandbox:
        raise _card_not_found()
    return card


def card_identify(
    *, merchant: Merchant, card_number: str | None = None, member_token: str | None = None
) -> Card:
    """The card (with its member and the member's union) named by a card number or by the QR token
    of the member's card page, as the merchant's till may see it. An expired or forged token is an
    unknown card."""
    key = _card_key(card_number, member_token)
    return _card_at(merchant, _rows(card=key)[2] if key[1] else None)


def _store_id(*, store_id, api_key: ApiKey | None) -> int:
    """The store id a redemption names, or the key's own store when the key is pinned to one."""
    pinned_id = api_key.store_id if api_key is not None else None
    if store_id in (None, ""):
        if pinned_id is None:
            raise ValidationFailed(_("请选择门店。"), fields={"store": [_("该字段是必填项。")]})
        store_id = pinned_id
    try:
        store_id = int(store_id)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("门店编号不正确。"), fields={"store": [_("请填写有效的门店编号。")]}
        ) from None
    if pinned_id is not None and store_id != pinned_id:
        raise _store_not_allowed()
    if not 0 < store_id <= MAX_ID:
        raise _store_not_allowed()
    return store_id


def _key_store(api_key: ApiKey | None, store_id: int) -> Store | None:
    """The pinned key's store, already read with the key."""
    if api_key is not None and api_key.store is not None and api_key.store_id == store_id:
        return api_key.store
    return None


def _store_allowed(store: Store | None, merchant: Merchant) -> Store:
    if store is None or store.merchant_id != merchant.pk or not store.is_active:
        raise _store_not_allowed()
    return store


def store_for_redemption(*, merchant: Merchant, store_id: int | None, api_key: ApiKey | None = None) -> Store:
    """The store a redemption happens at: one of the merchant's open stores, and the key's own store
    when the key is pinned to one."""
    store_id = _store_id(store_id=store_id, api_key=api_key)
    return _store_allowed(_key_store(api_key, store_id) or _rows(store_id=store_id)[0], merchant)


def _offer_id(offer_id) -> int | None:
    """The offer id as a number; None when no offer can have it."""
    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("优惠编号不正确。"), fields={"offer": [_("请填写有效的优惠编号。")]}
        ) from None
    return offer_id if 0 < offer_id <= MAX_ID else None


def _offer_allowed(offer: Offer | None, merchant: Merchant) -> Offer:
    if offer is None:
        raise NotFound(_("未找到该优惠。"), code="offer_not_found")
    if offer.merchant_id != merchant.pk:
        raise PermissionDenied(_("该优惠不属于本商家。"), code="offer_not_yours")
    return offer


def _offer_store_ids(offer: Offer) -> set[int]:
    if hasattr(offer, "listed_store_ids"):
        return set(offer.listed_store_ids)
    if hasattr(offer, "_prefetched_objects_cache") and "stores" in offer._prefetched_objects_cache:
        return {store.pk for store in offer.stores.all()}
    return set(offer.stores.values_list("id", flat=True))


def _clean_amount(amount) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("金额不正确。"), fields={"amount": [_("请填写有效的金额。")]}) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValidationFailed(_("金额不正确。"), fields={"amount": [_("金额须为不小于 0 的数。")]})
    if value != rules.to_fen(value):
        raise ValidationFailed(_("金额最多两位小数。"), fields={"amount": [_("金额最多两位小数。")]})
    return value


def _clean_reference(reference) -> str:
    reference = (reference or "").strip()
    if reference and not MERCHANT_REFERENCE_RE.match(reference):
        raise ValidationFailed(
            _("商户单号不正确。"),
            fields={"merchant_reference": [_("最多 64 个可打印 ASCII 字符，不含空格。")]},
        )
    return reference


def _clean_units(units) -> int:
    try:
        value = int(units)
    except (TypeError, ValueError):
        value = 0
    if isinstance(units, bool) or str(value) != str(units).strip() or not 1 <= value <= MAX_UNITS:
        raise ValidationFailed(
            _("数量不正确。"), fields={"units": [_("数量须为 1–%(max)s 的整数。") % {"max": MAX_UNITS}]}
        )
    return value


# --- What a request means, for its Idempotency-Key ------------------------------------------------


def _as_int(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip() if value is not None else ""
    return int(text) if re.fullmatch(r"-?\d{1,20}", text) else value


def _as_money(value):
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return value
    if not amount.is_finite() or amount != rules.to_fen(amount):
        return str(value)
    return format(rules.to_fen(amount), "f")


def _as_member_token(value):
    """A number code as its digits (typed with spaces or full-width, it is the same code); a QR
    token as sent."""
    text = (value or "").strip()
    digits = normalize_card_input(text)
    return (digits if is_short_code(digits) else text) or None


def redemption_request(
    *,
    offer,
    store,
    amount,
    units=1,
    card_number: str | None = None,
    member_token: str | None = None,
    api_key: ApiKey | None = None,
    merchant_reference: str | None = None,
) -> dict:
    """A redemption request as its Idempotency-Key compares it: by what it means, not how it is
    written — ids and units as numbers, the card number without spaces or dashes, the amount to the
    fen (100, 100.0 and "100.00" are one amount; 100.01 is another), the store a pinned key names
    by itself. A value that does not parse stays as sent, so a malformed request sent again replays
    its refusal. The POS API and the cashier screen both hash this."""
    pinned = api_key.store_id if api_key is not None else None
    return {
        "offer": _as_int(offer),
        "store": _as_int(store) if store not in (None, "") else pinned,
        "card_number": normalize_card_number(card_number) if card_number else None,
        "member_token": _as_member_token(member_token),
        "amount": _as_money(amount),
        "units": _as_int(units),
        "merchant_reference": (merchant_reference or "").strip() or None,
    }


# --- Counters: one conditional statement each ----------------------------------------------------
# Taking: discounts_redemption_take() (migration discounts 0006), in the same statement as the insert
# of the redemption row. Releasing (void) is rare and runs from here, in the same order.

_RELEASE_MEMBER_DAY = """
UPDATE discounts_memberofferdaycounter SET used = used - %(units)s
WHERE offer_id = %(offer)s AND member_id = %(member)s AND day = %(day)s AND used >= %(units)s
"""
_RELEASE_MEMBER_TOTAL = """
UPDATE discounts_memberoffertotalcounter SET used = used - %(units)s
WHERE offer_id = %(offer)s AND member_id = %(member)s AND used >= %(units)s
"""
_RELEASE_OFFER_DAY = """
UPDATE discounts_offerdaycounter SET used = used - %(units)s
WHERE offer_id = %(offer)s AND day = %(day)s AND used >= %(units)s
"""
_RELEASE_BUDGET = """
UPDATE discounts_offer SET budget_used = budget_used - %(subsidy)s
WHERE id = %(offer)s AND budget_used >= %(subsidy)s
"""


REDEMPTION_COLUMNS = tuple(f.attname for f in Redemption._meta.concrete_fields if f.attname != "id")

# Redemption.save() as one plain INSERT (the ORM would compile the same statement anew for every
# redemption, which costs more CPU than the database spends running it), with the limits taken by
# discounts_redemption_take() in the same statement: it raises 'refused:<reason>' when a limit is
# reached, and the statement, the inserted row included, is undone.
_RECORD = (
    "WITH r AS (INSERT INTO discounts_redemption "  # noqa: S608 - the column names come from the model
    f"({', '.join(REDEMPTION_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(REDEMPTION_COLUMNS))}) RETURNING id) "
    "SELECT r.id, discounts_redemption_take(%s, %s, %s, %s, %s, %s, r.id, %s, %s, %s) FROM r"
)

_REFUSED = "refused:"
_REFUSALS = {
    **{name: lambda made=made: made().refusal() for name, made in usability.REFUSED_BY_DATABASE.items()},
    "claim_lost": idempotency.LostRace,
}


def _reference_used() -> ApplicationError:
    return Conflict(_("该商户单号已用于另一笔核销。"), code="merchant_reference_used")


def _token_used() -> ApplicationError:
    return rules.Refusal(_("该会员二维码已用于一笔核销，请会员刷新二维码。"), code="card_token_used")


# A constraint whose violation is the caller's doing, not a fault: its refusal.
_CONSTRAINT_REFUSALS = {
    "redemption_merchant_reference_unique": _reference_used,
    "redemption_member_token_once": _token_used,
}


def member_token_hash(member_token: str | None) -> str:
    """What a redemption keeps of the QR token it was made with (never the token itself)."""
    token = (member_token or "").strip()
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def _refusal(error: DatabaseError) -> Exception | None:
    """The refusal discounts_redemption_take() raised (or a constraint of the caller's making), or
    None for any other database error."""
    cause = error.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if getattr(cause, "sqlstate", None) == "23505" and constraint in _CONSTRAINT_REFUSALS:
        return _CONSTRAINT_REFUSALS[constraint]()
    if getattr(cause, "sqlstate", None) != "P0001":
        return None
    message = cause.diag.message_primary or ""
    make = _REFUSALS.get(message.removeprefix(_REFUSED)) if message.startswith(_REFUSED) else None
    return make() if make else None


def _await_durable() -> None:
    """Return once every commit of this connection so far is flushed to disk.

    A redemption commits without waiting for its WAL flush, so the offer's day counter row is free
    for the next till at once. This short transaction commits with a flush (it takes a transaction
    id, so its commit is written and waited for), which covers every earlier commit: only then is
    the till answered. A crash in between loses the redemption and its answer together — the till
    got no answer and retries with the same Idempotency-Key — and also every later redemption of the
    same rows, since nothing after a lost WAL record survives either."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()")


def _record(redemption: Redemption, params: list) -> None:
    """Run the recording statement; in a transaction of the caller's, the caller's commit is the
    one that is waited for (after it, see ``_await_durable``)."""
    if connection.in_atomic_block:
        transaction.on_commit(_await_durable)
    with connection.cursor() as cursor:
        cursor.execute(_RECORD, params)
        redemption.pk = cursor.fetchone()[0]


_TAKE = "SELECT discounts_redemption_take(%s, %s, %s, %s, %s, NULL, NULL, NULL, NULL, false)"


def limits_take(*, offer_id: int, member_id: int, day: date, units: int, subsidy: Decimal) -> None:
    """Take ``units`` of an offer's limits for a use that is not a till's redemption (a claimed code
    of an online offer): the member's day and total counters, the offer's day counter and the budget,
    by the same database function and in the same order as ``redemption_create``, or raise its
    refusal. Call it inside the transaction that records the use, so a refusal of anything after it
    gives the units back."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_TAKE, [offer_id, member_id, day, units, subsidy])
    except DatabaseError as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        raise refusal from None


def _release(cursor, sql: str, params: dict, what: str) -> None:
    cursor.execute(sql, params)
    if cursor.rowcount != 1:
        # The counter no longer covers this redemption: refuse the void rather than hide a broken total.
        logger.error("redemption counter out of step", extra={"counter": what, **params})
        raise Conflict(_("核销计数异常，请联系平台处理。"), code="counter_out_of_step")


# --- Redeem ------------------------------------------------------------------------------------


def redemption_preview(*, offer: Offer, amount, units=1) -> rules.Amounts:
    """What a redemption of ``amount`` would come to, before it is made (the till shows the payable
    amount ahead of the confirm button): the same cleaning and computation as redemption_create."""
    return rules.compute_amounts(offer, amount=_clean_amount(amount), units=_clean_units(units))


def redemption_create(
    *,
    merchant: Merchant,
    store_id: int | None,
    offer_id: int,
    card_number: str | None = None,
    member_token: str | None = None,
    amount: Decimal | str,
    units: int = 1,
    idempotency_key: str = "",
    api_key: ApiKey | None = None,
    created_by=None,
    now: datetime | None = None,
    claim: idempotency.Claim | None = None,
    answer_for: Callable[[Redemption], dict] | None = None,
    merchant_reference: str = "",
) -> Redemption:
    """Redeem an offer for a member at one of the merchant's stores, or raise the refusal.

    A refused redemption changes nothing: the row is inserted and every limit is taken by one
    statement, which a refusal undoes entirely.

    With ``claim`` (of an Idempotency-Key), ``answer_for(redemption)`` is the answer to store in the
    claimed record in that same statement; the redemption's id is filled in by the database.
    Called outside a transaction, the statement is the transaction: the function returns once it
    is durable. Inside the caller's transaction, the caller's commit waits for the disk.

    The merchant must be open on the local day (``merchant.closed_by``: status and contract dates,
    which the POS key lookup reads with the key, so the check costs no query)."""
    now = now or timezone.now()
    day = rules.local_day(now)
    ensure_merchant_open(merchant, day)
    amount = _clean_amount(amount)
    units = _clean_units(units)
    merchant_reference = _clean_reference(merchant_reference)
    store_id = _store_id(store_id=store_id, api_key=api_key)
    offer_id = _offer_id(offer_id)
    card_key = _card_key(card_number, member_token)
    key_store = _key_store(api_key, store_id)
    store, offer, card = _rows(
        store_id=None if key_store else store_id,
        offer_id=offer_id,
        card=card_key if card_key[1] else ("id", None),
    )
    store = _store_allowed(key_store or store, merchant)
    offer = _offer_allowed(offer, merchant)
    card = _card_at(merchant, card)
    member = card.member
    # The one usability rule, without the counters: the database function below takes them.
    refusal = usability.offer_usability(
        offer,
        now=now,
        member=member,
        card=card,
        store_id=store.pk,
        offer_store_ids=_offer_store_ids(offer),
        merchant_checked=True,
    ).refusal()
    if refusal is not None:
        raise refusal
    amounts = rules.compute_amounts(offer, amount=amount, units=units)

    redemption = Redemption(
        offer=offer,
        merchant=merchant,
        store=store,
        card=card,
        member=member,
        units=units,
        amount=amounts.amount,
        discount=amounts.discount,
        payable=amounts.payable,
        union_subsidy=amounts.union_subsidy,
        # The union's share is spent from the offer's fund by the same statement (docs/funds.md).
        fund_id=offer.fund_id if amounts.union_subsidy > 0 else None,
        funder=offer.funder,
        local_day=day,
        idempotency_key=idempotency_key,
        merchant_reference=merchant_reference,
        member_token_hash=member_token_hash(member_token) if card_key[0] == "id" else "",
        api_key=api_key,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        created_at=timezone.now(),
    )
    claim_id = answer = None
    if claim is not None:
        claim_id, answer = claim.record_id, Jsonb(answer_for(redemption) if answer_for else {})
    params = [getattr(redemption, column) for column in REDEMPTION_COLUMNS]
    params += [
        offer.pk,
        member.pk,
        day,
        units,
        amounts.union_subsidy,
        redemption.fund_id,
        claim_id,
        answer,
        True,
    ]
    in_transaction = connection.in_atomic_block
    try:
        if in_transaction:
            with transaction.atomic():  # a savepoint: a refusal leaves the caller's transaction usable
                _record(redemption, params)
        else:
            _record(redemption, params)
    except DatabaseError as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        raise refusal from None
    if not in_transaction:
        _await_durable()
    redemption._state.adding = False
    redemption._state.db = DEFAULT_DB_ALIAS
    if claim is not None:
        claim.answered = True
    return redemption


# --- Which redemptions a till may see and void ---------------------------------------------------


def redemptions_visible(*, merchant: Merchant, store_id: int | None) -> QuerySet[Redemption]:
    """The redemptions a till may list, open and void: its merchant's, and only its own store's when
    the till is pinned to one (a store-pinned POS key, a cashier pinned to a store). The POS list and
    void and the cashier screen's list, receipt and void all start from here."""
    queryset = Redemption.objects.filter(merchant=merchant)
    if store_id is not None:
        queryset = queryset.filter(store_id=store_id)
    return queryset


# --- Void --------------------------------------------------------------------------------------


def redemption_void(
    *,
    redemption: Redemption,
    reason: str,
    voided_by=None,
    api_key: ApiKey | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Void a redemption of today (local day), once; its units, member limits and budget are released
    in the same transaction as the status change."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写撤销原因。"), fields={"reason": [_("该字段是必填项。")]})
    if len(reason) > MAX_VOID_REASON:
        raise ValidationFailed(_("撤销原因过长。"), fields={"reason": [_("最多 255 个字符。")]})
    if redemption.status == Redemption.Status.VOIDED:
        raise Conflict(_("该笔核销已撤销。"), code="already_voided")
    if redemption.local_day != rules.local_day(now):
        raise Conflict(_("只能撤销当天的核销。"), code="void_window_closed")
    user = voided_by if getattr(voided_by, "is_authenticated", False) else None
    params = {
        "offer": redemption.offer_id,
        "member": redemption.member_id,
        "day": redemption.local_day,
        "units": redemption.units,
        "subsidy": redemption.union_subsidy,
    }
    with transaction.atomic():
        # The guarded UPDATE is the claim: of two concurrent voids exactly one changes the row.
        claimed = Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.COMPLETED).update(
            status=Redemption.Status.VOIDED, voided_at=now, voided_by=user, void_reason=reason
        )
        if claimed != 1:
            raise Conflict(_("该笔核销已撤销。"), code="already_voided")
        with connection.cursor() as cursor:
            _release(cursor, _RELEASE_MEMBER_DAY, params, "member_day")
            _release(cursor, _RELEASE_MEMBER_TOTAL, params, "member_total")
            _release(cursor, _RELEASE_OFFER_DAY, params, "offer_day")
            if redemption.union_subsidy > 0:
                _release(cursor, _RELEASE_BUDGET, params, "budget")
        if redemption.fund_id is not None and redemption.union_subsidy > 0:
            # The fund row last, as the redemption took it; at most what this redemption spent.
            fund_give_back(
                fund_id=redemption.fund_id,
                amount=redemption.union_subsidy,
                reference=Reference.to(redemption),
            )
        merchant = Merchant.objects.select_related("region").get(pk=redemption.merchant_id)
        audit_record(
            actor=user or (f"apikey:{api_key.prefix}" if api_key is not None else None),
            action=AuditEvent.Action.REDEMPTION_VOIDED,
            target=redemption,
            label=f"{merchant.name} #{redemption.pk}",
            union_path=merchant.region.path,
            data={
                "reason": reason,
                "offer": redemption.offer_id,
                "units": redemption.units,
                "amount": str(redemption.amount),
                "union_subsidy": str(redemption.union_subsidy),
            },
        )
    redemption.status = Redemption.Status.VOIDED
    redemption.voided_at = now
    redemption.voided_by = user
    redemption.void_reason = reason
    return redemption


# --- Verify ------------------------------------------------------------------------------------


@dataclass
class OfferCheck:
    offer: Offer
    eligible: bool
    reason: str = ""
    reason_code: str = ""
    remaining_today: int | None = None
    usability: usability.Usability | None = None


@dataclass
class Verification:
    card: Card
    member: Member
    offers: list[OfferCheck] = field(default_factory=list)

    @property
    def eligible_offers(self) -> list[OfferCheck]:
        return [check for check in self.offers if check.eligible]


def usable_offers(merchant: Merchant, day: date):
    """The merchant's published in-store offers whose dates cover ``day``: those a till may be
    asked about (``usability.offer_usability`` then judges each)."""
    return (
        Offer.objects.filter(
            merchant=merchant,
            status=Offer.Status.PUBLISHED,
            channel=Offer.Channel.IN_STORE,
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .select_related("eligible_union", "bank")
        .prefetch_related("stores")
        .order_by("id")
    )


def redemption_verify(
    *,
    merchant: Merchant,
    card_number: str | None = None,
    member_token: str | None = None,
    store_id: int | None = None,
    api_key: ApiKey | None = None,
    now: datetime | None = None,
) -> Verification:
    """Who the card belongs to (masked by the callers) and which of the merchant's offers the member
    can use now (``usability.offer_usability`` with the counters read), with what is left of each
    offer's daily quota. A read: nothing is reserved. A merchant that is not open today verifies
    nothing."""
    now = now or timezone.now()
    day = rules.local_day(now)
    ensure_merchant_open(merchant, day)
    store = None
    if store_id not in (None, "") or (api_key is not None and api_key.store_id):
        store = store_for_redemption(merchant=merchant, store_id=store_id, api_key=api_key)
    card = card_identify(merchant=merchant, card_number=card_number, member_token=member_token)
    member = card.member
    offers = list(usable_offers(merchant, day))
    ids = [offer.pk for offer in offers]
    used_today = dict(
        OfferDayCounter.objects.filter(offer_id__in=ids, day=day).values_list("offer_id", "used")
    )
    member_today = dict(
        MemberOfferDayCounter.objects.filter(offer_id__in=ids, member=member, day=day).values_list(
            "offer_id", "used"
        )
    )
    member_total = dict(
        MemberOfferTotalCounter.objects.filter(offer_id__in=ids, member=member).values_list(
            "offer_id", "used"
        )
    )
    fund_ids = {offer.fund_id for offer in offers if offer.fund_id is not None}
    fund_left = dict(Fund.objects.filter(pk__in=fund_ids).with_left().values_list("pk", "left_amount"))
    checks = []
    for offer in offers:
        answer = usability.offer_usability(
            offer,
            now=now,
            member=member,
            card=card,
            store_id=store.pk if store else None,
            offer_store_ids=_offer_store_ids(offer),
            usage=usability.Usage(
                used_today=used_today.get(offer.pk, 0),
                member_today=member_today.get(offer.pk, 0),
                member_total=member_total.get(offer.pk, 0),
                fund_left=fund_left.get(offer.fund_id),
            ),
            merchant_checked=True,
        )
        checks.append(
            OfferCheck(
                offer=offer,
                eligible=answer.usable,
                reason=answer.message,
                reason_code=answer.code,
                remaining_today=answer.remaining_today,
                usability=answer,
            )
        )
    return Verification(card=card, member=member, offers=checks)

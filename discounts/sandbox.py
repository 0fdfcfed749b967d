"""The integrators' sandbox: test keys (``pk_test_…``) that act on a test merchant with test cards.

A POS vendor integrates against the same API, the same rules and the same database functions as a
live till, but in a world of its own:

* the sandbox merchant (``Merchant.is_sandbox``) and its offers are never listed to members and are
  never owed money (settlement leaves them out);
* its test members form a union tree of their own — a single workplace union that is not the
  province's — so no coverage figure, roster or staff list below the province counts them; they have
  no phone, so nobody signs in as one;
* their cards are issued by a test bank that is not a partner (``is_active`` false), numbered from
  its own BIN, and are usable only at the sandbox merchant — while real cards are unknown there
  (``discounts.redemption``: a card from the other world is "card not found");
* each test key gets a store of its own, so an integrator lists, reads and voids only its own test
  redemptions.

Each refusal has its fixture: the cards below for what depends on the card or the member, the
offers for what depends on the offer; "void window closed" comes from the ``Test-Now`` header a
test key may send (a fixed "now", e.g. yesterday's redemption voided today). docs/pos-api.md lists
them for integrators. The fixtures are made once, on the first test key (``sandbox_ensure``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from discounts.models import Offer
from members import pii
from members.cards import card_number_for
from members.models import (
    SANDBOX_UNION_CODE,
    SANDBOX_UNION_PATH,
    Card,
    Member,
    MemberGroup,
    PartnerBank,
    Union,
)
from merchants import apikeys
from merchants.models import ApiKey, Category, Merchant, Store

SANDBOX_BANK_CODE = "SANDBOX"
SANDBOX_BIN = "999999"
SANDBOX_MERCHANT_NAME = "接口测试商户（沙箱）"
SANDBOX_VALID = (datetime.date(2020, 1, 1), datetime.date(2099, 12, 31))


@dataclass(frozen=True)
class SandboxCard:
    serial: int
    name: str
    purpose: str
    card_status: str = Card.Status.ACTIVE
    member_status: str = Member.Status.ACTIVE
    groups: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return card_number_for(_BANK_SHAPE, self.serial)


@dataclass(frozen=True)
class SandboxOffer:
    title: str
    purpose: str
    kind: str
    fields: dict


# Only the shape of the number (BIN, serial length) is read from this unsaved bank.
_BANK_SHAPE = PartnerBank(code=SANDBOX_BANK_CODE, bin=SANDBOX_BIN, serial_length=9)

CARDS = (
    SandboxCard(1, "测试会员甲", "可用：除“劳模专享”外每张测试优惠都能核销"),
    SandboxCard(2, "测试会员乙", "可用：与甲相同，用作第二位会员"),
    SandboxCard(3, "测试会员丙", "已挂失 → card_inactive", card_status=Card.Status.FROZEN),
    SandboxCard(4, "测试会员丁", "已退休、不在会 → member_inactive", member_status=Member.Status.RETIRED),
    SandboxCard(5, "测试会员戊", "劳动模范：唯一能用“劳模专享”的卡", groups=(MemberGroup.MODEL_WORKER,)),
)

OFFERS = (
    SandboxOffer(
        "测试：立减10元", "可用：立减 10 元，不限量", Offer.Kind.AMOUNT_OFF, {"amount_off": "10.00"}
    ),
    SandboxOffer("测试：88折", "可用：打 88 折，不限量", Offer.Kind.PERCENT_OFF, {"percent_off": "12.00"}),
    SandboxOffer(
        "测试：名额已满",
        "今日名额为 0 → quota_exhausted",
        Offer.Kind.AMOUNT_OFF,
        {"amount_off": "5.00", "daily_quota": 0},
    ),
    SandboxOffer(
        "测试：预算已用完",
        "工会补贴的预算已用完 → budget_exhausted",
        Offer.Kind.AMOUNT_OFF,
        {
            "amount_off": "5.00",
            "funder": Offer.Funder.UNION,
            "budget": Decimal("10.00"),
            "budget_used": Decimal("10.00"),
        },
    ),
    SandboxOffer(
        "测试：劳模专享",
        "仅劳动模范 → 其他卡 not_eligible",
        Offer.Kind.AMOUNT_OFF,
        {"amount_off": "8.00", "eligible_groups": [MemberGroup.MODEL_WORKER]},
    ),
)


def sandbox_merchant() -> Merchant | None:
    return Merchant.objects.filter(is_sandbox=True).select_related("region").first()


@transaction.atomic
def sandbox_ensure() -> Merchant:
    """The sandbox merchant with its test cards and offers, made the first time (idempotent, and
    safe when two managers make the first test keys at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('discounts.sandbox'))")
    merchant = sandbox_merchant()
    if merchant is not None:
        return merchant
    union, _ = Union.objects.get_or_create(
        code=SANDBOX_UNION_CODE,
        defaults={
            "name": "接口测试工会（沙箱）",
            "name_en": "Integration sandbox",
            "level": Union.Level.WORKPLACE,
            "path": SANDBOX_UNION_PATH,
            "depth": 0,
        },
    )
    bank, _ = PartnerBank.objects.get_or_create(
        code=SANDBOX_BANK_CODE,
        defaults={"name": "测试银行（沙箱）", "bin": SANDBOX_BIN, "serial_length": 9, "is_active": False},
    )
    for test_card in CARDS:
        _test_card(test_card, union=union, bank=bank)
    category = Category.objects.order_by("sort_order", "pk").first()
    merchant = Merchant(
        name=SANDBOX_MERCHANT_NAME,
        category=category,
        region=union,
        contact_name="接口测试",
        contact_phone="0",
        description="POS 接口对接测试专用：测试密钥只能在这里使用测试卡，不计入任何统计与结算。",
        status=Merchant.Status.APPROVED,
        reviewed_at=timezone.now(),
        is_sandbox=True,
    )
    merchant.save()
    valid_from, valid_until = SANDBOX_VALID
    for test_offer in OFFERS:
        offer = Offer(
            merchant=merchant,
            title=test_offer.title,
            description=test_offer.purpose,
            kind=test_offer.kind,
            status=Offer.Status.PUBLISHED,
            valid_from=valid_from,
            valid_until=valid_until,
            **{"budget_owner": union} if test_offer.fields.get("funder") == Offer.Funder.UNION else {},
            **test_offer.fields,
        )
        offer.save()
    return merchant


def _test_card(test_card: SandboxCard, *, union: Union, bank: PartnerBank) -> Card:
    # Not a person: the "ID number" is the card's own label, which no real number can equal (real
    # ones are checked), so a test member never stands in the way of a real one.
    label = f"SANDBOX-{test_card.serial:04d}"
    member, _ = Member.objects.get_or_create(
        id_number_hash=pii.hash_id_number(label),
        defaults={
            "name": test_card.name,
            "id_number_encrypted": pii.encrypt_id_number(label),
            "id_number_masked": label,
            "phone": "",
            "union": union,
            "status": test_card.member_status,
            "groups": list(test_card.groups),
        },
    )
    now = timezone.now()
    card, _ = Card.objects.get_or_create(
        number=test_card.number,
        defaults={
            "bank": bank,
            "serial": test_card.serial,
            "member": member,
            "status": test_card.card_status,
            "activated_at": now,
            "frozen_at": now if test_card.card_status == Card.Status.FROZEN else None,
        },
    )
    return card


@transaction.atomic
def sandbox_key_create(
    *, merchant: Merchant, name: str, created_by, raw_key: str | None = None
) -> tuple[ApiKey, str]:
    """A test key for ``merchant``'s integrator, with a sandbox store of its own (its redemptions
    are listed to that key only). Returns the key and its secret, shown once (``raw_key``: the
    demo's, derived from its seed)."""
    sandbox = sandbox_ensure()
    store = Store.objects.create(
        merchant=sandbox,
        name=f"{merchant.name} · {name}"[: Store._meta.get_field("name").max_length],
        region=sandbox.region,
        address="接口测试",
    )
    return apikeys.api_key_create(
        merchant=sandbox, name=name, store=store, created_by=created_by, sandbox_for=merchant, raw_key=raw_key
    )

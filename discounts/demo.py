"""Demo offers of the demo merchants, with the codes of the online one and the cinema's quota trail.

Deterministic for a seed and idempotent: a demo merchant (merchants.demo, recognised by its licence
number) gets its offers when it has none, so a second run creates nothing. ``count`` is the number of
demo merchants: 3,000 of them share 20,000 offers, inserted in chunks.

Two people sign every offer, as the services require: the province admin reviews the merchants'
offers; the union's own allowance is drafted by the city operator. The showcase merchants'
offers take the statuses such a merchant's offers take (see ``SHOWCASE_OFFER_STATUSES``)."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from discounts import sandbox
from discounts.models import Offer, Redemption, SavedMerchant, SavedOffer, VoucherCode
from discounts.redemption import redemption_create, redemption_void
from discounts.services import offer_change_limits
from discounts.vouchers import voucher_random_code
from members.demo import DEMO_PHONE_PREFIX, DEMO_STAFF, demo_secret
from members.models import Member, PartnerBank, Union
from merchants import apikeys
from merchants import demo as merchants_demo
from merchants.models import ApiKey, Merchant
from portal.clock import local_day
from portal.errors import ApplicationError

BATCH_SIZE = 1000
ONLINE_CODES = 500
QUOTA_CHOICES = [None, None, None, 100, 200, 500]
CINEMA_TICKET = "周末会员10元观影"
# The cinema's daily quota as the province raised it: created at 200, then 500 → 1000 → 1500, each
# step through offer_change_limits so the admin shows the trail.
CINEMA_QUOTA_HISTORY = (200, 500, 1000, 1500)


# Per category of the merchant: offer templates (title, kind, fields); percent_off is the percentage
# taken off (12 → 88折).
OFFER_TEMPLATES = {
    "supermarkets": [
        ("会员购物95折", Offer.Kind.PERCENT_OFF, {"percent_off": "5", "per_member_daily_limit": 1}),
        ("购物满200减20", Offer.Kind.AMOUNT_OFF, {"amount_off": "20", "min_spend": "200"}),
        ("周三生鲜9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10", "weekdays": [3]}),
    ],
    "entertainment": [
        ("会员观影特价25元", Offer.Kind.FIXED_PRICE, {"fixed_price": "25", "unit_label": "张"}),
        ("欢唱8折", Offer.Kind.PERCENT_OFF, {"percent_off": "20"}),
        ("健身月卡满300减100", Offer.Kind.AMOUNT_OFF, {"amount_off": "100", "min_spend": "300"}),
    ],
    "dining": [
        ("用餐满100减20", Offer.Kind.AMOUNT_OFF, {"amount_off": "20", "min_spend": "100"}),
        (
            "工作日午餐88折",
            Offer.Kind.PERCENT_OFF,
            {
                "percent_off": "12",
                "weekdays": [1, 2, 3, 4, 5],
                "time_from": "11:00",
                "time_until": "14:00",
            },
        ),
        ("会员双人套餐68元", Offer.Kind.FIXED_PRICE, {"fixed_price": "68", "unit_label": "份"}),
    ],
    "health": [
        ("职工体检套餐8折", Offer.Kind.PERCENT_OFF, {"percent_off": "20"}),
        ("购药满100减10", Offer.Kind.AMOUNT_OFF, {"amount_off": "10", "min_spend": "100"}),
        ("洁牙特价99元", Offer.Kind.FIXED_PRICE, {"fixed_price": "99", "unit_label": "次"}),
    ],
    "services": [
        ("洗衣满50减10", Offer.Kind.AMOUNT_OFF, {"amount_off": "10", "min_spend": "50"}),
        ("家政服务9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
        ("会员理发15元", Offer.Kind.FIXED_PRICE, {"fixed_price": "15", "unit_label": "次"}),
    ],
    "travel": [
        ("景区门票半价", Offer.Kind.PERCENT_OFF, {"percent_off": "50", "unit_label": "张"}),
        ("旅游线路满1000减100", Offer.Kind.AMOUNT_OFF, {"amount_off": "100", "min_spend": "1000"}),
        ("租车85折", Offer.Kind.PERCENT_OFF, {"percent_off": "15"}),
    ],
    "education": [
        ("职工技能培训9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
        ("购书满100减15", Offer.Kind.AMOUNT_OFF, {"amount_off": "15", "min_spend": "100"}),
        ("子女托管班满1000减200", Offer.Kind.AMOUNT_OFF, {"amount_off": "200", "min_spend": "1000"}),
    ],
    "finance": [
        ("职工意外险特价30元", Offer.Kind.FIXED_PRICE, {"fixed_price": "30", "unit_label": "份"}),
        ("家财险9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
        ("工会卡开户礼立减10元", Offer.Kind.AMOUNT_OFF, {"amount_off": "10"}),
    ],
}


def _featured_offers(province: Union, bank: PartnerBank) -> list[list[tuple]]:
    """The offers of merchants_demo.FEATURED, by position."""
    return [
        # 星光国际影城（长安店）
        [
            (
                CINEMA_TICKET,
                Offer.Kind.FIXED_PRICE,
                {
                    "fixed_price": "10",
                    "weekdays": [6, 7],
                    "daily_quota": CINEMA_QUOTA_HISTORY[0],
                    "unit_label": "张",
                    "per_member_daily_limit": 2,
                    "description": "周六、周日全天场次，凭工会会员卡购票，每张10元。",
                },
            )
        ],
        # 河北仁济医院
        [
            (
                "会员健康体检套餐",
                Offer.Kind.FIXED_PRICE,
                {
                    "fixed_price": "299",
                    "unit_label": "份",
                    "per_member_total_limit": 1,
                    "description": "工会会员凭会员卡预约健康体检，每人限1次。",
                },
            )
        ],
        # 北国优选超市（裕华店）
        [
            ("会员购物95折", Offer.Kind.PERCENT_OFF, {"percent_off": "5", "per_member_daily_limit": 1}),
            (
                "困难职工购物88折",
                Offer.Kind.PERCENT_OFF,
                {"percent_off": "12", "eligible_groups": ["hardship"], "per_member_daily_limit": 1},
            ),
        ],
        # 燕赵人家饭庄
        [
            ("用餐满100减20", Offer.Kind.AMOUNT_OFF, {"amount_off": "20", "min_spend": "100"}),
        ],
        # 河北银行工会卡服务中心
        [
            (
                "工会卡刷卡满100减30",
                Offer.Kind.AMOUNT_OFF,
                {
                    "amount_off": "30",
                    "min_spend": "100",
                    "funder": Offer.Funder.BANK,
                    "bank": bank,
                    "daily_quota": 200,
                    "per_member_total_limit": 3,
                    "description": "河北银行出资，使用工会会员卡支付即可享受。",
                },
            ),
        ],
        # 工会会员商城
        [
            (
                "品牌好物满199减30券",
                Offer.Kind.AMOUNT_OFF,
                {
                    "amount_off": "30",
                    "min_spend": "199",
                    "channel": Offer.Channel.ONLINE,
                    "per_member_total_limit": 1,
                    "eligible_union": province,
                    "description": "在会员商城结算时输入券码即可使用。",
                },
            ),
        ],
    ]


# The statuses the offers of each showcase merchant (merchants_demo.STATUS_SHOWCASE, by position) take
# in turn: an applied merchant's are drafts or pending, a rejected one's rejected or drafts, and so on.
SHOWCASE_OFFER_STATUSES = (
    (Offer.Status.DRAFT, Offer.Status.PENDING),
    (Offer.Status.REJECTED, Offer.Status.DRAFT),
    (Offer.Status.PAUSED, Offer.Status.PUBLISHED, Offer.Status.APPROVED),
    (Offer.Status.ENDED, Offer.Status.PUBLISHED),
)
OFFER_REJECTED_REASON = "优惠说明不清，请写明适用商品范围。"
REVIEWER = merchants_demo.REVIEWER  # the province admin signs the merchants and reviews their offers
# Variants of a template that say who may use it: everybody, hardship members, the merchant's city.
VARIANTS = ["", "（困难职工专享）", "（本市会员专享）"]
# The fields given as text in the templates that are amounts of money.
MONEY_FIELDS = {"percent_off", "amount_off", "min_spend", "fixed_price", "allowance_per_unit", "budget"}


def _offer_counts(count: int, featured: list[list[tuple]]) -> list[int]:
    """Offers per merchant: 20 for every 3 merchants in all (3,000 merchants → 20,000 offers); the
    featured merchants keep their own offers and the others share the rest evenly."""
    featured = featured[:count]
    target = count * 20 // 3
    counts = [len(offers) for offers in featured]
    generic = count - len(featured)
    if generic:
        remaining = max(target - sum(counts), generic)
        base, extra = divmod(remaining, generic)
        counts += [base + (1 if index < extra else 0) for index in range(generic)]
    return counts


def _generic_offers(templates, how_many: int, rng: random.Random, city: Union) -> list[tuple]:
    specs = []
    for number in range(how_many):
        title, kind, fields = templates[number % len(templates)]
        round_number = number // len(templates)
        fields = dict(fields)
        if "daily_quota" not in fields:
            fields["daily_quota"] = rng.choice(QUOTA_CHOICES)
        variant = VARIANTS[round_number % len(VARIANTS)]
        if variant == VARIANTS[1]:
            fields["eligible_groups"] = ["hardship"]
        elif variant == VARIANTS[2]:
            fields["eligible_union"] = city
        if round_number >= len(VARIANTS):
            variant += f"（第{round_number // len(VARIANTS) + 1}期）"
        specs.append((f"{title}{variant}", kind, fields))
    return specs


def seed_offers(*, seed: int = 1, count: int = 60, log=print) -> int:
    """Give each of the first ``count`` demo merchants of ``seed`` its offers unless it has some
    (idempotent); returns how many merchants got theirs. The merchants must exist
    (merchants.demo.seed_merchants)."""
    merchants = merchants_demo.demo_merchants(seed=seed, count=count)
    with_offers = set(
        Offer.objects.filter(merchant__in=[merchant for _index, merchant in merchants])
        .values_list("merchant_id", flat=True)
        .distinct()
    )
    missing = [(index, merchant) for index, merchant in merchants if merchant.pk not in with_offers]
    if missing:
        with transaction.atomic():
            _create_offers(seed=seed, count=count, missing=missing)
        log(f"offers: for {len(missing)} merchants created")
    _raise_cinema_quota(seed)
    return len(missing)


def _create_offers(*, seed: int, count: int, missing: list[tuple[int, Merchant]]) -> None:
    today = local_day()
    province = Union.objects.get(code="130000")
    bank, _created = PartnerBank.objects.get_or_create(
        code="HBBANK", defaults={"name": "河北银行", "bin": "622888"}
    )
    featured = _featured_offers(province, bank)
    offer_counts = _offer_counts(count, featured)
    reviewer = get_user_model().objects.filter(username=REVIEWER, is_staff=True).first()
    cities = {city.code: city for city in Union.objects.filter(code__in=merchants_demo.CITY_CENTRES)}
    valid_from = datetime.date(today.year, 1, 1)
    valid_until = datetime.date(today.year + 1, 12, 31)
    now = timezone.now()
    for start in range(0, len(missing), BATCH_SIZE):
        offers, online = [], []
        for index, merchant in missing[start : start + BATCH_SIZE]:
            if index < len(featured):
                offer_specs = featured[index]
            else:
                offer_specs = _generic_offers(
                    OFFER_TEMPLATES[merchant.category.code],
                    offer_counts[index],
                    random.Random(f"offers:{seed}:{index}"),
                    cities[merchants_demo.city_code(merchant.region)],
                )
            position = merchants_demo.showcase_position(index)
            statuses = (
                SHOWCASE_OFFER_STATUSES[position] if position is not None else (Offer.Status.PUBLISHED,)
            )
            for number, (title, kind, fields) in enumerate(offer_specs):
                offer = Offer(
                    merchant=merchant,
                    title=title,
                    kind=kind,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    **_offer_review(
                        statuses[number % len(statuses)],
                        reviewer=reviewer,
                        # the newest first on the home page: the featured merchants lead the list
                        moment=now - datetime.timedelta(seconds=index * 10 + number),
                    ),
                )
                for name, value in fields.items():
                    if name in MONEY_FIELDS:
                        value = Decimal(value)
                    elif name in {"time_from", "time_until"}:
                        value = datetime.time.fromisoformat(value)
                    setattr(offer, name, value)
                offers.append(offer)
                if offer.channel == Offer.Channel.ONLINE:
                    online.append((offer, random.Random(f"codes:{seed}:{index}")))
        Offer.objects.bulk_create(offers, batch_size=BATCH_SIZE)
        for offer, rng in online:
            codes = list(dict.fromkeys(voucher_random_code(rng) for _ in range(ONLINE_CODES)))
            VoucherCode.objects.bulk_create([VoucherCode(offer=offer, code=code) for code in codes])


def _offer_review(status: str, *, reviewer, moment) -> dict:
    """The workflow fields of an offer that has reached ``status`` (reviewed by ``reviewer``)."""
    fields: dict = {"status": status}
    if status != Offer.Status.DRAFT:
        fields["submitted_at"] = moment
    if status not in (Offer.Status.DRAFT, Offer.Status.PENDING):
        fields.update(reviewed_by=reviewer, reviewed_at=moment)
    if status == Offer.Status.REJECTED:
        fields["status_reason"] = OFFER_REJECTED_REASON
    if status in (Offer.Status.PUBLISHED, Offer.Status.PAUSED, Offer.Status.ENDED):
        fields["published_at"] = moment
    return fields


def _raise_cinema_quota(seed: int) -> None:
    offer = (
        Offer.objects.filter(
            merchant__licence_number=merchants_demo.licence_number(seed, 0), title=CINEMA_TICKET
        )
        .select_related("merchant__region")
        .first()
    )
    if offer is None or offer.daily_quota != CINEMA_QUOTA_HISTORY[0]:
        return  # not created by this seed, or already raised
    reviewer = get_user_model().objects.filter(username=DEMO_STAFF[0][0], is_staff=True).first()
    if reviewer is None:
        Offer.objects.filter(pk=offer.pk).update(daily_quota=CINEMA_QUOTA_HISTORY[-1])
        return
    _save_for_demo_members(offer)
    for quota in CINEMA_QUOTA_HISTORY[1:]:
        offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=quota)


def _save_for_demo_members(offer: Offer, how_many: int = 5) -> None:
    """The first demo members (those one signs in as) save the cinema offer and its merchant, so the
    quota rises below fill their "我的收藏" and inboxes with "quota raised" notices."""
    members = Member.objects.filter(
        phone__startswith=DEMO_PHONE_PREFIX, status=Member.Status.ACTIVE
    ).order_by("phone")[:how_many]
    for index, member in enumerate(members):
        SavedOffer.objects.get_or_create(member=member, offer=offer)
        if index % 2:
            SavedMerchant.objects.get_or_create(member=member, merchant=offer.merchant)


def with_offers(sign_ins: list[dict]) -> list[dict]:
    """The merchants' sign-ins of merchants.demo with each merchant's offers, after its stores (the
    order of DESIGN.md's demo document)."""
    offers: dict[int, list[dict]] = {entry["id"]: [] for entry in sign_ins}
    for offer in (
        Offer.objects.filter(merchant_id__in=offers).order_by("id").only("id", "title", "kind", "merchant")
    ):
        offers[offer.merchant_id].append({"id": offer.pk, "title": offer.title, "kind": offer.kind})
    result = []
    for entry in sign_ins:
        completed = {}
        for key, value in entry.items():
            completed[key] = value
            if key == "stores":
                completed["offers"] = offers[entry["id"]]
        result.append(completed)
    return result


def seed_sandbox(sign_ins: list[dict], *, seed: int = 1, log=print) -> list[dict]:
    """The first demo merchant's integrator gets a test key (``pk_test_…``, from the seed) with a test
    redemption made and one voided, so the sandbox page and the key's list show something; the
    merchant's sign-in gains ``test_key``."""
    if not sign_ins:
        return sign_ins
    first = sign_ins[0]
    prefix = demo_secret(seed, "pos-test-key-prefix", apikeys.KEY_PREFIX_LENGTH)
    raw_key = f"pk_{apikeys.TEST_MODE}_{prefix}_{demo_secret(seed, 'pos-test-key', 32)}"
    if not ApiKey.objects.filter(prefix=prefix).exists():
        merchant = Merchant.objects.get(pk=first["id"])
        key, _raw = sandbox.sandbox_key_create(
            merchant=merchant, name="收银系统厂商联调", created_by=None, raw_key=raw_key
        )
        plain = key.merchant.offers.order_by("id").first()
        for number, voided in ((sandbox.CARDS[0].number, False), (sandbox.CARDS[1].number, True)):
            redemption = redemption_create(
                merchant=key.merchant,
                store_id=key.store_id,
                offer_id=plain.pk,
                card_number=number,
                amount="88.00",
                api_key=key,
            )
            if voided:
                redemption_void(redemption=redemption, reason="联调：撤销测试", api_key=key)
        log(f"sandbox: test key for {merchant.name}")
    return [{**first, "test_key": raw_key}, *sign_ins[1:]]


DEMO_SAVERS = 3  # the last members of the demo list have something in 我的优惠记录 and 累计节省
DEMO_SAVER_PURCHASES = 3


def seed_savings(members: list[dict], *, log=print) -> int:
    """A few purchases for the last demo members with an active card, through the one redemption
    service, so that their card page and 我的优惠记录 show savings. Offers are taken from the newest,
    away from the first merchants that the walkthroughs use; an offer that is not usable right now
    (weekday, hour) is passed over.
    Idempotent: a member who has any redemption gets none."""
    savers = [m for m in members if m["card_status"] == "active"][-DEMO_SAVERS:]
    offers = list(
        Offer.objects.filter(
            status=Offer.Status.PUBLISHED,
            channel=Offer.Channel.IN_STORE,
            eligible_union__isnull=True,
            eligible_groups=[],
        )
        .select_related("merchant")
        .order_by("-id")[:40]
    )
    made = 0
    for saver in savers:
        if Redemption.objects.filter(card__number=saver["card_number"]).exists():
            continue
        bought = 0
        for offer in offers:
            if bought == DEMO_SAVER_PURCHASES:
                break
            store = offer.merchant.stores.filter(is_active=True).order_by("id").first()
            if store is None:
                continue
            try:
                redemption_create(
                    merchant=offer.merchant,
                    store_id=store.pk,
                    offer_id=offer.pk,
                    card_number=saver["card_number"],
                    amount=Decimal("128.00"),
                    idempotency_key=f"demo-savings-{saver['card_number']}-{offer.pk}",
                )
            except ApplicationError:
                continue
            bought += 1
        made += bought
    log(f"demo purchases: {made} made")
    return made

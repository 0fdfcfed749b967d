"""Demo merchants, stores, offers, merchant sign-ins and POS keys.

Deterministic for a seed and idempotent: merchant i is recognised by its licence number, so a second
run creates nothing and prints the same sign-ins; passwords and keys are derived from the seed.
``count`` scales to 3,000 merchants and 20,000 offers with chunked bulk inserts.

Two people sign every merchant and offer, as the services require: merchants are entered by the
demo merchant reviewer (or applied publicly) and signed by the province admin, who reviews the
offers too; the union's own allowance is drafted by the city operator. The merchants after the
sign-in ones show every other status of a merchant and its offers (see ``STATUS_SHOWCASE``)."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from discounts.models import Offer, VoucherCode
from discounts.rules import local_day
from discounts.services import offer_change_limits, voucher_random_code
from members.demo import DEMO_STAFF, demo_secret
from members.models import PartnerBank, Union
from merchants import apikeys
from merchants.models import ApiKey, Category, Merchant, MerchantUser, Store

BATCH_SIZE = 1000
SIGN_IN_MERCHANTS = 20  # merchants that get a manager, a cashier and a POS key
ONLINE_CODES = 500

# City centres (latitude, longitude) of the eleven cities; stores are placed around them.
CITY_CENTRES = {
    "130100": (38.0428, 114.5149),
    "130200": (39.6305, 118.1802),
    "130300": (39.9354, 119.6005),
    "130400": (36.6256, 114.5391),
    "130500": (37.0682, 114.5048),
    "130600": (38.8739, 115.4646),
    "130700": (40.8244, 114.8875),
    "130800": (40.9510, 117.9634),
    "130900": (38.3045, 116.8388),
    "131000": (39.5380, 116.6838),
    "131100": (37.7390, 115.6708),
}
AREA_CODES = {
    "130100": "0311",
    "130200": "0315",
    "130300": "0335",
    "130400": "0310",
    "130500": "0319",
    "130600": "0312",
    "130700": "0313",
    "130800": "0314",
    "130900": "0317",
    "131000": "0316",
    "131100": "0318",
}
STREETS = [
    "中山东路",
    "中山西路",
    "建设大街",
    "人民路",
    "解放路",
    "胜利大街",
    "和平路",
    "新华路",
    "育才街",
    "友谊大街",
    "裕华路",
    "槐安路",
    "体育大街",
    "平安大街",
    "光明路",
    "文化路",
]
# Per category: (brands, kinds of business, offer templates). An offer template is
# (title, kind, fields); percent_off is the percentage taken off (12 → 88折).
CATALOGUE = {
    "supermarkets": (
        ["北国", "惠友", "家乐购", "百信", "联华", "万佳"],
        ["超市", "购物中心", "百货"],
        [
            ("会员购物95折", Offer.Kind.PERCENT_OFF, {"percent_off": "5", "per_member_daily_limit": 1}),
            ("购物满200减20", Offer.Kind.AMOUNT_OFF, {"amount_off": "20", "min_spend": "200"}),
            ("周三生鲜9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10", "weekdays": [3]}),
        ],
    ),
    "entertainment": (
        ["星河", "金逸", "博纳", "光影", "欢乐谷"],
        ["影城", "欢唱KTV", "健身中心"],
        [
            ("会员观影特价25元", Offer.Kind.FIXED_PRICE, {"fixed_price": "25", "unit_label": "张"}),
            ("欢唱8折", Offer.Kind.PERCENT_OFF, {"percent_off": "20"}),
            ("健身月卡满300减100", Offer.Kind.AMOUNT_OFF, {"amount_off": "100", "min_spend": "300"}),
        ],
    ),
    "dining": (
        ["燕赵人家", "老槐树", "太行山", "滹沱河", "正定府"],
        ["饭庄", "酒楼", "食府", "大酒店"],
        [
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
    ),
    "health": (
        ["仁济", "康宁", "博爱", "安康"],
        ["医院", "大药房", "体检中心", "口腔诊所"],
        [
            ("职工体检套餐8折", Offer.Kind.PERCENT_OFF, {"percent_off": "20"}),
            ("购药满100减10", Offer.Kind.AMOUNT_OFF, {"amount_off": "10", "min_spend": "100"}),
            ("洁牙特价99元", Offer.Kind.FIXED_PRICE, {"fixed_price": "99", "unit_label": "次"}),
        ],
    ),
    "services": (
        ["洁丽", "好帮手", "美佳", "快修"],
        ["洗衣", "家政服务", "美发", "汽车养护"],
        [
            ("洗衣满50减10", Offer.Kind.AMOUNT_OFF, {"amount_off": "10", "min_spend": "50"}),
            ("家政服务9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
            ("会员理发15元", Offer.Kind.FIXED_PRICE, {"fixed_price": "15", "unit_label": "次"}),
        ],
    ),
    "travel": (
        ["燕赵", "太行", "渤海湾", "长城"],
        ["国际旅行社", "景区", "汽车租赁"],
        [
            ("景区门票半价", Offer.Kind.PERCENT_OFF, {"percent_off": "50", "unit_label": "张"}),
            ("旅游线路满1000减100", Offer.Kind.AMOUNT_OFF, {"amount_off": "100", "min_spend": "1000"}),
            ("租车85折", Offer.Kind.PERCENT_OFF, {"percent_off": "15"}),
        ],
    ),
    "education": (
        ["启明", "博学", "育英", "新知"],
        ["职业培训学校", "书店", "教育中心"],
        [
            ("职工技能培训9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
            ("购书满100减15", Offer.Kind.AMOUNT_OFF, {"amount_off": "15", "min_spend": "100"}),
            ("子女托管班满1000减200", Offer.Kind.AMOUNT_OFF, {"amount_off": "200", "min_spend": "1000"}),
        ],
    ),
    "finance": (
        ["冀惠", "华安", "泰和"],
        ["保险代理", "财富管理中心"],
        [
            ("职工意外险特价30元", Offer.Kind.FIXED_PRICE, {"fixed_price": "30", "unit_label": "份"}),
            ("家财险9折", Offer.Kind.PERCENT_OFF, {"percent_off": "10"}),
            ("工会卡开户礼立减10元", Offer.Kind.AMOUNT_OFF, {"amount_off": "10"}),
        ],
    ),
}
QUOTA_CHOICES = [None, None, None, 100, 200, 500]
CINEMA_TICKET = "周末会员10元观影"
# The cinema's daily quota as the province raised it: created at 200, then 500 → 1000 → 1500, each
# step through offer_change_limits so the admin shows the trail.
CINEMA_QUOTA_HISTORY = (200, 500, 1000, 1500)


def _licence(seed: int, index: int) -> str:
    return f"9113{seed % 100:02d}{index:07d}MA1X2"


def _featured(today: datetime.date, province: Union, bank: PartnerBank) -> list[dict]:
    """The merchants the demo is told with, first in the list, all in Shijiazhuang."""
    return [
        {
            "name": "星光国际影城（长安店）",
            "category": "entertainment",
            "county": "130102",
            "description": "全激光巨幕影厅，周末会员专场。",
            "offers": [
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
        },
        {
            "name": "河北仁济医院",
            "category": "health",
            "county": "130104",
            "description": "三级综合医院，工会会员住院享补贴。",
            "offers": [
                (
                    "会员住院补贴每天20元",
                    Offer.Kind.ALLOWANCE,
                    {
                        "allowance_per_unit": "20",
                        "unit_label": "天",
                        "funder": Offer.Funder.UNION,
                        "budget": "200000",
                        "budget_owner": province,
                        "per_member_total_limit": 30,
                        "description": "用工会会员卡结算住院费用，工会按住院天数每天补贴20元。",
                    },
                )
            ],
        },
        {
            "name": "北国优选超市（裕华店）",
            "category": "supermarkets",
            "county": "130108",
            "description": "生鲜、日用百货一站购齐。",
            "offers": [
                ("会员购物95折", Offer.Kind.PERCENT_OFF, {"percent_off": "5", "per_member_daily_limit": 1}),
                (
                    "困难职工购物88折",
                    Offer.Kind.PERCENT_OFF,
                    {"percent_off": "12", "eligible_groups": ["hardship"], "per_member_daily_limit": 1},
                ),
            ],
        },
        {
            "name": "燕赵人家饭庄",
            "category": "dining",
            "county": "130105",
            "description": "地道冀菜，家常味道。",
            "offers": [
                ("用餐满100减20", Offer.Kind.AMOUNT_OFF, {"amount_off": "20", "min_spend": "100"}),
            ],
        },
        {
            "name": "河北银行工会卡服务中心",
            "category": "finance",
            "county": "130102",
            "description": "工会会员卡开卡、挂失、换卡一站办理。",
            "offers": [
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
        },
        {
            "name": "工会会员商城",
            "category": "supermarkets",
            "county": "130102",
            "description": "会员专享品牌好物，低于市场价。",
            "offers": [
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
        },
    ]


def _offer_counts(count: int, featured: list[dict]) -> list[int]:
    """Offers per merchant: 20 for every 3 merchants in all (3,000 merchants → 20,000 offers); the
    featured merchants keep their own offers and the others share the rest evenly."""
    featured = featured[:count]
    target = count * 20 // 3
    counts = [len(plan["offers"]) for plan in featured]
    generic = count - len(featured)
    if generic:
        remaining = max(target - sum(counts), generic)
        base, extra = divmod(remaining, generic)
        counts += [base + (1 if index < extra else 0) for index in range(generic)]
    return counts


# The merchants after the sign-in ones (index SIGN_IN_MERCHANTS + k) show the statuses the others do
# not: (merchant status, contract, statuses their offers take in turn, reason given).
STATUS_SHOWCASE = (
    (Merchant.Status.APPLIED, None, (Offer.Status.DRAFT, Offer.Status.PENDING), ""),
    (
        Merchant.Status.REJECTED,
        None,
        (Offer.Status.REJECTED, Offer.Status.DRAFT),
        "证照不全，请补充营业执照副本后重新申请。",
    ),
    (
        Merchant.Status.SUSPENDED,
        "current",
        (Offer.Status.PAUSED, Offer.Status.PUBLISHED, Offer.Status.APPROVED),
        "会员投诉较多，暂停合作整改。",
    ),
    (Merchant.Status.APPROVED, "ended", (Offer.Status.ENDED, Offer.Status.PUBLISHED), ""),
)
OFFER_REJECTED_REASON = "优惠说明不清，请写明适用商品范围。"
MERCHANT_CREATOR = "merchant_reviewer"  # demo staff who enter the merchants the union signs
REVIEWER = "province_admin"  # demo staff who sign the merchants and review the offers
ALLOWANCE_CREATOR = "sjz_operator"  # demo staff who draft the union's own allowance


def _showcase(index: int) -> tuple | None:
    position = index - SIGN_IN_MERCHANTS
    return STATUS_SHOWCASE[position] if 0 <= position < len(STATUS_SHOWCASE) else None


# Variants of a template that say who may use it: everybody, hardship members, the merchant's city.
VARIANTS = ["", "（困难职工专享）", "（本市会员专享）"]


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


def seed_merchants(*, seed: int = 1, count: int = 60, log=print) -> list[dict]:
    """Create ``count`` demo merchants (idempotent); return the sign-ins of the first ones, the
    cinema first, in the shape of DESIGN.md's demo document."""
    cities = list(Union.objects.filter(code__in=CITY_CENTRES).order_by("code"))
    if len(cities) != len(CITY_CENTRES):
        raise RuntimeError("the union tree is missing: run members.demo.seed_unions first")
    counties: dict[str, list[Union]] = {city.code: [] for city in cities}
    for county in Union.objects.filter(parent__in=cities, level=Union.Level.COUNTY).order_by("code"):
        counties[_city_code(county)].append(county)
    county_by_code = {county.code: county for group in counties.values() for county in group}
    categories = {category.code: category for category in Category.objects.all()}
    province = Union.objects.get(code="130000")
    bank, _created = PartnerBank.objects.get_or_create(
        code="HBBANK", defaults={"name": "河北银行", "bin": "622888"}
    )
    today = local_day()
    featured = _featured(today, province, bank)
    staff = {
        user.username: user
        for user in get_user_model().objects.filter(
            username__in=[MERCHANT_CREATOR, REVIEWER, ALLOWANCE_CREATOR], is_staff=True
        )
    }

    with transaction.atomic():
        created = _create_missing(
            seed=seed,
            count=count,
            cities=cities,
            counties=counties,
            county_by_code=county_by_code,
            categories=categories,
            featured=featured,
            today=today,
            staff=staff,
        )
    if created:
        log(f"merchants: {created} created")
    _raise_cinema_quota(seed)
    return _sign_ins(seed=seed, count=min(count, SIGN_IN_MERCHANTS))


def _city_code(county: Union) -> str:
    return county.path.split("/")[1]


def _plan_merchant(*, seed, index, cities, counties, county_by_code, categories, featured) -> dict:
    rng = random.Random(f"merchant:{seed}:{index}")
    if index < len(featured):
        plan = dict(featured[index])
        county = county_by_code[plan["county"]]
        plan["category"] = categories[plan["category"]]
    else:
        category_code = list(CATALOGUE)[index % len(CATALOGUE)]
        city = cities[(index // len(CATALOGUE)) % len(cities)]
        county = rng.choice(counties[city.code])
        brands, businesses, templates = CATALOGUE[category_code]
        plan = {
            "name": f"{rng.choice(brands)}{rng.choice(businesses)}（{_short(county.name)}{index}号店）",
            "category": categories[category_code],
            "description": "",
            "offers": [],
        }
        plan["templates"] = templates
    plan["county"] = county
    plan["rng"] = rng
    return plan


def _short(name: str) -> str:
    return name.removesuffix("总工会")


def _create_missing(
    *, seed, count, cities, counties, county_by_code, categories, featured, today, staff
) -> int:
    licences = [_licence(seed, index) for index in range(count)]
    existing = set(
        Merchant.objects.filter(licence_number__in=licences).values_list("licence_number", flat=True)
    )
    missing = [index for index in range(count) if licences[index] not in existing]
    contract_start = datetime.date(today.year, 1, 1)
    contract_end = datetime.date(today.year + 2, 12, 31)
    ended_contract = (datetime.date(today.year - 2, 1, 1), datetime.date(today.year - 1, 12, 31))
    creator, reviewer = staff.get(MERCHANT_CREATOR), staff.get(REVIEWER)
    valid_from = datetime.date(today.year, 1, 1)
    valid_until = datetime.date(today.year + 1, 12, 31)
    now = timezone.now()
    city_names = {city.code: _short(city.name) for city in cities}
    city_unions = {city.code: city for city in cities}
    offer_counts = _offer_counts(count, featured)
    for start in range(0, len(missing), BATCH_SIZE):
        chunk = missing[start : start + BATCH_SIZE]
        plans = {
            index: _plan_merchant(
                seed=seed,
                index=index,
                cities=cities,
                counties=counties,
                county_by_code=county_by_code,
                categories=categories,
                featured=featured,
            )
            for index in chunk
        }
        merchants = Merchant.objects.bulk_create(
            [
                _merchant_row(
                    plan=plan,
                    index=index,
                    licence=licences[index],
                    contract=(contract_start, contract_end),
                    ended_contract=ended_contract,
                    creator=creator,
                    reviewer=reviewer,
                    now=now,
                )
                for index, plan in plans.items()
            ]
        )
        stores, offers, online = [], [], []
        for merchant, (index, plan) in zip(merchants, plans.items(), strict=True):
            rng, county = plan["rng"], plan["county"]
            centre = CITY_CENTRES[_city_code(county)]
            for number in range(1 if index >= len(featured) and rng.random() < 0.4 else rng.randint(1, 3)):
                stores.append(
                    Store(
                        merchant=merchant,
                        name=f"{_short(county.name)}{['店', '二店', '三店'][number]}",
                        region=county,
                        address=(
                            f"{city_names[_city_code(county)]}{_short(county.name)}"
                            f"{rng.choice(STREETS)}{rng.randint(1, 399)}号"
                        ),
                        phone=f"{AREA_CODES[_city_code(county)]}-8{rng.randint(1000000, 9999999)}",
                        latitude=Decimal(f"{centre[0] + rng.uniform(-0.06, 0.06):.6f}"),
                        longitude=Decimal(f"{centre[1] + rng.uniform(-0.08, 0.08):.6f}"),
                    )
                )
            offer_specs = list(plan["offers"])
            if "templates" in plan:
                offer_specs = _generic_offers(
                    plan["templates"], offer_counts[index], rng, city_unions[_city_code(county)]
                )
            showcase = _showcase(index)
            for number, (title, kind, fields) in enumerate(offer_specs):
                status = showcase[2][number % len(showcase[2])] if showcase else Offer.Status.PUBLISHED
                offer = Offer(
                    merchant=merchant,
                    title=title,
                    kind=kind,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    **_offer_review(
                        status,
                        reviewer=reviewer,
                        # the newest first on the home page: the featured merchants lead the list
                        moment=now - datetime.timedelta(seconds=index * 10 + number),
                    ),
                )
                if kind == Offer.Kind.ALLOWANCE:
                    offer.created_by = staff.get(ALLOWANCE_CREATOR)
                for name, value in fields.items():
                    if name in {
                        "percent_off",
                        "amount_off",
                        "min_spend",
                        "fixed_price",
                        "allowance_per_unit",
                        "budget",
                    }:
                        value = Decimal(value)
                    elif name in {"time_from", "time_until"}:
                        value = datetime.time.fromisoformat(value)
                    setattr(offer, name, value)
                offers.append(offer)
                if offer.channel == Offer.Channel.ONLINE:
                    online.append((offer, random.Random(f"codes:{seed}:{index}")))
        Store.objects.bulk_create(stores, batch_size=BATCH_SIZE)
        Offer.objects.bulk_create(offers, batch_size=BATCH_SIZE)
        for offer, rng in online:
            codes = list(dict.fromkeys(voucher_random_code(rng) for _ in range(ONLINE_CODES)))
            VoucherCode.objects.bulk_create([VoucherCode(offer=offer, code=code) for code in codes])
    return len(missing)


def _merchant_row(*, plan, index, licence, contract, ended_contract, creator, reviewer, now) -> Merchant:
    """Merchant ``index`` as the union left it: signed by the reviewer, entered by another member of
    staff; the showcase merchants in their own status."""
    status, contract_kind, _offer_statuses, reason = _showcase(index) or (
        Merchant.Status.APPROVED,
        "current",
        (),
        "",
    )
    applied = status == Merchant.Status.APPLIED
    start, end = {"current": contract, "ended": ended_contract, None: (None, None)}[contract_kind]
    return Merchant(
        name=plan["name"],
        category=plan["category"],
        region=plan["county"],
        licence_number=licence,
        contact_name=plan["rng"].choice("王李张刘陈杨赵黄周吴") + "经理",
        contact_phone=f"1380311{index % 10000:04d}",
        description=plan["description"],
        status=status,
        status_reason=reason,
        contract_start=start,
        contract_end=end,
        created_by=None if applied else creator,  # an application from the public page has none
        reviewed_by=None if applied else reviewer,
        reviewed_at=None if applied else now,
    )


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
        Offer.objects.filter(merchant__licence_number=_licence(seed, 0), title=CINEMA_TICKET)
        .select_related("merchant__region")
        .first()
    )
    if offer is None or offer.daily_quota != CINEMA_QUOTA_HISTORY[0]:
        return  # not created by this seed, or already raised
    reviewer = get_user_model().objects.filter(username=DEMO_STAFF[0][0], is_staff=True).first()
    if reviewer is None:
        Offer.objects.filter(pk=offer.pk).update(daily_quota=CINEMA_QUOTA_HISTORY[-1])
        return
    for quota in CINEMA_QUOTA_HISTORY[1:]:
        offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=quota)


def _sign_ins(*, seed: int, count: int) -> list[dict]:
    licences = [_licence(seed, index) for index in range(count)]
    merchants = {
        merchant.licence_number: merchant
        for merchant in Merchant.objects.filter(licence_number__in=licences).select_related(
            "category", "region"
        )
    }
    user_model = get_user_model()
    result = []
    for index, licence in enumerate(licences):
        merchant = merchants.get(licence)
        if merchant is None:
            continue
        stores = list(merchant.stores.order_by("id"))
        entry = {
            "id": merchant.pk,
            "name": merchant.name,
            "category": merchant.category.code,
        }
        for role, prefix in ((MerchantUser.Role.MANAGER, "merchant"), (MerchantUser.Role.CASHIER, "cashier")):
            username = f"{prefix}{index + 1:03d}"
            password = f"Demo-{demo_secret(seed, 'merchant-user:' + username)}"
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"is_staff": False, "first_name": merchant.name[:150]}
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                MerchantUser.objects.get_or_create(user=user, defaults={"merchant": merchant, "role": role})
            key = "username" if role == MerchantUser.Role.MANAGER else "cashier_username"
            entry[key] = username
            entry["password" if role == MerchantUser.Role.MANAGER else "cashier_password"] = password
        key_prefix = demo_secret(seed, f"pos-key-prefix:{index}", apikeys.KEY_PREFIX_LENGTH)
        raw_key = f"pk_{key_prefix}_{demo_secret(seed, f'pos-key:{index}', 32)}"
        if not ApiKey.objects.filter(prefix=key_prefix).exists():
            apikeys.api_key_create(merchant=merchant, name="演示收银机", created_by=None, raw_key=raw_key)
        entry["api_key"] = raw_key
        entry["stores"] = [{"id": store.pk, "name": store.name} for store in stores]
        entry["offers"] = [
            {"id": offer.pk, "title": offer.title, "kind": offer.kind}
            for offer in merchant.offers.order_by("id")
        ]
        result.append(
            {
                key: entry[key]
                for key in (
                    "id",
                    "name",
                    "category",
                    "username",
                    "password",
                    "api_key",
                    "stores",
                    "offers",
                    "cashier_username",
                    "cashier_password",
                )
            }
        )
    return result

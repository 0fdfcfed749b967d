"""Demo merchants, stores, merchant sign-ins and POS keys (their offers are discounts.demo's).

Deterministic for a seed and idempotent: merchant i is recognised by its licence number, so a second
run creates nothing and prints the same sign-ins; passwords and keys are derived from the seed.
``count`` scales to 3,000 merchants with chunked bulk inserts.

Two people sign every merchant, as the services require: merchants are entered by the demo merchant
reviewer (or applied publicly) and signed by the province admin. The merchants after the sign-in ones
show every other status of a merchant (see ``STATUS_SHOWCASE``)."""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from members.demo import demo_secret
from members.models import Union
from merchants import apikeys
from merchants.models import ApiKey, Category, Merchant, MerchantUser, Store
from merchants.pictures import replace_picture
from portal.clock import local_day

BATCH_SIZE = 1000
SIGN_IN_MERCHANTS = 20  # merchants that get a manager, a cashier and a POS key

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
# Per category: (brands, kinds of business), which make the names of the generic merchants.
BUSINESSES = {
    "supermarkets": (
        ["北国", "惠友", "家乐购", "百信", "联华", "万佳"],
        ["超市", "购物中心", "百货"],
    ),
    "entertainment": (
        ["星河", "金逸", "博纳", "光影", "欢乐谷"],
        ["影城", "欢唱KTV", "健身中心"],
    ),
    "dining": (
        ["燕赵人家", "老槐树", "太行山", "滹沱河", "正定府"],
        ["饭庄", "酒楼", "食府", "大酒店"],
    ),
    "health": (
        ["仁济", "康宁", "博爱", "安康"],
        ["医院", "大药房", "体检中心", "口腔诊所"],
    ),
    "services": (
        ["洁丽", "好帮手", "美佳", "快修"],
        ["洗衣", "家政服务", "美发", "汽车养护"],
    ),
    "travel": (
        ["燕赵", "太行", "渤海湾", "长城"],
        ["国际旅行社", "景区", "汽车租赁"],
    ),
    "education": (
        ["启明", "博学", "育英", "新知"],
        ["职业培训学校", "书店", "教育中心"],
    ),
    "finance": (
        ["冀惠", "华安", "泰和"],
        ["保险代理", "财富管理中心"],
    ),
}
# The merchants the demo is told with, first in the list, all in Shijiazhuang (discounts.demo gives
# each its offers, by position).
FEATURED = [
    {
        "name": "星光国际影城（长安店）",
        "category": "entertainment",
        "county": "130102",
        "description": "全激光巨幕影厅，周末会员专场。",
    },
    {
        "name": "河北仁济医院",
        "category": "health",
        "county": "130104",
        "description": "三级综合医院，工会会员住院享补贴。",
    },
    {
        "name": "北国优选超市（裕华店）",
        "category": "supermarkets",
        "county": "130108",
        "description": "生鲜、日用百货一站购齐。",
    },
    {
        "name": "燕赵人家饭庄",
        "category": "dining",
        "county": "130105",
        "description": "地道冀菜，家常味道。",
    },
    {
        "name": "河北银行工会卡服务中心",
        "category": "finance",
        "county": "130102",
        "description": "工会会员卡开卡、挂失、换卡一站办理。",
    },
    {
        "name": "工会会员商城",
        "category": "supermarkets",
        "county": "130102",
        "description": "会员专享品牌好物，低于市场价。",
    },
]


def licence_number(seed: int, index: int) -> str:
    """The licence number of demo merchant ``index``: how every later run recognises it."""
    return f"9113{seed % 100:02d}{index:07d}MA1X2"


# The merchants after the sign-in ones (index SIGN_IN_MERCHANTS + k) show the statuses the others do
# not: (merchant status, contract, reason given). discounts.demo gives their offers the statuses
# offers of such a merchant take.
STATUS_SHOWCASE = (
    (Merchant.Status.APPLIED, None, ""),
    (Merchant.Status.REJECTED, None, "证照不全，请补充营业执照副本后重新申请。"),
    (Merchant.Status.SUSPENDED, "current", "会员投诉较多，暂停合作整改。"),
    (Merchant.Status.APPROVED, "ended", ""),
)
MERCHANT_CREATOR = "merchant_reviewer"  # demo staff who enter the merchants the union signs
REVIEWER = "province_admin"  # demo staff who sign the merchants


def showcase_position(index: int) -> int | None:
    """Which entry of STATUS_SHOWCASE demo merchant ``index`` shows, if any."""
    position = index - SIGN_IN_MERCHANTS
    return position if 0 <= position < len(STATUS_SHOWCASE) else None


def demo_merchants(*, seed: int, count: int) -> list[tuple[int, Merchant]]:
    """(index, merchant) of the demo merchants of ``seed`` that exist, by index."""
    licences = {licence_number(seed, index): index for index in range(count)}
    found = Merchant.objects.filter(licence_number__in=licences).select_related("category", "region")
    return sorted(((licences[m.licence_number], m) for m in found), key=lambda pair: pair[0])


def seed_merchants(*, seed: int = 1, count: int = 60, log=print) -> list[dict]:
    """Create ``count`` demo merchants with their stores (idempotent); return the sign-ins of the first
    ones, the cinema first, in the shape of DESIGN.md's demo document (discounts.demo adds their
    offers)."""
    cities = list(Union.objects.filter(code__in=CITY_CENTRES).order_by("code"))
    if len(cities) != len(CITY_CENTRES):
        raise RuntimeError("the union tree is missing: run members.demo.seed_unions first")
    counties: dict[str, list[Union]] = {city.code: [] for city in cities}
    for county in Union.objects.filter(parent__in=cities, level=Union.Level.COUNTY).order_by("code"):
        counties[city_code(county)].append(county)
    county_by_code = {county.code: county for group in counties.values() for county in group}
    categories = {category.code: category for category in Category.objects.all()}
    staff = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=[MERCHANT_CREATOR, REVIEWER], is_staff=True)
    }

    with transaction.atomic():
        created = _create_missing(
            seed=seed,
            count=count,
            cities=cities,
            counties=counties,
            county_by_code=county_by_code,
            categories=categories,
            today=local_day(),
            staff=staff,
        )
    if created:
        log(f"merchants: {created} created")
    drawn = _draw_pictures(count=min(count, DEMO_PICTURES))
    if drawn:
        log(f"merchant pictures: {drawn} drawn")
    return _sign_ins(seed=seed, count=min(count, SIGN_IN_MERCHANTS))


# The first demo merchants get a picture of their own; the rest show their category's drawing.
DEMO_PICTURES = 6
PICTURE_COLOURS = (
    (196, 87, 43),
    (47, 125, 91),
    (122, 75, 179),
    (42, 122, 176),
    (160, 106, 26),
    (69, 90, 100),
)


def _draw_pictures(*, count: int) -> int:
    """A simple drawn picture (stripes and a disc in the merchant's colour) for the first merchants
    that have none, stored through the one picture rule (merchants.pictures)."""
    drawn = 0
    for index, merchant in enumerate(Merchant.objects.order_by("pk")[:count]):
        if merchant.picture:
            continue
        colour = PICTURE_COLOURS[index % len(PICTURE_COLOURS)]
        image = Image.new("RGB", (800, 600), colour)
        draw = ImageDraw.Draw(image)
        light = tuple(min(255, part + 60) for part in colour)
        for left in range(-600, 800, 120):
            draw.polygon([(left, 600), (left + 60, 600), (left + 660, 0), (left + 600, 0)], fill=light)
        draw.ellipse((250, 150, 550, 450), fill=(255, 255, 255))
        draw.ellipse((330, 230, 470, 370), fill=colour)
        out = io.BytesIO()
        image.save(out, format="PNG")
        with transaction.atomic():
            replace_picture(merchant, out)
        drawn += 1
    return drawn


def city_code(county: Union) -> str:
    """The code of the city a county (or a store's region) belongs to."""
    return county.path.split("/")[1]


def _plan_merchant(*, seed, index, cities, counties, county_by_code, categories) -> dict:
    rng = random.Random(f"merchant:{seed}:{index}")
    if index < len(FEATURED):
        plan = dict(FEATURED[index])
        county = county_by_code[plan["county"]]
        plan["category"] = categories[plan["category"]]
    else:
        category_code = list(BUSINESSES)[index % len(BUSINESSES)]
        city = cities[(index // len(BUSINESSES)) % len(cities)]
        county = rng.choice(counties[city.code])
        brands, businesses = BUSINESSES[category_code]
        plan = {
            "name": f"{rng.choice(brands)}{rng.choice(businesses)}（{_short(county.name)}{index}号店）",
            "category": categories[category_code],
            "description": "",
        }
    plan["county"] = county
    plan["rng"] = rng
    return plan


def _short(name: str) -> str:
    return name.removesuffix("总工会")


def _create_missing(*, seed, count, cities, counties, county_by_code, categories, today, staff) -> int:
    licences = [licence_number(seed, index) for index in range(count)]
    existing = set(
        Merchant.objects.filter(licence_number__in=licences).values_list("licence_number", flat=True)
    )
    missing = [index for index in range(count) if licences[index] not in existing]
    contract_start = datetime.date(today.year, 1, 1)
    contract_end = datetime.date(today.year + 2, 12, 31)
    ended_contract = (datetime.date(today.year - 2, 1, 1), datetime.date(today.year - 1, 12, 31))
    creator, reviewer = staff.get(MERCHANT_CREATOR), staff.get(REVIEWER)
    now = timezone.now()
    city_names = {city.code: _short(city.name) for city in cities}
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
        stores = []
        for merchant, (index, plan) in zip(merchants, plans.items(), strict=True):
            rng, county = plan["rng"], plan["county"]
            centre = CITY_CENTRES[city_code(county)]
            for number in range(1 if index >= len(FEATURED) and rng.random() < 0.4 else rng.randint(1, 3)):
                stores.append(
                    Store(
                        merchant=merchant,
                        name=f"{_short(county.name)}{['店', '二店', '三店'][number]}",
                        region=county,
                        address=(
                            f"{city_names[city_code(county)]}{_short(county.name)}"
                            f"{rng.choice(STREETS)}{rng.randint(1, 399)}号"
                        ),
                        phone=f"{AREA_CODES[city_code(county)]}-8{rng.randint(1000000, 9999999)}",
                        latitude=Decimal(f"{centre[0] + rng.uniform(-0.06, 0.06):.6f}"),
                        longitude=Decimal(f"{centre[1] + rng.uniform(-0.08, 0.08):.6f}"),
                    )
                )
        Store.objects.bulk_create(stores, batch_size=BATCH_SIZE)
    return len(missing)


def _merchant_row(*, plan, index, licence, contract, ended_contract, creator, reviewer, now) -> Merchant:
    """Merchant ``index`` as the union left it: signed by the reviewer, entered by another member of
    staff; the showcase merchants in their own status."""
    position = showcase_position(index)
    status, contract_kind, reason = (
        STATUS_SHOWCASE[position] if position is not None else (Merchant.Status.APPROVED, "current", "")
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


def _sign_ins(*, seed: int, count: int) -> list[dict]:
    user_model = get_user_model()
    result = []
    for index, merchant in demo_merchants(seed=seed, count=count):
        entry = {"id": merchant.pk, "name": merchant.name, "category": merchant.category.code}
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
        entry["stores"] = [{"id": store.pk, "name": store.name} for store in merchant.stores.order_by("id")]
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
                    "cashier_username",
                    "cashier_password",
                )
            }
        )
    return result

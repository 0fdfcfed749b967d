"""Demo province: the union tree of Hebei and one staff sign-in per level.

Everything is deterministic for a given seed and idempotent: running it again changes nothing."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import random

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from members import pii, services
from members.data import hebei
from members.models import Card, Member, MemberGroup, PartnerBank, Union
from portal.roles import Role, ensure_roles

BATCH_SIZE = 2000


def demo_secret(seed: int, purpose: str, length: int = 10) -> str:
    """A password or key derived from the seed, so a later ``seed_demo --json`` prints working ones."""
    digest = hmac.new(f"portal-demo-{seed}".encode(), purpose.encode(), hashlib.sha256).hexdigest()
    return digest[:length]


def _union_rows(workplaces_per_county: int, seed: int) -> list[tuple[str, str, str, str, str | None]]:
    """(code, name, name_en, level, parent code) for the whole tree, parents before children."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str, str, str | None]] = []
    province_code, province_name, province_en = hebei.PROVINCE
    rows.append((province_code, province_name, province_en, Union.Level.PROVINCE, None))

    def add_workplaces(county_code: str, county_name: str, count: int) -> None:
        kinds = rng.sample(hebei.WORKPLACE_KINDS, k=min(count, len(hebei.WORKPLACE_KINDS)))
        for index in range(count):
            suffix, suffix_en = kinds[index % len(kinds)]
            prefix = county_name.removesuffix("总工会")
            number = "" if index < len(kinds) else str(index // len(kinds) + 1)
            rows.append(
                (
                    f"{county_code}{index + 1:03d}",
                    f"{prefix}{suffix}{number}",
                    f"{suffix_en} {number}".strip(),
                    Union.Level.WORKPLACE,
                    county_code,
                )
            )

    for city_code, city_name, city_en, counties in hebei.CITIES:
        rows.append((city_code, city_name, city_en, Union.Level.CITY, province_code))
        for county_code, county_name, county_en in counties:
            rows.append((county_code, f"{county_name}总工会", county_en, Union.Level.COUNTY, city_code))
            add_workplaces(county_code, county_name, workplaces_per_county)

    organs_code, organs_name, organs_en = hebei.PROVINCIAL_ORGANS
    rows.append((organs_code, organs_name, organs_en, Union.Level.CITY, province_code))
    for group_code, group_name, group_en in hebei.PROVINCIAL_ORGANS_GROUPS:
        rows.append((group_code, group_name, group_en, Union.Level.COUNTY, organs_code))
        add_workplaces(group_code, group_name, max(workplaces_per_county, 6))
    return rows


@transaction.atomic
def seed_unions(*, seed: int = 1, workplaces_per_county: int = 4) -> int:
    """Create the tree level by level with bulk inserts; existing codes are left untouched."""
    rows = _union_rows(workplaces_per_county, seed)
    existing = dict(Union.objects.values_list("code", "path"))
    paths = dict(existing)
    ids = dict(Union.objects.values_list("code", "id"))
    created = 0
    for level in Union.Level.values:
        new = []
        for code, name, name_en, row_level, parent_code in rows:
            if row_level != level or code in existing:
                continue
            path = f"{paths[parent_code] if parent_code else ''}{code}/"
            paths[code] = path
            new.append(
                Union(
                    code=code,
                    name=name,
                    name_en=name_en,
                    level=level,
                    parent_id=ids[parent_code] if parent_code else None,
                    path=path,
                    depth=path.count("/") - 1,
                )
            )
        Union.objects.bulk_create(new, batch_size=BATCH_SIZE)
        created += len(new)
        ids.update({union.code: union.pk for union in new})
    return created


# Demo staff: (username, union code, role). The first county is 长安区 of 石家庄; the sibling is 桥西区.
DEMO_STAFF = [
    ("province_admin", "130000", Role.PROVINCE_ADMIN),
    ("sjz_operator", "130100", Role.CITY_OPERATOR),
    ("changan_operator", "130102", Role.COUNTY_OPERATOR),
    ("qiaoxi_operator", "130104", Role.COUNTY_OPERATOR),
    ("workplace_operator", "130102001", Role.WORKPLACE_OPERATOR),
    ("merchant_reviewer", "130000", Role.MERCHANT_REVIEWER),
]


def seed_staff(*, seed: int = 1) -> list[dict]:
    ensure_roles()
    user_model = get_user_model()
    unions = Union.objects.in_bulk([code for _, code, _ in DEMO_STAFF], field_name="code")
    sign_ins = []
    for username, code, role in DEMO_STAFF:
        password = f"Demo-{demo_secret(seed, 'staff:' + username)}"
        union = unions[code]
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "union": union, "first_name": role.label}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            user.groups.add(role.group())
        sign_ins.append(
            {
                "username": username,
                "password": password,
                "union_code": code,
                "level": union.level,
                "role": role.value,
            }
        )
    return sign_ins


# --- Members and cards ----------------------------------------------------------------------------------

DEMO_BANKS = [
    # (code, name, BIN, serial length, share of new cards)
    ("HBBANK", "河北银行", "622888", 9, 0.8),
    ("CCBHE", "中国建设银行河北省分行", "621700", 10, 0.2),
]
DEMO_COUNTY = "130102"  # 长安区: the demo county of the staff sign-ins, with high coverage
DEMO_PHONE_PREFIX = "158"  # demo member i has phone 158 + i as eight digits
MEMBER_CHUNK = 20_000
BIRTH_BASE = datetime.date(1975, 1, 1)
PER_BIRTH_DAY = 999  # sequence codes 001-999 per birth date and region
# Coverage tiers (share of active members holding a card): counties differ, so the ranking has
# leaders and laggards.
COVERAGE_TIERS = (0.92, 0.8, 0.6, 0.4, 0.2, 0.08)
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文海燕鹏飞雪梅晨宇浩然欣怡子涵思远"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(region: str, index: int) -> str:
    born = BIRTH_BASE + datetime.timedelta(days=index // PER_BIRTH_DAY)
    body = f"{region}{born:%Y%m%d}{index % PER_BIRTH_DAY + 1:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _region_for(county_code: str, city_code: str, last_index: int) -> str:
    """The county's area code if it is valid for every birth date used, else the city's or the
    province's (python-stdnum checks that the area existed on the birth date)."""
    for region in (county_code[:6], city_code[:6], hebei.PROVINCE[0]):
        try:
            pii.validate_id_number(_id_number(region, 0))
            pii.validate_id_number(_id_number(region, last_index))
        except ValidationError:
            continue
        return region
    return hebei.PROVINCE[0]


def _ensure_banks() -> list[tuple[PartnerBank, float]]:
    banks = []
    for code, name, bin_, length, share in DEMO_BANKS:
        bank, _created = PartnerBank.objects.get_or_create(
            code=code, defaults={"name": name, "bin": bin_, "serial_length": length}
        )
        banks.append((bank, share))
    return banks


def _plan_member(rng: random.Random, index: int, workplaces, tiers, regions) -> dict:
    union_id, _code, county = workplaces[rng.randrange(len(workplaces))]
    roll = rng.random()
    status = (
        Member.Status.RETIRED
        if roll < 0.04
        else Member.Status.TRANSFERRED
        if roll < 0.07
        else Member.Status.LEFT
        if roll < 0.08
        else Member.Status.ACTIVE
    )
    groups = []
    if rng.random() < 0.06:
        groups.append(MemberGroup.HARDSHIP.value)
    if rng.random() < 0.05:
        groups.append(MemberGroup.MIGRANT_WORKER.value)
    if rng.random() < 0.02:
        groups.append(MemberGroup.MODEL_WORKER.value)
    holds = rng.random() < (tiers[county] if status == Member.Status.ACTIVE else 0.3)
    card_roll = rng.random()
    card_status = (
        Card.Status.ACTIVE
        if card_roll < 0.86
        else Card.Status.ISSUED
        if card_roll < 0.95
        else Card.Status.FROZEN
        if card_roll < 0.98
        else Card.Status.CANCELLED
    )
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    bank_roll = rng.random()
    return {
        "name": name,
        "id_number": _id_number(regions[county], index),
        "phone": f"{DEMO_PHONE_PREFIX}{index:08d}",
        "union_id": union_id,
        "status": status,
        "groups": sorted(groups),
        "card_status": card_status if holds else None,
        "bank_roll": bank_roll,
        "consented": rng.random() < 0.5,
    }


def seed_members(*, seed: int = 1, count: int = 3000, log=print) -> list[dict]:
    """Members with cards across the province. Deterministic for a seed and idempotent: member i is
    recognised by the keyed hash of its ID number, and a member with any card gets no new one.

    Rows go in with COPY, chunk by chunk; serials come from the same one-statement allocator as the
    issuance batches. Returns the demo sign-ins: at least 200 members with active cards (one of them
    in 长安区), one with a frozen card and one hardship member."""
    if count > 10**8:
        raise ValueError("at most 100,000,000 demo members (eight-digit phone suffix)")
    banks = _ensure_banks()
    workplaces = list(
        Union.objects.filter(level=Union.Level.WORKPLACE)
        .order_by("path")
        .values_list("id", "code", "parent__code")
    )
    if not workplaces or count <= 0:
        return _demo_sign_ins()
    counties = sorted({county for _, _, county in workplaces})
    city_of = dict(Union.objects.filter(code__in=counties).values_list("code", "parent__code"))
    tier_rng = random.Random(f"coverage:{seed}")
    tiers = {county: tier_rng.choice(COVERAGE_TIERS) for county in counties}
    if DEMO_COUNTY in tiers:
        tiers[DEMO_COUNTY] = COVERAGE_TIERS[0]
    regions = {county: _region_for(county, city_of.get(county) or "", count - 1) for county in counties}
    rng = random.Random(f"members:{seed}")
    created_members = created_cards = 0
    for start in range(0, count, MEMBER_CHUNK):
        plans = [
            _plan_member(rng, index, workplaces, tiers, regions)
            for index in range(start, min(count, start + MEMBER_CHUNK))
        ]
        members, cards = _seed_chunk(plans, banks)
        created_members += members
        created_cards += cards
        done = min(count, start + MEMBER_CHUNK)
        log(f"members: {done:,}/{count:,} ({created_members:,} new, {created_cards:,} new cards)")
    return _demo_sign_ins()


@transaction.atomic
def _seed_chunk(plans: list[dict], banks: list[tuple[PartnerBank, float]]) -> tuple[int, int]:
    now = timezone.now()
    for plan in plans:
        plan["hash"] = pii.hash_id_number(plan["id_number"])
    hashes = [plan["hash"] for plan in plans]
    known = set(Member.objects.filter(id_number_hash__in=hashes).values_list("id_number_hash", flat=True))
    new = [plan for plan in plans if plan["hash"] not in known]
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY members_member (name, id_number_encrypted, id_number_hash, id_number_masked, phone, "
            "union_id, status, groups, consent_at, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for plan in new:
            copy.write_row(
                (
                    plan["name"],
                    pii.encrypt_id_number(plan["id_number"]),
                    plan["hash"],
                    pii.mask_id_number(plan["id_number"]),
                    plan["phone"],
                    plan["union_id"],
                    plan["status"],
                    plan["groups"],
                    now if plan["consented"] else None,
                    now,
                    now,
                )
            )
    ids = dict(Member.objects.filter(id_number_hash__in=hashes).values_list("id_number_hash", "id"))
    with_cards = set(Card.objects.filter(member_id__in=ids.values()).values_list("member_id", flat=True))
    wanted = [plan for plan in plans if plan["card_status"] and ids[plan["hash"]] not in with_cards]
    cards = 0
    by_bank: dict[int, list[dict]] = {}
    for plan in wanted:
        # The last bank takes whatever the shares of the others leave.
        cumulative = 0.0
        for position, (_bank, share) in enumerate(banks):
            cumulative += share
            if plan["bank_roll"] < cumulative or position == len(banks) - 1:
                by_bank.setdefault(position, []).append(plan)
                break
    for position, (bank, _share) in enumerate(banks):
        mine = by_bank.get(position, [])
        serials = services.bank_allocate_serials(bank=bank, count=len(mine))
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY members_card (number, bank_id, serial, member_id, status, issued_at, activated_at, "
                "frozen_at, closed_at) FROM STDIN"
            ) as copy,
        ):
            for plan, serial in zip(mine, serials, strict=True):
                status = plan["card_status"]
                copy.write_row(
                    (
                        services.card_number_for(bank, serial),
                        bank.pk,
                        serial,
                        ids[plan["hash"]],
                        status,
                        now,
                        now if status in (Card.Status.ACTIVE, Card.Status.FROZEN) else None,
                        now if status == Card.Status.FROZEN else None,
                        now if status == Card.Status.CANCELLED else None,
                    )
                )
        cards += len(mine)
    return len(new), cards


SIGN_IN_MEMBERS = 200


def _demo_sign_ins() -> list[dict]:
    """The demo members a person or a browser test can sign in as (phone + one-time code)."""
    base = (
        Card.objects.filter(member__phone__startswith=DEMO_PHONE_PREFIX, member__status=Member.Status.ACTIVE)
        .select_related("member__union")
        .order_by("member__phone")
    )
    active = base.filter(status=Card.Status.ACTIVE)
    picks = list(active[:SIGN_IN_MEMBERS])
    extras = [
        active.filter(member__union__code__startswith=DEMO_COUNTY).first(),
        active.filter(member__groups__contains=[MemberGroup.HARDSHIP.value]).first(),
        base.filter(status=Card.Status.FROZEN).first(),
    ]
    seen = {card.pk for card in picks}
    for card in extras:
        if card is not None and card.pk not in seen:
            picks.append(card)
            seen.add(card.pk)
    return [
        {
            "name": card.member.name,
            "phone": card.member.phone,
            "card_number": card.number,
            "card_status": card.status,
            "union_code": card.member.union.code,
            "groups": card.member.groups,
        }
        for card in picks
    ]

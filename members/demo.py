"""Demo province: the union tree of Hebei and one staff sign-in per level.

Everything is deterministic for a given seed and idempotent: running it again changes nothing."""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
import io
import random

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from members import (
    batch_processing,
    batch_validation,
    batches,
    cards,
    issuance,
    people,
    pii,
)
from members.data import hebei
from members.models import Card, IssuanceBatch, Member, MemberGroup, PartnerBank, Union
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


def _demo_contact(code: str, name: str, level: str) -> dict:
    """Province, city and county unions have a contact desk; a workplace union's members are sent to
    the nearest one above (the card page of a frozen card shows it)."""
    if level == Union.Level.WORKPLACE:
        return {}
    return {"contact_phone": f"0311-8{int(code) % 10**6:06d}", "contact_address": f"{name}服务大厅"}


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
                    **_demo_contact(code, name, level),
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
        Union.objects.real()
        .filter(level=Union.Level.WORKPLACE)
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
        new_members, new_cards = _seed_chunk(plans, banks)
        created_members += new_members
        created_cards += new_cards
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
    new_cards = 0
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
        serials = cards.bank_allocate_serials(bank=bank, count=len(mine))
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
                        cards.card_number_for(bank, serial),
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
        new_cards += len(mine)
    return len(new), new_cards


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


# --- Issuance batches -------------------------------------------------------------------------------

DEMO_BATCH_PREFIX = "演示-"
DEMO_BATCH_PHONE_PREFIX = "157"  # applicants of the demo batches: 157 + eight digits
DEMO_BATCH_ID_OFFSET = 10_000_000  # applicants' ID numbers come after any demo member's


def _applicant_rows(rng: random.Random, start: int, count: int, union_code: str) -> list[list[str]]:
    rows = []
    for index in range(start, start + count):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        id_number = _id_number(DEMO_COUNTY, DEMO_BATCH_ID_OFFSET + index)
        rows.append([name, id_number, f"{DEMO_BATCH_PHONE_PREFIX}{index:08d}", union_code, ""])
    return rows


def _demo_batch(*, union: Union, bank: PartnerBank, user, name: str, rows: list[list[str]], header=None):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header or [*issuance.REQUIRED_HEADERS, issuance.HEADER_GROUPS])
    writer.writerows(rows)
    batch = batches.batch_upload(
        union=union,
        bank=bank,
        uploaded_file=SimpleUploadedFile(f"{DEMO_BATCH_PREFIX}{name}.csv", buffer.getvalue().encode()),
        uploaded_by=user,
    )
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def seed_batches(*, seed: int = 1) -> int:
    """Card-issuance batches of 长安区 in every resting state, each approved (or refused) by someone
    other than its uploader: completed (a workplace's file, approved by the county), awaiting approval
    (the county's own file, with rows in error and changes to members who already exist — a second
    person of the county or the city approves it), rejected, and failed (a file without the ID-number
    column). Idempotent: nothing is done once the demo batches exist, or before the demo members do.

    One transaction: the tasks that uploading and approving queue are sent only when it commits, and a
    worker then finds the work done."""
    if IssuanceBatch.objects.filter(original_filename__startswith=DEMO_BATCH_PREFIX).exists():
        return 0
    county = Union.objects.filter(code=DEMO_COUNTY).first()
    workplace = Union.objects.filter(parent=county, level=Union.Level.WORKPLACE).order_by("code").first()
    user_model = get_user_model()
    staff = user_model.objects.in_bulk(
        ["workplace_operator", "changan_operator", "qiaoxi_operator"], field_name="username"
    )
    if county is None or workplace is None or len(staff) < 3:
        return 0
    if not Member.objects.filter(phone__startswith=DEMO_PHONE_PREFIX).exists():
        return 0  # the demo members come first (seed_demo --members 0 makes no batches either)
    bank = _ensure_banks()[0][0]
    rng = random.Random(f"batches:{seed}")
    # Two members the workplace registered without a card yet: the pending batch changes them.
    known = [
        people.member_create(name=name, id_number=id_number, phone=phone, union=workplace)
        for name, id_number, phone, _code, _groups in _applicant_rows(rng, 700, 2, workplace.code)
    ]
    uploader, county_operator = staff["workplace_operator"], staff["changan_operator"]

    completed = _demo_batch(
        union=workplace,
        bank=bank,
        user=uploader,
        name="一月发卡申请",
        rows=_applicant_rows(rng, 0, 12, workplace.code),
    )
    batches.batch_approve(batch=completed, actor=county_operator)
    while batch_processing.batch_process_chunk(batch_id=completed.pk) == "more":
        pass
    batch_processing.batch_finish(batch_id=completed.pk)

    # Awaiting approval: new applicants, two rows in error, and two members who already exist with a
    # new phone (one also with a corrected name), listed for the approver as "changes".
    pending_rows = _applicant_rows(rng, 100, 6, workplace.code)
    valid_id = _id_number(DEMO_COUNTY, DEMO_BATCH_ID_OFFSET + 200)
    broken_id = valid_id[:-1] + ("0" if valid_id[-1] != "0" else "1")
    pending_rows.append(["错号人", broken_id, f"{DEMO_BATCH_PHONE_PREFIX}00000200", workplace.code, ""])
    pending_rows.append(
        ["错机号", _id_number(DEMO_COUNTY, DEMO_BATCH_ID_OFFSET + 201), "1570", workplace.code, ""]
    )
    for number, member in enumerate(known):
        name = member.name if number == 0 else member.name[0] + "新" + member.name[1:]
        pending_rows.append(
            [
                name,
                pii.decrypt_id_number(member.id_number_encrypted),
                f"{DEMO_BATCH_PHONE_PREFIX}{300 + number:08d}",
                member.union.code,
                "",
            ]
        )
    _demo_batch(union=county, bank=bank, user=county_operator, name="二月补充申请", rows=pending_rows)

    rejected = _demo_batch(
        union=workplace,
        bank=bank,
        user=uploader,
        name="重复上报",
        rows=_applicant_rows(rng, 400, 3, workplace.code),
    )
    batches.batch_reject(batch=rejected, actor=county_operator, reason="与一月申请重复，请核对后重新上报")

    qiaoxi = staff["qiaoxi_operator"]
    _demo_batch(
        union=qiaoxi.union,
        bank=bank,
        user=qiaoxi,
        name="缺少身份证号列",
        rows=[[row[0], row[2], f"{qiaoxi.union.code}001"] for row in _applicant_rows(rng, 500, 3, "")],
        header=["姓名", "手机号", "基层工会代码"],
    )
    return 4

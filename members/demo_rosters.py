"""Demo rosters (会员名册), reported member counts and a year of dated history, so that coverage, its
trend and the reporting rate move on the first start. The rest of the demo province is in
members.demo; this part builds on its unions, staff and members."""

from __future__ import annotations

import csv
import datetime
import io
import random

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from django.utils import timezone

from members import issuance, pii
from members.demo import (
    DEMO_BATCH_ID_OFFSET,
    DEMO_COUNTY,
    DEMO_PHONE_PREFIX,
    GIVEN,
    MEMBER_CHUNK,
    SURNAMES,
    _applicant_rows,
    _ensure_banks,
    _id_number,
    _region_for,
    _seed_chunk,
)
from members.models import Card, Member, Union

DEMO_ROSTER_PHONE_PREFIX = "156"  # members known only from their union's roster: 156 + eight digits
DEMO_ROSTER_ID_OFFSET = 8_000_000  # their ID numbers come after any demo member's, before the batches'
DEMO_ROSTER_PREFIX = "演示名册-"
HISTORY_DAYS = 365
# Roster members per card-era member, by county: how far the true denominator exceeds the members a
# county's applications made known. The demo county (长安区) has the smallest gap, so it leads.
ROSTER_FACTORS = (0.6, 1.0, 1.4, 1.8, 2.4, 3.2)
ROSTER_SHARE = 0.85  # workplace unions with a roster; half of the others report a member count


def _days_ago(today: datetime.date, days: float) -> datetime.datetime:
    """Ten in the morning, ``days`` days before ``today`` (Asia/Shanghai)."""
    from members.history import start_of_day

    return start_of_day(today - datetime.timedelta(days=int(days))) + datetime.timedelta(hours=10)


def seed_rosters(*, seed: int = 1, log=print) -> int:
    """Rosters for most workplace unions, a reported member count for a few of the others, and a year
    of dated history, so coverage (about 15–20 % province-wide, far apart between counties), its trend
    and the reporting rate move from the first start. Idempotent: nothing is done once roster members
    exist, or before the demo members do. Returns the roster members added.

    Two shortcuts, both demo-only and said here: the rosters of the year before the demo's imports are
    recorded as submissions (``UnionSubmission``) with their members added by COPY, and the dated
    history of the demo's members and cards is written straight into the history tables — what the
    triggers would have recorded had those changes happened on those days. The roster screens get real
    imports through the roster services (:func:`seed_roster_imports`)."""
    from members.models import ReportedMemberCount, UnionSubmission

    if Member.objects.filter(phone__startswith=DEMO_ROSTER_PHONE_PREFIX).exists():
        return 0
    if not Member.objects.filter(phone__startswith=DEMO_PHONE_PREFIX).exists():
        return 0
    rng = random.Random(f"rosters:{seed}")
    today = timezone.localdate()
    workplaces = list(
        Union.objects.real()
        .filter(level=Union.Level.WORKPLACE)
        .order_by("path")
        .values_list("id", "code", "parent__code")
    )
    counties = sorted({county for _, _, county in workplaces})
    factors = {county: rng.choice(ROSTER_FACTORS[1:]) for county in counties}
    if DEMO_COUNTY in factors:
        factors[DEMO_COUNTY] = ROSTER_FACTORS[0]
    known = dict(
        Member.objects.filter(status=Member.Status.ACTIVE)
        .values("union_id")
        .annotate(n=models.Count("id"))
        .values_list("union_id", "n")
    )
    with_roster, reporting = [], []
    for union_id, code, county in workplaces:
        roll = rng.random()
        if code.startswith(DEMO_COUNTY) or roll < ROSTER_SHARE:
            with_roster.append((union_id, county))
        elif roll < ROSTER_SHARE + (1 - ROSTER_SHARE) / 2:
            reporting.append((union_id, county))
    city_of = dict(Union.objects.filter(code__in=counties).values_list("code", "parent__code"))
    plans, index = [], DEMO_ROSTER_ID_OFFSET
    total = sum(max(1, round(known.get(u, 0) * factors[c])) for u, c in with_roster)
    regions = {
        county: _region_for(county, city_of.get(county) or "", DEMO_ROSTER_ID_OFFSET + total)
        for county in counties
    }
    for union_id, county in with_roster:
        for _ in range(max(1, round(known.get(union_id, 0) * factors[county]))):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            plans.append(
                {
                    "name": name,
                    "id_number": _id_number(regions[county], index),
                    "phone": f"{DEMO_ROSTER_PHONE_PREFIX}{index - DEMO_ROSTER_ID_OFFSET:08d}",
                    "union_id": union_id,
                    "status": Member.Status.ACTIVE,
                    "groups": [],
                    "card_status": None,
                    "bank_roll": 0.0,
                    "consented": False,
                }
            )
            index += 1
    banks = _ensure_banks()
    for start in range(0, len(plans), MEMBER_CHUNK):
        _seed_chunk(plans[start : start + MEMBER_CHUNK], banks)
    log(f"roster members: {len(plans):,} added to {len(with_roster)} workplace unions")

    # When each union's roster arrived: most before the year began, the others through it.
    submitted = {
        union_id: _days_ago(today, HISTORY_DAYS + 30 if rng.random() < 0.6 else rng.random() * HISTORY_DAYS)
        for union_id, _ in with_roster
    }
    UnionSubmission.objects.bulk_create(
        [UnionSubmission(union_id=u, kind="roster", first_at=at, last_at=at) for u, at in submitted.items()],
        ignore_conflicts=True,
    )
    with_cards = set(Member.objects.filter(cards__isnull=False).values_list("union_id", flat=True).distinct())
    UnionSubmission.objects.bulk_create(
        [
            UnionSubmission(union_id=u, kind="cards", first_at=at, last_at=at)
            for u in sorted(with_cards)
            for at in [_days_ago(today, HISTORY_DAYS + 30 - rng.random() * (HISTORY_DAYS + 20))]
        ],
        ignore_conflicts=True,
    )
    reporter = get_user_model().objects.filter(username="province_admin").first()
    if reporter is not None:
        for union_id, county in reporting:
            ReportedMemberCount.objects.create(
                union_id=union_id,
                count=max(5, round(known.get(union_id, 0) * (factors[county] + 1))),
                as_of=today - datetime.timedelta(days=rng.randrange(30, HISTORY_DAYS)),
                source=rng.choice(("2025年工会统计年报", "会员登记台账", "单位人事部门提供")),
                entered_by=reporter,
            )
    _date_the_history(rng, today, submitted)
    return len(plans)


def _date_the_history(rng: random.Random, today: datetime.date, submitted: dict) -> None:
    """Spread the demo's members and cards over the year (see :func:`seed_rosters`): members joined
    before it (roster members when their roster arrived), a few left or retired during it; cards were
    issued through it, more of them lately, a few reported lost or cancelled since."""
    year_ago = _days_ago(today, HISTORY_DAYS + 30)
    members = list(
        Member.objects.filter(phone__regex=rf"^({DEMO_PHONE_PREFIX}|{DEMO_ROSTER_PHONE_PREFIX})")
        .order_by("id")
        .values_list("id", "union_id", "status", "phone")
    )
    joined, member_rows, closing = {}, [], []
    for member_id, union_id, status, phone in members:
        if phone.startswith(DEMO_ROSTER_PHONE_PREFIX):
            start = submitted.get(union_id, year_ago)
        else:
            start = year_ago if rng.random() < 0.85 else _days_ago(today, rng.random() * HISTORY_DAYS)
        joined[member_id] = start
        if status == Member.Status.ACTIVE:
            member_rows.append((member_id, start))
        else:
            changed = start + (timezone.now() - start) * rng.uniform(0.2, 0.95)
            closing.append((member_id, union_id, start, changed))
    cards = list(
        Card.objects.filter(member_id__in=joined).order_by("id").values_list("id", "member_id", "status")
    )
    card_rows, card_closing = [], []
    for card_id, member_id, status in cards:
        # About two fifths were issued before the year began; the rest through it, more of them lately.
        share = rng.random()
        issued = year_ago if share < 0.4 else _days_ago(today, HISTORY_DAYS * (1 - rng.random() ** 0.7))
        issued = max(issued, joined[member_id])
        if status in (Card.Status.ISSUED, Card.Status.ACTIVE):
            card_rows.append((card_id, issued))
        else:
            card_closing.append(
                (card_id, member_id, issued, issued + (timezone.now() - issued) * rng.uniform(0.3, 0.9))
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_memberhistory h SET valid_from = v.at "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
            "WHERE h.member_id = v.id AND h.valid_to IS NULL",
            [[m for m, _ in member_rows], [at for _, at in member_rows]],
        )
        if closing:
            ids, unions, starts, ends = (list(column) for column in zip(*closing, strict=True))
            cursor.execute(
                "UPDATE members_memberhistory h SET valid_from = v.changed FROM "
                "unnest(%s::bigint[], %s::timestamptz[]) AS v(id, changed) "
                "WHERE h.member_id = v.id AND h.valid_to IS NULL",
                [ids, ends],
            )
            cursor.execute(
                "INSERT INTO members_memberhistory (member_id, union_id, status, valid_from, valid_to) "
                "SELECT id, union_id, 'active', started, changed FROM "
                "unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
                "AS v(id, union_id, started, changed)",
                [ids, unions, starts, ends],
            )
        cursor.execute(
            "UPDATE members_cardhistory h SET valid_from = v.at "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
            "WHERE h.card_id = v.id AND h.valid_to IS NULL",
            [[c for c, _ in card_rows], [at for _, at in card_rows]],
        )
        cursor.execute(
            "UPDATE members_card c SET issued_at = v.at FROM unnest(%s::bigint[], %s::timestamptz[]) "
            "AS v(id, at) WHERE c.id = v.id",
            [[c for c, _ in card_rows], [at for _, at in card_rows]],
        )
        if card_closing:
            ids, member_ids, starts, ends = (list(column) for column in zip(*card_closing, strict=True))
            cursor.execute(
                "UPDATE members_cardhistory h SET valid_from = v.changed FROM "
                "unnest(%s::bigint[], %s::timestamptz[]) AS v(id, changed) "
                "WHERE h.card_id = v.id AND h.valid_to IS NULL",
                [ids, ends],
            )
            cursor.execute(
                "INSERT INTO members_cardhistory (card_id, member_id, status, valid_from, valid_to) "
                "SELECT id, member_id, 'active', started, changed FROM "
                "unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
                "AS v(id, member_id, started, changed)",
                [ids, member_ids, starts, ends],
            )


def seed_roster_imports(*, seed: int = 1) -> int:
    """Real roster imports of the demo county's first workplace union through the roster services:
    one applied (with members it no longer lists, waiting for the operator), one validated with rows
    in error, waiting for confirmation. Idempotent; returns the imports created."""
    from members import roster
    from members.models import RosterImport

    if RosterImport.objects.filter(original_filename__startswith=DEMO_ROSTER_PREFIX).exists():
        return 0
    staff = get_user_model().objects.in_bulk(
        ["workplace_operator", "changan_operator"], field_name="username"
    )
    county = Union.objects.filter(code=DEMO_COUNTY).first()
    if county is None or len(staff) < 2:
        return 0
    workplace = Union.objects.filter(parent=county, level=Union.Level.WORKPLACE).order_by("code").first()
    members = list(Member.objects.filter(union=workplace, status=Member.Status.ACTIVE).order_by("id"))
    if len(members) < 5:
        return 0
    rng = random.Random(f"roster-imports:{seed}")
    listed = members[: len(members) - 3]  # the last three are no longer on the roster

    def row(member):
        return [
            member.name,
            pii.decrypt_id_number(member.id_number_encrypted),
            member.phone,
            workplace.code,
            "",
            "",
        ]

    rows = [row(member) for member in listed]
    rows += [
        [name, id_number, phone, workplace.code, "", ""]
        for name, id_number, phone, _code, _groups in _applicant_rows(rng, 900, 5, workplace.code)
    ]
    if listed:
        rows[0][-1] = "退休"
    operator = staff["workplace_operator"]
    applied = _demo_roster(workplace, operator, "2026年度会员名册", rows)
    roster.roster_confirm(roster=applied, actor=operator)
    while roster.roster_apply_chunk(roster_id=applied.pk) == "more":
        pass
    broken = [row(member) for member in listed[:4]]
    broken.append(["无号人", "130102199001011234", "15600000001", workplace.code, "", ""])
    broken.append(
        ["外单位", _id_number(DEMO_COUNTY, DEMO_BATCH_ID_OFFSET + 950), "15600000002", "999999", "", ""]
    )
    broken.append(
        [
            "状态错",
            _id_number(DEMO_COUNTY, DEMO_BATCH_ID_OFFSET + 951),
            "15600000003",
            workplace.code,
            "",
            "停薪",
        ]
    )
    _demo_roster(county, staff["changan_operator"], "补充名册（待确认）", broken)
    return 2


def _demo_roster(union: Union, user, name: str, rows: list[list[str]]):
    from members import roster

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*issuance.REQUIRED_HEADERS, issuance.HEADER_GROUPS, roster.HEADER_STATUS])
    writer.writerows(rows)
    item = roster.roster_upload(
        union=union,
        uploaded_file=SimpleUploadedFile(f"{DEMO_ROSTER_PREFIX}{name}.csv", buffer.getvalue().encode()),
        uploaded_by=user,
    )
    roster.roster_validate_run(roster_id=item.pk)
    item.refresh_from_db()
    return item

"""Card coverage statistics (发卡覆盖面): the daily snapshot and the reads of the staff dashboard.

The definition of every figure is written once, in :data:`DEFINITIONS` below; the dashboard help text,
the XLSX export and the statistics API show that text as it is, and :data:`SNAPSHOT_SQL` computes
exactly it. Two choices behind them:

* redemptions and savings are counted by the member's union (what the members of a unit received),
  while union subsidies are counted by the union that owns the offer's budget (what a unit paid) —
  a city paying an allowance for members of a workplace elsewhere sees it on its own row;
* members and cards are counted as they stood at the end of the snapshot's day, read from their
  dated history (kept by database triggers, ``members.history``), so a past day can be computed
  again — after a back-dated correction, or to fill a gap — by the very statement of the nightly
  run; merchants and offers are counted as they stand when the snapshot runs;
* a workplace union's members are its roster (all members known, when it has applied one), else the
  member count it reported, else the members known (its card applicants); each snapshot row says how
  many of its workplace unions were counted each way.

Longer than most modules because each figure's definition, the SQL that computes it and the reads
that show it are kept side by side, so the three cannot drift apart."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from discounts.models import Offer, Redemption
from members.history import start_of_day
from members.models import (
    Card,
    CardHistory,
    Member,
    MemberHistory,
    ReportedMemberCount,
    Union,
    UnionSubmission,
)
from merchants.models import Merchant
from portal.scoping import staff_union_path
from stats.models import CoverageSnapshot, SnapshotRun

logger = logging.getLogger(__name__)

# Who may read the figures (dashboard, export and API alike), within their own subtree.
VIEW_PERMISSION = "stats.view_coveragesnapshot"

# (key, label, explanation): the one text of the definitions, shown wherever figures are shown.
DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    (
        "members",
        _("会员数"),
        _(
            "本单位及全部下级工会中会籍状态为“在会”的会员人数；已转出、退休、退会的不计。"
            "已导入会员名册的基层工会按名册计；尚无名册的，按其上报的会员人数计；"
            "两者都没有的，按已登记（办卡申请）的会员计。"
        ),
    ),
    (
        "cardholders",
        _("持卡人数"),
        _("上述会员中持有可用会员卡（已制卡或已激活）的人数；已挂失、已换卡、已注销的卡不计，每人只计一次。"),
    ),
    ("coverage", _("覆盖率"), _("持卡人数 ÷ 会员数；没有会员时为 0。覆盖率相同的单位名次并列。")),
    ("cards_activated", _("已激活卡数"), _("持卡人中会员卡状态为“已激活”的人数。")),
    (
        "reporting_rate",
        _("上报率"),
        _(
            "本单位范围内的基层工会中，已导入会员名册的个数、已上报办卡资料（发卡申请经校验）的个数，"
            "各占基层工会总数的比例。"
        ),
    ),
    ("merchants", _("签约商家"), _("所在地区属于本单位范围、状态为“已签约”的商家数。")),
    ("published_offers", _("在线优惠"), _("上述签约商家中状态为“已发布”的优惠数。")),
    (
        "redemptions_month",
        _("本月核销笔数"),
        _(
            "本月 1 日至统计日，本单位范围内会员已完成（未撤销）的核销笔数；"
            "本月优惠金额为这些核销的优惠金额合计。"
        ),
    ),
    (
        "subsidies_month",
        _("本月工会补贴"),
        _("同一期间内，补贴预算归属本单位范围内工会的优惠所支付的工会补贴合计（按出资工会统计）。"),
    ),
)


def definitions_payload() -> list[dict]:
    return [{"key": key, "label": str(label), "text": str(text)} for key, label, text in DEFINITIONS]


# The compute holds a transaction-level advisory lock so two runs of the same moment never interleave
# their DELETE and INSERT (the second waits, then replaces the day again with fresher figures).
SNAPSHOT_LOCK_KEY = 0x434F5645  # "COVE"
# One statement sorts and hashes a few million rows: give it memory so the aggregates stay in RAM.
SNAPSHOT_WORK_MEM = "256MB"
# A queued or running run older than this is presumed lost (its task was dropped): a new one may start.
RUN_STALE_AFTER = datetime.timedelta(minutes=15)
TREND_DAYS = 180

# The big part — every member active at the end of the day joined to the card they held then — is
# computed first into a temporary table: PostgreSQL runs a CREATE TABLE AS in parallel workers, whereas
# an INSERT … SELECT always runs on one core. Both statements are in one transaction, so the day is
# still replaced atomically. Table names come from the models, values are always bound parameters.
#
# Members and cards are read from their dated history (``members.MemberHistory``/``CardHistory``, kept
# by triggers): a period [valid_from, valid_to) holds at the end of the day when it started before the
# next local midnight (``cutoff``) and had not ended by then. Today's nightly run and the recomputation
# of a past day are this one statement with another day.
MEMBER_CARDS_TABLE = "coverage_own_cards"
MEMBER_CARDS_SQL = f"""
CREATE TEMPORARY TABLE {MEMBER_CARDS_TABLE} AS
-- A member holds at most one live card at any moment (constraint one_live_card_per_member, whose
-- history follows it), so the LEFT JOIN yields one row per active member.
SELECT h.union_id,
       count(*) AS members,
       count(c.card_id) AS cardholders,
       count(c.card_id) FILTER (WHERE c.status = %(card_active)s) AS cards_activated
FROM {MemberHistory._meta.db_table} h
LEFT JOIN {CardHistory._meta.db_table} c
       ON c.member_id = h.member_id AND c.status = ANY(%(card_holding)s)
      AND c.valid_from < %(cutoff)s AND (c.valid_to IS NULL OR c.valid_to >= %(cutoff)s)
WHERE h.status = %(member_active)s
  AND h.valid_from < %(cutoff)s AND (h.valid_to IS NULL OR h.valid_to >= %(cutoff)s)
GROUP BY h.union_id
"""  # noqa: S608
SNAPSHOT_SQL = f"""
WITH
workplaces AS (
    -- Each workplace union's denominator source on the day: an applied roster, else the latest
    -- reported count dated on or before the day, else the members known (card applicants).
    SELECT u.id AS union_id,
           ros.union_id IS NOT NULL AS has_roster,
           CASE WHEN ros.union_id IS NULL THEN rep.count END AS reported_count,
           crd.union_id IS NOT NULL AS has_card_data
    FROM {Union._meta.db_table} u
    LEFT JOIN {UnionSubmission._meta.db_table} ros
           ON ros.union_id = u.id AND ros.kind = %(kind_roster)s AND ros.first_at < %(cutoff)s
    LEFT JOIN {UnionSubmission._meta.db_table} crd
           ON crd.union_id = u.id AND crd.kind = %(kind_cards)s AND crd.first_at < %(cutoff)s
    LEFT JOIN LATERAL (
        SELECT r.count FROM {ReportedMemberCount._meta.db_table} r
        WHERE r.union_id = u.id AND r.as_of <= %(day)s ORDER BY r.as_of DESC, r.id DESC LIMIT 1
    ) rep ON true
    WHERE u.level = %(workplace)s
),
own_members AS (
    SELECT w.union_id,
           coalesce(w.reported_count, mc.members, 0) AS members,
           coalesce(mc.cardholders, 0) AS cardholders,
           coalesce(mc.cards_activated, 0) AS cards_activated,
           1 AS workplace_unions,
           w.has_roster::int AS roster_unions,
           (w.reported_count IS NOT NULL)::int AS reported_unions,
           w.has_card_data::int AS card_data_unions,
           coalesce(w.reported_count, 0) AS reported_members
    FROM workplaces w
    LEFT JOIN {MEMBER_CARDS_TABLE} mc ON mc.union_id = w.union_id
    UNION ALL
    -- Members are kept in workplace unions only; should one sit higher, it still counts.
    SELECT mc.union_id, mc.members, mc.cardholders, mc.cards_activated, 0, 0, 0, 0, 0
    FROM {MEMBER_CARDS_TABLE} mc
    JOIN {Union._meta.db_table} u ON u.id = mc.union_id AND u.level <> %(workplace)s
),
own_merchants AS (
    SELECT mc.region_id AS union_id,
           count(*) AS merchants,
           coalesce(sum(o.published), 0) AS published_offers
    FROM {Merchant._meta.db_table} mc
    LEFT JOIN (
        SELECT merchant_id, count(*) AS published
        FROM {Offer._meta.db_table}
        WHERE status = %(offer_published)s
        GROUP BY merchant_id
    ) o ON o.merchant_id = mc.id
    WHERE mc.status = %(merchant_approved)s
    GROUP BY mc.region_id
),
own_redemptions AS (
    SELECT m.union_id, count(*) AS redemptions, sum(r.discount) AS savings
    FROM {Redemption._meta.db_table} r
    JOIN {Member._meta.db_table} m ON m.id = r.member_id
    WHERE r.status = %(redemption_completed)s AND r.local_day BETWEEN %(month_start)s AND %(day)s
    GROUP BY m.union_id
),
own_subsidies AS (
    SELECT o.budget_owner_id AS union_id, sum(r.union_subsidy) AS subsidies
    FROM {Redemption._meta.db_table} r
    JOIN {Offer._meta.db_table} o ON o.id = r.offer_id
    WHERE r.status = %(redemption_completed)s AND r.local_day BETWEEN %(month_start)s AND %(day)s
      AND o.budget_owner_id IS NOT NULL
    GROUP BY o.budget_owner_id
),
own AS (
    -- Each union's own figures (before the roll-up), one row per union that has any.
    SELECT union_id,
           sum(members) AS members, sum(cardholders) AS cardholders, sum(cards_activated) AS cards_activated,
           sum(merchants) AS merchants, sum(published_offers) AS published_offers,
           sum(redemptions) AS redemptions, sum(savings) AS savings, sum(subsidies) AS subsidies,
           sum(workplace_unions) AS workplace_unions, sum(roster_unions) AS roster_unions,
           sum(reported_unions) AS reported_unions, sum(card_data_unions) AS card_data_unions,
           sum(reported_members) AS reported_members
    FROM (
        SELECT union_id, members, cardholders, cards_activated,
               0 AS merchants, 0 AS published_offers, 0 AS redemptions, 0 AS savings, 0 AS subsidies,
               workplace_unions, roster_unions, reported_unions, card_data_unions, reported_members
        FROM own_members
        UNION ALL
        SELECT union_id, 0, 0, 0, merchants, published_offers, 0, 0, 0, 0, 0, 0, 0, 0 FROM own_merchants
        UNION ALL
        SELECT union_id, 0, 0, 0, 0, 0, redemptions, savings, 0, 0, 0, 0, 0, 0 FROM own_redemptions
        UNION ALL
        SELECT union_id, 0, 0, 0, 0, 0, 0, 0, subsidies, 0, 0, 0, 0, 0 FROM own_subsidies
    ) parts
    GROUP BY union_id
),
rolled AS (
    -- The roll-up: every union's own figures are added to each ancestor named in its materialized
    -- path ("P/C1/C1A/C1A1/" → P, C1, C1A, C1A1), one join over at most depth × unions rows.
    SELECT anc.id AS union_id,
           sum(own.members) AS members, sum(own.cardholders) AS cardholders,
           sum(own.cards_activated) AS cards_activated, sum(own.merchants) AS merchants,
           sum(own.published_offers) AS published_offers, sum(own.redemptions) AS redemptions,
           sum(own.savings) AS savings, sum(own.subsidies) AS subsidies,
           sum(own.workplace_unions) AS workplace_unions, sum(own.roster_unions) AS roster_unions,
           sum(own.reported_unions) AS reported_unions, sum(own.card_data_unions) AS card_data_unions,
           sum(own.reported_members) AS reported_members
    FROM own
    JOIN {Union._meta.db_table} u ON u.id = own.union_id
    CROSS JOIN LATERAL unnest(string_to_array(rtrim(u.path, '/'), '/')) AS ancestor(code)
    JOIN {Union._meta.db_table} anc ON anc.code = ancestor.code
    GROUP BY anc.id
),
figures AS (
    SELECT u.id AS union_id, u.level, u.parent_id, u.path,
           coalesce(r.members, 0) AS members,
           coalesce(r.cardholders, 0) AS cardholders,
           CASE WHEN coalesce(r.members, 0) = 0 THEN 0
                ELSE round(r.cardholders::numeric / r.members, 4) END AS coverage,
           coalesce(r.cards_activated, 0) AS cards_activated,
           coalesce(r.merchants, 0) AS merchants,
           coalesce(r.published_offers, 0) AS published_offers,
           coalesce(r.redemptions, 0) AS redemptions_month,
           coalesce(r.savings, 0) AS savings_month,
           coalesce(r.subsidies, 0) AS subsidies_month,
           coalesce(r.workplace_unions, 0) AS workplace_unions,
           coalesce(r.roster_unions, 0) AS roster_unions,
           coalesce(r.reported_unions, 0) AS reported_unions,
           coalesce(r.card_data_unions, 0) AS card_data_unions,
           coalesce(r.reported_members, 0) AS reported_members
    FROM {Union._meta.db_table} u
    LEFT JOIN rolled r ON r.union_id = u.id
)
INSERT INTO {CoverageSnapshot._meta.db_table} (
    day, union_id, level, parent_id, path, members, cardholders, coverage, cards_activated, merchants,
    published_offers, redemptions_month, savings_month, subsidies_month,
    workplace_unions, roster_unions, reported_unions, card_data_unions, reported_members,
    rank_among_siblings, rank_in_level, created_at
)
SELECT %(day)s, union_id, level, parent_id, path, members, cardholders, coverage, cards_activated,
       merchants, published_offers, redemptions_month, savings_month, subsidies_month,
       workplace_unions, roster_unions, reported_unions, card_data_unions, reported_members,
       rank() OVER (PARTITION BY parent_id ORDER BY coverage DESC),
       rank() OVER (PARTITION BY level ORDER BY coverage DESC),
       %(now)s
FROM figures
"""  # noqa: S608


# --- Services -----------------------------------------------------------------------------------


def coverage_snapshot_compute(*, day: datetime.date) -> int:
    """Compute every union's figures for ``day`` in one set-based statement and store them, replacing
    that day's rows. All or nothing: if anything fails, the previous rows of the day stay. Returns the
    number of rows written (one per union)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SNAPSHOT_LOCK_KEY])
        cursor.execute(f"SET LOCAL work_mem = '{SNAPSHOT_WORK_MEM}'")
        params = snapshot_sql_params(day=day)
        cursor.execute(f"DROP TABLE IF EXISTS {MEMBER_CARDS_TABLE}")
        cursor.execute(MEMBER_CARDS_SQL, params)
        # A temporary table has no statistics until analysed; the statement below joins it to the tree.
        cursor.execute(f"ANALYZE {MEMBER_CARDS_TABLE}")
        cursor.execute(f"DELETE FROM {CoverageSnapshot._meta.db_table} WHERE day = %s", [day])  # noqa: S608
        cursor.execute(SNAPSHOT_SQL, params)
        written = cursor.rowcount
        cursor.execute(f"DROP TABLE {MEMBER_CARDS_TABLE}")
        return written


def snapshot_days_since(*, since: datetime.date) -> list[datetime.date]:
    """The days from ``since`` to yesterday that have snapshot rows: what a back-dated correction
    dated ``since`` makes stale."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    return list(
        CoverageSnapshot.objects.filter(day__gte=since, day__lte=yesterday)
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )


def coverage_recompute_since(*, since: datetime.date) -> list[datetime.date]:
    """Compute again every day of :func:`snapshot_days_since`, each with
    :func:`coverage_snapshot_compute`, the nightly run's own statement. Returns the days computed.
    (The task does the same one day per run, so a long list never outlasts a time limit.)"""
    days = snapshot_days_since(since=since)
    for day in days:
        coverage_snapshot_compute(day=day)
    return days


def snapshot_sql_params(*, day: datetime.date) -> dict:
    return {
        "day": day,
        "cutoff": start_of_day(day + datetime.timedelta(days=1)),
        "month_start": day.replace(day=1),
        "workplace": Union.Level.WORKPLACE.value,
        "kind_roster": UnionSubmission.Kind.ROSTER.value,
        "kind_cards": UnionSubmission.Kind.CARDS.value,
        "now": timezone.now(),
        "card_holding": [str(status) for status in Card.HOLDING_STATUSES],
        "card_active": Card.Status.ACTIVE.value,
        "member_active": Member.Status.ACTIVE.value,
        "merchant_approved": Merchant.Status.APPROVED.value,
        "offer_published": Offer.Status.PUBLISHED.value,
        "redemption_completed": Redemption.Status.COMPLETED.value,
    }


def snapshot_run_request(*, day: datetime.date, requested_by=None) -> tuple[SnapshotRun, bool]:
    """A queued run for ``day``, or the run already queued or running (not stale) — pressing "refresh"
    twice starts one computation. Returns (run, created)."""
    fresh_since = timezone.now() - RUN_STALE_AFTER
    pending = (
        SnapshotRun.objects.filter(
            day=day,
            status__in=[SnapshotRun.Status.QUEUED, SnapshotRun.Status.RUNNING],
            created_at__gte=fresh_since,
        )
        .order_by("-created_at")
        .first()
    )
    if pending is not None:
        return pending, False
    return SnapshotRun.objects.create(day=day, requested_by=requested_by), True


def snapshot_run_fail(*, run_id: int, message: str) -> None:
    SnapshotRun.objects.filter(
        id=run_id, status__in=[SnapshotRun.Status.QUEUED, SnapshotRun.Status.RUNNING]
    ).update(status=SnapshotRun.Status.FAILED, finished_at=timezone.now(), message=message[:500])


def snapshot_run_execute(*, run_id: int) -> SnapshotRun | None:
    """Run a queued run. Idempotent: a run already done or failed is left alone; a run found
    "running" (its worker was lost and the task redelivered) is computed again, which is safe because
    the compute replaces the day as a whole."""
    claimed = SnapshotRun.objects.filter(
        id=run_id, status__in=[SnapshotRun.Status.QUEUED, SnapshotRun.Status.RUNNING]
    ).update(status=SnapshotRun.Status.RUNNING, started_at=timezone.now(), message="")
    if claimed != 1:
        return SnapshotRun.objects.filter(id=run_id).first()
    run = SnapshotRun.objects.get(id=run_id)
    try:
        written = coverage_snapshot_compute(day=run.day)
    except Exception as exc:
        logger.exception("coverage snapshot run %s failed", run_id)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        snapshot_run_fail(run_id=run_id, message=f"{_('计算失败，已保留此前的数据。')} {detail}")
        raise
    SnapshotRun.objects.filter(id=run_id, status=SnapshotRun.Status.RUNNING).update(
        status=SnapshotRun.Status.DONE, finished_at=timezone.now(), nodes_written=written
    )
    run.refresh_from_db()
    return run


# --- Selectors ----------------------------------------------------------------------------------


@dataclasses.dataclass
class UnitRow:
    """One unit in a ranking table, with its change in coverage (percentage points) since the
    comparison days; ``None`` when there is no snapshot of that day."""

    snapshot: CoverageSnapshot
    rank: int | None
    change_week: Decimal | None = None
    change_month: Decimal | None = None
    highlight: str = ""  # "leader" | "laggard" | ""

    @property
    def union(self) -> Union:
        return self.snapshot.union

    @property
    def coverage_percent(self) -> Decimal:
        return (self.snapshot.coverage * 100).quantize(Decimal("0.01"))


@dataclasses.dataclass
class CoverageDashboard:
    union: Union
    day: datetime.date | None
    week_day: datetime.date | None
    month_day: datetime.date | None
    node: CoverageSnapshot | None
    node_change_week: Decimal | None
    node_change_month: Decimal | None
    children: list[UnitRow]
    counties: list[UnitRow]
    trend: list[CoverageSnapshot]
    latest_run: SnapshotRun | None

    @property
    def show_counties(self) -> bool:
        return self.union.level == Union.Level.PROVINCE


LEADERS = 3
LAGGARDS = 3


def snapshot_days(*, union: Union, on_or_before: datetime.date | None = None) -> tuple:
    """(day, week_day, month_day): the latest snapshot day of ``union`` (on or before the given date)
    and the latest days at least 7 and 30 days before it — one query."""
    limit = on_or_before or datetime.date.max
    table = CoverageSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH latest AS (SELECT max(day) AS day FROM {table} WHERE union_id = %(u)s AND day <= %(limit)s)
            SELECT latest.day,
                   (SELECT max(day) FROM {table} WHERE union_id = %(u)s AND day <= latest.day - 7),
                   (SELECT max(day) FROM {table} WHERE union_id = %(u)s AND day <= latest.day - 30)
            FROM latest
            """,  # noqa: S608
            {"u": union.pk, "limit": limit},
        )
        return cursor.fetchone()


def _change(current: CoverageSnapshot, older: CoverageSnapshot | None) -> Decimal | None:
    if older is None:
        return None
    return ((current.coverage - older.coverage) * 100).quantize(Decimal("0.01"))


def _ranked(rows: list[CoverageSnapshot], rank_field: str, older: dict, highlight: bool) -> list[UnitRow]:
    rows = sorted(rows, key=lambda r: (getattr(r, rank_field) or 0, -r.members, r.union.code))
    units = [
        UnitRow(
            snapshot=row,
            rank=getattr(row, rank_field),
            change_week=_change(row, older.get(("week", row.union_id))),
            change_month=_change(row, older.get(("month", row.union_id))),
        )
        for row in rows
    ]
    if highlight and len(units) > 1 and units[0].rank != units[-1].rank:
        # The top and bottom three (fewer when there are fewer than six units, so a unit is never
        # both); a unit tied with the last leader or the first laggard shares the mark.
        leaders = min(LEADERS, len(units) // 2)
        laggards = min(LAGGARDS, len(units) // 2)
        leader_cut = units[leaders - 1].rank
        laggard_cut = units[len(units) - laggards].rank
        for unit in units:
            if unit.rank <= leader_cut:
                unit.highlight = "leader"
            elif unit.rank >= laggard_cut:
                unit.highlight = "laggard"
    return units


def coverage_dashboard(*, union: Union, on_or_before: datetime.date | None = None) -> CoverageDashboard:
    """Everything the dashboard shows for ``union``, read from snapshot rows only, in a fixed number of
    queries whatever the size of the tree: the days, the rows of the node, its children (and, for the
    province, all counties) on the three days, the trend, and the latest run."""
    day, week_day, month_day = snapshot_days(union=union, on_or_before=on_or_before)
    latest_run = SnapshotRun.objects.order_by("-created_at").first()
    if day is None:
        return CoverageDashboard(union, None, None, None, None, None, None, [], [], [], latest_run)

    days = [d for d in (day, week_day, month_day) if d is not None]
    wanted = Q(union=union) | Q(parent=union)
    show_counties = union.level == Union.Level.PROVINCE
    if show_counties:
        wanted |= Q(level=Union.Level.COUNTY)
    rows = list(
        CoverageSnapshot.objects.filter(wanted, day__in=days).select_related("union", "parent").order_by()
    )
    current = {row.union_id: row for row in rows if row.day == day}
    older = {}
    for row in rows:
        if row.day == week_day:
            older[("week", row.union_id)] = row
        if row.day == month_day:
            older[("month", row.union_id)] = row

    node = current.get(union.pk)
    children = [row for row in current.values() if row.parent_id == union.pk]
    counties = [row for row in current.values() if row.level == Union.Level.COUNTY] if show_counties else []
    trend = list(
        CoverageSnapshot.objects.filter(union=union, day__lte=day)
        .only("day", "members", "cardholders", "coverage")
        .order_by("-day")[:TREND_DAYS]
    )
    trend.reverse()
    return CoverageDashboard(
        union=union,
        day=day,
        week_day=week_day,
        month_day=month_day,
        node=node,
        node_change_week=_change(node, older.get(("week", union.pk))) if node else None,
        node_change_month=_change(node, older.get(("month", union.pk))) if node else None,
        children=_ranked(children, "rank_among_siblings", older, highlight=True),
        counties=_ranked(counties, "rank_in_level", older, highlight=True),
        trend=trend,
        latest_run=latest_run,
    )


def coverage_home_union(*, user) -> Union | None:
    """Where a user's statistics start: their own union, or the province for a superuser."""
    if user.is_superuser:
        return Union.objects.province()
    return user.union if staff_union_path(user) is not None else None


def coverage_union_for(*, user, code: str | None) -> Union | None:
    """The union ``code`` if it lies in the user's subtree (None otherwise, so that outsiders cannot
    tell a foreign code from an unknown one); the user's home union when no code is given."""
    prefix = staff_union_path(user)
    if prefix is None:
        return None
    if not code:
        return coverage_home_union(user=user)
    return Union.objects.filter(code=code, path__startswith=prefix).first()


def latest_snapshot_day(*, union: Union) -> datetime.date | None:
    return snapshot_days(union=union)[0]


def coverage_rows(*, union: Union, day: datetime.date, level: str | None) -> list[CoverageSnapshot]:
    """Snapshot rows of ``day`` inside ``union``'s subtree: those of ``level``, or the direct children
    when no level is given. One indexed query (path prefix)."""
    queryset = CoverageSnapshot.objects.filter(day=day).select_related("union")
    queryset = queryset.filter(union.subtree_q(), level=level) if level else queryset.filter(parent=union)
    return list(queryset.order_by("rank_in_level" if level else "rank_among_siblings", "path"))

"""Demo coverage snapshots: a year of them, computed from the demo's dated history by the nightly
run's own statement, so the trend, the week and month changes and the rankings move on first start."""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from members.models import Member
from stats.coverage import coverage_snapshot_compute
from stats.models import CoverageSnapshot

SNAPSHOT_TABLES = (
    "members_union",
    "members_memberhistory",
    "members_cardhistory",
    "members_unionsubmission",
    "members_reportedmembercount",
    "members_member",
)
DAILY_DAYS = 40  # every day of the last weeks (week and month changes), weekly before
HISTORY_DAYS = 365


def demo_snapshot_days(today: datetime.date) -> list[datetime.date]:
    days = {today - datetime.timedelta(days=n) for n in range(DAILY_DAYS)}
    days |= {today - datetime.timedelta(days=n) for n in range(0, HISTORY_DAYS + 1, 7)}
    return sorted(days)


def seed_snapshots(*, log=print) -> int:
    """Compute the demo days that have no snapshot yet (idempotent); returns how many were computed.
    A demo without members (``seed_demo --members 0``) gets none: there would be nothing to show."""
    if not Member.objects.exists():
        return 0
    # The demo was loaded a moment ago, faster than autovacuum notices: give the planner statistics
    # of what the snapshot reads before computing a year of days.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(SNAPSHOT_TABLES)}")
    done = set(CoverageSnapshot.objects.values_list("day", flat=True).distinct())
    todo = [day for day in demo_snapshot_days(timezone.localdate()) if day not in done]
    for day in todo:
        coverage_snapshot_compute(day=day)
    log(f"coverage snapshots: {len(todo)} days computed")
    return len(todo)

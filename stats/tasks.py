"""Celery tasks of the coverage statistics: the snapshot, nightly (beat) and on demand.

They keep the names they were registered under when they lived in ``portal.tasks``: a run already
queued in the broker, and the beat schedule, name them so."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from portal.tasks_util import enqueue_on_commit
from stats.coverage import (
    coverage_snapshot_compute,
    snapshot_days_since,
    snapshot_run_execute,
    snapshot_run_request,
)

# The snapshot is one statement in one transaction (that is what makes a re-run atomic), so it cannot
# be split into chunks; at 14 million members it takes about a minute on two cores. These limits leave
# room above that instead of the project-wide two minutes.
SNAPSHOT_SOFT_TIME_LIMIT = 15 * 60
SNAPSHOT_TIME_LIMIT = 16 * 60


@shared_task(
    name="portal.tasks.coverage_snapshot_run",
    soft_time_limit=SNAPSHOT_SOFT_TIME_LIMIT,
    time_limit=SNAPSHOT_TIME_LIMIT,
)
def coverage_snapshot_run(run_id: int) -> None:
    """Compute the snapshot of a SnapshotRun ("refresh now" in the dashboard)."""
    snapshot_run_execute(run_id=run_id)


@shared_task(
    name="portal.tasks.coverage_snapshot_nightly",
    soft_time_limit=SNAPSHOT_SOFT_TIME_LIMIT,
    time_limit=SNAPSHOT_TIME_LIMIT,
)
def coverage_snapshot_nightly() -> None:
    """Beat: today's snapshot (Asia/Shanghai). A run already queued or running is reused."""
    run, _created = snapshot_run_request(day=timezone.localdate())
    snapshot_run_execute(run_id=run.pk)


@shared_task(soft_time_limit=SNAPSHOT_SOFT_TIME_LIMIT, time_limit=SNAPSHOT_TIME_LIMIT)
def coverage_recompute_since(since: str) -> str | None:
    """After a back-dated correction: the snapshot of the first stale day since ``since`` (ISO date)
    again, then the next day queued — one day per run. Returns the day computed."""
    days = snapshot_days_since(since=datetime.date.fromisoformat(since))
    if not days:
        return None
    coverage_snapshot_compute(day=days[0])
    if len(days) > 1:
        enqueue_on_commit(coverage_recompute_since, (days[0] + datetime.timedelta(days=1)).isoformat())
    return days[0].isoformat()

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from members.models import Card, Member
from stats.coverage import (
    coverage_snapshot_compute,
    snapshot_run_execute,
    snapshot_run_request,
)
from stats.models import CoverageSnapshot, SnapshotRun
from stats.tasks import coverage_snapshot_nightly
from tests.stats.conftest import DAY

pytestmark = pytest.mark.django_db


def figures(day=DAY) -> dict[str, CoverageSnapshot]:
    return {row.union.code: row for row in CoverageSnapshot.objects.filter(day=day).select_related("union")}


def test_snapshot_counts_active_members_and_live_cards_by_hand(tree, population):
    written = coverage_snapshot_compute(day=DAY)

    assert written == len(tree)  # one row per union, including those without members
    rows = figures()
    # C1A1: 5 active (holder, issued, no card, frozen, cancelled); transferred-out and retired excluded.
    assert (rows["C1A1"].members, rows["C1A1"].cardholders, rows["C1A1"].cards_activated) == (5, 2, 1)
    assert rows["C1A1"].coverage == Decimal("0.4000")
    assert (rows["C1A2"].members, rows["C1A2"].cardholders) == (1, 1)
    # The member whose first card was replaced counts once, with the new card.
    assert (rows["C1B1"].members, rows["C1B1"].cardholders) == (2, 1)
    # A member moved to another workplace counts there, with the card they kept.
    assert (rows["C2A1"].members, rows["C2A1"].cardholders) == (1, 1)
    assert (rows["C2B2"].members, rows["C2B2"].cardholders, rows["C2B2"].coverage) == (0, 0, Decimal("0"))


def test_snapshot_rolls_figures_up_through_the_tree(tree, population):
    coverage_snapshot_compute(day=DAY)
    rows = figures()
    assert (rows["C1A"].members, rows["C1A"].cardholders, rows["C1A"].coverage) == (6, 3, Decimal("0.5000"))
    assert (rows["C1B"].members, rows["C1B"].cardholders) == (2, 1)
    assert (rows["C1"].members, rows["C1"].cardholders, rows["C1"].cards_activated) == (8, 4, 3)
    assert (rows["C2"].members, rows["C2"].cardholders) == (1, 1)
    assert (rows["P"].members, rows["P"].cardholders, rows["P"].coverage) == (9, 5, Decimal("0.5556"))
    assert rows["C1A"].parent_id == tree.C1.pk and rows["C1A"].path == tree.C1A.path
    assert rows["C1A"].level == "county"


def test_ranks_share_places_on_equal_coverage(tree, population):
    coverage_snapshot_compute(day=DAY)
    rows = figures()
    # Counties: C2A 100 %, C1A and C1B both 50 % (tied), C2B 0 %.
    assert {code: rows[code].rank_in_level for code in ("C2A", "C1A", "C1B", "C2B")} == {
        "C2A": 1,
        "C1A": 2,
        "C1B": 2,
        "C2B": 4,
    }
    assert (rows["C1A"].rank_among_siblings, rows["C1B"].rank_among_siblings) == (1, 1)
    assert (rows["C2A"].rank_among_siblings, rows["C2B"].rank_among_siblings) == (1, 2)
    # Workplaces: C1A2 and C2A1 at 100 % share first place, then C1B1 50 %, C1A1 40 %, the rest 0 %.
    workplace_ranks = {code: rows[code].rank_in_level for code in tree if len(code) == 4}
    assert workplace_ranks == {
        "C1A2": 1,
        "C2A1": 1,
        "C1B1": 3,
        "C1A1": 4,
        "C1B2": 5,
        "C2A2": 5,
        "C2B1": 5,
        "C2B2": 5,
    }
    assert (rows["C2"].rank_in_level, rows["C1"].rank_in_level, rows["P"].rank_in_level) == (1, 2, 1)


def test_snapshot_counts_signed_merchants_offers_and_this_months_redemptions(tree, commerce):
    coverage_snapshot_compute(day=DAY)
    rows = figures()
    # Signed merchant in C1A: 2 published offers + the published allowance; the draft and the applied
    # merchant's offer do not count.
    assert (rows["C1A"].merchants, rows["C1A"].published_offers) == (1, 3)
    assert (rows["C1B"].merchants, rows["C1B"].published_offers) == (0, 0)
    assert (rows["C2"].merchants, rows["C2"].published_offers) == (1, 0)
    assert (rows["P"].merchants, rows["P"].published_offers) == (2, 3)
    # Member C1A1 redeemed twice this month up to the day (5.00 and the 20.00 allowance).
    assert (rows["C1A1"].redemptions_month, rows["C1A1"].savings_month) == (2, Decimal("25.00"))
    assert (rows["P"].redemptions_month, rows["P"].savings_month) == (2, Decimal("25.00"))
    assert rows["C2"].redemptions_month == 0
    # The allowance's budget belongs to C2: the subsidy is C2's (and the province's), not C1's.
    assert rows["C2"].subsidies_month == Decimal("20.00")
    assert rows["P"].subsidies_month == Decimal("20.00")
    assert rows["C1"].subsidies_month == Decimal("0.00")


def test_rerunning_a_day_replaces_its_rows(tree, population):
    coverage_snapshot_compute(day=DAY)
    coverage_snapshot_compute(day=DAY - datetime.timedelta(days=1))
    Card.objects.filter(member=population["holder"]).update(status=Card.Status.CANCELLED)

    coverage_snapshot_compute(day=DAY)

    assert CoverageSnapshot.objects.filter(day=DAY).count() == len(tree)
    assert figures()["C1A1"].cardholders == 1
    assert figures(DAY - datetime.timedelta(days=1))["C1A1"].cardholders == 2  # other days untouched


@pytest.fixture
def failing_snapshot_insert():
    """A real database failure in the middle of the statement: a trigger that refuses snapshot rows
    of one union (the DELETE of the day has run by then)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION refuse_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.path LIKE '%%C2B2/' THEN RAISE EXCEPTION 'disk full while writing snapshot'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_snapshot BEFORE INSERT ON members_coveragesnapshot
                FOR EACH ROW EXECUTE FUNCTION refuse_snapshot();
            """
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER IF EXISTS refuse_snapshot ON members_coveragesnapshot; "
            "DROP FUNCTION IF EXISTS refuse_snapshot();"
        )


def test_a_failing_run_leaves_the_previous_figures_and_says_it_failed(tree, population, request):
    coverage_snapshot_compute(day=DAY)
    before = {code: (row.members, row.cardholders, row.coverage) for code, row in figures().items()}
    Member.objects.filter(union=tree.C1A2).update(status=Member.Status.LEFT)
    request.getfixturevalue("failing_snapshot_insert")
    run, created = snapshot_run_request(day=DAY)
    assert created

    with pytest.raises(Exception, match="disk full"):
        snapshot_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == SnapshotRun.Status.FAILED
    assert "disk full" in run.message and run.finished_at is not None
    after = {code: (row.members, row.cardholders, row.coverage) for code, row in figures().items()}
    assert after == before


def test_a_run_goes_from_queued_to_done_and_is_not_computed_twice(tree, population):
    run, created = snapshot_run_request(day=DAY)
    assert created and run.status == SnapshotRun.Status.QUEUED
    again, created_again = snapshot_run_request(day=DAY)
    assert (again.pk, created_again) == (run.pk, False)  # pressing "refresh" twice starts one run

    done = snapshot_run_execute(run_id=run.pk)

    assert done.status == SnapshotRun.Status.DONE
    assert done.nodes_written == len(tree) and done.started_at and done.finished_at
    stamp = CoverageSnapshot.objects.filter(day=DAY).values_list("created_at", flat=True).first()
    assert snapshot_run_execute(run_id=run.pk).status == SnapshotRun.Status.DONE
    assert CoverageSnapshot.objects.filter(day=DAY).values_list("created_at", flat=True).first() == stamp


def test_a_run_left_running_by_a_lost_worker_is_computed_when_redelivered(tree, population):
    run = SnapshotRun.objects.create(day=DAY, status=SnapshotRun.Status.RUNNING)
    assert snapshot_run_execute(run_id=run.pk).status == SnapshotRun.Status.DONE
    assert CoverageSnapshot.objects.filter(day=DAY).count() == len(tree)


def test_a_stale_pending_run_does_not_block_a_new_one(tree):
    stale = SnapshotRun.objects.create(day=DAY)
    SnapshotRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - datetime.timedelta(hours=1))
    run, created = snapshot_run_request(day=DAY)
    assert created and run.pk != stale.pk


def test_nightly_task_writes_todays_snapshot(tree, population):
    coverage_snapshot_nightly()
    today = timezone.localdate()
    run = SnapshotRun.objects.get()
    assert (run.day, run.status) == (today, SnapshotRun.Status.DONE)
    assert figures(today)["P"].members == 9


def test_nightly_task_is_in_the_beat_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["coverage-snapshot-nightly"]
    assert schedule["task"] == coverage_snapshot_nightly.name == "portal.tasks.coverage_snapshot_nightly"

"""Coverage, reporting rate and history from the outside: upload a roster, issue cards, transfer, leave,
back-date a correction, recompute past days — the figures follow exactly.

Each step is dated on its own past day with ``members.history.history_effective_at`` (what the
triggers read), so the days' snapshots can be computed as they would have been that night."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from members import history, roster
from members.cards import card_issue
from members.models import Member, MemberHistory
from members.people import member_set_status, member_transfer
from portal.roles import Role
from stats.coverage import coverage_recompute_since, coverage_snapshot_compute
from stats.models import CoverageSnapshot
from tests.factories import PartnerBankFactory
from tests.members.test_roster import apply_all, roster_rows, validated

TODAY = timezone.localdate()
D1, D2, D3 = (TODAY - datetime.timedelta(days=n) for n in (10, 6, 2))


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return history.start_of_day(day) + datetime.timedelta(hours=hour)


def figures(day: datetime.date, code: str) -> dict:
    row = CoverageSnapshot.objects.get(day=day, union__code=code)
    return {
        "members": row.members,
        "cardholders": row.cardholders,
        "roster_unions": row.roster_unions,
        "reported_unions": row.reported_unions,
        "card_data_unions": row.card_data_unions,
        "workplace_unions": row.workplace_unions,
    }


def all_rows(day: datetime.date) -> list[tuple]:
    return list(
        CoverageSnapshot.objects.filter(day=day)
        .order_by("union_id")
        .values_list(
            "union_id",
            "members",
            "cardholders",
            "coverage",
            "cards_activated",
            "roster_unions",
            "reported_unions",
            "card_data_unions",
            "reported_members",
            "rank_among_siblings",
            "rank_in_level",
        )
    )


@pytest.fixture
def story(tree, make_staff, django_db_blocker):
    """D1: C1A's roster lists 10 members of C1A1; C1A2 reports 50 members. D2: 4 cards issued, one
    cardholder transferred to C1B1. D3: a cardholder leaves. Each day's snapshot computed that day."""
    staff = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    with history.history_effective_at(at(D1)):
        item = apply_all(validated(union=tree.C1A, user=staff, rows=roster_rows(10, "C1A1")), actor=staff)
        roster.reported_count_record(union=tree.C1A2, count=50, as_of=D1, source="年报", actor=staff)
    coverage_snapshot_compute(day=D1)
    members = list(Member.objects.filter(union=tree.C1A1).order_by("id"))
    bank = PartnerBankFactory()
    with history.history_effective_at(at(D2)):
        for member in members[:4]:
            card_issue(member=member, bank=bank)
        member_transfer(member=members[0], to_union=tree.C1B1)
    coverage_snapshot_compute(day=D2)
    with history.history_effective_at(at(D3)):
        member_set_status(member=members[1], status=Member.Status.LEFT)
    coverage_snapshot_compute(day=D3)
    return {"staff": staff, "members": members, "roster": item}


def test_each_days_snapshot_follows_the_story(story):
    assert figures(D1, "C1A1") == {
        "members": 10,
        "cardholders": 0,
        "roster_unions": 1,
        "reported_unions": 0,
        "card_data_unions": 0,
        "workplace_unions": 1,
    }
    assert figures(D1, "C1A2")["members"] == 50  # the reported count: no roster
    assert figures(D1, "C1A") == {
        "members": 60,
        "cardholders": 0,
        "roster_unions": 1,
        "reported_unions": 1,
        "card_data_unions": 0,
        "workplace_unions": 2,
    }
    assert (figures(D2, "C1A1")["members"], figures(D2, "C1A1")["cardholders"]) == (9, 3)
    assert (figures(D2, "C1B1")["members"], figures(D2, "C1B1")["cardholders"]) == (1, 1)
    assert (figures(D3, "C1A1")["members"], figures(D3, "C1A1")["cardholders"]) == (8, 2)
    assert figures(D3, "P")["members"] == 8 + 50 + 1
    assert figures(D3, "P")["cardholders"] == 3


def test_recomputing_a_past_day_gives_exactly_the_rows_of_that_night(story):
    before = {day: all_rows(day) for day in (D1, D2, D3)}
    assert coverage_recompute_since(since=D1) == [D1, D2, D3]
    assert {day: all_rows(day) for day in (D1, D2, D3)} == before


def test_a_back_dated_correction_changes_the_days_since_and_only_them(
    story, django_capture_on_commit_callbacks
):
    member = story["members"][5]  # active, no card, in C1A1 since D1
    with django_capture_on_commit_callbacks() as callbacks:
        history.member_status_correct(
            member=member,
            status=Member.Status.RETIRED,
            effective_on=D2 + datetime.timedelta(days=1),
            actor=story["staff"],
        )
    assert callbacks, "the recomputation of the days since is queued"
    d1, d2 = all_rows(D1), all_rows(D2)
    coverage_recompute_since(since=D2 + datetime.timedelta(days=1))
    assert all_rows(D1) == d1 and all_rows(D2) == d2
    assert (figures(D3, "C1A1")["members"], figures(D3, "C1A1")["cardholders"]) == (7, 2)
    periods = list(
        MemberHistory.objects.filter(member=member).order_by("valid_from").values_list("status", "valid_from")
    )
    assert periods == [("active", at(D1)), ("retired", history.start_of_day(D2 + datetime.timedelta(days=1)))]


def test_a_correction_before_the_last_recorded_change_is_refused(story):
    leaver = story["members"][1]  # left on D3
    with pytest.raises(history.CorrectionTooEarly):
        history.member_status_correct(
            member=leaver, status=Member.Status.RETIRED, effective_on=D2, actor=story["staff"]
        )
    leaver.refresh_from_db()
    assert leaver.status == Member.Status.LEFT


def test_a_correction_is_scoped_like_any_status_change(story, tree, make_staff):
    from portal.errors import PermissionDenied

    outsider = make_staff(tree.C2A, Role.COUNTY_OPERATOR)
    with pytest.raises(PermissionDenied):
        history.member_status_correct(
            member=story["members"][6], status=Member.Status.LEFT, effective_on=D3, actor=outsider
        )


def test_card_data_submitted_counts_the_unions_a_validated_batch_names(tree, make_staff):
    from tests.members.conftest import applicant_rows, validated_batch

    staff = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    validated_batch(union=tree.C1A, bank=PartnerBankFactory(), user=staff, rows=applicant_rows(2, "C1A2"))
    coverage_snapshot_compute(day=TODAY)
    assert figures(TODAY, "C1A")["card_data_unions"] == 1
    assert figures(TODAY, "C1A2")["card_data_unions"] == 1
    assert figures(TODAY, "C1A1")["card_data_unions"] == 0


def test_an_error_inside_a_dated_block_is_the_one_raised(db):
    from django.db import ProgrammingError, connection, transaction

    with (
        pytest.raises(ProgrammingError, match="no_such_table"),
        transaction.atomic(),
        history.history_effective_at(at(D1)),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")


def test_every_writer_leaves_history_raw_sql_and_bulk_updates_included(tree):
    """The triggers, not the services, keep the history: a raw statement changing many rows at once is
    recorded too, one period per changed row, and a statement changing nothing else records nothing."""
    from django.db import connection

    from members.models import CardHistory
    from tests.factories import CardFactory, MemberFactory

    members = [MemberFactory(union=tree.C1A1) for _ in range(3)]
    card = CardFactory(member=members[0])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_member SET status = 'retired' WHERE id = ANY(%s)", [[m.pk for m in members[:2]]]
        )
        cursor.execute("UPDATE members_member SET phone = '13700000000' WHERE id = %s", [members[2].pk])
        cursor.execute("UPDATE members_card SET status = 'cancelled' WHERE id = %s", [card.pk])
    for member, statuses in zip(
        members, (["active", "retired"], ["active", "retired"], ["active"]), strict=True
    ):
        periods = MemberHistory.objects.filter(member=member).order_by("valid_from", "id")
        assert [p.status for p in periods] == statuses
        assert periods.filter(valid_to__isnull=True).count() == 1
    assert list(CardHistory.objects.filter(card=card).order_by("id").values_list("status", flat=True)) == [
        "active",
        "cancelled",
    ]

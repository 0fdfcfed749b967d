"""The membership roster: import without cards, scoping as card batches (bulk path included), the
members not in the latest roster, reported member counts."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.db.models import ProtectedError
from django.utils import timezone

from members import batches, pii, roster
from members.batch_validation import batch_validate_run
from members.models import (
    Card,
    IssuanceRow,
    Member,
    MemberHistory,
    ReportedMemberCount,
    RosterImport,
    RosterMissing,
    RosterRow,
    UnionSubmission,
)
from portal.errors import PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import database_url_for, wait_for
from tests.factories import MemberFactory, PartnerBankFactory, make_id_number
from tests.members.conftest import csv_bytes, xlsx_bytes

HEADER = ["姓名", "身份证号", "手机号", "基层工会代码", "群体", "会籍状态"]


def roster_rows(count: int, union_code: str, *, start: int = 0, status: str = "") -> list[list[str]]:
    return [
        [
            f"名册会员{start + i}",
            make_id_number(region="130104"),
            f"136{start + i:08d}",
            union_code,
            "",
            status,
        ]
        for i in range(count)
    ]


def row_of(member: Member, id_number: str, union_code: str, status: str = "", name: str | None = None):
    return [name or member.name, id_number, member.phone, union_code, "", status]


def upload(*, union, user, content: bytes, filename: str = "名册.csv") -> RosterImport:
    return roster.roster_upload(
        union=union, uploaded_file=SimpleUploadedFile(filename, content), uploaded_by=user
    )


def validated(*, union, user, rows=None, content=None, filename="名册.csv") -> RosterImport:
    item = upload(
        union=union, user=user, content=content or csv_bytes(rows, header=HEADER), filename=filename
    )
    roster.roster_validate_run(roster_id=item.pk)
    item.refresh_from_db()
    return item


def apply_all(item: RosterImport, *, actor, chunk_size: int = 3) -> RosterImport:
    roster.roster_confirm(roster=item, actor=actor)
    while roster.roster_apply_chunk(roster_id=item.pk, chunk_size=chunk_size) == "more":
        pass
    item.refresh_from_db()
    return item


@pytest.fixture
def county_staff(tree, make_staff):
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR)


def test_roster_in_gbk_adds_members_without_issuing_cards(tree, county_staff):
    rows = roster_rows(4, "C1A1") + roster_rows(3, "C1A2", start=10)
    item = validated(
        union=tree.C1A, user=county_staff, content=csv_bytes(rows, header=HEADER, encoding="gbk")
    )
    assert (item.status, item.valid_rows, item.error_rows) == (RosterImport.Status.VALIDATED, 7, 0)
    item = apply_all(item, actor=county_staff)
    assert item.status == RosterImport.Status.COMPLETED
    assert (item.members_added, item.members_updated, item.missing_members) == (7, 0, 0)
    assert Member.objects.filter(union=tree.C1A1, status=Member.Status.ACTIVE).count() == 4
    assert not Card.objects.exists()
    assert set(
        UnionSubmission.objects.filter(kind=UnionSubmission.Kind.ROSTER).values_list("union__code", flat=True)
    ) == {"C1A1", "C1A2"}
    # Every new member has a dated history from the import on.
    assert MemberHistory.objects.filter(valid_to__isnull=True, status="active").count() == 7


def test_roster_from_xlsx_updates_moves_and_marks_as_left(tree, county_staff):
    known_id, moving_id, leaving_id = make_id_number(), make_id_number(), make_id_number()
    known = MemberFactory(union=tree.C1A1, id_number=known_id, name="旧名字")
    moving = MemberFactory(union=tree.C1A1, id_number=moving_id)
    leaving = MemberFactory(union=tree.C1A2, id_number=leaving_id)
    rows = [
        row_of(known, known_id, "C1A1", name="新名字"),
        row_of(moving, moving_id, "C1A2"),
        row_of(leaving, leaving_id, "C1A2", status="退会"),
    ]
    item = validated(
        union=tree.C1A, user=county_staff, content=xlsx_bytes(rows, header=HEADER), filename="名册.xlsx"
    )
    assert item.valid_rows == 3, list(RosterRow.objects.values_list("errors", flat=True))
    item = apply_all(item, actor=county_staff)
    known.refresh_from_db()
    moving.refresh_from_db()
    leaving.refresh_from_db()
    assert known.name == "新名字"
    assert moving.union == tree.C1A2
    assert moving.transfers.count() == 1
    assert leaving.status == Member.Status.LEFT
    # Only the renamed member is rewritten; the others change union or status only.
    assert (item.members_added, item.members_updated, item.status_changes) == (0, 1, 2)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.MEMBER_CHANGED, target_id=str(leaving.pk)
    ).exists()


def test_members_missing_from_the_roster_are_listed_not_removed(tree, county_staff):
    listed_id = make_id_number()
    listed = MemberFactory(union=tree.C1A1, id_number=listed_id)
    absent = MemberFactory(union=tree.C1A1)
    elsewhere = MemberFactory(union=tree.C1B1)  # a union the roster does not cover
    item = apply_all(
        validated(union=tree.C1A, user=county_staff, rows=[row_of(listed, listed_id, "C1A1")]),
        actor=county_staff,
    )
    assert item.missing_members == 1
    entry = RosterMissing.objects.get()
    assert (entry.member, entry.resolution) == (absent, RosterMissing.Resolution.PENDING)
    absent.refresh_from_db()
    assert absent.status == Member.Status.ACTIVE
    elsewhere.refresh_from_db()
    assert elsewhere.status == Member.Status.ACTIVE

    assert roster.roster_missing_resolve(missing_ids=[entry.pk], resolution="left", actor=county_staff) == 1
    absent.refresh_from_db()
    entry.refresh_from_db()
    assert absent.status == Member.Status.LEFT
    assert entry.resolution == RosterMissing.Resolution.LEFT
    # Confirmed once: a second confirmation changes nothing.
    assert roster.roster_missing_resolve(missing_ids=[entry.pk], resolution="kept", actor=county_staff) == 0


def test_another_countys_operator_cannot_resolve_or_see_missing_members(tree, county_staff, make_staff):
    MemberFactory(union=tree.C1A1)
    listed_id = make_id_number()
    listed = MemberFactory(union=tree.C1A1, id_number=listed_id)
    apply_all(
        validated(union=tree.C1A, user=county_staff, rows=[row_of(listed, listed_id, "C1A1")]),
        actor=county_staff,
    )
    outsider = make_staff(tree.C1B, Role.COUNTY_OPERATOR)
    entry = RosterMissing.objects.get()
    assert not roster.missing_for_staff(outsider).exists()
    assert roster.roster_missing_resolve(missing_ids=[entry.pk], resolution="left", actor=outsider) == 0
    entry.member.refresh_from_db()
    assert entry.member.status == Member.Status.ACTIVE


def test_a_roster_row_never_touches_a_member_of_another_county(tree, county_staff, make_staff):
    """As another county's operator: naming a member of C1A in a C1B roster is an error at validation,
    and the bulk statement refuses it too when the row skipped validation."""
    victim_id = make_id_number()
    victim = MemberFactory(union=tree.C1A1, id_number=victim_id, name="原名")
    outsider = make_staff(tree.C1B, Role.COUNTY_OPERATOR)
    item = validated(
        union=tree.C1B, user=outsider, rows=[row_of(victim, victim_id, "C1B1", status="退会", name="改名")]
    )
    assert (item.valid_rows, item.error_rows) == (0, 1)
    assert str(roster.ROSTER_MEMBER_OUT_OF_REACH) in RosterRow.objects.get().errors

    # The bulk path: force the row valid as if validation had been skipped, then apply.
    RosterRow.objects.filter(roster=item).update(status="valid", errors=[])
    RosterImport.objects.filter(pk=item.pk).update(valid_rows=1, error_rows=0)
    item.refresh_from_db()
    item = apply_all(item, actor=outsider)
    victim.refresh_from_db()
    assert (victim.name, victim.status, victim.union) == ("原名", Member.Status.ACTIVE, tree.C1A1)
    assert RosterRow.objects.get().status == RosterRow.Status.INVALID
    assert not RosterMissing.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("their_union", ["C1A1", "C1B1"])
def test_a_member_another_writer_is_adding_is_waited_for_then_treated_as_known(
    tree, county_staff, their_union
):
    """Another transaction adds the member a roster row names, and has not committed when the chunk
    inserts its new members: the chunk waits for it, then treats the member as known — refreshed and
    audited in reach, refused out of reach (another county's) — and never adds a second one."""
    id_number = make_id_number()
    item = validated(
        union=tree.C1A, user=county_staff, rows=[["新名字", id_number, "13600000001", "C1A1", "", ""]]
    )
    assert item.valid_rows == 1
    roster.roster_confirm(roster=item, actor=county_staff)
    url = database_url_for(connection.settings_dict)

    def apply_chunk() -> str:
        try:
            return roster.roster_apply_chunk(roster_id=item.pk)
        finally:
            connections.close_all()  # this thread's own connection

    # The pool is left last: should the test fail while the chunk waits, closing ``other`` first
    # rolls its insert back and lets the chunk's thread end.
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        psycopg.connect(url) as other,
        psycopg.connect(url, autocommit=True) as watcher,
    ):
        other.execute(
            "INSERT INTO members_member (name, id_number_encrypted, id_number_hash, id_number_masked, phone, "
            "union_id, status, groups, created_at, updated_at) "
            "VALUES ('旧名字', %s, %s, %s, '13900000000', %s, 'active', '{}', now(), now())",
            [
                pii.encrypt_id_number(id_number),
                pii.hash_id_number(id_number),
                pii.mask_id_number(id_number),
                getattr(tree, their_union).pk,
            ],
        )
        applying = pool.submit(apply_chunk)
        wait_for(
            lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0],
            message="the chunk waits for the other writer",
        )
        other.commit()
        assert applying.result(timeout=60) == "more"

    member = Member.objects.get(id_number_hash=pii.hash_id_number(id_number))  # one, not two
    item.refresh_from_db()
    changed = AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_CHANGED, target_id=str(member.pk))
    if their_union == "C1A1":
        assert (member.name, member.phone) == ("新名字", "13600000001")
        assert (item.members_added, item.members_updated, item.error_rows) == (0, 1, 0)
        assert changed.count() == 1
    else:
        assert (member.name, member.phone, member.union.code) == ("旧名字", "13900000000", "C1B1")
        assert (item.members_added, item.members_updated, item.error_rows) == (0, 0, 1)
        assert str(roster.ROSTER_MEMBER_OUT_OF_REACH) in RosterRow.objects.get(roster=item).errors
        assert not changed.exists()


def test_roster_rows_must_name_workplaces_of_the_roster_union(tree, county_staff):
    item = validated(
        union=tree.C1A, user=county_staff, rows=roster_rows(1, "C1B1") + roster_rows(1, "C1A", start=5)
    )
    assert (item.valid_rows, item.error_rows) == (0, 2)


def test_upload_refused_outside_the_uploaders_subtree_and_without_permission(tree, county_staff, make_staff):
    with pytest.raises(PermissionDenied):
        upload(union=tree.C1B, user=county_staff, content=csv_bytes(roster_rows(1, "C1B1"), header=HEADER))
    reviewer = make_staff(tree.C1A, Role.MERCHANT_REVIEWER)
    with pytest.raises(PermissionDenied):
        upload(union=tree.C1A, user=reviewer, content=csv_bytes(roster_rows(1, "C1A1"), header=HEADER))


def test_confirm_needs_the_permission_and_the_scope(tree, county_staff, make_staff):
    item = validated(union=tree.C1A, user=county_staff, rows=roster_rows(2, "C1A1"))
    with pytest.raises(PermissionDenied):
        roster.roster_confirm(roster=item, actor=make_staff(tree.C1B, Role.COUNTY_OPERATOR))
    item.refresh_from_db()
    assert item.status == RosterImport.Status.VALIDATED


def test_unknown_membership_status_and_duplicates_are_row_errors(tree, county_staff):
    rows = roster_rows(2, "C1A1", status="放假")
    rows.append(list(rows[0]))
    rows[2][-1] = ""
    validated(union=tree.C1A, user=county_staff, rows=rows)
    errors = dict(RosterRow.objects.values_list("row_number", "errors"))
    assert any("会籍状态" in e for e in errors[2])
    assert any("重复" in e for e in errors[4])


def test_applying_is_resumable_and_idempotent(tree, county_staff):
    item = validated(union=tree.C1A, user=county_staff, rows=roster_rows(5, "C1A1"))
    roster.roster_confirm(roster=item, actor=county_staff)
    assert roster.roster_apply_chunk(roster_id=item.pk, chunk_size=2) == "more"
    # A redelivered run of a finished roster does nothing.
    while roster.roster_apply_chunk(roster_id=item.pk, chunk_size=2) == "more":
        pass
    assert roster.roster_apply_chunk(roster_id=item.pk, chunk_size=2) == "idle"
    item.refresh_from_db()
    assert (item.processed_rows, item.members_added) == (5, 5)
    assert Member.objects.count() == 5


def test_reported_count_is_recorded_with_date_and_source(tree, make_staff):
    staff = make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR)
    day = timezone.localdate() - datetime.timedelta(days=3)
    reported = roster.reported_count_record(
        union=tree.C1A1, count=120, as_of=day, source="2026年工会年报", actor=staff
    )
    assert (reported.count, reported.as_of, reported.entered_by) == (120, day, staff)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_COUNT_REPORTED).count() == 1
    with pytest.raises(ValidationFailed):
        roster.reported_count_record(
            union=tree.C1A, count=5, as_of=day, source="x", actor=make_staff(tree.C1A)
        )
    with pytest.raises(PermissionDenied):
        roster.reported_count_record(union=tree.C1B1, count=5, as_of=day, source="x", actor=staff)
    assert ReportedMemberCount.objects.count() == 1


def test_a_chunk_that_fails_midway_leaves_nothing_and_the_rerun_completes(tree, county_staff, monkeypatch):
    """A worker lost inside a chunk: its transaction rolls back as a whole (members, history, moves),
    and the next run starts again at the first row not yet done."""
    moving_id = make_id_number()
    moving = MemberFactory(union=tree.C1A1, id_number=moving_id)
    rows = [row_of(moving, moving_id, "C1A2"), *roster_rows(4, "C1A1")]
    item = validated(union=tree.C1A, user=county_staff, rows=rows)
    roster.roster_confirm(roster=item, actor=county_staff)
    real = roster._apply_union_and_status

    def crash(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(roster, "_apply_union_and_status", crash)
    with pytest.raises(RuntimeError):
        roster.roster_apply_chunk(roster_id=item.pk, chunk_size=10)
    moving.refresh_from_db()
    assert moving.union == tree.C1A1
    assert Member.objects.count() == 1
    assert MemberHistory.objects.count() == 1
    monkeypatch.setattr(roster, "_apply_union_and_status", real)
    while roster.roster_apply_chunk(roster_id=item.pk, chunk_size=10) == "more":
        pass
    item.refresh_from_db()
    moving.refresh_from_db()
    assert (item.status, item.members_added, item.status_changes) == (RosterImport.Status.COMPLETED, 4, 1)
    assert moving.union == tree.C1A2
    assert MemberHistory.objects.filter(member=moving).count() == 2


def test_a_roster_whose_work_was_lost_is_queued_again_by_the_beat(tree, county_staff):
    from members import tasks

    item = validated(union=tree.C1A, user=county_staff, rows=roster_rows(3, "C1A1"))
    roster.roster_confirm(roster=item, actor=county_staff)  # its first chunk's message is then lost
    later = tasks.roster_apply.time_limit or 0
    later = max(later, tasks._time_limit_of("processing")) + tasks.STUCK_BATCH_GRACE + 1
    start = 2_000_000.0
    assert tasks.requeue_stuck_batches(now=start) == 0  # a first look
    assert tasks.requeue_stuck_batches(now=start + later) == 1
    while roster.roster_apply_chunk(roster_id=item.pk) == "more":
        pass
    assert tasks.requeue_stuck_batches(now=start + 10 * later) == 0  # completed: nobody's to re-queue


def test_staging_rows_keep_their_foreign_keys_through_django(tree, county_staff):
    """Roster and batch rows carry no database constraints (``members 0021``): a file deleted takes
    its rows with it, and a union its rows name cannot be deleted, both kept by Django."""
    item = validated(union=tree.C1A, user=county_staff, rows=roster_rows(3, "C1A1"))
    batch = batches.batch_upload(
        union=tree.C1A,
        bank=PartnerBankFactory(),
        uploaded_file=SimpleUploadedFile("申请表.csv", csv_bytes(roster_rows(2, "C1A2"), header=HEADER[:5])),
        uploaded_by=county_staff,
    )
    batch_validate_run(batch_id=batch.pk)
    assert item.rows.count() == 3 and batch.rows.count() == 2
    for union, rows in ((tree.C1A1, item.rows), (tree.C1A2, batch.rows)):
        with pytest.raises(ProtectedError) as refused:
            union.delete()
        assert set(rows.all()) <= set(refused.value.protected_objects)

    item.delete()
    batch.delete()
    assert not RosterRow.objects.exists() and not IssuanceRow.objects.exists()

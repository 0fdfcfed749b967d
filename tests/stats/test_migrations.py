"""The coverage models moved from the members app to stats: a database migrated before the move keeps
its snapshot rows, its runs and the permission its staff groups were given."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.roles import ensure_roles
from stats.models import CoverageSnapshot, SnapshotRun

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("members", "0008_wrong_code_guesses"), ("stats", None)]
DAY = datetime.date(2026, 5, 4)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _database_as_before_the_move(*, keep_new_content_types: bool):
    """Migrate back to before the move and write what the old code wrote: a snapshot, a run, and a
    group holding ``members.view_coveragesnapshot``."""
    executor = _migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE[:1]).apps
    union = old.get_model("members", "Union").objects.create(
        code="P", name="省总工会", level="province", path="P/", depth=0
    )
    old.get_model("members", "CoverageSnapshot").objects.create(
        day=DAY, union=union, level="province", path="P/", members=10, cardholders=4, coverage="0.4000"
    )
    old.get_model("members", "SnapshotRun").objects.create(day=DAY, status="done", nodes_written=1)
    # Going back renamed the stats content types to members, as they were before the move.
    ContentType.objects.clear_cache()
    old_type = ContentType.objects.get(app_label="members", model="coveragesnapshot")
    assert not ContentType.objects.filter(app_label="stats").exists()
    view = Permission.objects.get(content_type=old_type, codename="view_coveragesnapshot")
    if keep_new_content_types:
        new_type = ContentType.objects.create(app_label="stats", model="coveragesnapshot")
        Permission.objects.create(content_type=new_type, codename="view_coveragesnapshot", name="view")
    group = Group.objects.create(name="县级工会操作员（旧）")
    group.permissions.add(view)
    return union, old_type, group


def _migrate_to_the_end():
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


def test_rows_runs_and_granted_permissions_survive_the_move():
    union, old_type, group = _database_as_before_the_move(keep_new_content_types=False)
    _migrate_to_the_end()

    snapshot = CoverageSnapshot.objects.get()
    assert (snapshot.day, snapshot.union_id, snapshot.members, snapshot.cardholders) == (DAY, union.pk, 10, 4)
    assert SnapshotRun.objects.get().nodes_written == 1
    moved = ContentType.objects.get_for_model(CoverageSnapshot)
    assert (moved.pk, moved.app_label) == (old_type.pk, "stats")
    assert not ContentType.objects.filter(app_label="members", model="coveragesnapshot").exists()
    assert group.permissions.filter(content_type=moved, codename="view_coveragesnapshot").exists()
    ensure_roles()  # the roles name stats.view_coveragesnapshot, which now exists


def test_grants_reach_the_new_permission_when_both_content_types_exist():
    _union, old_type, group = _database_as_before_the_move(keep_new_content_types=True)
    _migrate_to_the_end()

    new_type = ContentType.objects.get_for_model(CoverageSnapshot)
    assert new_type.pk != old_type.pk
    assert not ContentType.objects.filter(pk=old_type.pk).exists()
    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("stats", "view_coveragesnapshot")
    ]

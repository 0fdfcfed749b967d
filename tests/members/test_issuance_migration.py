"""Batches processed before progress was kept as a row number (``members 0020``): their done rows
become valid again and the batch's ``processed_through`` is the last of them, so a batch caught in the
middle of processing resumes after its last done row and a completed one has nothing left to do."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from members.models import IssuanceBatch, IssuanceRow

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("members", "0019_history_dated_when_the_change_is_made")]
AFTER = [("members", "0020_issuance_progress_by_row_number")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def test_done_rows_become_the_batch_progress():
    old = _migrate(BEFORE).loader.project_state(BEFORE).apps
    union = old.get_model("members", "Union").objects.create(
        code="P", name="省总工会", level="province", path="P/", depth=0
    )
    bank = old.get_model("members", "PartnerBank").objects.create(code="B", name="银行", bin="628888")
    user = old.get_model("portal", "User").objects.create(username="operator")
    batch_model = old.get_model("members", "IssuanceBatch")
    row_model = old.get_model("members", "IssuanceRow")

    def batch(status, statuses):
        made = batch_model.objects.create(
            union=union, bank=bank, file="x.csv", original_filename="x.csv", uploaded_by=user, status=status
        )
        for number, row_status in enumerate(statuses, start=2):
            row_model.objects.create(batch=made, row_number=number, name="张三", status=row_status)
        return made.pk

    completed = batch("completed", ["done", "invalid", "done"])
    halfway = batch("processing", ["done", "done", "invalid", "valid", "valid"])
    waiting = batch("approved", ["valid", "invalid"])

    _migrate(AFTER)
    try:
        progress = dict(IssuanceBatch.objects.values_list("pk", "processed_through"))
        assert progress == {completed: 4, halfway: 3, waiting: 0}
        rows = IssuanceRow.objects.filter(batch_id=halfway).order_by("row_number")
        statuses = list(rows.values_list("status", flat=True))
        assert statuses == ["valid", "valid", "invalid", "valid", "valid"]
        assert not IssuanceRow.objects.filter(status="done").exists()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

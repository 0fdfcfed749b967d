from __future__ import annotations

import pytest
from django.utils import timezone

from stats.models import CoverageSnapshot, SnapshotRun
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_refresh_now_runs_the_snapshot_on_a_real_worker(celery_worker, client, tree, population, make_staff):
    client.force_login(make_staff(tree.C1A))

    response = client.post("/staff/refresh/", {"next": "/staff/"}, follow=True)

    assert response.status_code == 200
    assert "已开始重新计算" in response.content.decode()
    run = SnapshotRun.objects.get()
    wait_for(
        lambda: SnapshotRun.objects.filter(pk=run.pk, status__in=["done", "failed"]).exists(),
        message="the snapshot run to finish",
    )
    status = client.get(f"/staff/runs/{run.pk}/").json()
    assert status["status"] == "done", (status, celery_worker.output()[-2000:])
    assert status["progress"] == 100 and status["nodes_written"] == len(tree)
    row = CoverageSnapshot.objects.get(day=timezone.localdate(), union=tree.C1A)
    assert (row.members, row.cardholders) == (6, 3)
    page = client.get("/staff/").content.decode()
    assert "3 ÷ 6" in page and "data-status-url" not in page

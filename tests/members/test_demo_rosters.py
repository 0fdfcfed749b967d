"""The demo's rosters, reported counts and year of history: every roster screen has content and the
coverage figures move on first start."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from members import demo, demo_rosters
from members.models import ReportedMemberCount, RosterImport, RosterMissing, UnionSubmission
from stats import demo as stats_demo
from stats.models import CoverageSnapshot

pytestmark = pytest.mark.django_db


def test_demo_rosters_history_and_snapshots(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo.seed_unions(seed=1, workplaces_per_county=2)
    demo.seed_staff(seed=1)
    demo.seed_members(seed=1, count=2000, log=lambda message: None)
    assert demo_rosters.seed_rosters(seed=1, log=lambda message: None) > 0
    assert demo_rosters.seed_roster_imports(seed=1) == 2
    assert stats_demo.seed_snapshots(log=lambda message: None) > 50
    # Idempotent.
    assert demo_rosters.seed_rosters(seed=1, log=lambda message: None) == 0
    assert demo_rosters.seed_roster_imports(seed=1) == 0
    assert stats_demo.seed_snapshots(log=lambda message: None) == 0

    assert set(RosterImport.objects.values_list("status", flat=True)) == {"completed", "validated"}
    assert RosterMissing.objects.filter(resolution="pending").count() == 3
    assert ReportedMemberCount.objects.exists()
    province = CoverageSnapshot.objects.filter(level="province").order_by("day")
    first, last = province.first(), province.last()
    assert last.day == timezone.localdate()
    assert first.day <= timezone.localdate() - datetime.timedelta(days=360)
    assert 0.12 <= last.coverage <= 0.25
    assert first.coverage < last.coverage  # the year's trend moves
    assert 0 < last.roster_unions < last.workplace_unions
    assert last.reported_unions > 0
    counties = CoverageSnapshot.objects.filter(day=last.day, level="county")
    assert max(c.coverage for c in counties) - min(c.coverage for c in counties) > 0.3
    assert UnionSubmission.objects.filter(kind="cards").count() < last.workplace_unions

"""The reporting rate and the denominator source on the dashboard, the reporting page and exports."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from members.models import ReportedMemberCount, UnionSubmission
from portal.roles import Role
from stats.coverage import coverage_snapshot_compute
from tests.factories import MemberFactory, UserFactory
from tests.stats.conftest import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def submissions(tree):
    """C1A1 has a roster (3 members known); C1A2 has no roster but reported 40 members and sent card
    data; C1B1, C1B2 and all of C2 have sent nothing (C1B1 has 2 members known from applications)."""
    since = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)
    UnionSubmission.objects.create(union=tree.C1A1, kind="roster", first_at=since, last_at=since)
    UnionSubmission.objects.create(union=tree.C1A2, kind="cards", first_at=since, last_at=since)
    ReportedMemberCount.objects.create(
        union=tree.C1A2, count=40, as_of=datetime.date(2025, 6, 1), source="年报", entered_by=UserFactory()
    )
    for _ in range(3):
        MemberFactory(union=tree.C1A1)
    for _ in range(2):
        MemberFactory(union=tree.C1B1)
    coverage_snapshot_compute(day=DAY)


def test_snapshot_counts_the_denominator_source_and_reporting_rate(tree, submissions):
    from stats.models import CoverageSnapshot

    c1 = CoverageSnapshot.objects.get(day=DAY, union=tree.C1)
    assert (c1.members, c1.reported_members) == (3 + 40 + 2, 40)
    assert (c1.workplace_unions, c1.roster_unions, c1.reported_unions, c1.card_data_unions) == (4, 1, 1, 1)


def test_a_reported_count_dated_after_the_day_does_not_count(tree, submissions):
    from stats.models import CoverageSnapshot

    coverage_snapshot_compute(day=datetime.date(2025, 5, 31))
    c1a2 = CoverageSnapshot.objects.get(day=datetime.date(2025, 5, 31), union=tree.C1A2)
    assert (c1a2.members, c1a2.reported_unions) == (0, 0)


def test_dashboard_says_which_denominator_was_used(client, tree, make_staff, submissions):
    client.force_login(make_staff(tree.C1A))
    body = client.get("/staff/union/C1A/").content.decode()
    assert "名册 1 个 · 上报人数 1 个 · 仅登记会员 0 个" in body
    assert "已报名册 1 / 2 个基层工会，已报办卡资料 1 / 2 个" in body
    client.force_login(make_staff(tree.C1A2, Role.WORKPLACE_OPERATOR))
    assert "按上报的会员人数计（尚无名册）" in client.get("/staff/").content.decode()


def test_reporting_page_lists_the_workplaces_that_have_not_submitted(client, tree, make_staff, submissions):
    client.force_login(make_staff(tree.C1))
    response = client.get("/staff/union/C1/reporting/")
    assert response.status_code == 200
    lists = response.context["lists"]
    assert [w.union.code for w in lists.without_roster] == ["C1A2", "C1B1", "C1B2"]
    assert [w.union.code for w in lists.without_card_data] == ["C1A1", "C1B1", "C1B2"]
    assert lists.roster_rate == "25.0"


def test_reporting_export_has_the_lists(client, tree, make_staff, submissions):
    client.force_login(make_staff(tree.C1A))
    response = client.get("/staff/union/C1A/reporting.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["未报名册", "未报办卡资料", "全部基层工会"]
    no_roster = list(workbook["未报名册"].iter_rows(values_only=True))
    assert [row[0] for row in no_roster[1:]] == ["C1A2"]
    assert no_roster[1][5:7] == ("上报人数", 40)
    assert f"reporting-C1A-{timezone.localdate()}.xlsx" in response["Content-Disposition"]


def test_another_countys_operator_cannot_open_the_reporting_page(client, tree, make_staff, submissions):
    client.force_login(make_staff(tree.C1B))
    assert client.get("/staff/union/C1A/reporting/").status_code == 404
    assert client.get("/staff/union/C1A/reporting.xlsx").status_code == 404
    assert client.get("/staff/union/C1B/reporting/").status_code == 200


def test_coverage_export_carries_the_denominator_source(client, tree, make_staff, submissions):
    client.force_login(make_staff(tree.C1A))
    workbook = load_workbook(io.BytesIO(client.get("/staff/union/C1A/export.xlsx").content))
    header, summary = list(workbook["概况"].iter_rows(values_only=True))
    assert header[8:] == (
        "会员数来源（基层工会）",
        "其中按上报人数计的会员",
        "基层工会数",
        "已报名册",
        "已报办卡资料",
    )
    assert summary[8:] == ("名册 1 个 · 上报人数 1 个 · 仅登记会员 0 个", 40, 2, 1, 1)

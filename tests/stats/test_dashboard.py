from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from openpyxl import load_workbook

from members.models import Card, Union
from portal.roles import Role
from stats.coverage import coverage_snapshot_compute
from stats.models import SnapshotRun
from tests.factories import UnionFactory, UserFactory
from tests.stats.conftest import DAY, member_with_card

pytestmark = pytest.mark.django_db
WEEK_AGO = DAY - datetime.timedelta(days=7)


@pytest.fixture
def snapshots(tree, population):
    """Last week C1A1 had one cardholder fewer; today's figures are those of ``population``."""
    Card.objects.filter(member=population["holder"]).update(status=Card.Status.CANCELLED)
    coverage_snapshot_compute(day=WEEK_AGO)
    Card.objects.filter(member=population["holder"]).update(status=Card.Status.ACTIVE)
    coverage_snapshot_compute(day=DAY)


def page(response) -> str:
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_the_admin_sign_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/staff/"


def test_non_staff_users_are_sent_to_the_sign_in(client, tree):
    client.force_login(UserFactory(is_staff=False, union=tree.C1A))
    assert client.get("/staff/").status_code == 302


def test_staff_without_a_union_or_the_permission_cannot_see_the_dashboard(client, tree, make_staff):
    client.force_login(make_staff(None))
    assert client.get("/staff/").status_code == 403
    client.force_login(make_staff(tree.P, Role.MERCHANT_REVIEWER))
    response = client.get("/staff/")
    assert response.status_code == 403
    assert "没有查看发卡统计的权限" in page(response)


def test_dashboard_shows_the_node_figures_with_their_denominator(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1A))
    response = client.get("/staff/")
    assert response.status_code == 200
    html = page(response)
    assert "C1A县总工会 发卡覆盖面" in html
    assert "3 ÷ 6" in html and "50.00%" in html  # coverage never without its denominator
    assert "数据日期：2026-11-23" in html
    # Children ranked: C1A2 100 % first, C1A1 40 % second; the sibling county is nowhere.
    assert html.index("C1A2单位工会") < html.index("C1A1单位工会")
    assert "C1B1单位工会" not in html and "C1B县总工会" not in html
    # C1A1 went from 1/5 to 2/5 since last week: +20 percentage points.
    assert "+20.00" in html
    # Definitions are shown as help text.
    assert "持卡人数 ÷ 会员数" in html and "已挂失、已换卡、已注销的卡不计" in html


def test_chart_data_is_embedded_as_json_for_the_page_script(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1))
    html = page(client.get("/staff/"))
    blob = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S)
    data = json.loads(blob.group(1))
    assert [point["day"] for point in data["trend"]] == ["2026-11-16", "2026-11-23"]
    assert [point["coverage"] for point in data["trend"]] == [37.5, 50.0]
    assert [(u["code"], u["coverage"], u["url"]) for u in data["units"]] == [
        ("C1A", 50.0, "/staff/union/C1A/"),
        ("C1B", 50.0, "/staff/union/C1B/"),
    ]
    assert 'src="/static/stats/dashboard.js"' in html
    assert "<script>" not in html  # the policy forbids inline scripts


def test_province_staff_see_every_county_ranked(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    html = page(client.get("/staff/"))
    assert "全省县级工会排名" in html
    for county in ("C1A", "C1B", "C2A", "C2B"):
        assert f"/staff/union/{county}/" in html


def test_superusers_start_at_the_province(client, tree, snapshots):
    client.force_login(UserFactory(is_superuser=True, union=None))
    html = page(client.get("/staff/"))
    assert "省总工会 发卡覆盖面" in html and "9 ÷ 9" not in html and "5 ÷ 9" in html


def test_drill_down_opens_a_unit_inside_the_subtree(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    response = client.get("/staff/union/C1A/")
    assert response.status_code == 200
    html = page(response)
    assert "C1A县总工会 发卡覆盖面" in html
    assert 'href="/staff/union/C1/"' in html  # breadcrumb back to the user's own node


def test_sibling_county_operator_cannot_drill_into_another_county(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1B))
    assert client.get("/staff/union/C1A/").status_code == 404
    assert client.get("/staff/union/C1A1/").status_code == 404
    assert client.get("/staff/union/C1/").status_code == 404  # the parent is outside too
    assert client.get("/staff/union/C1A/export.xlsx").status_code == 404
    assert client.get("/staff/union/NOPE/").status_code == 404


def test_leaders_and_laggards_are_highlighted(client, tree, make_staff):
    county = tree.C2B
    for index in range(8):
        unit = UnionFactory(
            code=f"C2BX{index}", name=f"排名单位{index}", level=Union.Level.WORKPLACE, parent=county
        )
        for holder in range(8):
            member_with_card(unit, Card.Status.ACTIVE if holder < index else None)
    coverage_snapshot_compute(day=DAY)
    client.force_login(make_staff(county))
    html = page(client.get("/staff/"))
    rows = re.findall(
        r'<tr class="(leader|laggard|)">\s*<td class="num">(\d+)</td>\s*<td>\s*<a[^>]*>([^<]+)</a>', html
    )
    marks = {name: mark for mark, _rank, name in rows}
    assert [marks[f"排名单位{i}"] for i in (7, 6, 5)] == ["leader"] * 3
    assert marks["排名单位4"] == marks["排名单位3"] == marks["排名单位2"] == marks["排名单位1"] == ""
    # The last three places are three units at 0 %, sharing rank 8.
    assert marks["排名单位0"] == marks["C2B1单位工会"] == marks["C2B2单位工会"] == "laggard"
    assert [rank for _mark, rank, name in rows if name == "C2B2单位工会"] == ["8"]


def _grow(tree, extra_units: int):
    for index in range(extra_units):
        unit = UnionFactory(code=f"C1AX{index:03d}", level=Union.Level.WORKPLACE, parent=tree.C1A)
        member_with_card(unit, Card.Status.ACTIVE)
        member_with_card(unit)


@pytest.mark.parametrize("extra_units", [0, 40])
def test_dashboard_renders_in_a_fixed_number_of_queries(
    client, tree, make_staff, population, extra_units, django_assert_num_queries
):
    _grow(tree, extra_units)
    coverage_snapshot_compute(day=WEEK_AGO)
    coverage_snapshot_compute(day=DAY)
    SnapshotRun.objects.create(day=DAY, status=SnapshotRun.Status.DONE)
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    # session, user, the user's union, permissions (2), snapshot days, latest run, snapshot rows,
    # trend, breadcrumbs, the unread notices in the header, the card use of the month
    with django_assert_num_queries(12):
        assert client.get("/staff/").status_code == 200
    # ... and the unit opened
    with django_assert_num_queries(13):
        assert client.get("/staff/union/C1A/").status_code == 200


def test_dashboard_without_snapshots_offers_to_compute_one(client, tree, make_staff):
    client.force_login(make_staff(tree.C1A))
    response = client.get("/staff/")
    assert response.status_code == 200
    assert "还没有统计快照" in page(response)


def test_a_bad_date_shows_a_message_and_the_latest_day(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1A))
    response = client.get("/staff/?date=23/11/2026")
    assert response.status_code == 200
    assert "日期格式应为" in page(response) and "数据日期：2026-11-23" in page(response)
    older = client.get("/staff/?date=2026-11-20")
    assert "数据日期：2026-11-16" in page(older)


def test_export_writes_the_ranking_table_and_neutralises_formulas(client, tree, make_staff, snapshots):
    Union.objects.filter(pk=tree.C1A1.pk).update(name='=HYPERLINK("http://evil")')
    coverage_snapshot_compute(day=DAY)
    client.force_login(make_staff(tree.C1A))
    response = client.get("/staff/union/C1A/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "coverage-C1A-2026-11-23.xlsx" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["概况", "下级单位", "本月用卡率", "指标说明"]
    summary = list(workbook["概况"].iter_rows(values_only=True))
    assert summary[1][:6] == ("C1A县总工会", "C1A", datetime.datetime(2026, 11, 23), 6, 3, 50)
    units = list(workbook["下级单位"].iter_rows(values_only=True))
    assert units[0][:7] == ("排名", "代码", "名称", "上级", "会员数", "持卡人数", "覆盖率（%）")
    assert [row[:7] for row in units[1:]] == [
        (1, "C1A2", "C1A2单位工会", "C1A县总工会", 1, 1, 100),
        (2, "C1A1", '\'=HYPERLINK("http://evil")', "C1A县总工会", 5, 2, 40),
    ]
    assert units[2][7] == 20  # change since last week, percentage points
    assert units[1][9] == "领先" and units[2][9] == "落后"
    assert all(cell.data_type != "f" for sheet in workbook for row in sheet.iter_rows() for cell in row)


def test_province_export_adds_every_county(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    workbook = load_workbook(io.BytesIO(client.get("/staff/union/P/export.xlsx").content))
    assert workbook.sheetnames == ["概况", "下级单位", "全省县级", "本月用卡率", "指标说明"]
    counties = [row[1] for row in workbook["全省县级"].iter_rows(min_row=2, values_only=True)]
    assert sorted(counties) == ["C1A", "C1B", "C2A", "C2B"]


def test_admin_pages_link_to_the_dashboard(client, tree, make_staff):
    client.force_login(make_staff(tree.C1A))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert 'href="/staff/"' in page(response)


def test_refresh_when_the_broker_is_down_says_so_without_an_error_page(client, tree, make_staff, redis_down):
    client.force_login(make_staff(tree.C1A))
    response = client.post("/staff/refresh/", {"next": "/staff/union/C1A1/"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/staff/union/C1A1/"
    assert "暂时不可用，请稍后再试" in page(response)
    run = SnapshotRun.objects.get()
    assert run.status == SnapshotRun.Status.FAILED and "暂时不可用" in run.message


def test_refresh_ignores_a_next_address_outside_the_dashboard(client, tree, make_staff, redis_down):
    client.force_login(make_staff(tree.C1A))
    response = client.post("/staff/refresh/", {"next": "https://evil.example/"})
    assert response["Location"] == "/staff/"


def test_refresh_requires_post_and_staff(client, tree):
    assert client.get("/staff/refresh/").status_code in (302, 405)
    response = client.post("/staff/refresh/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not SnapshotRun.objects.exists()


def test_run_status_reports_progress_as_json(client, tree, make_staff):
    run = SnapshotRun.objects.create(day=DAY, status=SnapshotRun.Status.RUNNING)
    client.force_login(make_staff(tree.C1A))
    body = client.get(f"/staff/runs/{run.pk}/").json()
    assert body["status"] == "running" and body["progress"] == 50 and body["finished"] is False
    assert client.get("/staff/runs/999999/").status_code == 404


def test_run_status_is_not_public(client, tree):
    run = SnapshotRun.objects.create(day=DAY)
    assert client.get(f"/staff/runs/{run.pk}/").status_code == 302


def test_workplace_operator_sees_their_own_figures_without_a_ranking(client, tree, make_staff, snapshots):
    client.force_login(make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR))
    html = page(client.get("/staff/"))
    assert "C1A1单位工会 发卡覆盖面" in html and "2 ÷ 5" in html
    assert "本单位没有下级单位" in html
    assert client.get("/staff/union/C1A2/").status_code == 404  # a sibling workplace

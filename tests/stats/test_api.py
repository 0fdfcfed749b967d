from __future__ import annotations

import datetime
import json

import pytest

from portal.roles import Role
from stats.coverage import coverage_snapshot_compute
from tests.factories import MerchantUserFactory, UserFactory
from tests.stats.conftest import DAY

pytestmark = pytest.mark.django_db
URL = "/api/v1/stats/coverage/"


@pytest.fixture
def snapshots(tree, population):
    coverage_snapshot_compute(day=DAY - datetime.timedelta(days=1))
    coverage_snapshot_compute(day=DAY)


def test_default_is_the_callers_union_children_on_the_latest_day(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.C1A))
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2026-11-23"
    assert body["union"] == {"code": "C1A", "name": "C1A县总工会"}
    assert [d["key"] for d in body["definitions"]][:3] == ["members", "cardholders", "coverage"]
    assert body["rows"] == [
        {
            "code": "C1A2",
            "name": "C1A2单位工会",
            "level": "workplace",
            "members": 1,
            "cardholders": 1,
            "coverage": "1.0000",
            "rank_among_siblings": 1,
            "rank_in_level": 1,
            "workplace_unions": 1,
            "roster_unions": 0,
            "reported_unions": 0,
            "card_data_unions": 0,
            "reported_members": 0,
        },
        {
            "code": "C1A1",
            "name": "C1A1单位工会",
            "level": "workplace",
            "members": 5,
            "cardholders": 2,
            "coverage": "0.4000",
            "rank_among_siblings": 2,
            "rank_in_level": 4,
            "workplace_unions": 1,
            "roster_unions": 0,
            "reported_unions": 0,
            "card_data_unions": 0,
            "reported_members": 0,
        },
    ]


def test_level_lists_every_unit_of_that_level_in_the_subtree(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    body = api_client.get(URL, {"union": "C1", "level": "workplace"}).json()
    assert [(r["code"], r["rank_in_level"]) for r in body["rows"]] == [
        ("C1A2", 1),
        ("C1B1", 3),
        ("C1A1", 4),
        ("C1B2", 5),
    ]


def test_date_selects_an_older_snapshot(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    body = api_client.get(URL, {"date": "2026-11-22", "level": "city"}).json()
    assert body["date"] == "2026-11-22"
    assert [r["code"] for r in body["rows"]] == ["C2", "C1"]
    assert api_client.get(URL, {"date": "2020-01-01"}).json()["rows"] == []


def test_sibling_county_operator_gets_404_for_another_county(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.C1B))
    for code in ("C1A", "C1A1", "C1", "P", "UNKNOWN"):
        response = api_client.get(URL, {"union": code})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_level_rows_never_leave_the_callers_subtree(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.C1B))
    body = api_client.get(URL, {"level": "workplace"}).json()
    assert {r["code"] for r in body["rows"]} == {"C1B1", "C1B2"}
    assert api_client.get(URL, {"level": "city"}).json()["rows"] == []


def test_anonymous_callers_are_refused_with_the_error_envelope(api_client, snapshots):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_merchant_users_and_staff_without_a_union_are_refused(api_client, tree, make_staff, snapshots):
    api_client.force_login(MerchantUserFactory().user)
    assert api_client.get(URL).json()["error"]["code"] == "permission_denied"
    api_client.force_login(make_staff(None))
    assert api_client.get(URL).status_code == 403
    api_client.force_login(UserFactory(is_staff=False, union=tree.C1A))
    assert api_client.get(URL).status_code == 403


def test_bad_parameters_are_validation_errors(api_client, tree, make_staff, snapshots):
    api_client.force_login(make_staff(tree.C1A))
    response = api_client.get(URL, {"level": "planet", "date": "yesterday"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == {"level", "date"}


def test_without_snapshots_the_answer_is_empty(api_client, tree, make_staff):
    api_client.force_login(make_staff(tree.C1A))
    body = api_client.get(URL).json()
    assert body["date"] is None and body["rows"] == []


@pytest.mark.parametrize("extra_days", [0, 5])
def test_api_answers_in_a_fixed_number_of_queries(
    api_client, tree, make_staff, population, extra_days, django_assert_num_queries
):
    for offset in range(extra_days + 1):
        coverage_snapshot_compute(day=DAY - datetime.timedelta(days=offset))
    api_client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    # session, user, the user's union, permissions (2), the union asked for, latest day, rows
    with django_assert_num_queries(8):
        response = api_client.get(URL, {"union": "P", "level": "workplace"})
    assert len(response.json()["rows"]) == 8


def test_endpoint_is_in_the_openapi_schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = json.loads(response.content)["paths"]["/api/v1/stats/coverage/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"union", "level", "date"}
    assert {"200", "401", "403", "404"} <= set(operation["responses"])


def test_superusers_default_to_the_province(api_client, tree, snapshots):
    api_client.force_login(UserFactory(is_superuser=True, union=None))
    body = api_client.get(URL).json()
    assert body["union"]["code"] == "P"
    assert [r["code"] for r in body["rows"]] == ["C2", "C1"]

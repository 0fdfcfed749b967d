from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Union
from portal.roles import Role
from portal.scoping import scope_queryset

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_redis_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}


def test_subtree_is_one_indexed_query(tree):
    with CaptureQueriesContext(connection) as queries:
        codes = set(Union.objects.subtree(tree.C1).values_list("code", flat=True))
    assert codes == {"C1", "C1A", "C1B", "C1A1", "C1A2", "C1B1", "C1B2"}
    assert len(queries) == 1
    assert "LIKE" in queries[0]["sql"]


def test_scope_queryset_keeps_a_county_operator_inside_their_county(tree, make_staff):
    operator = make_staff(tree.C1A)
    visible = set(scope_queryset(Union.objects.all(), operator, "path").values_list("code", flat=True))
    assert visible == {"C1A", "C1A1", "C1A2"}
    assert "C1B" not in visible and "C2A" not in visible and "C1" not in visible


def test_scope_queryset_shows_nothing_to_a_user_without_a_union(db, make_staff):
    outsider = make_staff(None)
    assert not scope_queryset(Union.objects.all(), outsider, "path").exists()


def test_admin_union_list_is_scoped_and_sibling_change_page_is_404(client, tree, make_staff):
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    client.force_login(operator)
    response = client.get("/admin/members/union/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "C1A1单位工会" in page
    assert "C1B1单位工会" not in page
    sibling = client.get(f"/admin/members/union/{tree.C1B1.pk}/change/")
    assert sibling.status_code in (302, 404)
    own = client.get(f"/admin/members/union/{tree.C1A1.pk}/change/")
    assert own.status_code == 200


def test_seed_demo_builds_the_province_idempotently_and_prints_sign_ins(capsys):
    call_command("seed_demo", "--members", "0", "--merchants", "0", "--workplaces-per-county", "1")
    first = Union.objects.count()
    call_command("seed_demo", "--members", "0", "--merchants", "0", "--workplaces-per-county", "1")
    assert Union.objects.count() == first
    cities = Union.objects.filter(level=Union.Level.CITY)
    assert cities.count() == 12  # 11 cities and the provincial-organs union
    assert {"石家庄市总工会", "衡水市总工会", "省直工会"} <= set(cities.values_list("name", flat=True))
    assert Union.objects.filter(level=Union.Level.COUNTY).count() >= 170
    capsys.readouterr()
    call_command("seed_demo", "--members", "0", "--merchants", "0", "--workplaces-per-county", "1", "--json")
    document = json.loads(capsys.readouterr().out)
    levels = {entry["level"] for entry in document["staff"]}
    assert levels == {"province", "city", "county", "workplace"}
    assert set(document) >= {"staff", "merchants", "members"}


def test_demo_staff_password_from_json_signs_in(client, capsys):
    call_command("seed_demo", "--members", "0", "--merchants", "0", "--workplaces-per-county", "1", "--json")
    staff = json.loads(capsys.readouterr().out)["staff"][0]
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff["username"], "password": staff["password"]}
    )
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/me/sign-in/", "/merchant/apply/", "/merchant/login/", "/admin/login/", "/admin/"]
)
def test_every_kind_of_page_has_the_language_switch_naming_each_language_in_itself(
    client, tree, make_staff, path
):
    if path == "/admin/":
        client.force_login(make_staff(tree.C1A))
    response = client.get(path)
    assert response.status_code == 200
    chinese = response.content.decode()
    assert 'action="/i18n/setlang/"' in chinese and ">English</button>" in chinese

    client.post("/i18n/setlang/", {"language": "en", "next": path})
    english = client.get(path).content.decode()
    assert ">简体中文</button>" in english and ">English</button>" not in english

"""Roles, staff status, superuser status and permissions of a user change only by a superuser's hand,
through one service, and every change is in the audit log — tried from the side of a province admin
who wants more than the province-admin role gives."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from portal.errors import PermissionDenied
from portal.models import AuditEvent, User
from portal.roles import Role
from portal.users import user_roles_set

pytestmark = pytest.mark.django_db


def change_url(user) -> str:
    return f"/admin/portal/user/{user.pk}/change/"


def forged_post(user, **extra) -> dict:
    """What a browser would send for ``user``'s change form, plus whatever the sender adds."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "union": str(user.union_id or ""),
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(extra)
    return data


def roles_of(user) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (
        user.is_superuser,
        user.is_staff,
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
    )


@pytest.fixture
def province_admin(tree, make_staff):
    return make_staff(tree.P, Role.PROVINCE_ADMIN, username="province")


@pytest.fixture
def county_operator(tree, make_staff):
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="county")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="correct-horse-battery")


def test_province_admin_cannot_make_themselves_superuser_by_a_forged_post(province_admin):
    client = Client()
    client.force_login(province_admin)
    before = roles_of(province_admin)
    everything = Permission.objects.values_list("pk", flat=True)
    response = client.post(
        change_url(province_admin),
        forged_post(
            province_admin,
            first_name="省管",
            is_superuser="on",
            is_staff="on",
            groups=[Role.MERCHANT_REVIEWER.group().pk, Role.PROVINCE_ADMIN.group().pk],
            user_permissions=list(everything),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    province_admin.refresh_from_db()
    assert province_admin.first_name == "省管"  # the form was accepted …
    assert roles_of(province_admin) == before  # … and none of the roles in it
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.USER_ROLES_CHANGED).exists()


def test_province_admin_cannot_change_another_users_roles(province_admin, county_operator):
    client = Client()
    client.force_login(province_admin)
    before = roles_of(county_operator)
    response = client.post(
        change_url(county_operator),
        forged_post(
            county_operator,
            last_name="改名",
            is_superuser="on",
            groups=[Role.PROVINCE_ADMIN.group().pk],
            user_permissions=[Permission.objects.get(codename="reveal_id_number").pk],
        ),  # is_staff left out: a checkbox left out is "off"
    )
    assert response.status_code == 302
    county_operator.refresh_from_db()
    assert county_operator.last_name == "改名"
    assert roles_of(county_operator) == before


def test_province_admin_sees_roles_read_only(province_admin, county_operator):
    client = Client()
    client.force_login(province_admin)
    page = client.get(change_url(county_operator)).content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in page, field
    assert str(Role.COUNTY_OPERATOR.label) in page  # shown, as text


def test_province_admin_cannot_open_a_superusers_account(province_admin, superuser, tree):
    superuser.union = tree.C1A
    superuser.save(update_fields=["union"])
    client = Client()
    client.force_login(province_admin)
    # The account may be looked at, not changed: no form field, no password form.
    assert 'name="username"' not in client.get(change_url(superuser)).content.decode()
    assert client.get(f"/admin/portal/user/{superuser.pk}/password/").status_code == 403
    response = client.post(
        f"/admin/portal/user/{superuser.pk}/password/",
        {"password1": "Taken-Over-123", "password2": "Taken-Over-123", "usable_password": "true"},
    )
    assert response.status_code == 403
    response = client.post(change_url(superuser), forged_post(superuser, first_name="x", is_active=""))
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password("correct-horse-battery")
    assert superuser.is_active and superuser.first_name == ""


def test_superuser_changes_roles_in_the_admin_and_the_audit_log_has_old_and_new(superuser, county_operator):
    client = Client()
    client.force_login(superuser)
    reveal = Permission.objects.get(codename="reveal_id_number")
    response = client.post(
        change_url(county_operator),
        forged_post(
            county_operator,
            is_staff="on",
            groups=[Role.CITY_OPERATOR.group().pk],
            user_permissions=[reveal.pk],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert roles_of(county_operator) == (False, True, [str(Role.CITY_OPERATOR.label)], ["reveal_id_number"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ROLES_CHANGED)
    assert event.actor == superuser
    assert event.target_id == str(county_operator.pk)
    assert event.data["old"]["groups"] == [str(Role.COUNTY_OPERATOR.label)]
    assert event.data["new"]["groups"] == [str(Role.CITY_OPERATOR.label)]
    assert event.data["old"]["user_permissions"] == []
    assert event.data["new"]["user_permissions"] == ["members.reveal_id_number"]
    assert "is_superuser" not in event.data["new"]  # only what changed

    # Saving the form again without a change writes no second row.
    client.post(
        change_url(county_operator),
        forged_post(
            county_operator,
            is_staff="on",
            groups=[Role.CITY_OPERATOR.group().pk],
            user_permissions=[reveal.pk],
        ),
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.USER_ROLES_CHANGED).count() == 1


def test_a_new_user_made_by_a_province_admin_gets_no_roles(province_admin):
    client = Client()
    client.force_login(province_admin)
    response = client.post(
        "/admin/portal/user/add/",
        {
            "username": "newcomer",
            "password1": "Quite-Long-Pass-123",
            "password2": "Quite-Long-Pass-123",
            "usable_password": "true",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [Role.PROVINCE_ADMIN.group().pk],
        },
    )
    assert response.status_code == 302
    assert roles_of(User.objects.get(username="newcomer")) == (False, False, [], [])


def test_the_role_service_refuses_everybody_but_a_superuser(province_admin, county_operator):
    with pytest.raises(PermissionDenied):
        user_roles_set(user=county_operator, actor=province_admin, is_superuser=True)
    with pytest.raises(PermissionDenied):
        user_roles_set(user=province_admin, actor=province_admin, groups=[Role.MERCHANT_REVIEWER.group()])
    assert roles_of(county_operator) == (False, True, [str(Role.COUNTY_OPERATOR.label)], [])


def test_the_role_service_audits_a_superuser_grant(superuser, county_operator):
    user_roles_set(user=county_operator, actor=superuser, is_superuser=True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ROLES_CHANGED)
    assert event.data == {"old": {"is_superuser": False}, "new": {"is_superuser": True}}
    assert event.union_path == county_operator.union.path

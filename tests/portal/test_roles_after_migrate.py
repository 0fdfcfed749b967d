"""A new installation's staff roles exist with their permissions after ``migrate`` alone, without the
demo: the post_migrate hook sets them, and running migrate again changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from portal.roles import ROLE_PERMISSIONS, Role


@pytest.mark.django_db(transaction=True)
def test_migrate_gives_every_role_its_permissions():
    Group.objects.all().delete()
    call_command("migrate", verbosity=0)
    for role, permissions in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=str(role.label))
        held = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert held == set(permissions), role
    call_command("migrate", verbosity=0)
    assert Group.objects.filter(name=str(Role.COUNTY_OPERATOR.label)).count() == 1

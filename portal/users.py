"""What a user may do: superuser status, staff status, roles (groups) and single permissions.

They change only here, only by a superuser's hand, and every change is written to the audit log
with the old and the new value. A province admin manages the accounts of the province (names,
passwords, union, active) but never what those accounts are allowed to do — their own included —
or a role could grant itself everything, with only Django's own admin log to tell."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import PermissionDenied
from portal.models import AuditEvent, User

ROLE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


def user_may_change_roles(actor) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_superuser)


def user_may_change_account(actor, user: User) -> bool:
    """A superuser's account is changed by superusers only: whoever sets its password holds it."""
    return not user.is_superuser or user_may_change_roles(actor)


def _roles_snapshot(user: User) -> dict:
    return {
        "is_superuser": user.is_superuser,
        "is_staff": user.is_staff,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(
            f"{app_label}.{codename}"
            for app_label, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ),
    }


def user_roles_set(
    *,
    user: User,
    actor,
    is_superuser: bool | None = None,
    is_staff: bool | None = None,
    groups: Iterable[Group] | None = None,
    user_permissions: Iterable[Permission] | None = None,
) -> User:
    """Set what ``user`` may do; ``None`` leaves that part as it is. Audited with old → new of the
    parts that changed; a call that changes nothing writes nothing."""
    if not user_may_change_roles(actor):
        raise PermissionDenied(_("只有超级管理员可以修改用户的角色、权限和管理员身份。"))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        old = _roles_snapshot(user)
        flags = {}
        if is_superuser is not None:
            flags["is_superuser"] = bool(is_superuser)
        if is_staff is not None:
            flags["is_staff"] = bool(is_staff)
        if flags:
            User.objects.filter(pk=user.pk).update(**flags)
            for name, value in flags.items():
                setattr(user, name, value)
        if groups is not None:
            user.groups.set(list(groups))
        if user_permissions is not None:
            user.user_permissions.set(list(user_permissions))
        new = _roles_snapshot(user)
        changed = [name for name in ROLE_FIELDS if old[name] != new[name]]
        if changed:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.USER_ROLES_CHANGED,
                target=user,
                union_path=user.union.path if user.union_id else "",
                data={"old": {n: old[n] for n in changed}, "new": {n: new[n] for n in changed}},
            )
    return user

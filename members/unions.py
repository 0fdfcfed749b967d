"""Writes for a union's own settings."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from members.models import Union
from portal.audit import audit_record
from portal.errors import PermissionDenied
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope


def may_set_single_person_approval(user) -> bool:
    """Whether ``user`` may let a union approve its own work: a province admin (a staff user of the
    province node who may change unions), or a superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    union = getattr(user, "union", None)
    return (
        user.is_staff
        and union is not None
        and union.level == Union.Level.PROVINCE
        and user.has_perm("members.change_union")
    )


def union_set_single_person_approval(*, union: Union, enabled: bool, actor) -> Union:
    """Switch ``Union.single_person_approval`` (see portal.approvals): province admins only, and
    every switch is in the audit log."""
    if not may_set_single_person_approval(actor):
        raise PermissionDenied(_("只有省总工会管理员可以修改“允许创建人自行审批”。"))
    ensure_union_in_scope(actor, union)
    with transaction.atomic():
        old = (
            Union.objects.select_for_update()
            .filter(pk=union.pk)
            .values_list("single_person_approval", flat=True)
            .get()
        )
        if old != enabled:
            Union.objects.filter(pk=union.pk).update(single_person_approval=enabled)
            audit_record(
                actor=actor,
                action=AuditEvent.Action.UNION_SETTINGS_CHANGED,
                target=union,
                union_path=union.path,
                data={"single_person_approval": [old, enabled]},
            )
    union.single_person_approval = enabled
    return union

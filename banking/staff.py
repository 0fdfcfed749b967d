"""Who works for a bank: linking a user to a partner bank gives them the bank staff role and that
bank's files. It is a change of what an account may do, so — like every role change
(``portal.users``) — only a superuser makes it, and it is written to the audit log."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from banking.models import BankStaff
from members.models import PartnerBank
from portal.audit import audit_record
from portal.errors import PermissionDenied, ValidationFailed
from portal.models import AuditEvent, User
from portal.roles import Role
from portal.users import user_may_change_roles


@transaction.atomic
def bank_staff_link(*, user: User, bank: PartnerBank, actor) -> BankStaff:
    """Make ``user`` a staff member of ``bank`` (and of no union: a bank's staff see no members)."""
    if not user_may_change_roles(actor):
        raise PermissionDenied(_("只有超级管理员可以开通银行工作人员账号。"))
    if user.is_superuser or user.is_staff or user.union_id is not None:
        raise ValidationFailed(_("银行工作人员账号不能同时是工会工作人员或管理员，请使用单独的账号。"))
    link, _created = BankStaff.objects.update_or_create(user=user, defaults={"bank": bank})
    user.groups.add(Role.BANK_STAFF.group())
    audit_record(
        actor=actor,
        action=AuditEvent.Action.USER_ROLES_CHANGED,
        target=user,
        label=user.get_username(),
        data={"bank_staff": bank.code, "groups_added": [str(Role.BANK_STAFF.label)]},
    )
    return link

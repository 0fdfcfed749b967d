from __future__ import annotations

import pytest

from banking.access import banks_for_user
from banking.staff import bank_staff_link
from portal.errors import PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_superuser_links_a_user_to_a_bank_and_it_is_audited(roles, bank):
    superuser = UserFactory(is_superuser=True, union=None)
    user = UserFactory(is_staff=False, union=None)

    bank_staff_link(user=user, bank=bank, actor=superuser)

    assert list(banks_for_user(type(user).objects.get(pk=user.pk))) == [bank]
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.USER_ROLES_CHANGED, target_id=str(user.pk)
    ).exists()


def test_a_province_admin_cannot_make_bank_staff(roles, bank, province_admin):
    with pytest.raises(PermissionDenied):
        bank_staff_link(user=UserFactory(is_staff=False, union=None), bank=bank, actor=province_admin)


def test_a_union_staff_account_cannot_also_be_a_banks(roles, bank, tree):
    superuser = UserFactory(is_superuser=True, union=None)
    with pytest.raises(ValidationFailed):
        bank_staff_link(user=UserFactory(union=tree.C1A), bank=bank, actor=superuser)

"""Two people for irreversible acts: the one rule every approval calls."""

from __future__ import annotations

import pytest

from portal.approvals import SecondPersonRequired, ensure_second_person
from portal.models import AuditEvent
from portal.roles import Role

pytestmark = pytest.mark.django_db


def test_it_refuses_the_creator(tree, make_staff):
    creator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    with pytest.raises(SecondPersonRequired) as raised:
        ensure_second_person(actor=creator, creator_id=creator.pk, target=tree.C1A, what="批准发卡批次")
    assert raised.value.status == 403
    assert "批准发卡批次" in raised.value.message
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SELF_APPROVED).exists()


def test_it_lets_a_second_person_approve(tree, make_staff):
    creator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    colleague = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    ensure_second_person(actor=colleague, creator_id=creator.pk, target=tree.C1A, what="批准发卡批次")
    assert not AuditEvent.objects.exists()


def test_it_lets_staff_approve_what_nobody_on_the_staff_created(tree, make_staff):
    reviewer = make_staff(tree.C1, Role.MERCHANT_REVIEWER)
    ensure_second_person(actor=reviewer, creator_id=None, target=tree.C1, what="商家签约")


def test_a_single_person_union_approves_its_own_work_and_the_log_says_so(tree, make_staff):
    tree.C1A.single_person_approval = True
    tree.C1A.save(update_fields=["single_person_approval"])
    alone = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    ensure_second_person(actor=alone, creator_id=alone.pk, target=tree.C1A, what="批准发卡批次")
    event = AuditEvent.objects.get(action=AuditEvent.Action.SELF_APPROVED)
    assert event.actor == alone
    assert event.data == {"what": "批准发卡批次"}
    assert event.union_path == tree.C1A.path


def test_the_exception_of_one_union_does_not_reach_its_children(tree, make_staff):
    tree.C1.single_person_approval = True
    tree.C1.save(update_fields=["single_person_approval"])
    county_operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    with pytest.raises(SecondPersonRequired):
        ensure_second_person(
            actor=county_operator, creator_id=county_operator.pk, target=tree.C1A, what="批准发卡批次"
        )

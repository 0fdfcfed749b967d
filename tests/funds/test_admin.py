"""Funds and movements in the admin: readable by the staff of their subtree, changed by nobody — not
even a province admin or a superuser: money moves only through the fund services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from funds.models import Fund, FundMovement
from tests.factories import UserFactory
from tests.funds.conftest import fresh


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, username="root")


@pytest.mark.parametrize("who", ["province", "city", "superuser"])
def test_nobody_adds_changes_or_deletes_a_fund_in_the_admin(client, staff, filled, superuser, who):
    client.force_login(superuser if who == "superuser" else getattr(staff, who))
    fund = filled.C1A
    change = reverse("admin:funds_fund_change", args=[fund.pk])

    view = client.get(change)
    edit = client.post(change, {"name": "改名", "spent": "0", "received": "999999"})
    add = client.post(reverse("admin:funds_fund_add"), {"union": fund.union_id, "year": 2030, "name": "x"})
    delete = client.post(reverse("admin:funds_fund_delete", args=[fund.pk]), {"post": "yes"})

    assert view.status_code == 200
    assert b'name="received"' not in view.content  # shown read-only
    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    stored = fresh(fund)
    assert (stored.name, stored.received) == (fund.name, Decimal("1000.00"))
    assert not Fund.objects.filter(year=2030).exists()


def test_nobody_changes_or_deletes_a_movement_in_the_admin(client, superuser, filled):
    client.force_login(superuser)
    movement = FundMovement.objects.filter(fund=filled.C1A).first()
    change = reverse("admin:funds_fundmovement_change", args=[movement.pk])

    assert client.get(change).status_code == 200
    assert client.post(change, {"amount": "1.00"}).status_code == 403
    assert (
        client.post(
            reverse("admin:funds_fundmovement_delete", args=[movement.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:funds_fundmovement_add")).status_code == 403
    assert FundMovement.objects.get(pk=movement.pk).amount == Decimal("1000.00")


def test_the_admin_lists_only_the_funds_and_movements_of_the_staff_members_subtree(client, staff, filled):
    client.force_login(staff.county)

    funds = client.get(reverse("admin:funds_fund_changelist"))
    movements = client.get(reverse("admin:funds_fundmovement_changelist"))
    sibling = client.get(reverse("admin:funds_fund_change", args=[filled.C1B.pk]))

    assert [f.union.code for f in funds.context["cl"].result_list] == ["C1A"]
    assert {m.fund_id for m in movements.context["cl"].result_list} == {filled.C1A.pk}
    assert sibling.status_code == 302  # the admin's answer to a row outside the user's subtree


def test_searching_movements_by_a_reference_or_an_odd_term_answers(client, superuser, filled):
    client.force_login(superuser)

    for term in ("1000", "abc", "discounts.redemption", "00000000-0000-0000-0000-000000000000"):
        assert client.get(reverse("admin:funds_fundmovement_changelist"), {"q": term}).status_code == 200

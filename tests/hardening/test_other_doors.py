"""The merchant-open rule at every door that redeems, read from the access matrix: a door added to
the POS API or the till later is covered without a new test. The world's merchant is out of contract
(ended yesterday, or starting tomorrow); its key and its cashier must be refused everywhere they were
let in before, and nothing may be recorded."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from discounts.models import Redemption
from merchants.models import Merchant
from tests.hardening.test_access_matrix import DOORS, POS_KEY, bank, objects  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
WINDOWS = {
    "ended_yesterday": lambda today: {"contract_start": today - 400 * DAY, "contract_end": today - DAY},
    "starts_tomorrow": lambda today: {"contract_start": today + DAY, "contract_end": today + 365 * DAY},
}


def _call(client: Client, url: str, door, headers: dict):
    if door.method == "post" and url.startswith("/api/"):
        return client.post(url, door.data or {}, content_type="application/json", **headers)
    if door.method == "post":
        return client.post(url, door.data or {}, **headers)
    return client.get(url, **headers)


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_every_pos_door_refuses_the_key_of_a_merchant_out_of_contract(objects, world, settings, window):  # noqa: F811 - the fixture
    settings.POS_RATE_LIMIT_PER_MINUTE = 0
    Merchant.objects.filter(pk=world.merchant.pk).update(**WINDOWS[window](timezone.localdate()))
    before = Redemption.objects.count()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}", "HTTP_IDEMPOTENCY_KEY": "closed-1"}
    doors = {name: door for name, door in DOORS.items() if door.allowed and POS_KEY in door.allowed}
    assert {"pos:card_verify", "pos:redemptions", "pos:redemption_void"} <= doors.keys()
    for name, door in sorted(doors.items()):
        response = _call(Client(), door.url(objects), door, headers)
        assert response.status_code == 401, f"{name}: {response.status_code}"
        assert "合同" in response.json()["error"]["message"], name
    assert Redemption.objects.count() == before
    assert Redemption.objects.get(pk=objects.redemption.pk).status == Redemption.Status.COMPLETED


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_every_till_door_refuses_the_cashier_of_a_merchant_out_of_contract(objects, world, window):  # noqa: F811 - the fixture
    Merchant.objects.filter(pk=world.merchant.pk).update(**WINDOWS[window](timezone.localdate()))
    client = Client()
    client.force_login(world.cashier.user)
    till_doors = {
        name: door
        for name, door in DOORS.items()
        if name.startswith("cashier:") and name != "cashier:statement"  # the manager's statement stays
    }
    assert len(till_doors) >= 7
    for name, door in sorted(till_doors.items()):
        response = _call(client, door.url(objects), door, {})
        assert response.status_code == 403, f"{name}: {response.status_code}"
    assert Redemption.objects.get(pk=objects.redemption.pk).status == Redemption.Status.COMPLETED

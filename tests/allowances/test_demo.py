from __future__ import annotations

import pytest
from django.core.management import call_command

from allowances.models import Claim


@pytest.mark.django_db
def test_the_demo_has_claims_in_every_status_once():
    options = ("--members", "400", "--merchants", "0", "--workplaces-per-county", "1")
    call_command("seed_demo", *options)
    call_command("seed_demo", *options)

    assert set(Claim.objects.values_list("status", flat=True)) == set(Claim.Status.values)
    assert Claim.objects.filter(status=Claim.Status.OPEN, paid_otherwise=True).count() == 1
    assert Claim.objects.count() == 4

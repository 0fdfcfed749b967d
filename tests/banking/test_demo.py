"""The demo fills every bank screen: files of each kind for the demo banks, rejections, card use."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from banking.models import BankFile, CardTransaction, IssuanceResult
from banking.selectors import card_use_by_union
from members.models import Union

pytestmark = pytest.mark.django_db


def test_the_demo_makes_files_of_every_kind_once_and_lists_the_bank_sign_ins(client):
    options = ("--members", "400", "--merchants", "0", "--workplaces-per-county", "1")
    call_command("seed_demo", *options)
    counts = {kind: BankFile.objects.filter(kind=kind).count() for kind in BankFile.Kind.values}
    out = io.StringIO()
    call_command("seed_demo", *options, "--json", stdout=out)

    assert all(counts.values()), counts
    assert {kind: BankFile.objects.filter(kind=kind).count() for kind in BankFile.Kind.values} == counts
    assert IssuanceResult.objects.filter(outcome="rejected").count() == 2
    assert IssuanceResult.objects.filter(outcome="opened").exists()
    assert CardTransaction.objects.exists()
    assert BankFile.objects.filter(kind="transactions", error_lines__gt=0).exists()
    province = Union.objects.province()
    (total, *_children) = card_use_by_union(
        parent=province, month=CardTransaction.objects.latest("occurred_at").occurred_at.date()
    )
    assert total.used_cards > 0

    sign_in = json.loads(out.getvalue())["bank_staff"][0]
    signed_in = client.post(
        "/bank/login/", {"username": sign_in["username"], "password": sign_in["password"]}
    )
    assert signed_in.status_code == 302
    page = client.get("/bank/").content.decode()
    assert "demo-transactions" in page

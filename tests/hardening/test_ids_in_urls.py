"""An id in a URL never opens another party's row: the answer is "not found", exactly as for an id
that does not exist, so ids cannot even be probed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from discounts.models import Redemption
from discounts.redemption import redemption_create


@pytest.fixture
def sale(world):
    return redemption_create(
        merchant=world.merchant,
        store_id=world.store.pk,
        offer_id=world.offer.pk,
        card_number=world.card.number,
        amount=Decimal("100.00"),
        idempotency_key="ids-1",
    )


def test_another_merchants_key_cannot_void_or_list_a_redemption(api_client, world, sale):
    rival = {"HTTP_AUTHORIZATION": f"Api-Key {world.rival_key}"}

    void = api_client.post(f"/api/v1/redemptions/{sale.pk}/void/", {"reason": "x"}, format="json", **rival)
    missing = api_client.post("/api/v1/redemptions/999999999/void/", {"reason": "x"}, format="json", **rival)
    listed = api_client.get("/api/v1/redemptions/", **rival)

    assert void.status_code == 404
    assert void.json()["error"]["code"] == missing.json()["error"]["code"]
    assert sale.pk not in [row["id"] for row in listed.json()["results"]]
    sale.refresh_from_db()
    assert sale.status == Redemption.Status.COMPLETED


def test_another_merchants_manager_gets_not_found_for_every_id(client, world, sale):
    client.force_login(world.rival_manager.user)
    api_key = world.merchant.api_keys.get()

    answers = {
        "receipt": client.get(reverse("cashier:receipt", args=[sale.pk])),
        "void": client.post(reverse("cashier:void", args=[sale.pk]), {"reason": "x"}),
        "store": client.get(reverse("merchants:store_edit", args=[world.store.pk])),
        "offer": client.get(reverse("merchants:offer_edit", args=[world.offer.pk])),
        "submit": client.post(reverse("merchants:offer_submit", args=[world.offer.pk])),
        "user": client.post(
            reverse("merchants:user_set_active", args=[world.cashier.pk]), {"active": "0", "confirmed": "1"}
        ),
        "key": client.post(reverse("merchants:key_revoke", args=[api_key.pk]), {"confirmed": "1"}),
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
    sale.refresh_from_db()
    world.cashier.refresh_from_db()
    assert sale.status == Redemption.Status.COMPLETED
    assert world.cashier.user.is_active
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_a_member_reaches_only_their_own_data(client, api_client, world, sale):
    """Member doors take no ids at all: the signed-in member is the only key to their rows."""
    from django.utils import timezone

    from members.auth import SESSION_KEY

    world.other_member.consent_at = timezone.now()
    world.other_member.save(update_fields=["consent_at"])
    session = client.session
    session[SESSION_KEY] = world.other_member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key

    history = client.get(reverse("history:redemptions")).content.decode()
    data = client.get(reverse("members:data_export")).json()
    me = client.get("/api/v1/me/redemptions/").json()

    assert world.offer.title not in history
    assert data["redemptions"] == []
    assert me["results"] == []


def test_a_sibling_county_finds_nothing_of_its_neighbour(client, world, sale):
    client.force_login(world.sibling_county_operator)
    member_url = reverse("admin:members_member_change", args=[world.member.pk])

    change = client.get(member_url)
    listing = client.get(reverse("admin:members_member_changelist")).content.decode()
    search = client.get(
        reverse("admin:members_member_changelist") + f"?q={world.member.name}"
    ).content.decode()
    card = client.get(reverse("admin:members_card_change", args=[world.card.pk]))
    reveal = client.get(reverse("admin:members_member_reveal", args=[world.member.pk]))
    redemption = client.get(reverse("admin:discounts_redemption_change", args=[sale.pk]))
    unit = client.get(reverse("staff:unit", args=[world.tree.C1A.code]))
    stats = client.get(f"/api/v1/stats/coverage/?union={world.tree.C1A.code}")

    assert change.status_code == 302 and change["Location"] == reverse("admin:index")
    assert any("不存在" in str(m) or "doesn" in str(m) for m in get_messages(change.wsgi_request))
    assert member_url not in listing and member_url not in search
    assert card.status_code == 302 and redemption.status_code == 302
    assert reveal.status_code == 404
    assert unit.status_code == 404
    assert stats.status_code == 404


@pytest.mark.parametrize(
    ("model", "action", "target"),
    [
        ("members/card", "freeze_cards", "card"),
        ("members/card", "cancel_cards", "card"),
        ("members/member", "issue_cards", "member"),
        ("merchants/apikey", "revoke_keys", "api_key"),
        ("discounts/offer", "pause_selected", "offer"),
        ("discounts/redemption", "void_selected", "sale"),
    ],
)
def test_admin_bulk_actions_never_reach_rows_outside_the_subtree(client, world, sale, model, action, target):
    """Ticking another county's row by id in a forged form changes nothing; the same form from the
    city above (the province admin for voids) does change it: the refusal is the scope, not the form."""
    from members.models import Card
    from tests.factories import MemberFactory, PartnerBankFactory

    PartnerBankFactory()
    cardless = MemberFactory(union=world.tree.C1A1)
    key = world.merchant.api_keys.get()
    rows = {"card": world.card, "member": cardless, "offer": world.offer, "sale": sale, "api_key": key}
    state = {
        "card": lambda: Card.objects.get(pk=world.card.pk).status,
        "member": lambda: Card.objects.filter(member=cardless).count(),
        "api_key": lambda: type(key).objects.get(pk=key.pk).revoked_at,
        "offer": lambda: type(world.offer).objects.get(pk=world.offer.pk).status,
        "sale": lambda: Redemption.objects.get(pk=sale.pk).status,
    }[target]
    form = {
        "action": action,
        "_selected_action": [rows[target].pk],
        "index": 0,
        "post": "yes",
        "confirmed": "1",
    }
    before = state()

    client.force_login(world.sibling_county_operator)
    refused = client.post(f"/admin/{model}/", form)
    after_sibling = state()
    # Voids in the admin belong to the province admin role (discounts.change_redemption).
    client.force_login(world.province_admin if target == "sale" else world.city_operator)
    client.post(f"/admin/{model}/", form)

    assert refused.status_code in (200, 302, 403)
    assert after_sibling == before
    assert state() != before

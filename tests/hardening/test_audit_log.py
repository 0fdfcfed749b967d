"""Sensitive actions leave an audit row, through the same services every door calls; the log is
read by province admins only and nobody changes or deletes it, not even through the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from discounts.models import Offer
from discounts.redemption import redemption_create, redemption_void
from discounts.services import offer_approve, offer_change_limits, offer_submit
from members import batches, cards, people
from members.models import IssuanceBatch
from merchants.apikeys import api_key_create, api_key_revoke
from portal.audit import audit_record
from portal.models import AuditEvent
from tests.factories import OfferFactory, PartnerBankFactory

Action = AuditEvent.Action


def events(action: str, target) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=action, target_type=target._meta.label_lower, target_id=str(target.pk)
        )
    )


def test_revealing_an_id_number_is_audited_with_who(world):
    full = people.member_reveal_id_number(member=world.member, actor=world.province_admin)

    assert len(full) == 18
    [event] = events(Action.ID_REVEALED, world.member)
    assert event.actor == world.province_admin
    assert full not in str(event.data)  # the log says who looked, never what they saw


def test_card_state_changes_are_audited(world):
    cards.card_freeze(card=world.card, actor=world.county_operator)
    cards.card_cancel(card=world.card, actor=world.county_operator)

    changes = events(Action.CARD_STATE_CHANGED, world.card)
    assert len(changes) == 2
    assert {e.actor for e in changes} == {world.county_operator}


def test_batch_approval_is_audited(world):
    batch = IssuanceBatch(
        union=world.tree.C1A1,
        bank=PartnerBankFactory(),
        original_filename="a.csv",
        uploaded_by=world.county_operator,
        status=IssuanceBatch.Status.VALIDATED,
        total_rows=1,
        valid_rows=1,
    )
    batch.file.save("a.csv", ContentFile(b"x"), save=False)
    batch.save()

    batches.batch_approve(batch=batch, actor=world.city_operator)  # not the uploader

    [event] = events(Action.BATCH_APPROVED, batch)
    assert event.actor == world.city_operator


def test_offer_approval_and_quota_and_budget_changes_are_audited(world):
    offer = OfferFactory(merchant=world.merchant, status=Offer.Status.DRAFT, daily_quota=200)
    offer_submit(offer=offer, submitted_by=world.manager.user)
    offer_approve(offer=offer, reviewed_by=world.county_operator)
    offer_change_limits(offer=offer, changed_by=world.county_operator, daily_quota=500)
    offer_change_limits(offer=offer, changed_by=world.city_operator, daily_quota=None)

    reviewed = events(Action.OFFER_REVIEWED, offer)
    assert world.county_operator in {e.actor for e in reviewed}
    limits = events(Action.OFFER_LIMIT_CHANGED, offer)
    assert [e.actor for e in sorted(limits, key=lambda e: e.pk)] == [
        world.county_operator,
        world.city_operator,
    ]


def test_budget_changes_are_audited_with_old_and_new_values(world):
    offer = OfferFactory(
        merchant=world.merchant,
        kind=Offer.Kind.FIXED_PRICE,
        percent_off=None,
        fixed_price=Decimal("20.00"),
        funder=Offer.Funder.UNION,
        budget=Decimal("1000.00"),
        budget_owner=world.tree.C1A,
    )

    offer_change_limits(offer=offer, changed_by=world.city_operator, budget=Decimal("5000.00"))

    [event] = events(Action.OFFER_LIMIT_CHANGED, offer)
    assert event.actor == world.city_operator
    assert "1000" in str(event.data) and "5000" in str(event.data)


def test_api_key_creation_and_revocation_are_audited(world):
    key, _raw = api_key_create(merchant=world.merchant, name="二号收银台", created_by=world.manager.user)
    api_key_revoke(key=key, revoked_by=world.manager.user)
    api_key_revoke(key=key, revoked_by=world.manager.user)  # a second revoke changes nothing

    assert len(events(Action.API_KEY_CREATED, key)) == 1
    assert len(events(Action.API_KEY_REVOKED, key)) == 1
    assert key.key_hash not in str(AuditEvent.objects.filter(target_id=str(key.pk)).values_list("data"))


def test_redemption_void_is_audited(world):
    redemption = redemption_create(
        merchant=world.merchant,
        store_id=world.store.pk,
        offer_id=world.offer.pk,
        card_number=world.card.number,
        amount=Decimal("80.00"),
        idempotency_key="audit-void",
    )
    redemption_void(redemption=redemption, reason="收银员按错", voided_by=world.cashier.user)

    [event] = events(Action.REDEMPTION_VOIDED, redemption)
    assert event.actor == world.cashier.user


@pytest.fixture
def logged(world):
    return audit_record(
        actor=world.county_operator,
        action=Action.CARD_STATE_CHANGED,
        target=world.card,
        union_path=world.tree.C1A1.path,
    )


def test_province_admin_reads_the_log_and_cannot_change_it(client, world, logged):
    client.force_login(world.province_admin)

    listing = client.get(reverse("admin:portal_auditevent_changelist"))
    detail = client.get(reverse("admin:portal_auditevent_change", args=[logged.pk]))
    edit = client.post(reverse("admin:portal_auditevent_change", args=[logged.pk]), {"actor_label": "x"})
    delete = client.post(reverse("admin:portal_auditevent_delete", args=[logged.pk]), {"post": "yes"})
    add = client.get(reverse("admin:portal_auditevent_add"))
    bulk = client.post(
        reverse("admin:portal_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [logged.pk], "post": "yes"},
    )

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert b'name="actor_label"' not in detail.content  # shown read-only
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert bulk.status_code in (200, 302)
    logged.refresh_from_db()
    assert logged.actor_label == world.county_operator.username
    assert AuditEvent.objects.filter(pk=logged.pk).exists()


@pytest.mark.parametrize("who", ["county_operator", "city_operator", "sibling_county_operator"])
def test_operators_below_the_province_cannot_see_the_log(client, world, logged, who):
    client.force_login(getattr(world, who))

    listing = client.get(reverse("admin:portal_auditevent_changelist"))
    detail = client.get(reverse("admin:portal_auditevent_change", args=[logged.pk]))
    index = client.get(reverse("admin:index"))

    assert listing.status_code == 403
    assert detail.status_code in (302, 403)
    assert reverse("admin:portal_auditevent_changelist").encode() not in index.content


def test_merchants_and_members_never_reach_the_log(client, world, logged):
    client.force_login(world.manager.user)

    response = client.get(reverse("admin:portal_auditevent_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

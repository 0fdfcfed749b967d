"""Demo members' own journeys (docs/member-journeys.md), one in every status: card applications,
transfer requests, lost-card reports and their undoing, members who left or retired. Builds on the
unions, staff and banks of members.demo."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from members import applications, batch_validation, cards, people, transfers
from members.demo import DEMO_COUNTY, _ensure_banks, _id_number
from members.models import Card, Member, Union

DEMO_JOURNEY_PHONE_PREFIX = "155"  # members of the journeys below: 155 + eight digits
DEMO_JOURNEY_ID_OFFSET = 10_500_000  # their ID numbers come after the batches' applicants
# (key, name, union code, what happens to them): one item in every status of every journey.
DEMO_JOURNEYS = [
    ("no_card", "郑可申", "130102001", "none"),
    ("application_pending", "郑待审", "130102001", "application_pending"),
    ("application_approved", "郑已批", "130102001", "application_approved"),
    ("application_batched", "郑入批", "130102001", "application_batched"),
    ("application_refused", "郑退回", "130102001", "application_refused"),
    ("transfer_pending", "郑转入", "130104001", "transfer_pending"),
    ("transfer_accepted", "郑已转", "130104001", "transfer_accepted"),
    ("transfer_refused", "郑未转", "130104001", "transfer_refused"),
    ("lost_undoable", "郑挂失", "130102001", "lost_recent"),
    ("lost_too_old", "郑久失", "130102001", "lost_old"),
    ("lost_undone", "郑找回", "130102001", "lost_undone"),
    ("lost_replaced", "郑换卡", "130102001", "lost_replaced"),
    ("left", "郑退会", "130102001", "left"),
    ("retired", "郑退休", "130102001", "retired"),
]


def seed_journeys() -> dict[str, str]:
    """Members' own journeys in every status, in 长安区 (the demo county) and towards it from 桥西区:
    card applications pending, approved, put into a batch and refused; transfer requests pending,
    accepted and refused; lost-card reports that may still be undone, that are too old, and one
    undone; members who left or retired (their cards cancelled, for the bank's card-changes file).

    Everything goes through the services a member's or an operator's click calls. Idempotent: the
    members are found by phone. Returns the phone of each journey's member by key (``--json``)."""
    phones = {
        key: f"{DEMO_JOURNEY_PHONE_PREFIX}{index:08d}" for index, (key, *_rest) in enumerate(DEMO_JOURNEYS)
    }
    staff = get_user_model().objects.in_bulk(
        ["workplace_operator", "changan_operator"], field_name="username"
    )
    unions = Union.objects.in_bulk([code for _, _, code, _ in DEMO_JOURNEYS], field_name="code")
    if len(staff) < 2 or len(unions) < 2:
        return {}
    if Member.objects.filter(phone__in=phones.values()).exists():
        return phones
    with transaction.atomic():
        _seed_journeys(phones, staff, unions)
    return phones


def _seed_journeys(phones: dict[str, str], staff: dict, unions: dict) -> None:
    bank = _ensure_banks()[0][0]
    workplace, county = staff["workplace_operator"], staff["changan_operator"]
    destination = unions["130102001"]
    made = {}
    for index, (key, name, code, _what) in enumerate(DEMO_JOURNEYS):
        made[key] = people.member_create(
            name=name,
            id_number=_id_number(DEMO_COUNTY, DEMO_JOURNEY_ID_OFFSET + index),
            phone=phones[key],
            union=unions[code],
        )
        made[key].consent_at = timezone.now()
        Member.objects.filter(pk=made[key].pk).update(consent_at=made[key].consent_at)
    # The batched one first: a batch takes every approved application of the county, and the
    # approved one must still be waiting for the next batch.
    for key in ("application_batched", "application_approved", "application_pending", "application_refused"):
        application = applications.card_application_submit(member=made[key], bank=bank)
        if key == "application_refused":
            applications.card_application_refuse(
                application=application, actor=workplace, reason="手机号与单位登记不一致，请先更正"
            )
        elif key != "application_pending":
            applications.card_application_approve(application=application, actor=workplace)
        if key == "application_batched":
            batch = applications.card_applications_batch(bank=bank, actor=county)
            batch_validation.batch_validate_run(batch_id=batch.pk)
    for key in ("transfer_pending", "transfer_accepted", "transfer_refused"):
        card = cards.card_issue(member=made[key], bank=bank)
        cards.card_activate(card=card)
        request = transfers.transfer_request_submit(member=made[key], to_union=destination, note="工作调动")
        if key == "transfer_accepted":
            transfers.transfer_request_accept(request=request, actor=county)
        elif key == "transfer_refused":
            transfers.transfer_request_refuse(request=request, actor=workplace, reason="本单位无此职工")
    for key in ("lost_undoable", "lost_too_old", "lost_undone", "lost_replaced", "left", "retired"):
        card = cards.card_issue(member=made[key], bank=bank)
        cards.card_activate(card=card)
        if key.startswith("lost"):
            cards.card_freeze(card=card, actor=made[key])
        if key == "lost_too_old":
            # Demo only: the report is dated back ten days, past the window in which it can be undone.
            Card.objects.filter(pk=card.pk).update(frozen_at=timezone.now() - datetime.timedelta(days=10))
        if key == "lost_undone":
            cards.card_undo_lost(card=card, actor=made[key])
        if key == "lost_replaced":
            cards.card_replace(card=card, actor=county)
    people.member_set_status(member=made["left"], status=Member.Status.LEFT, actor=county)
    people.member_set_status(member=made["retired"], status=Member.Status.RETIRED, actor=county)

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from members import demo, demo_journeys, pii
from members.models import Card, IssuanceRow, Member
from portal.roles import Role
from tests.factories import MemberFactory
from tests.members.conftest import applicant_rows, validated_batch

pytestmark = pytest.mark.django_db


def test_seed_members_is_deterministic_idempotent_and_lists_sign_ins(db):
    demo.seed_unions(seed=1, workplaces_per_county=1)
    first = demo.seed_members(seed=1, count=1500, log=lambda message: None)
    members, cards = Member.objects.count(), Card.objects.count()
    assert members == 1500 and 0 < cards < members  # some members have no card
    again = demo.seed_members(seed=1, count=1500, log=lambda message: None)
    assert again == first
    assert (Member.objects.count(), Card.objects.count()) == (members, cards)

    active = [entry for entry in first if entry["card_status"] == "active"]
    assert len(active) >= 200
    assert any(entry["union_code"].startswith("130102") for entry in active)
    assert any("hardship" in entry["groups"] for entry in active)
    assert any(entry["card_status"] == "frozen" for entry in first)
    phones = [entry["phone"] for entry in first]
    assert len(set(phones)) == len(phones) and all(re.fullmatch(r"1[3-9]\d{9}", phone) for phone in phones)
    for entry in first[:20]:
        card = Card.objects.select_related("member").get(number=entry["card_number"])
        assert card.status == entry["card_status"] and card.member.phone == entry["phone"]
    # Every stored ID number is valid and decrypts to its hash.
    for member in Member.objects.all()[:50]:
        value = pii.validate_id_number(pii.decrypt_id_number(member.id_number_encrypted))
        assert pii.hash_id_number(value) == member.id_number_hash
    # Coverage differs by county, and there are retired or transferred members and hardship members.
    assert Member.objects.exclude(status="active").exists()
    assert Member.objects.filter(groups__contains=["hardship"]).exists()
    assert sorted(Card.objects.values_list("bank__code", flat=True).distinct()) == ["CCBHE", "HBBANK"]
    serials = sorted(Card.objects.filter(bank__code="HBBANK").values_list("serial", flat=True))
    assert serials == list(range(1, len(serials) + 1))


def test_demo_batches_show_every_resting_status_each_approved_by_a_second_person(db, settings, tmp_path):
    from members.models import IssuanceBatch

    demo.seed_unions(seed=1, workplaces_per_county=1)
    demo.seed_staff(seed=1)
    demo.seed_members(seed=1, count=600, log=lambda message: None)
    assert demo.seed_batches(seed=1) == 4
    assert demo.seed_batches(seed=1) == 0  # idempotent

    batches = {batch.status: batch for batch in IssuanceBatch.objects.select_related("uploaded_by")}
    assert set(batches) == {"completed", "validated", "rejected", "failed"}
    completed = batches["completed"]
    assert completed.approved_by is not None and completed.approved_by != completed.uploaded_by
    assert completed.cards_created == 12 and completed.production_file
    pending = batches["validated"]
    assert pending.valid_rows == 8 and pending.error_rows == 2 and pending.changed_members == 2
    assert "身份证号" in batches["failed"].status_message
    assert batches["rejected"].status_message


def test_rotate_pii_key_re_encrypts_members_and_issuance_rows(tree, make_staff, settings):
    from tests.factories import PartnerBankFactory

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old_key]
    members = MemberFactory.create_batch(7, union=tree.C1A1)
    values = {member.pk: pii.decrypt_id_number(member.id_number_encrypted) for member in members}
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    batch = validated_batch(
        union=tree.C1A, bank=PartnerBankFactory(), user=operator, rows=applicant_rows(3, "C1A1")
    )
    row_values = {row.pk: pii.decrypt_id_number(row.id_number_encrypted) for row in batch.rows.all()}

    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_pii_key", "--chunk-size", "2")
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything must still decrypt
    for member in Member.objects.all():
        assert pii.decrypt_id_number(member.id_number_encrypted) == values[member.pk]
        assert member.id_number_hash == pii.hash_id_number(values[member.pk])
    for row in IssuanceRow.objects.all():
        assert pii.decrypt_id_number(row.id_number_encrypted) == row_values[row.pk]
    settings.PII_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(RuntimeError):
        pii.decrypt_id_number(Member.objects.first().id_number_encrypted)


def test_demo_journeys_have_an_item_in_every_status(db, settings, tmp_path):
    from members.models import CardApplication, TransferRequest

    settings.MEDIA_ROOT = str(tmp_path)
    demo.seed_unions(seed=1, workplaces_per_county=1)
    demo.seed_staff(seed=1)
    phones = demo_journeys.seed_journeys()
    assert demo_journeys.seed_journeys() == phones  # idempotent
    assert Member.objects.filter(phone__in=phones.values()).count() == len(demo_journeys.DEMO_JOURNEYS)
    assert set(CardApplication.objects.values_list("status", flat=True)) == {
        "pending",
        "approved",
        "batched",
        "refused",
    }
    batched = CardApplication.objects.get(status="batched")
    assert batched.batch.status == "validated" and batched.batch.valid_rows == 1
    assert set(TransferRequest.objects.values_list("status", flat=True)) == {"pending", "accepted", "refused"}
    assert Member.objects.get(phone=phones["transfer_accepted"]).union.code == "130102001"
    assert Card.objects.get(member__phone=phones["lost_undoable"]).status == "frozen"
    assert Card.objects.get(member__phone=phones["lost_undone"]).status == "active"
    assert Card.objects.get(member__phone=phones["left"]).status == "cancelled"
    assert Card.objects.filter(status="replaced").exists()

"""Personal information (PIPL): masked by default everywhere, consent at first sign-in, the member's
own data download, bounded retention of codes and idempotency records, and ID-key rotation."""

from __future__ import annotations

import datetime
import io
import json
import re
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from discounts.models import IdempotencyRecord
from discounts.redemption import redemption_create
from discounts.tasks import purge_idempotency_records
from members import pii, sms
from members.auth import SESSION_KEY
from members.models import IssuanceRow, Member, OneTimeCode
from members.tasks import purge_one_time_codes
from tests.factories import MemberFactory, make_id_number
from tests.hardening.conftest import member_token


def sign_in_member(client, member) -> None:
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key


@pytest.fixture
def redeemed(world):
    world.member.consent_at = timezone.now()
    world.member.save(update_fields=["consent_at"])
    return redemption_create(
        merchant=world.merchant,
        store_id=world.store.pk,
        offer_id=world.offer.pk,
        card_number=world.card.number,
        amount=Decimal("100.00"),
        idempotency_key="pii-1",
    )


def full_id_number(member) -> str:
    return pii.decrypt_id_number(member.id_number_encrypted)


def test_no_response_outside_staff_screens_shows_a_full_id_or_card_number(
    client, api_client, world, redeemed, settings
):
    """Every page and API answer a member, a merchant or a till sees, scanned for the full values."""
    settings.POS_RATE_LIMIT_PER_MINUTE = 0
    member = world.member
    secrets_ = {full_id_number(member), world.card.number}
    seen = {}

    sign_in_member(client, member)
    for url in ("/", f"/offers/{world.offer.pk}/", "/me/card/", "/me/redemptions/", "/me/data/"):
        seen[f"member page {url}"] = client.get(url)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {member_token(member)}"}
    for url in ("/api/v1/me/", "/api/v1/me/card-token/", "/api/v1/me/redemptions/", "/api/v1/offers/"):
        seen[f"member api {url}"] = api_client.get(url, **bearer)

    pos = {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}"}
    seen["pos verify"] = api_client.post(
        "/api/v1/cards/verify/",
        {"card_number": world.card.number, "store": world.store.pk},
        format="json",
        **pos,
    )
    seen["pos list"] = api_client.get("/api/v1/redemptions/", **pos)
    seen["pos redeem"] = api_client.post(
        "/api/v1/redemptions/",
        {
            "offer": world.offer.pk,
            "card_number": world.card.number,
            "store": world.store.pk,
            "amount": "50.00",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="pii-2",
        **pos,
    )

    till = type(client)()
    till.force_login(world.cashier.user)
    till.post(reverse("cashier:store"), {"store": world.store.pk})
    till.post(reverse("cashier:identify"), {"card": world.card.number})
    seen["till"] = till.get(reverse("cashier:till"))
    seen["receipt"] = till.get(reverse("cashier:receipt", args=[redeemed.pk]))

    manager = type(client)()
    manager.force_login(world.manager.user)
    seen["merchant home"] = manager.get(reverse("merchants:home"))
    seen["statement"] = manager.get(reverse("cashier:statement"))

    for where, response in seen.items():
        assert response.status_code < 400, (where, response.status_code)
        body = response.content.decode(errors="replace")
        for secret in secrets_:
            assert secret not in body, f"{where} shows a full number"


def test_staff_screens_show_the_id_number_masked_until_an_audited_reveal(client, world):
    client.force_login(world.province_admin)
    full = full_id_number(world.member)

    pages = [
        client.get(reverse("admin:members_member_changelist")),
        client.get(reverse("admin:members_member_change", args=[world.member.pk])),
        client.get(reverse("admin:members_card_changelist")),
        client.get(reverse("admin:members_member_reveal", args=[world.member.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert full.encode() not in page.content
    assert world.member.id_number_masked.encode() in pages[1].content

    revealed = client.post(reverse("admin:members_member_reveal", args=[world.member.pk]))
    assert full.encode() in revealed.content


def test_consent_is_asked_at_first_sign_in_and_kept(api_client, world):
    member = world.member
    assert member.consent_at is None

    api_client.post("/api/v1/auth/otp/request/", {"phone": member.phone}, format="json")
    [message] = [m for m in sms.outbox if m.phone == member.phone]
    code = re.search(r"\b(\d{6})\b", message.text).group(1)
    signed_in = api_client.post(
        "/api/v1/auth/otp/verify/", {"phone": member.phone, "code": code}, format="json"
    )
    assert signed_in.status_code == 200
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {signed_in.json()['token']}"}

    assert api_client.get("/api/v1/me/", **bearer).json()["consent_at"] is None
    first = api_client.post("/api/v1/me/consent/", **bearer).json()["consent_at"]
    again = api_client.post("/api/v1/me/consent/", **bearer).json()["consent_at"]

    assert first is not None
    assert again == first
    member.refresh_from_db()
    assert member.consent_at is not None


def test_member_pages_with_personal_data_wait_for_consent(client, world):
    sign_in_member(client, world.member)

    response = client.get("/me/card/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("members:consent"))


def test_members_download_their_own_data_and_nobody_elses(client, world, redeemed):
    sign_in_member(client, world.member)

    response = client.get(reverse("members:data_export"))

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["member"]["name"] == world.member.name
    assert [r["offer"] for r in document["redemptions"]] == [world.offer.title]
    body = response.content.decode()
    assert world.other_member.name not in body
    assert world.other_card.number_masked not in body
    assert full_id_number(world.member) not in body

    anonymous = type(client)().get(reverse("members:data_export"))
    assert anonymous.status_code == 302


def test_one_time_codes_are_purged_by_the_beat_task(world):
    old = OneTimeCode.objects.create(
        phone="13900000001", code_hash="x", expires_at=timezone.now() - datetime.timedelta(days=2)
    )
    OneTimeCode.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))
    fresh = OneTimeCode.objects.create(
        phone="13900000001", code_hash="y", expires_at=timezone.now() + datetime.timedelta(minutes=5)
    )

    purge_one_time_codes()

    assert not OneTimeCode.objects.filter(pk=old.pk).exists()
    assert OneTimeCode.objects.filter(pk=fresh.pk).exists()
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "members.tasks.purge_one_time_codes" in schedule


def test_idempotency_records_are_purged_by_the_beat_task(world, redeemed, api_client):
    pos = {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}"}
    api_client.post(
        "/api/v1/redemptions/",
        {
            "offer": world.offer.pk,
            "card_number": world.card.number,
            "store": world.store.pk,
            "amount": "9.00",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="old-key",
        **pos,
    )
    api_client.post(
        "/api/v1/redemptions/",
        {
            "offer": world.offer.pk,
            "card_number": world.card.number,
            "store": world.store.pk,
            "amount": "8.00",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="new-key",
        **pos,
    )
    assert IdempotencyRecord.objects.count() == 2
    IdempotencyRecord.objects.filter(key="old-key").update(
        created_at=timezone.now() - django_settings.IDEMPOTENCY_RETENTION - datetime.timedelta(hours=1)
    )

    purge_idempotency_records()

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-key"]
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "discounts.tasks.purge_idempotency_records" in schedule


def test_key_rotation_re_encrypts_so_the_old_key_can_be_removed(world, settings):
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    number = make_id_number()
    member = MemberFactory(union=world.tree.C1A1, id_number=number)
    row_number = make_id_number()
    row = IssuanceRow.objects.create(
        batch=_batch(world),
        row_number=1,
        id_number_encrypted=pii.encrypt_id_number(row_number),
        id_number_hash=pii.hash_id_number(row_number),
        status=IssuanceRow.Status.VALID,
    )
    hash_before = member.id_number_hash

    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_pii_key", chunk_size=2, stdout=out)
    assert "re-encrypted" in out.getvalue()
    settings.PII_ENCRYPTION_KEYS = [new_key]

    member.refresh_from_db()
    row.refresh_from_db()
    assert pii.decrypt_id_number(member.id_number_encrypted) == number
    assert pii.decrypt_id_number(row.id_number_encrypted) == row_number
    assert member.id_number_hash == hash_before  # lookups keep working
    assert Member.objects.filter(id_number_hash=pii.hash_id_number(number)).exists()
    for other in Member.objects.all():
        pii.decrypt_id_number(other.id_number_encrypted)  # every row, not only the new ones

    settings.PII_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(RuntimeError):
        pii.decrypt_id_number(member.id_number_encrypted)  # really under the new key now


def _batch(world):
    from django.core.files.base import ContentFile

    from members.models import IssuanceBatch
    from tests.factories import PartnerBankFactory

    batch = IssuanceBatch(
        union=world.tree.C1A1,
        bank=PartnerBankFactory(),
        original_filename="r.csv",
        uploaded_by=world.county_operator,
    )
    batch.file.save("r.csv", ContentFile(b"x"), save=False)
    batch.save()
    return batch

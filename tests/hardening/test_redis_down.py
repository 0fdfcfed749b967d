"""Redis down: pages and redemptions keep working (they never need it), work that goes to a worker
says "try again shortly", and /healthz reports it.

The ``redis_down`` fixture (tests/conftest.py) points Redis, the cache and the Celery broker at a
closed port: every call really tries to connect and is refused."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from discounts.models import Redemption
from members.auth import SESSION_KEY
from members.models import IssuanceBatch
from stats.models import SnapshotRun
from tests.factories import PartnerBankFactory

TRY_AGAIN = "稍后再试"


@pytest.fixture
def member_client(client, world):
    from django.utils import timezone

    world.member.consent_at = timezone.now()
    world.member.save(update_fields=["consent_at"])
    session = client.session
    session[SESSION_KEY] = world.member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def test_healthz_reports_redis_down_with_503(client, redis_down, db):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}


def test_member_pages_work_without_redis(member_client, world, redis_down):
    for url in ("/", f"/offers/{world.offer.pk}/", "/me/card/", "/me/redemptions/", "/api/v1/offers/"):
        response = member_client.get(url)
        assert response.status_code == 200, url


def test_pos_redemption_works_without_redis(api_client, world, redis_down):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}", "HTTP_IDEMPOTENCY_KEY": "redis-down-1"}
    body = {
        "offer": world.offer.pk,
        "card_number": world.card.number,
        "store": world.store.pk,
        "amount": "100.00",
    }

    first = api_client.post("/api/v1/redemptions/", body, format="json", **headers)
    replay = api_client.post("/api/v1/redemptions/", body, format="json", **headers)
    void = api_client.post(
        f"/api/v1/redemptions/{first.json()['id']}/void/",
        {"reason": "测试"},
        format="json",
        HTTP_AUTHORIZATION=f"Api-Key {world.pos_key}",
    )

    assert first.status_code == 201, first.content
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert void.status_code == 200
    assert Redemption.objects.count() == 1


def test_the_till_works_without_redis(client, world, redis_down):
    client.force_login(world.cashier.user)
    client.post(reverse("cashier:store"), {"store": world.store.pk})
    client.post(reverse("cashier:identify"), {"card": world.card.number})
    till = client.get(reverse("cashier:till"))
    done = client.post(
        reverse("cashier:redeem"), {"offer": world.offer.pk, "amount": "88.00", "nonce": "a" * 32}
    )

    assert till.status_code == 200
    assert done.status_code == 302 and "/redemptions/" in done["Location"], done.get("Location")
    assert Redemption.objects.filter(merchant=world.merchant).count() == 1


def test_refresh_now_says_try_again_shortly(client, world, redis_down):
    client.force_login(world.city_operator)

    response = client.post(reverse("staff:refresh"), {"next": "/staff/"})

    assert response.status_code == 302
    assert any(TRY_AGAIN in str(m) for m in get_messages(response.wsgi_request))
    # The run is not left "queued" forever: the next refresh can start a new one.
    assert not SnapshotRun.objects.filter(status__in=["queued", "running"]).exists()


def test_batch_upload_while_redis_is_down_is_kept_and_says_so(
    client, world, redis_down, django_capture_on_commit_callbacks
):
    """The file and its batch are stored; the worker cannot be told. The uploader must learn that
    validation waits, and the batch can be queued again later (the resume button)."""
    bank = PartnerBankFactory()
    client.force_login(world.county_operator)
    content = "姓名,身份证号,手机号,基层工会代码\n张三,130102198501010033,13700000001,C1A1\n".encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:members_issuancebatch_add"),
            {"union": world.tree.C1A.pk, "bank": bank.pk, "file": SimpleUploadedFile("a.csv", content)},
            follow=True,
        )

    assert response.status_code == 200
    batch = IssuanceBatch.objects.get()
    assert batch.status == IssuanceBatch.Status.UPLOADED
    assert TRY_AGAIN in response.content.decode()


def test_batch_approval_while_redis_is_down_is_kept_and_says_so(
    client, world, redis_down, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

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
    client.force_login(world.city_operator)  # someone other than the uploader approves

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:members_issuancebatch_approve", args=[batch.pk]), {"confirmed": "1"}, follow=True
        )

    batch.refresh_from_db()
    assert batch.status == IssuanceBatch.Status.APPROVED
    assert TRY_AGAIN in response.content.decode()

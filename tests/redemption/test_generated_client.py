"""The schema as an integrator meets it: a client generated from the live ``/api/schema/`` with
openapi-python-client (pinned in the dev extra, so this runs offline from the lock) drives a till's
flow and a member's flow unchanged. A schema change that would break a generated client fails here.

The client talks to the real WSGI application in this process (httpx's WSGI transport), on the
test's database transaction."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import uuid

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client as DjangoClient

from discounts.api.serializers import RedemptionSerializer
from discounts.models import IdempotencyRecord, Redemption
from members import sms
from members.models import Card
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db

PACKAGE = "portal_api_client"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The generated package, imported from a temporary directory."""
    schema = DjangoClient().get("/api/schema/?format=json")
    assert schema.status_code == 200
    where = tmp_path_factory.mktemp("generated")
    (where / "schema.json").write_bytes(schema.content)
    (where / "config.yaml").write_text("post_hooks: []\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(where / "schema.json"),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
            "--config",
            str(where / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation generated: the generator skips what it cannot type, with a warning.
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def wsgi_transport():
    """Requests must not close the connection at their end (that would end the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield httpx.WSGITransport(app=WSGIHandler())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _client(api, wsgi_transport, token: str, prefix: str):
    return api.AuthenticatedClient(
        base_url="http://testserver",
        token=token,
        prefix=prefix,
        httpx_args={"transport": wsgi_transport},
        raise_on_unexpected_status=True,
    )


def _code(response) -> str:
    """The typed error code (an enum member, or a literal string for a single-code answer)."""
    code = response.parsed.error.code
    return getattr(code, "value", code)


def _op(api, tag: str, name: str):
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def test_a_till_verifies_redeems_replays_lists_reads_and_voids_through_the_generated_client(
    api, wsgi_transport, shop, card, make_offer
):
    models = importlib.import_module(f"{PACKAGE}.models")
    offer = make_offer(title="观影立减")
    till = _client(api, wsgi_transport, shop.key, "Api-Key")

    verified = _op(api, "pos", "pos_cards_verify").sync_detailed(
        client=till, body=models.VerifyByCardRequest(card_number=card.number, store=shop.store.pk)
    )
    assert verified.status_code == 200
    assert isinstance(verified.parsed, models.VerifyResponse)
    assert [o.id for o in verified.parsed.offers if o.eligible] == [offer.pk]
    assert verified.headers["X-Request-Id"] and verified.headers["RateLimit-Limit"]

    key = str(uuid.uuid4())
    body = models.RedemptionByCardRequest(
        offer=offer.pk,
        card_number=card.number,
        store=shop.store.pk,
        amount="100.00",
        merchant_reference="T7-1",
    )
    create = _op(api, "pos", "pos_redemptions_create")
    first = create.sync_detailed(client=till, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    redemption = first.parsed
    assert isinstance(redemption, models.Redemption)
    assert redemption.status == "completed" and redemption.merchant_reference == "T7-1"

    again = create.sync_detailed(client=till, body=body, idempotency_key=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.to_dict() == redemption.to_dict()
    assert Redemption.objects.count() == 1

    refused = create.sync_detailed(
        client=till,
        body=models.RedemptionByCardRequest(
            offer=offer.pk, card_number=card.number, store=shop.store.pk, amount="5"
        ),
        idempotency_key=key,
    )
    assert refused.status_code == 422
    assert _code(refused) == "idempotency_key_reused"

    listed = _op(api, "pos", "pos_redemptions_list").sync_detailed(client=till, merchant_reference="T7-1")
    assert listed.status_code == 200
    assert listed.parsed.count == 1 and [r.id for r in listed.parsed.results] == [redemption.id]
    by_cursor = _op(api, "pos", "pos_redemptions_list").sync_detailed(
        client=till, cursor="", status=models.PosRedemptionsListStatus("completed")
    )
    assert [r.id for r in by_cursor.parsed.results] == [redemption.id]

    detail = _op(api, "pos", "pos_redemptions_retrieve").sync_detailed(redemption.id, client=till)
    assert detail.status_code == 200 and detail.parsed.to_dict() == redemption.to_dict()

    void = _op(api, "pos", "pos_redemptions_void")
    void_key = str(uuid.uuid4())
    voided = void.sync_detailed(
        redemption.id,
        client=till,
        body=models.VoidRequestRequest(reason="顾客退票"),
        idempotency_key=void_key,
    )
    assert voided.status_code == 200 and voided.parsed.status == "voided"
    replayed = void.sync_detailed(
        redemption.id,
        client=till,
        body=models.VoidRequestRequest(reason="顾客退票"),
        idempotency_key=void_key,
    )
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.parsed.to_dict() == voided.parsed.to_dict()
    twice = void.sync_detailed(redemption.id, client=till, body=models.VoidRequestRequest(reason="again"))
    assert twice.status_code == 409 and _code(twice) == "already_voided"


def test_a_member_signs_in_reads_me_gets_a_card_token_and_history_through_the_generated_client(
    api, wsgi_transport, tree, shop, make_offer, settings
):
    settings.SMS_BACKEND = "members.sms.MemorySmsBackend"
    sms.outbox.clear()
    models = importlib.import_module(f"{PACKAGE}.models")
    member = MemberFactory(union=tree.C1A1, phone="13812345678", name="李小龙")
    CardFactory(member=member, status=Card.Status.ACTIVE)
    anonymous = _client(api, wsgi_transport, "", "Bearer")

    requested = _op(api, "member", "member_otp_request").sync_detailed(
        client=anonymous, body=models.OtpRequestInputRequest(phone="13812345678")
    )
    assert requested.status_code == 200
    code = re.search(r"\d{6}", sms.outbox[-1].text).group()
    signed_in = _op(api, "member", "member_otp_verify").sync_detailed(
        client=anonymous, body=models.OtpVerifyInputRequest(phone="13812345678", code=code)
    )
    assert signed_in.status_code == 200
    app = _client(api, wsgi_transport, signed_in.parsed.token, "Bearer")

    me = _op(api, "member", "member_me").sync_detailed(client=app)
    assert me.status_code == 200 and me.parsed.name_masked == "李**"

    token = _op(api, "member", "member_card_token").sync_detailed(client=app)
    assert token.status_code == 200

    # The till redeems with the member's QR token; the history shows it with the total saved.
    till = _client(api, wsgi_transport, shop.key, "Api-Key")
    offer = make_offer(title="观影立减")
    redeemed = _op(api, "pos", "pos_redemptions_create").sync_detailed(
        client=till,
        body=models.RedemptionByTokenRequest(
            offer=offer.pk, member_token=token.parsed.token, store=shop.store.pk, amount="100"
        ),
        idempotency_key="qr-1",
    )
    assert redeemed.status_code == 201, redeemed.content

    history = _op(api, "member", "me_redemptions_list").sync_detailed(client=app)
    assert history.status_code == 200
    page = history.parsed
    assert isinstance(page, models.MemberRedemptionPage)
    assert page.count == 1 and [r.id for r in page.results] == [redeemed.parsed.id]
    assert page.total_saved == page.results[0].saved
    assert json.loads(history.content)["results"][0]["offer"] == {"id": offer.pk, "title": "观影立减"}


def test_the_stored_replay_is_what_the_redemption_serializer_shows(api_client, shop, card, make_offer):
    offer = make_offer()
    response = api_client.post(
        "/api/v1/redemptions/",
        {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "88.5"},
        format="json",
        **shop.headers(),
        HTTP_IDEMPOTENCY_KEY="stored-1",
    )
    assert response.status_code == 201
    redemption = Redemption.objects.select_related("offer", "store", "card", "member").get()
    stored = IdempotencyRecord.objects.get(key="stored-1").response_body
    assert stored == json.loads(json.dumps(RedemptionSerializer(redemption).data)) == response.json()

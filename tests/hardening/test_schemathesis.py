"""Property-based run of the API against its own OpenAPI schema: whatever a client sends, the answer
is never a server error and always matches the documented responses.

Every operation is exercised with the credentials it documents (none, a member's bearer token, a POS
API key or a staff session), so generated input reaches the code behind authentication too. The
examples are derandomized: a failure here fails the same way on every run. A longer run is described
in docs/hardening.md."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from discounts.redemption import redemption_create, redemption_void
from tests.hardening.conftest import member_token

# Ten examples per operation keep the suite quick; the longer run in docs/hardening.md raises it.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def wsgi_app():
    """The real WSGI application, in this process and on the test's database transaction.

    Like Django's test client, requests must not close the connection at their end (that would end
    the test's transaction), so the close-old-connections handlers are off for the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(world, client):
    """Headers and cookies per security scheme named in the schema. The member has a redemption and a
    voided one, so the history's page (items, total saved) is checked against the schema too."""
    client.force_login(world.province_admin)
    for units in (1, 2):
        redemption = redemption_create(
            merchant=world.merchant,
            store_id=world.store.pk,
            offer_id=world.offer.pk,
            card_number=world.card.number,
            amount="100.00",
            units=units,
        )
    redemption_void(redemption=redemption, reason="schema run")
    return {
        "memberToken": ({"Authorization": f"Bearer {member_token(world.member)}"}, {}),
        "ApiKeyAuth": ({"Authorization": f"Api-Key {world.pos_key}"}, {}),
        "cookieAuth": ({}, {"sessionid": client.cookies["sessionid"].value}),
    }


def auth_for(case, credentials) -> tuple[dict, dict]:
    for requirement in case.operation.definition.raw.get("security", []):
        for name in requirement:
            if name in credentials:
                return credentials[name]
    return {}, {}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_and_keeps_to_its_schema(case, wsgi_app, credentials):
    headers, cookies = auth_for(case, credentials)
    response = case.call(app=wsgi_app, headers=headers, cookies=cookies)
    case.validate_response(
        response,
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_headers_conformance,
            checks.response_schema_conformance,
        ],
    )

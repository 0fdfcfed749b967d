"""The OpenAPI schema says what the API does, exactly: what a generated client and schemathesis rely
on is asserted here one promise at a time, so a change that weakens one fails by name."""

from __future__ import annotations

import re

import jsonschema
import pytest
from django.test import Client

POS_OPERATIONS = {
    "pos_cards_verify",
    "pos_redemptions_create",
    "pos_redemptions_list",
    "pos_redemptions_retrieve",
    "pos_redemptions_void",
}


@pytest.fixture(scope="module")
def schema():
    return Client().get("/api/schema/?format=json").json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def by_id(schema, operation_id):
    return next(op for _p, _m, op in operations(schema) if op["operationId"] == operation_id)


def test_there_is_one_error_envelope_and_pos_errors_list_their_codes(schema):
    components = schema["components"]["schemas"]
    envelopes = [name for name, c in components.items() if set(c.get("properties", {})) == {"error"}]
    assert envelopes == ["Error"]
    for _path, _method, operation in operations(schema):
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            body = answer["content"]["application/json"]["schema"]
            refs = [body.get("$ref")] + [part.get("$ref") for part in body.get("allOf", [])]
            assert "#/components/schemas/Error" in refs, (operation["operationId"], status)
            if operation["operationId"] in POS_OPERATIONS:
                codes = body["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
                assert codes, (operation["operationId"], status)
    create = by_id(schema, "pos_redemptions_create")["responses"]
    assert (
        "quota_exhausted"
        in create["409"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
            "properties"
        ]["code"]["enum"]
    )


def test_every_operation_documents_405_and_the_request_id_and_bodies_415(schema):
    for _path, _method, operation in operations(schema):
        responses = operation["responses"]
        assert "405" in responses
        if "requestBody" in operation:
            assert "415" in responses
        for answer in responses.values():
            assert answer["headers"]["X-Request-Id"]["required"] is True


def test_pos_answers_document_their_headers(schema):
    create = by_id(schema, "pos_redemptions_create")
    assert {"Idempotent-Replayed", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
        create["responses"]["201"]["headers"]
    )
    assert "Retry-After" in create["responses"]["409"]["headers"]
    assert "Retry-After" in create["responses"]["429"]["headers"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] and key["schema"]["maxLength"] == 255 and key["schema"]["minLength"] == 1


def test_the_card_is_exactly_one_of_number_and_token(schema):
    components = schema["components"]["schemas"]
    for name in ("CardVerifyRequest", "RedemptionCreateRequest"):
        alternatives = [c["$ref"].rsplit("/", 1)[1] for c in components[name]["oneOf"]]
        required = [set(components[a]["required"]) & {"card_number", "member_token"} for a in alternatives]
        assert required == [{"card_number"}, {"member_token"}]
        assert "member_token" not in components[alternatives[0]]["properties"]


def test_the_amount_pattern_refuses_what_the_api_refuses(schema):
    amount = schema["components"]["schemas"]["RedemptionByCardRequest"]["properties"]["amount"]
    pattern = re.compile(amount["pattern"])
    for good in ("0", "100", "100.5", "100.00", "9999999999.99"):
        assert pattern.search(good), good
    for bad in ("-5", "", "1e3", "1.234", " 1", "10000000000"):
        assert not pattern.search(bad), bad


def test_lists_bound_their_page_size_and_the_member_history_is_one_page(schema):
    for operation_id in ("pos_redemptions_list", "me_redemptions_list", "offers_list"):
        page_size = next(p for p in by_id(schema, operation_id)["parameters"] if p["name"] == "page_size")
        assert page_size["schema"]["maximum"] == 100
    history = by_id(schema, "me_redemptions_list")["responses"]["200"]["content"]["application/json"]
    assert history["schema"] == {"$ref": "#/components/schemas/MemberRedemptionPage"}
    page = schema["components"]["schemas"]["MemberRedemptionPage"]
    assert "total_saved" in page["required"]
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/MemberRedemption"}


def test_links_lead_from_a_redemption_to_its_detail_and_void_and_servers_are_named(schema):
    created = by_id(schema, "pos_redemptions_create")["responses"]["201"]["links"]
    assert created["VoidRedemption"] == {
        "operationId": "pos_redemptions_void",
        "parameters": {"id": "$response.body#/id"},
        "description": "Void this redemption (same local day only)",
    }
    listed = by_id(schema, "pos_redemptions_list")["responses"]["200"]["links"]
    assert listed["GetRedemption"]["parameters"] == {"id": "$response.body#/results/0/id"}
    assert schema["servers"] and schema["servers"][0]["url"]


def _as_json_schema(node, components):
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [_as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {key: _as_json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_operation_answering_json_has_examples_that_match_its_schema(schema):
    components = schema["components"]["schemas"]
    without = []
    for _path, _method, operation in operations(schema):
        json_answers = {
            status: answer["content"]["application/json"]
            for status, answer in operation["responses"].items()
            if status.startswith("2") and "application/json" in answer.get("content", {})
        }
        if not json_answers:
            continue  # no body (204) or a file (the statement's workbook)
        if not any(body.get("examples") for body in json_answers.values()):
            without.append(operation["operationId"])
        for body in json_answers.values():
            for example in (body.get("examples") or {}).values():
                jsonschema.validate(example["value"], _as_json_schema(body["schema"], components))
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        for example in ((request or {}).get("examples") or {}).values():
            jsonschema.validate(example["value"], _as_json_schema(request["schema"], components))
    assert without == []

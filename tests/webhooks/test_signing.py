"""The signature of a delivery, checked as a receiver checks it — with the portal's own function and with the
snippet of docs/webhooks.md, run as printed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest

from webhooks.signing import signature_header, verify_signature

SECRET = "whsec_test-secret-0123456789"
BODY = json.dumps(
    {"id": "redemption.created:1", "type": "redemption.created", "data": {"member_name_masked": "张*"}},
    ensure_ascii=False,
    separators=(",", ":"),
).encode()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_a_signed_body_verifies():
    header = signature_header(SECRET, BODY)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify_signature(SECRET, header, BODY)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_keyed_with_the_whole_secret():
    header = signature_header(SECRET, BODY, timestamp=1_767_240_000)
    expected = hmac.new(SECRET.encode(), b"1767240000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767240000,v1={expected}"


def test_a_tampered_body_does_not_verify():
    header = signature_header(SECRET, BODY)
    assert not verify_signature(SECRET, header, BODY.replace(b"created:1", b"created:2"))
    assert not verify_signature(SECRET, header, BODY + b" ")


def test_another_secret_does_not_verify():
    header = signature_header(SECRET, BODY)
    assert not verify_signature("whsec_someone-else", header, BODY)


def test_an_old_or_future_timestamp_does_not_verify():
    now = time.time()
    old = signature_header(SECRET, BODY, timestamp=int(now) - 301)
    future = signature_header(SECRET, BODY, timestamp=int(now) + 301)
    recent = signature_header(SECRET, BODY, timestamp=int(now) - 299)
    assert not verify_signature(SECRET, old, BODY, now=now)
    assert not verify_signature(SECRET, future, BODY, now=now)
    assert verify_signature(SECRET, recent, BODY, now=now)
    assert verify_signature(SECRET, old, BODY, tolerance=600, now=now)


def test_a_replayed_timestamp_cannot_be_moved_forward():
    """The timestamp is inside what is signed: changing it to pass the tolerance breaks the signature."""
    old = signature_header(SECRET, BODY, timestamp=int(time.time()) - 3600)
    moved = re.sub(r"t=\d+", f"t={int(time.time())}", old)
    assert not verify_signature(SECRET, moved, BODY)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1767240000", "t=abc,v1=00", "garbage", "t=,v1="])
def test_malformed_headers_do_not_verify(header):
    assert not verify_signature(SECRET, header, BODY)


def test_any_one_of_several_v1_values_is_enough():
    header = signature_header(SECRET, BODY)
    timestamp, good = re.match(r"t=(\d+),v1=(\w+)", header).groups()
    assert verify_signature(SECRET, f"t={timestamp},v1={'0' * 64},v1={good},v0=ignored", BODY)
    assert not verify_signature(SECRET, f"t={timestamp},v1={'0' * 64}", BODY)


def _documented_verifier():
    """The Python snippet of docs/webhooks.md, executed as printed."""
    text = DOCS.read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(import hashlib.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(snippet, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_signature"]


def test_the_documented_snippet_verifies_what_the_portal_signs():
    documented = _documented_verifier()
    header = signature_header(SECRET, BODY)
    assert documented(SECRET, header, BODY)
    assert not documented(SECRET, header, BODY + b"x")
    assert not documented("whsec_other", header, BODY)
    assert not documented(SECRET, signature_header(SECRET, BODY, timestamp=int(time.time()) - 1000), BODY)

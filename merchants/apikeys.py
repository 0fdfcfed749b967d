"""POS API keys: made once, shown once, stored as a SHA-256 with a visible prefix.

A key reads ``pk_<prefix>_<secret>``, a test key (the sandbox's, discounts.sandbox)
``pk_test_<prefix>_<secret>``; the prefix finds the row, the hash proves the secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from merchants.access import merchant_closed_reason
from merchants.models import ApiKey, Merchant, Store
from portal.audit import audit_record
from portal.errors import ValidationFailed
from portal.models import AuditEvent
from portal.rows import fetch_row, instances_from_row, model_columns, select_list

KEY_PREFIX_LENGTH = 8
LAST_USED_RESOLUTION_SECONDS = 60  # last_used_at is written at most once a minute per key


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


TEST_MODE = "test"


def _new_key(*, test: bool) -> tuple[str, str]:
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    mode = f"{TEST_MODE}_" if test else ""
    return prefix, f"pk_{mode}{prefix}_{secrets.token_urlsafe(24)}"


def key_prefix(raw_key: str) -> str | None:
    """The prefix a key names (``pk_<prefix>_…`` or ``pk_test_<prefix>_…``), or None."""
    parts = raw_key.split("_")
    if parts[:2] == ["pk", TEST_MODE]:
        parts = ["pk", *parts[2:]]
    if len(parts) < 3 or parts[0] != "pk" or not parts[1]:
        return None
    return parts[1]


@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    name: str,
    created_by,
    store: Store | None = None,
    raw_key: str | None = None,
    sandbox_for: Merchant | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is never shown again.
    ``raw_key`` lets the demo data derive a stable key from its seed. A test key (``sandbox_for``,
    the merchant whose integrator holds it) belongs to the sandbox merchant and reads ``pk_test_…``:
    discounts.sandbox makes them, with the store that keeps each integrator's redemptions apart."""
    if store is not None and store.merchant_id != merchant.pk:
        raise ValidationFailed("门店不属于该商家。", fields={"store": ["门店不属于该商家。"]})
    if (sandbox_for is not None) != merchant.is_sandbox:
        raise ValidationFailed("测试密钥只能属于测试商户，测试商户只有测试密钥。")
    if raw_key is None:
        prefix, raw_key = _new_key(test=sandbox_for is not None)
    else:
        prefix = key_prefix(raw_key)
    key = ApiKey.objects.create(
        merchant=merchant,
        store=store,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw_key),
        created_by=created_by,
        sandbox_for=sandbox_for,
    )
    holder = sandbox_for or merchant
    audit_record(
        actor=created_by,
        action=AuditEvent.Action.API_KEY_CREATED,
        target=key,
        label=f"{holder.name} · {name}",
        union_path=holder.region.path,
        data={"prefix": prefix, "store": store.pk if store else None, "test": sandbox_for is not None},
    )
    return key, raw_key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, revoked_by) -> ApiKey:
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_keys()
    transaction.on_commit(forget_keys)  # and again once the revocation is what everyone reads
    key.refresh_from_db()
    if updated:
        holder = key.sandbox_for or key.merchant
        audit_record(
            actor=revoked_by,
            action=AuditEvent.Action.API_KEY_REVOKED,
            target=key,
            label=f"{holder.name} · {key.name}",
            union_path=holder.region.path,
        )
    return key


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The live key for ``raw_key`` (with its merchant and store), or None."""
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    key = _live_key_by_prefix(prefix)
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw_key)):
        return None
    now = timezone.now()
    last_used = max(filter(None, (key.last_used_at, _last_used_written.get(key.pk))), default=None)
    if last_used is None or (now - last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        _last_used_written[key.pk] = now
    return key


# Every POS request authenticates: the key, its merchant and its store are read with one
# hand-written query (``portal.rows``), the merchant and the store with the columns a POS request
# uses (any other loads when first read) — the merchant's with its status and contract dates, which
# the merchant-open rule reads.
_KEY_COLUMNS = model_columns(ApiKey)
_MERCHANT_COLUMNS = model_columns(
    Merchant,
    {"id", "name", "status", "region_id", "category_id", "contract_start", "contract_end", "is_sandbox"},
)
_STORE_COLUMNS = model_columns(Store, {"id", "merchant_id", "name", "region_id", "is_active"})
_KEY_PARTS = ((ApiKey, _KEY_COLUMNS), (Merchant, _MERCHANT_COLUMNS), (Store, _STORE_COLUMNS))
_LIVE_KEY_BY_PREFIX = (
    "SELECT "  # noqa: S608 - the column names come from the models, never from input
    + select_list(("k", _KEY_COLUMNS), ("m", _MERCHANT_COLUMNS), ("s", _STORE_COLUMNS))
    + " FROM merchants_apikey k JOIN merchants_merchant m ON m.id = k.merchant_id"
    " LEFT JOIN merchants_store s ON s.id = k.store_id"
    " WHERE k.prefix = %s AND k.revoked_at IS NULL"
)


# What the database said of a key prefix, kept by each web process for POS_KEY_CACHE_SECONDS (5 by
# default): a till's requests then read no key row. A key revoked, or a merchant suspended, is refused
# at once by the process that made the change and by every other within those seconds. Prefixes that
# found nothing are kept too, so made-up keys cost no query; the memory is bounded by clearing it all.
_key_rows: dict[str, tuple[float, tuple | None]] = {}
_last_used_written: dict[int, object] = {}
_KEY_ROWS_MAX = 10_000


def forget_keys() -> None:
    """Read every key anew on its next request (after a revocation or a merchant's status change)."""
    _key_rows.clear()


def _key_row(prefix: str) -> tuple | None:
    now = time.monotonic()
    cached = _key_rows.get(prefix)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = fetch_row(_LIVE_KEY_BY_PREFIX, [prefix])
    if settings.POS_KEY_CACHE_SECONDS > 0:
        if len(_key_rows) >= _KEY_ROWS_MAX:
            _key_rows.clear()
            _last_used_written.clear()
        _key_rows[prefix] = (now + settings.POS_KEY_CACHE_SECONDS, row)
    return row


def _live_key_by_prefix(prefix: str) -> ApiKey | None:
    row = _key_row(prefix)
    if row is None:
        return None
    key, merchant, store = instances_from_row(row, *_KEY_PARTS)
    key.merchant = merchant
    key.store = store if key.store_id else None
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``: request.user is a PosPrincipal, request.auth the ApiKey."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed("API 密钥缺失或格式错误。")
        key = api_key_authenticate(raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("API 密钥无效或已吊销。")
        reason = merchant_closed_reason(key.merchant)
        if reason is not None:
            # The merchant-open rule of every door that redeems: its tills stop with it.
            message = gettext("%(reason)s，API 密钥暂不可用。") % {"reason": reason}
            raise exceptions.AuthenticationFailed(message)
        return PosPrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword


class PosPrincipal:
    """The caller of the POS API: a merchant, through one key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey):
        self.key = key
        self.merchant = key.merchant
        self.store = key.store

    @property
    def pk(self):  # used by throttles and logs
        return f"apikey:{self.key.pk}"

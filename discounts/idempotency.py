"""Idempotency-Key: one answer per merchant and key, however often a request is retried.

1. The first request inserts an ``in_progress`` record (``INSERT … ON CONFLICT DO NOTHING``) in its
   own committed transaction, so concurrent duplicates see it at once and get 409. (Call
   ``idempotent_call`` outside any transaction, as the API views do.)
2. The work and the storing of its response commit together or not at all: a redemption is
   recorded by one statement, and ``discounts_redemption_take`` stores the response in it with a
   guarded UPDATE of the record. A process killed in between leaves neither a redemption nor an
   answer, only an ``in_progress`` record.
3. A refusal (a 4xx ApplicationError) is stored too, in a short transaction after the rollback, and
   replayed as the same status and body.
4. Any other failure deletes the ``in_progress`` record so that a retry can proceed. A record left
   behind by a killed process is taken over by a retry once it is older than ``STALE_AFTER``; the
   guarded UPDATE of step 2 keeps even that takeover from committing the work twice.

Records are kept ``settings.IDEMPOTENCY_RETENTION`` (24 h) and purged by a beat task."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from discounts.models import IdempotencyRecord
from portal.errors import ApplicationError, Conflict, ValidationFailed

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
# Longer than any request may run (the web server's worker timeout), so an in-flight request is
# never taken over while it is still working.
STALE_AFTER = timedelta(seconds=60)
_KEY_RE = re.compile(r"^[\x20-\x7e]{1,255}$")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool = False


def clean_key(raw: str | None) -> str:
    """The header value, 1–255 printable ASCII characters, else a validation error."""
    if raw is None or not _KEY_RE.match(raw) or not raw.strip():
        raise ValidationFailed(
            _("请求头 Idempotency-Key 缺失或格式错误（1–255 个可打印字符）。"),
            fields={HEADER: [_("必须提供 1–255 个可打印 ASCII 字符。")]},
        )
    return raw


def request_hash(body) -> str:
    """SHA-256 of the canonical JSON of the request (keys sorted, no whitespace). Callers pass the
    request as it is meant, not as it was spelled (``discounts.redemption.redemption_request``), so
    a retry that writes the same amount otherwise is still the same request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _key_reused() -> ApplicationError:
    return ApplicationError(
        _("该 Idempotency-Key 已用于另一个不同的请求。"), code="idempotency_key_reused", status=422
    )


# Seconds a client is asked to wait before retrying a request that is still in flight: a redemption
# takes milliseconds, so one second is ample and keeps a till's retry loop short.
RETRY_IN_PROGRESS_AFTER = 1


def _in_progress() -> ApplicationError:
    return Conflict(
        _("相同的请求正在处理中，请稍后重试。"),
        code="request_in_progress",
        headers={"Retry-After": str(RETRY_IN_PROGRESS_AFTER)},
    )


# One statement in autocommit mode: it commits by itself. set_config(..., true) turns off waiting for
# the WAL flush for this statement's transaction only: the claim need not survive a crash (no
# answer is given before a later flush that covers this commit too — a redemption's, see
# discounts.redemption._await_durable), and not waiting saves a disk wait on every request.
_CLAIM = """
INSERT INTO discounts_idempotencyrecord (merchant_id, key, request_hash, state, created_at)
SELECT %s, %s, %s, 'in_progress', now() FROM (SELECT set_config('synchronous_commit', 'off', true)) AS cfg
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING id
"""


def _claim(*, merchant_id: int, key: str, body_hash: str) -> int | Outcome:
    """Our new record's id, or the stored outcome to replay; raises 422/409."""
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [merchant_id, key, body_hash])
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        existing = IdempotencyRecord.objects.filter(merchant_id=merchant_id, key=key).first()
        if existing is None:  # abandoned and deleted between our two statements: claim again
            continue
        if existing.request_hash != body_hash:
            raise _key_reused()
        if existing.state == IdempotencyRecord.State.COMPLETED:
            return Outcome(existing.response_status, existing.response_body, replayed=True)
        cutoff = timezone.now() - STALE_AFTER
        taken = IdempotencyRecord.objects.filter(
            pk=existing.pk, state=IdempotencyRecord.State.IN_PROGRESS, created_at__lt=cutoff
        ).update(created_at=timezone.now())
        if taken == 1:
            return existing.pk
        raise _in_progress()
    raise _in_progress()


def _stored(record_id: int) -> Outcome | None:
    record = IdempotencyRecord.objects.filter(pk=record_id).first()
    if record is None or record.state != IdempotencyRecord.State.COMPLETED:
        return None
    return Outcome(record.response_status, record.response_body, replayed=True)


_COMPLETE = """
UPDATE discounts_idempotencyrecord
SET state = 'completed', response_status = %s, response_body = %s, completed_at = now()
WHERE id = %s AND state = 'in_progress'
"""


def _complete(record_id: int, status: int, body: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_COMPLETE, [status, Jsonb(body), record_id])
        return cursor.rowcount


@dataclass
class Claim:
    """This request's ``in_progress`` record. The handler's work stores its answer in the record in
    the same commit (the recording statement of a redemption does, given ``record_id``) and then
    sets ``answered``."""

    record_id: int
    answered: bool = False


class LostRace(Exception):
    """Another attempt at the same request completed the record first: its work rolled back, and the
    other attempt's answer is replayed."""


def claim_answer(claim: Claim, status: int, body: dict) -> None:
    """Store ``body`` as the answer of ``claim`` in the caller's transaction, so the work and its answer
    commit together (a void does this; a redemption's recording statement does it by itself). Raises
    LostRace when another attempt completed the record first, which rolls the caller's work back."""
    if _complete(claim.record_id, status, body) != 1:
        raise LostRace
    claim.answered = True


def idempotent_call(
    *, merchant_id: int, key: str, body, handler: Callable[[Claim], tuple[int, dict]]
) -> Outcome:
    """Run ``handler`` at most once for this merchant and key; later calls with the same body get the
    stored outcome. ``handler(claim)`` returns the status and JSON body, or raises ApplicationError
    (or LostRace); it runs outside any transaction and must commit its work together with its
    answer in the claimed record (a guarded write: of an original request and a takeover racing, see
    ``STALE_AFTER``, only the one that completes the record first commits)."""
    body_hash = request_hash(body)
    claimed = _claim(merchant_id=merchant_id, key=key, body_hash=body_hash)
    if isinstance(claimed, Outcome):
        return claimed
    claim = Claim(claimed)

    try:
        status, response = handler(claim)
        if not claim.answered:
            raise RuntimeError("the handler did not store its answer")
        return Outcome(status, response)
    except LostRace:
        pass
    except ApplicationError as exc:
        if exc.status >= 500:
            _abandon(claim.record_id)
            raise
        body = exc.as_envelope()
        if _complete(claim.record_id, exc.status, body) == 1:
            return Outcome(exc.status, body)
    except BaseException:
        _abandon(claim.record_id)
        raise
    outcome = _stored(claim.record_id)
    if outcome is None:
        raise _in_progress()
    return outcome


def _abandon(record_id: int) -> None:
    IdempotencyRecord.objects.filter(pk=record_id, state=IdempotencyRecord.State.IN_PROGRESS).delete()


def idempotency_purge(*, now=None) -> int:
    """Delete records older than the retention period; returns how many."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_RETENTION
    deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted

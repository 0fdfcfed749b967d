"""Dated history of members and cards, and back-dated corrections.

The history itself (``MemberHistory``, ``CardHistory``) is written by database triggers on the member
and card tables (migration ``members.0011``), so no writer can change a status, a union or a card
without leaving its dated trace. This module only says *when* a change took effect, for a correction
entered late: inside :func:`history_effective_at` the triggers date the changes of the transaction
at the given moment instead of the moment of the change (``clock_timestamp()``, migration 0019).

A correction changes the past, so the coverage snapshots of the days since are computed again (the
``stats`` task, queued by name: this app never imports the statistics above it)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from members.people import member_set_status
from portal.errors import Conflict, ValidationFailed
from portal.tasks_util import enqueue_on_commit

EFFECTIVE_AT_SETTING = "members.history_effective_at"
RECOMPUTE_TASK = "stats.tasks.coverage_recompute_since"


def start_of_day(day: datetime.date) -> datetime.datetime:
    """Local midnight (Asia/Shanghai) at the start of ``day``, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


@contextlib.contextmanager
def history_effective_at(at: datetime.datetime) -> Iterator[None]:
    """Date the history of every change made inside the block at ``at`` (must run in a transaction)."""
    if not connection.in_atomic_block:
        raise RuntimeError("a dated change must run inside the transaction that makes it")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [EFFECTIVE_AT_SETTING, at.isoformat()])
    try:
        yield
    finally:
        # The setting ends with the transaction anyway; after an error that aborted the transaction
        # it cannot (and need not) be reset, and the error that got us here is the one to raise.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', true)", [EFFECTIVE_AT_SETTING])


class CorrectionTooEarly(Conflict):
    code = "correction_too_early"


def member_status_correct(*, member: Member, status: str, effective_on: datetime.date, actor=None) -> Member:
    """Set a member's status as it really was since ``effective_on`` (a late report of a departure,
    a retirement…): the change goes through :func:`members.people.member_set_status` (scope, audit)
    dated at the start of that day, and the coverage of every day since is computed again.

    The day may not lie in the future, nor before the member's last recorded change (the periods
    of a member's history never overlap)."""
    today = timezone.localdate()
    if effective_on > today:
        raise ValidationFailed(
            _("生效日期不能晚于今天。"), fields={"effective_on": [_("生效日期不能晚于今天。")]}
        )
    try:
        with transaction.atomic(), history_effective_at(start_of_day(effective_on)):
            member_set_status(member=member, status=status, actor=actor)
            if effective_on < today:
                enqueue_on_commit(RECOMPUTE_TASK, effective_on.isoformat())
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "23514" and "history:" in str(exc):
            raise CorrectionTooEarly(
                _("生效日期早于该会员最近一次会籍变更，不能更正到这一天之前。")
            ) from None
        raise
    return member

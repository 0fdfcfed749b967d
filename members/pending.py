"""The one step a member's request takes out of "pending" (办卡申请, 转会申请): a guarded UPDATE that
only a pending row passes, so a withdrawal and a decision racing each other cannot both happen; the
loser is told the request's state as it now is."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from portal.errors import Conflict, NotFound


def leave_pending(
    model: type[models.Model],
    pk: int,
    *,
    conflict: type[Conflict],
    conflict_message: str,
    not_found_message: str,
    owner: dict | None = None,
    **changes,
):
    """Move the request ``pk`` from pending to ``changes`` (its new status and who decided), stamping
    ``decided_at``. ``owner`` narrows the rows to the asking member's own: another member's request is
    "not found". A request that is no longer pending raises ``conflict`` with ``conflict_message``,
    where ``%(status)s`` names its current state."""
    rows = model.objects.filter(pk=pk, **(owner or {}))
    if rows.filter(status=model.Status.PENDING).update(decided_at=timezone.now(), **changes) == 1:
        return model.objects.get(pk=pk)
    current = rows.first()
    if current is None:
        raise NotFound(not_found_message)
    raise conflict(conflict_message % {"status": current.get_status_display()})

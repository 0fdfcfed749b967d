"""The one step a member's request takes out of "pending" (办卡申请, 转会申请): a guarded UPDATE that
only a pending row passes, so a withdrawal and a decision racing each other cannot both happen; the
loser is told the request's state as it now is."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils import timezone

from portal.errors import Conflict, NotFound


@dataclass(frozen=True)
class PendingRequests:
    """A kind of member request (its model has ``status`` with ``PENDING`` and ``WITHDRAWN``,
    ``decided_at``, ``decided_by`` and ``reason``) and how its refusals read. In the messages,
    ``%(status)s`` names the request's current state."""

    model: type[models.Model]
    conflict: type[Conflict]
    not_found_message: str
    withdraw_refused: str
    decide_refused: str

    def withdraw(self, *, member, pk: int):
        """The member takes back their own pending request; another member's is "not found"."""
        return self._leave(
            pk, self.withdraw_refused, owner={"member": member}, status=self.model.Status.WITHDRAWN
        )

    def decide(self, *, pk: int, actor, status: str, reason: str = ""):
        """Staff decide a pending request (the caller has checked they may)."""
        return self._leave(pk, self.decide_refused, status=status, reason=reason, decided_by=actor)

    def _leave(self, pk: int, refused: str, *, owner: dict | None = None, **changes):
        rows = self.model.objects.filter(pk=pk, **(owner or {}))
        if rows.filter(status=self.model.Status.PENDING).update(decided_at=timezone.now(), **changes) == 1:
            return self.model.objects.get(pk=pk)
        current = rows.first()
        if current is None:
            raise NotFound(self.not_found_message)
        raise self.conflict(refused % {"status": current.get_status_display()})

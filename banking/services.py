"""Writes of the banking app beside the files themselves: the workplace union's to-do of rejections."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from banking.models import IssuanceResult
from portal.errors import Conflict, NotFound
from portal.scoping import scope_queryset


def rejection_mark_handled(*, result_id: int, actor) -> IssuanceResult:
    """The workplace (or a union above it) dealt with a rejection (called the member, applied again):
    it leaves the to-do list. Guarded: only an open rejection in the actor's subtree changes."""
    found = scope_queryset(IssuanceResult.objects.all(), actor, "union__path").filter(
        pk=result_id, outcome=IssuanceResult.Outcome.REJECTED
    )
    changed = found.filter(handled_at__isnull=True).update(handled_at=timezone.now(), handled_by=actor)
    if changed != 1:
        if not found.exists():
            raise NotFound(_("该退回记录不存在或不在您的管理范围内。"))
        raise Conflict(_("该退回记录已处理。"))
    return found.get()

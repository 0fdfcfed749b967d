"""Two people for irreversible acts (DESIGN invariant 7).

Approving a card batch, an offer or a merchant, and approving any payout, is done by someone other than
the person who created it. A union with a single staff member can be allowed to approve its own work
(``Union.single_person_approval``, set by a province admin); each such approval is then written to the
audit log, so the exception is always visible."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import PermissionDenied
from portal.models import AuditEvent


class SecondPersonRequired(PermissionDenied):
    code = "second_person_required"


def ensure_second_person(*, actor, creator_id: int | None, target: models.Model, what: str) -> None:
    """Refuse when ``actor`` created what they are approving (``creator_id`` is the creator's user id,
    None when nobody on the staff created it, e.g. a public application). ``what`` names the act for
    the message and the audit log ("批准发卡批次")."""
    if creator_id is None or actor is None or actor.pk != creator_id:
        return
    union = getattr(actor, "union", None)
    if union is not None and union.single_person_approval:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.SELF_APPROVED,
            target=target,
            union_path=union.path,
            data={"what": what},
        )
        return
    raise SecondPersonRequired(_("%(what)s须由创建人以外的另一位工作人员完成。") % {"what": what})

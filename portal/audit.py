"""Write one row of the append-only audit log."""

from __future__ import annotations

from django.db import models

from portal.models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model,
    label: str = "",
    union_path: str = "",
    data: dict | None = None,
) -> AuditEvent:
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor_user,
        actor_label=(actor_user.get_username() if actor_user else str(actor or "system"))[:150],
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=(label or str(target))[:200],
        union_path=union_path,
        data=data or {},
    )

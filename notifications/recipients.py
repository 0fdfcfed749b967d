"""Who a notice is for: a :class:`Recipient` is the key ``(kind, id)``. A Django user (staff, merchant
user) is ``Recipient.user(request.user.pk)``; a member is ``Recipient.member(member.pk)``, which the
members app's pages and API build from the member they recognise (this app sits below ``members``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from notifications.models import RecipientKind


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    id: int

    @classmethod
    def member(cls, member_id: int) -> Recipient:
        return cls(RecipientKind.MEMBER, int(member_id))

    @classmethod
    def user(cls, user_id: int) -> Recipient:
        return cls(RecipientKind.USER, int(user_id))

    def q(self) -> Q:
        """The filter of this recipient's rows (notices and preferences alike)."""
        return Q(recipient_kind=self.kind, recipient_id=self.id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

"""Who a notice is for, and who is asking on a page or in the API.

A :class:`Recipient` is the key ``(kind, id)``. The member's identity comes from the members app's own
helpers, named in ``settings.NOTIFICATIONS_MEMBER_AUTH`` (this app sits below ``members`` and does not
import it); a Django user (staff, merchant user) is ``request.user``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.db.models import Q
from django.utils.module_loading import import_string

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


def _member_auth(name: str):
    return import_string(settings.NOTIFICATIONS_MEMBER_AUTH[name])


def current_member_recipient(request) -> Recipient | None:
    """The member signed in on the pages (the members app's ``current_member``), or None."""
    member = _member_auth("current_member")(request)
    return Recipient.member(member.pk) if member is not None else None


def member_required(view):
    """The members app's ``member_required`` around ``view`` (anonymous visitors go to the member
    sign-in page); the view gets ``request.recipient``."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        def inner(request, *args, **kwargs):
            request.recipient = Recipient.member(request.member.pk)
            return view(request, *args, **kwargs)

        return _member_auth("member_required")(inner)(request, *args, **kwargs)

    return wrapper


def member_api_authenticators() -> list:
    """Instances of the member API's authentication classes (bearer token, then the page session)."""
    return [import_string(path)() for path in settings.NOTIFICATIONS_MEMBER_AUTH["api_authentication"]]


def member_api_permissions() -> list:
    return [_member_auth("api_permission")()]

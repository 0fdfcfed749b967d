"""A member's signed-in devices: the bearer tokens of the member app. A member sees them, signs out
(revoking the token in use) and ends any other one. A revoked token is refused at once
(``members.auth.MemberTokenAuthentication`` reads ``revoked_at``); revoked and expired tokens are
purged by ``sign_in.member_api_tokens_purge``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member, MemberApiToken
from portal.errors import NotFound


def member_sessions(member: Member) -> QuerySet[MemberApiToken]:
    """The member's live tokens, newest first."""
    return MemberApiToken.objects.filter(
        member=member, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-id")


def member_session_end(*, member: Member, token_id: int) -> None:
    """Revoke one of the member's own live tokens; another member's, or one already ended, is 404."""
    ended = MemberApiToken.objects.filter(
        pk=token_id, member=member, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).update(revoked_at=timezone.now())
    if ended != 1:
        raise NotFound(_("未找到该登录设备。"), code="session_not_found")

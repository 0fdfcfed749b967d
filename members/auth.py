"""How a member is recognised: a session after sign-in on the pages, a bearer token in the member API.

Members are not Django users. Pages use :func:`current_member` / :func:`member_required`; API views
use ``authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]`` and
``permission_classes = [IsMember]``; then ``request.user`` is the Member."""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from members.models import Member, MemberApiToken

SESSION_KEY = "member_id"


def member_sign_in(request, member: Member) -> None:
    """Members stay signed in on their phone for MEMBER_SESSION_AGE (30 days) unless they sign out;
    a browser where staff or a merchant is signed in keeps that user's shorter session."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = member.pk
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        request.session.set_expiry(settings.MEMBER_SESSION_AGE)


def member_sign_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.set_expiry(None)  # back to the site's session age


def staff_session_age_restore(sender, request, user, **kwargs) -> None:
    """On a staff or merchant sign-in (``user_logged_in``) in a browser where a member signed in, the
    session keeps its data but not the member's 30 days: staff sessions stay SESSION_COOKIE_AGE."""
    if request is not None and hasattr(request, "session"):
        request.session.set_expiry(None)


def current_member(request) -> Member | None:
    if hasattr(request, "_cached_member"):
        return request._cached_member
    member = None
    member_id = request.session.get(SESSION_KEY)
    if member_id:
        member = Member.objects.select_related("union").filter(pk=member_id).first()
    request._cached_member = member
    return member


def member_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = current_member(request)
        if member is None:
            return redirect(f"{reverse('members:sign_in')}?next={request.get_full_path()}")
        request.member = member
        return view(request, *args, **kwargs)

    return wrapper


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MemberTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{self.keyword} "):
            return None
        token = header[len(self.keyword) + 1 :].strip()
        record = (
            MemberApiToken.objects.select_related("member", "member__union")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if record is None:
            raise exceptions.AuthenticationFailed("登录已失效，请重新登录。")
        return record.member, record

    def authenticate_header(self, request):
        return self.keyword


class MemberSessionAuthentication(authentication.SessionAuthentication):
    """The member's page session, with Django's CSRF check for unsafe methods."""

    def authenticate(self, request):
        member = current_member(request._request)
        if member is None:
            return None
        self.enforce_csrf(request)
        return member, None


class IsMember(permissions.BasePermission):
    message = "请先登录会员账号。"

    def has_permission(self, request, view):
        return isinstance(request.user, Member)

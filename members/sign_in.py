"""Members sign in with a one-time code texted to their phone (abuse held per requester, slowed per
phone), and the app's bearer tokens; the purges that forget old codes and dead tokens."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from hashlib import sha256

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.auth import hash_token
from members.models import Member, MemberApiToken, OneTimeCode, WrongCodeGuess
from members.people import checked_phone
from members.sms import send_sms
from portal.errors import ApplicationError, NotFound, ValidationFailed

API_TOKEN_LIFETIME = timedelta(days=30)
# Requests and wrong guesses are counted over this window, per address; a phone's resend interval
# grows with the codes it was sent in it (settings.OTP_RESEND_INTERVALS).
OTP_RATE_WINDOW = timedelta(hours=1)
OTP_RETENTION = timedelta(days=1)


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429
    default_message = gettext_lazy("请求过于频繁，请稍后再试。")


class OtpLocked(ApplicationError):
    code = "otp_locked"
    status = 429
    default_message = gettext_lazy("验证码错误次数过多，请重新获取验证码。")


class OtpInvalid(ValidationFailed):
    code = "otp_invalid"
    default_message = gettext_lazy("验证码错误或已过期。")


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"otp:{phone}:{code}".encode(), sha256).hexdigest()


def _advisory_lock(*keys: str) -> None:
    """Serialize rate-limit checks per phone and per IP inside this transaction (sorted: no deadlock)."""
    with connection.cursor() as cursor:
        for key in sorted(keys):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def otp_resend_wait(*, phone: str, now: datetime) -> timedelta:
    """How long ``phone`` must still wait before another code is sent to it: the resend interval
    after the last code grows with the codes sent in the last OTP_RATE_WINDOW (60 s, then longer,
    up to the last of settings.OTP_RESEND_INTERVALS) and never becomes a shutdown. Whoever asks, the
    code goes to the phone; so a stranger asking for a member's phone slows the texts down but never
    keeps the member out for longer than the longest interval."""
    sent = list(
        OneTimeCode.objects.filter(phone=phone, created_at__gte=now - OTP_RATE_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: len(settings.OTP_RESEND_INTERVALS)]
    )
    if not sent:
        return timedelta(0)
    intervals = settings.OTP_RESEND_INTERVALS
    interval = timedelta(seconds=intervals[min(len(sent), len(intervals)) - 1])
    return max(sent[0] + interval - now, timedelta(0))


def otp_request(*, phone: str, ip_address: str | None) -> datetime:
    """Send a sign-in code to ``phone``; returns its expiry. Abuse is held per requester — at most
    OTP_PER_IP_PER_HOUR codes per address — and slowed per phone by a growing resend interval
    (:func:`otp_resend_wait`); the counts are taken in the database under an advisory lock, so
    parallel requests cannot slip past them.

    The answer on the screen is the same whether or not the phone belongs to a member, so a stranger
    learns nothing by trying numbers. The phone itself gets one text either way: a member's the code,
    an unregistered phone's a notice to contact its workplace union (docs/personal-data.md,
    "Signing in with an unregistered phone") — only the holder of the phone reads which it was."""
    phone = checked_phone(phone)
    now = timezone.now()
    since = now - OTP_RATE_WINDOW
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        keys = [f"otp-phone:{phone}"] + ([f"otp-ip:{ip_address}"] if ip_address else [])
        _advisory_lock(*keys)
        if (
            ip_address
            and OneTimeCode.objects.filter(ip_address=ip_address, created_at__gte=since).count()
            >= settings.OTP_PER_IP_PER_HOUR
        ):
            raise RateLimited(_("当前网络获取验证码过于频繁，请稍后再试。"))
        wait = otp_resend_wait(phone=phone, now=now)
        if wait:
            seconds = max(int(wait.total_seconds() + 0.999), 1)
            raise RateLimited(
                _("验证码已发送到该手机号，如未收到，请在 %(seconds)s 秒后重新获取。") % {"seconds": seconds}
            )
        record = OneTimeCode.objects.create(
            phone=phone,
            code_hash=_code_hash(phone, code),
            ip_address=ip_address,
            expires_at=now + settings.OTP_TTL,
        )
        is_member = Member.objects.filter(phone=phone).exists()
    if is_member:
        minutes = int(settings.OTP_TTL.total_seconds() // 60)
        text = _("【工会会员卡】您的登录验证码是 %(code)s，%(minutes)s 分钟内有效。请勿告诉他人。") % {
            "code": code,
            "minutes": minutes,
        }
    else:
        text = _(
            "【工会会员卡】本手机号尚未登记为工会会员，无法登录。如您是工会会员，请联系所在单位工会"
            "登记或更正手机号。如非本人操作，请忽略。"
        )
    send_sms(phone=phone, text=text)
    return record.expires_at


def otp_verify(*, phone: str, code: str, ip_address: str | None = None) -> Member:
    """The member signing in with a valid code. A wrong code counts an attempt on the newest code
    (after OTP_MAX_ATTEMPTS that code is locked, whoever guessed, and a new one must be requested)
    and a wrong guess of the requester's address: an address with OTP_WRONG_GUESSES_PER_IP_PER_HOUR
    wrong guesses is refused for the rest of the window, so one guesser is stopped without the
    member's own address being locked out."""
    phone = checked_phone(phone)
    code = (code or "").strip()
    now = timezone.now()
    failure: ApplicationError | None = None
    with transaction.atomic():
        if ip_address:
            # Serialize the guesses of one address (the count and the new guess, as for requests).
            _advisory_lock(f"otp-guess-ip:{ip_address}")
            guesses = WrongCodeGuess.objects.filter(
                ip_address=ip_address, created_at__gte=now - OTP_RATE_WINDOW
            ).count()
            if guesses >= settings.OTP_WRONG_GUESSES_PER_IP_PER_HOUR:
                raise RateLimited(_("当前网络输入错误验证码过于频繁，请一小时后再试。"))
        record = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-id")
            .first()
        )
        if record is None:
            raise OtpInvalid(_("验证码已过期或不存在，请重新获取。"))
        if record.attempts >= settings.OTP_MAX_ATTEMPTS:
            raise OtpLocked()
        if not hmac.compare_digest(record.code_hash, _code_hash(phone, code)):
            OneTimeCode.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
            WrongCodeGuess.objects.create(phone=phone, ip_address=ip_address)
            left = settings.OTP_MAX_ATTEMPTS - record.attempts - 1
            failure = (
                OtpInvalid(_("验证码错误，还可以尝试 %(left)s 次。") % {"left": left})
                if left > 0
                else OtpLocked()
            )
        else:
            OneTimeCode.objects.filter(pk=record.pk, used_at__isnull=True).update(used_at=now)
    # Raised after the block so the counted attempt is committed, not rolled back with the error.
    if failure is not None:
        raise failure
    member = (
        Member.objects.select_related("union")
        .filter(phone=phone)
        # Several members may share a phone (a family number): prefer an active one, then the newest.
        .annotate(inactive=Case(When(status=Member.Status.ACTIVE, then=0), default=1))
        .order_by("inactive", "-id")
        .first()
    )
    if member is None:
        raise NotFound(_("该手机号未登记为工会会员，请联系所在基层工会。"), code="member_not_found")
    Member.objects.filter(pk=member.pk).update(last_sign_in_at=now)
    return member


def member_api_token_issue(*, member: Member) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + API_TOKEN_LIFETIME
    MemberApiToken.objects.create(member=member, token_hash=hash_token(token), expires_at=expires_at)
    return token, expires_at


def one_time_codes_purge(*, older_than: timedelta = OTP_RETENTION) -> int:
    """Forget codes, and the wrong guesses counted against addresses, older than ``older_than``."""
    cutoff = timezone.now() - older_than
    WrongCodeGuess.objects.filter(created_at__lt=cutoff).delete()
    deleted, _rows = OneTimeCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def member_api_tokens_purge() -> int:
    """Forget app tokens that can no longer sign anybody in (expired or revoked)."""
    dead = Q(expires_at__lt=timezone.now()) | Q(revoked_at__isnull=False)
    deleted, _rows = MemberApiToken.objects.filter(dead).delete()
    return deleted

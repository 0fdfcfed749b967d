"""Writes for members, cards, issuance batches and member sign-in. Every door (admin, pages, API,
tasks, commands) calls these functions; none of them re-checks a rule on its own."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import tempfile
import traceback
import uuid
from datetime import datetime, timedelta
from hashlib import sha256

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Max, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.types.json import Jsonb

from members import issuance, pii
from members.auth import hash_token
from members.models import (
    Card,
    IssuanceBatch,
    IssuanceRow,
    Member,
    MemberApiToken,
    MemberTransfer,
    OneTimeCode,
    PartnerBank,
    Union,
    WrongCodeGuess,
    mask_name,
    mask_phone,
)
from members.scope import MEMBER_OUT_OF_REACH, ensure_member_in_scope, member_in_scope_sql
from members.sms import send_sms
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope
from portal.tasks_util import enqueue_on_commit

logger = logging.getLogger(__name__)

# Rows processed per task invocation: a chunk takes about a second, far inside any time limit.
PROCESS_CHUNK_ROWS = 2000
# Rows checked and stored per transaction while validating an uploaded file.
VALIDATE_CHUNK_ROWS = 5000
VALIDATION_LOCK_NAMESPACE = 3_001  # first key of the per-batch advisory lock
API_TOKEN_LIFETIME = timedelta(days=30)
# Requests and wrong guesses are counted over this window, per address; a phone's resend interval
# grows with the codes it was sent in it (settings.OTP_RESEND_INTERVALS).
OTP_RATE_WINDOW = timedelta(hours=1)
OTP_RETENTION = timedelta(days=1)


class MemberExists(Conflict):
    code = "member_exists"
    default_message = gettext_lazy("该身份证号已登记为会员。")


class CardTransitionRefused(Conflict):
    code = "card_transition_refused"


class CardExists(Conflict):
    code = "card_exists"
    default_message = gettext_lazy("该会员已有一张有效会员卡，不能重复制卡。")


class CardNotFound(NotFound):
    code = "card_not_found"
    default_message = gettext_lazy("您还没有有效的会员卡。")


class CardInactive(Conflict):
    code = "card_inactive"
    default_message = gettext_lazy("会员卡尚未激活或已挂失，暂不能使用。")


class BatchStateConflict(Conflict):
    code = "batch_state_conflict"


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


def _audit_actor(actor):
    """Audit rows name staff users by account; a member acting on their own card by member id."""
    if isinstance(actor, Member):
        return f"member:{actor.pk}"
    return actor


# --- Members ------------------------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    value = (name or "").strip()
    if not value:
        raise ValidationFailed(_("姓名不能为空。"), fields={"name": [_("姓名不能为空。")]})
    if len(value) > 60:
        raise ValidationFailed(_("姓名过长。"), fields={"name": [_("姓名过长。")]})
    return value


def checked_phone(phone: str) -> str:
    value = issuance.normalize_phone(phone)
    if not issuance.phone_is_valid(value):
        message = _("请输入11位大陆手机号码。")
        raise ValidationFailed(message, fields={"phone": [message]})
    return value


def checked_id_number(raw: str) -> str:
    try:
        return pii.validate_id_number(raw)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], fields={"id_number": exc.messages}) from None


def _checked_workplace(union: Union) -> None:
    if union.level != Union.Level.WORKPLACE:
        message = _("会员只能属于基层工会。")
        raise ValidationFailed(message, fields={"union": [message]})


def _checked_groups(groups) -> list[str]:
    from members.models import MemberGroup

    values = sorted(set(groups or ()))
    unknown = [value for value in values if value not in MemberGroup.values]
    if unknown:
        raise ValidationFailed(_("未知的群体：%(groups)s") % {"groups": "、".join(unknown)})
    return values


def _is_staff_actor(actor) -> bool:
    """Staff users are checked against their subtree; a member acting on their own card, and the
    system (no actor: tasks, commands, the demo), are not."""
    return actor is not None and not isinstance(actor, Member) and getattr(actor, "is_authenticated", False)


def _staff_scope_check(actor, union: Union) -> None:
    if _is_staff_actor(actor):
        ensure_union_in_scope(actor, union)


def _audit_member_changed(*, member_id: int, label: str, union_path: str, actor, data: dict) -> None:
    """One MEMBER_CHANGED row: masked values only (``label`` and ``data`` are the caller's, masked)."""
    audit_record(
        actor=_audit_actor(actor),
        action=AuditEvent.Action.MEMBER_CHANGED,
        target=Member(pk=member_id),
        label=label,
        union_path=union_path,
        data=data,
    )


def member_create(
    *,
    name: str,
    id_number: str,
    phone: str,
    union: Union,
    groups: list[str] | tuple[str, ...] = (),
    status: str = Member.Status.ACTIVE,
    actor=None,
) -> Member:
    value = checked_id_number(id_number)
    _checked_workplace(union)
    _staff_scope_check(actor, union)
    member = Member(
        name=_checked_name(name),
        id_number_encrypted=pii.encrypt_id_number(value),
        id_number_hash=pii.hash_id_number(value),
        id_number_masked=pii.mask_id_number(value),
        phone=checked_phone(phone),
        union=union,
        status=status,
        groups=_checked_groups(groups),
    )
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        raise MemberExists() from None
    return member


def member_update(
    *,
    member: Member,
    name: str | None = None,
    phone: str | None = None,
    groups: list[str] | None = None,
    id_number: str | None = None,
    actor=None,
) -> Member:
    """Change a member's details. The union changes only through :func:`member_transfer`.

    A staff user reaches only members of their subtree (``members.scope``, checked on the stored
    row, which stays locked until the change commits); what changed is written to the audit log,
    old and new values masked."""
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = _checked_name(name)
    if phone is not None:
        values["phone"] = checked_phone(phone)
    if groups is not None:
        values["groups"] = _checked_groups(groups)
    new_id = checked_id_number(id_number) if id_number else None
    with transaction.atomic():
        if _is_staff_actor(actor):
            ensure_member_in_scope(actor, member.pk)
        stored = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
        changes: dict[str, list] = {}
        for field_name, value in values.items():
            old = getattr(stored, field_name)
            setattr(member, field_name, value)
            if old != value:
                masked = {"name": mask_name, "phone": mask_phone}.get(field_name, lambda v: v)
                changes[field_name] = [masked(old), masked(value)]
        fields = ["updated_at", *values]
        if new_id is not None:
            new_hash = pii.hash_id_number(new_id)
            member.id_number_encrypted = pii.encrypt_id_number(new_id)
            member.id_number_hash = new_hash
            member.id_number_masked = pii.mask_id_number(new_id)
            fields += ["id_number_encrypted", "id_number_hash", "id_number_masked"]
            if new_hash != stored.id_number_hash:
                changes["id_number"] = [stored.id_number_masked, member.id_number_masked]
        try:
            with transaction.atomic():
                member.save(update_fields=fields)
        except IntegrityError:
            raise MemberExists() from None
        if changes:
            _audit_member_changed(
                member_id=member.pk,
                label=f"{mask_name(member.name)} ({member.id_number_masked})",
                union_path=stored.union.path,
                actor=actor,
                data=changes,
            )
    return member


@transaction.atomic
def member_transfer(*, member: Member, to_union: Union, actor=None) -> MemberTransfer:
    """Move a member to another workplace union. The card, redemptions and history stay with them.

    A staff user moves only members of their subtree, and only to a union of it: the destination
    is checked by the same rule as the source (a union's acceptance of members transferred in from
    elsewhere is a step of its own, not a way around this)."""
    _staff_scope_check(actor, to_union)
    _checked_workplace(to_union)
    locked = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
    _staff_scope_check(actor, locked.union)
    if locked.union_id == to_union.pk:
        raise Conflict(_("会员已在该工会，无需转会。"), code="already_in_union")
    from_union = locked.union
    Member.objects.filter(pk=locked.pk).update(union=to_union, updated_at=timezone.now())
    transfer = MemberTransfer.objects.create(
        member=locked,
        from_union=from_union,
        to_union=to_union,
        transferred_by=actor if getattr(actor, "is_staff", False) else None,
    )
    audit_record(
        actor=_audit_actor(actor),
        action=AuditEvent.Action.MEMBER_TRANSFERRED,
        target=locked,
        union_path=to_union.path,
        data={"from": from_union.code, "to": to_union.code},
    )
    member.union = to_union
    member.union_id = to_union.pk
    return transfer


def member_set_status(*, member: Member, status: str, actor=None) -> Member:
    if status not in Member.Status.values:
        raise ValidationFailed(_("未知的会籍状态。"))
    with transaction.atomic():
        if _is_staff_actor(actor):
            ensure_member_in_scope(actor, member.pk)
        stored = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
        Member.objects.filter(pk=member.pk).update(status=status, updated_at=timezone.now())
        if stored.status != status:
            _audit_member_changed(
                member_id=member.pk,
                label=str(stored),
                union_path=stored.union.path,
                actor=actor,
                data={"status": [stored.status, status]},
            )
    member.status = status
    return member


# --- Union settings ---------------------------------------------------------------------------------------


def may_set_single_person_approval(user) -> bool:
    """Whether ``user`` may let a union approve its own work: a province admin (a staff user of the
    province node who may change unions), or a superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    union = getattr(user, "union", None)
    return (
        user.is_staff
        and union is not None
        and union.level == Union.Level.PROVINCE
        and user.has_perm("members.change_union")
    )


def union_set_single_person_approval(*, union: Union, enabled: bool, actor) -> Union:
    """Switch ``Union.single_person_approval`` (see portal.approvals): province admins only, and
    every switch is in the audit log."""
    if not may_set_single_person_approval(actor):
        raise PermissionDenied(_("只有省总工会管理员可以修改“允许创建人自行审批”。"))
    ensure_union_in_scope(actor, union)
    with transaction.atomic():
        old = (
            Union.objects.select_for_update()
            .filter(pk=union.pk)
            .values_list("single_person_approval", flat=True)
            .get()
        )
        if old != enabled:
            Union.objects.filter(pk=union.pk).update(single_person_approval=enabled)
            audit_record(
                actor=actor,
                action=AuditEvent.Action.UNION_SETTINGS_CHANGED,
                target=union,
                union_path=union.path,
                data={"single_person_approval": [old, enabled]},
            )
    union.single_person_approval = enabled
    return union


def member_record_consent(*, member: Member) -> Member:
    """The first consent to the personal-information rules is kept; later ones change nothing."""
    now = timezone.now()
    Member.objects.filter(pk=member.pk, consent_at__isnull=True).update(consent_at=now)
    member.refresh_from_db(fields=["consent_at"])
    return member


def member_reveal_id_number(*, member: Member, actor) -> str:
    """The full ID number for a staff user allowed to see it; every reveal is written to the audit log."""
    if not actor.has_perm("members.reveal_id_number"):
        raise PermissionDenied(_("您没有查看完整身份证号的权限。"))
    ensure_union_in_scope(actor, member.union)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.ID_REVEALED,
        target=member,
        union_path=member.union.path,
    )
    return pii.decrypt_id_number(member.id_number_encrypted)


def member_data_export(*, member: Member) -> dict:
    """Everything the portal holds about the member, for their own download (right of access)."""
    from discounts.models import Redemption

    cards = list(member.cards.select_related("bank").order_by("issued_at"))
    transfers = list(member.transfers.select_related("from_union", "to_union"))
    redemptions = list(
        Redemption.objects.filter(member=member)
        .select_related("offer", "store")
        .order_by("created_at")
        .values("created_at", "offer__title", "store__name", "amount", "discount", "payable", "status")
    )
    audit_record(
        actor=_audit_actor(member),
        action=AuditEvent.Action.MEMBER_DATA_EXPORTED,
        target=member,
        union_path=member.union.path,
    )
    return {
        "member": {
            "name": member.name,
            "id_number": member.id_number_masked,
            "phone": member.phone,
            "union": {"code": member.union.code, "name": member.union.name},
            "status": member.status,
            "groups": member.groups,
            "consent_at": member.consent_at.isoformat() if member.consent_at else None,
            "created_at": member.created_at.isoformat(),
        },
        "cards": [
            {
                "number": card.number_masked,
                "bank": card.bank.name,
                "status": card.status,
                "issued_at": card.issued_at.isoformat(),
                "activated_at": card.activated_at.isoformat() if card.activated_at else None,
                "frozen_at": card.frozen_at.isoformat() if card.frozen_at else None,
                "closed_at": card.closed_at.isoformat() if card.closed_at else None,
            }
            for card in cards
        ],
        "transfers": [
            {
                "from": transfer.from_union.name,
                "to": transfer.to_union.name,
                "at": transfer.transferred_at.isoformat(),
            }
            for transfer in transfers
        ],
        "redemptions": [
            {
                "at": row["created_at"].isoformat(),
                "offer": row["offer__title"],
                "store": row["store__name"],
                "amount": str(row["amount"]),
                "discount": str(row["discount"]),
                "payable": str(row["payable"]),
                "status": row["status"],
            }
            for row in redemptions
        ],
    }


# --- Cards ----------------------------------------------------------------------------------------------


def luhn_digit(partial: str) -> str:
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def card_number_for(bank: PartnerBank, serial: int) -> str:
    partial = f"{bank.bin}{serial:0{bank.serial_length}d}"
    return partial + luhn_digit(partial)


def bank_allocate_serials(*, bank: PartnerBank, count: int) -> range:
    """Take ``count`` consecutive serials with one UPDATE … RETURNING.

    The row lock taken by the UPDATE is held until the caller's transaction ends, so concurrent
    batches queue on it and never share a serial; a transaction that rolls back returns its serials
    with it, so none are skipped. Must be called inside the transaction that inserts the cards."""
    if count <= 0:
        return range(0)
    if not connection.in_atomic_block:
        raise RuntimeError("serials must be allocated inside the transaction that uses them")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_partnerbank SET next_serial = next_serial + %s "
            "WHERE id = %s RETURNING next_serial",
            [count, bank.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("合作银行不存在。"))
    end = row[0]
    if end - 1 >= 10**bank.serial_length:
        raise Conflict(_("%(bank)s的卡号序号已用完，请联系银行扩展卡号段。") % {"bank": bank.name})
    return range(end - count, end)


def _audit_card(card: Card, *, actor, old: str, new: str, extra: dict | None = None) -> None:
    audit_record(
        actor=_audit_actor(actor),
        action=AuditEvent.Action.CARD_STATE_CHANGED,
        target=card,
        label=card.number_masked,
        union_path=card.member.union.path,
        data={"from": old, "to": new, **(extra or {})},
    )


def card_issue(
    *,
    member: Member,
    bank: PartnerBank,
    actor=None,
    batch: IssuanceBatch | None = None,
    replaces: Card | None = None,
) -> Card:
    """A new card in status "issued". The member row is locked so two issuances for one member queue,
    and the partial unique index one_live_card_per_member is the last word."""
    _staff_scope_check(actor, member.union)
    try:
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True).get()
            if Card.objects.filter(member=member, status__in=Card.LIVE_STATUSES).exists():
                raise CardExists()
            (serial,) = bank_allocate_serials(bank=bank, count=1)
            card = Card.objects.create(
                number=card_number_for(bank, serial),
                bank=bank,
                serial=serial,
                member=member,
                status=Card.Status.ISSUED,
                batch=batch,
                replaces=replaces,
            )
            card.member = member
            _audit_card(
                card,
                actor=actor,
                old="",
                new=Card.Status.ISSUED,
                extra={"replaces": replaces.pk} if replaces else None,
            )
    except IntegrityError:
        # The savepoint rolled back the serial too: no gap is left behind.
        raise CardExists() from None
    return card


# Which statuses each transition starts from, where it leads and which timestamp it sets.
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "activate": ((Card.Status.ISSUED,), Card.Status.ACTIVE, "activated_at"),
    "freeze": ((Card.Status.ISSUED, Card.Status.ACTIVE), Card.Status.FROZEN, "frozen_at"),
    "replace": ((Card.Status.ACTIVE, Card.Status.FROZEN), Card.Status.REPLACED, "closed_at"),
    "cancel": (
        (Card.Status.ISSUED, Card.Status.ACTIVE, Card.Status.FROZEN),
        Card.Status.CANCELLED,
        "closed_at",
    ),
}
_ACTION_LABELS = {
    "activate": gettext_lazy("激活"),
    "freeze": gettext_lazy("挂失"),
    "replace": gettext_lazy("补换"),
    "cancel": gettext_lazy("注销"),
}


def _card_transition(*, card: Card, action: str, actor) -> Card:
    allowed, target, stamp = _TRANSITIONS[action]
    now = timezone.now()
    old = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
    # The guard is in the UPDATE itself: a concurrent transition makes this one change no row.
    changed = Card.objects.filter(pk=card.pk, status__in=allowed).update(status=target, **{stamp: now})
    if changed != 1:
        current = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
        if current is None:
            raise CardNotFound(_("会员卡不存在。"))
        raise CardTransitionRefused(
            _("该卡当前状态为“%(status)s”，不能%(action)s。")
            % {"status": Card.Status(current).label, "action": _ACTION_LABELS[action]}
        )
    card.status = target
    setattr(card, stamp, now)
    if not Card.member.is_cached(card):
        card.member = Member.objects.select_related("union").get(pk=card.member_id)
    _audit_card(card, actor=actor, old=old, new=target)
    return card


@transaction.atomic
def card_activate(*, card: Card, actor=None) -> Card:
    return _card_transition(card=card, action="activate", actor=actor)


@transaction.atomic
def card_freeze(*, card: Card, actor=None) -> Card:
    """Report a card lost: it stops working at once."""
    return _card_transition(card=card, action="freeze", actor=actor)


@transaction.atomic
def card_cancel(*, card: Card, actor=None) -> Card:
    return _card_transition(card=card, action="cancel", actor=actor)


@transaction.atomic
def card_replace(*, card: Card, actor=None, bank: PartnerBank | None = None) -> Card:
    """Close the old card and issue its successor in the same transaction: the member is never left
    with two live cards, nor with none because of a half-done replacement."""
    old = _card_transition(card=card, action="replace", actor=actor)
    return card_issue(member=old.member, bank=bank or old.bank, actor=actor, replaces=old)


def card_for_member(*, member: Member, card_id: int) -> Card:
    card = Card.objects.select_related("member__union", "bank").filter(pk=card_id, member=member).first()
    if card is None:
        raise CardNotFound(_("会员卡不存在。"))
    return card


# --- Issuance batches ------------------------------------------------------------------------------------


def batch_check_upload(uploaded_file) -> None:
    """The type and size rules of an application file, shown under the upload field."""
    extension = issuance.extension_of(os.path.basename(uploaded_file.name or ""))
    if extension not in issuance.ALLOWED_EXTENSIONS:
        message = _("只支持 CSV 或 XLSX 文件。")
        raise ValidationFailed(message, fields={"file": [message]})
    limit = settings.ISSUANCE_UPLOAD_MAX_BYTES
    if uploaded_file.size > limit:
        message = _("文件大小 %(size).1f MB，超过 %(limit).1f MB 的上限，请拆分后分批上传。") % {
            "size": uploaded_file.size / 1024 / 1024,
            "limit": limit / 1024 / 1024,
        }
        raise ValidationFailed(message, fields={"file": [message]})
    if uploaded_file.size == 0:
        message = _("文件是空的。")
        raise ValidationFailed(message, fields={"file": [message]})


def batch_upload(*, union: Union, bank: PartnerBank, uploaded_file, uploaded_by) -> IssuanceBatch:
    """Keep the file and queue its validation."""
    from members import tasks

    ensure_union_in_scope(uploaded_by, union)
    batch_check_upload(uploaded_file)
    original = os.path.basename(uploaded_file.name or "")
    extension = issuance.extension_of(original)
    if not bank.is_active:
        raise ValidationFailed(_("该银行已停止合作。"))
    batch = IssuanceBatch(union=union, bank=bank, original_filename=original[:255], uploaded_by=uploaded_by)
    stored_name = f"{timezone.localtime():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}{extension}"
    batch.file.save(stored_name, uploaded_file, save=False)
    with transaction.atomic():
        batch.save()
        enqueue_on_commit(tasks.batch_validate, batch.pk)
    return batch


def batch_validate_run(*, batch_id: int) -> None:
    """Read the file, check every row and store the rows in chunks; resumable after a crash (rows
    already stored are skipped when the file is read again)."""
    # One validator per batch: a redelivered task finds the lock taken and leaves. The lock belongs to
    # the session, so a killed worker's lock goes with its connection.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, batch_id])
        if not cursor.fetchone()[0]:
            return
    try:
        _batch_validate_locked(batch_id)
    except Exception as exc:  # whatever stops the reading, the batch must not hang "校验中"
        _validation_stopped(batch_id, exc)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [VALIDATION_LOCK_NAMESPACE, batch_id])


VALIDATION_STOPPED = gettext_lazy(
    "校验时发生意外错误，已停止。请检查文件后重新上传；如果文件无误，可点击“继续处理”重新校验，"
    "或联系平台管理员。"
)


def _validation_stopped(batch_id: int, exc: Exception) -> None:
    """An error nobody foresaw (a parser's, a database's, a time limit's): the batch fails with a
    plain message, and the log says what and where, without the exception's text — it may quote a
    row of the file (a name, a phone, an ID number)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{frame.filename}:{frame.lineno}" if frame else "?"
    logger.error("batch %s: validation stopped by %s at %s", batch_id, type(exc).__name__, where)
    _batch_fail_validation(batch_id, str(VALIDATION_STOPPED))


def _batch_validate_locked(batch_id: int) -> None:
    claimed = IssuanceBatch.objects.filter(
        pk=batch_id, status__in=[IssuanceBatch.Status.UPLOADED, IssuanceBatch.Status.VALIDATING]
    ).update(status=IssuanceBatch.Status.VALIDATING, status_message="")
    if not claimed:
        return
    batch = IssuanceBatch.objects.select_related("union").get(pk=batch_id)
    stored_through = batch.rows.aggregate(last=Max("row_number"))["last"] or 0
    checker = issuance.RowChecker(batch_id=batch.pk, batch_union=batch.union)
    max_rows = settings.ISSUANCE_UPLOAD_MAX_ROWS
    try:
        with batch.file.open("rb") as handle:
            opened = issuance.open_application_file(handle, batch.original_filename)
            IssuanceBatch.objects.filter(pk=batch_id).update(
                total_rows=min(opened.estimated_rows, max_rows + 1)
            )
            with contextlib.closing(opened.rows()) as rows:
                seen = _validate_rows(batch_id, rows, checker, stored_through, max_rows)
            if seen == 0:
                raise issuance.FileProblem(_("文件中没有申请数据。"))
    except issuance.FileProblem as problem:
        _batch_fail_validation(batch_id, str(problem))
        return
    except FileNotFoundError:
        _batch_fail_validation(batch_id, _("上传的文件已丢失，请重新上传。"))
        return
    _mark_duplicates_in_file(batch_id)
    valid = Q(status=IssuanceRow.Status.VALID)
    counts = IssuanceRow.objects.filter(batch_id=batch_id).aggregate(
        total=Count("id"),
        valid=Count("id", filter=valid),
        invalid=Count("id", filter=Q(status=IssuanceRow.Status.INVALID)),
        changed=Count("id", filter=valid & ~Q(member_changes={})),
    )
    IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.VALIDATING).update(
        status=IssuanceBatch.Status.VALIDATED,
        total_rows=counts["total"],
        valid_rows=counts["valid"],
        error_rows=counts["invalid"],
        changed_members=counts["changed"],
        validated_at=timezone.now(),
    )


def _validate_rows(
    batch_id: int, rows, checker: issuance.RowChecker, stored_through: int, max_rows: int
) -> int:
    seen = 0
    pending: list[tuple[int, dict[str, str]]] = []
    for number, values in rows:
        seen += 1
        if seen > max_rows:
            raise issuance.FileProblem(
                _("文件超过 %(limit)s 行的上限，请拆分后分批上传。") % {"limit": f"{max_rows:,}"}
            )
        if number <= stored_through:
            continue
        pending.append((number, values))
        if len(pending) >= VALIDATE_CHUNK_ROWS:
            _store_checked_rows(batch_id, checker.check(pending))
            pending = []
    if pending:
        _store_checked_rows(batch_id, checker.check(pending))
    return seen


def _store_checked_rows(batch_id: int, rows: list[issuance.CheckedRow]) -> None:
    """COPY the checked rows in and count them on the batch, in one transaction."""
    valid = sum(1 for row in rows if row.status == IssuanceRow.Status.VALID)
    with transaction.atomic():
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY members_issuancerow (batch_id, row_number, name, id_number_encrypted, id_number_hash, "
                "id_number_masked, phone, union_code, union_id, groups, status, errors, member_changes) "
                "FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(
                    (
                        row.batch_id,
                        row.row_number,
                        row.name,
                        row.id_number_encrypted,
                        row.id_number_hash,
                        row.id_number_masked,
                        row.phone,
                        row.union_code,
                        row.union_id,
                        row.groups,
                        row.status,
                        Jsonb(row.errors),
                        Jsonb(row.member_changes),
                    )
                )
        IssuanceBatch.objects.filter(pk=batch_id).update(
            valid_rows=F("valid_rows") + valid, error_rows=F("error_rows") + (len(rows) - valid)
        )


def _batch_fail_validation(batch_id: int, message: str) -> None:
    """A file that cannot be read fails as a whole: no partial rows are kept, the file is (so the
    batch can be validated again, see :func:`batch_resume`)."""
    with transaction.atomic():
        failed = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.VALIDATING).update(
            status=IssuanceBatch.Status.FAILED,
            status_message=message[:500],
            valid_rows=0,
            error_rows=0,
            total_rows=0,
            changed_members=0,
        )
        if failed:
            IssuanceRow.objects.filter(batch_id=batch_id).delete()


def _mark_duplicates_in_file(batch_id: int) -> None:
    """Every repeat of an ID number after its first row is an error, found in one statement."""
    template = _("与第%s行的身份证号重复。")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH ranked AS (
                SELECT id, row_number,
                       min(row_number) OVER (PARTITION BY id_number_hash) AS first_row
                FROM members_issuancerow
                WHERE batch_id = %s AND id_number_hash <> ''
            )
            UPDATE members_issuancerow r
            SET status = 'invalid', errors = r.errors || jsonb_build_array(format(%s, ranked.first_row))
            FROM ranked
            WHERE r.id = ranked.id AND ranked.row_number > ranked.first_row
            """,
            [batch_id, template],
        )


def _batch_for_staff(batch: IssuanceBatch, actor, permission: str, message: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(message)
    ensure_union_in_scope(actor, batch.union)


def batch_approve(*, batch: IssuanceBatch, actor) -> IssuanceBatch:
    from members import tasks

    _batch_for_staff(batch, actor, "members.approve_issuancebatch", _("您没有批准发卡批次的权限。"))
    with transaction.atomic():
        # Card production cannot be undone: someone other than the uploader approves it.
        ensure_second_person(
            actor=actor, creator_id=batch.uploaded_by_id, target=batch, what=_("批准发卡批次")
        )
        now = timezone.now()
        changed = IssuanceBatch.objects.filter(
            pk=batch.pk, status=IssuanceBatch.Status.VALIDATED, valid_rows__gt=0
        ).update(status=IssuanceBatch.Status.APPROVED, approved_by=actor, approved_at=now)
        if changed != 1:
            batch.refresh_from_db()
            if batch.status == IssuanceBatch.Status.VALIDATED:
                raise BatchStateConflict(_("批次中没有有效行，无需批准。"))
            raise BatchStateConflict(
                _("只有“待审核”的批次可以批准，当前状态为“%(status)s”。")
                % {"status": batch.get_status_display()}
            )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.BATCH_APPROVED,
            target=batch,
            union_path=batch.union.path,
            data={
                "valid_rows": batch.valid_rows,
                "error_rows": batch.error_rows,
                "changed_members": batch.changed_members,
            },
        )
        enqueue_on_commit(tasks.batch_process, batch.pk)
    batch.refresh_from_db()
    return batch


def batch_reject(*, batch: IssuanceBatch, actor, reason: str = "") -> IssuanceBatch:
    _batch_for_staff(batch, actor, "members.approve_issuancebatch", _("您没有审核发卡批次的权限。"))
    changed = IssuanceBatch.objects.filter(
        pk=batch.pk,
        status__in=[IssuanceBatch.Status.VALIDATED, IssuanceBatch.Status.FAILED],
        approved_at=None,
    ).update(status=IssuanceBatch.Status.REJECTED, status_message=(reason or _("已驳回"))[:500])
    if changed != 1:
        batch.refresh_from_db()
        raise BatchStateConflict(
            _("当前状态为“%(status)s”的批次不能驳回。") % {"status": batch.get_status_display()}
        )
    batch.refresh_from_db()
    return batch


def batch_resume(*, batch: IssuanceBatch) -> bool:
    """Queue the unfinished work of a batch again (after a lost worker or a broker outage).
    Safe at any time: every step skips what is already done. A batch whose validation failed is
    validated again from the start (the file is kept; the limits or the reader may have changed)."""
    from members import tasks

    batch.refresh_from_db()
    status = batch.status
    if status == IssuanceBatch.Status.FAILED and batch.approved_at is None:
        with transaction.atomic():
            again = IssuanceBatch.objects.filter(
                pk=batch.pk, status=IssuanceBatch.Status.FAILED, approved_at=None
            ).update(
                status=IssuanceBatch.Status.UPLOADED,
                status_message="",
                total_rows=0,
                valid_rows=0,
                error_rows=0,
                changed_members=0,
                validated_at=None,
            )
            if not again:
                return False
            IssuanceRow.objects.filter(batch_id=batch.pk).delete()
            enqueue_on_commit(tasks.batch_validate, batch.pk)
        return True
    if status in (IssuanceBatch.Status.UPLOADED, IssuanceBatch.Status.VALIDATING):
        enqueue_on_commit(tasks.batch_validate, batch.pk)
        return True
    if status in (IssuanceBatch.Status.APPROVED, IssuanceBatch.Status.PROCESSING) or (
        status == IssuanceBatch.Status.FAILED and batch.approved_at is not None
    ):
        IssuanceBatch.objects.filter(pk=batch.pk, status=IssuanceBatch.Status.FAILED).update(
            status=IssuanceBatch.Status.PROCESSING, status_message=""
        )
        enqueue_on_commit(tasks.batch_process, batch.pk)
        return True
    return False


def batch_process_chunk(*, batch_id: int, chunk_size: int = PROCESS_CHUNK_ROWS) -> str:
    """Create or update the members of the next ``chunk_size`` valid rows and issue their cards, in
    one transaction. Returns "more", "finish" (no valid row left) or "idle" (nothing to do).

    The batch row is locked first, so a redelivered task waits for the original and then finds its
    rows done; a killed worker's transaction rolls back as a whole (rows, members, cards and serials)
    and the next run starts again at the first row not yet done. The rows never travel to Python
    and back: members are upserted with INSERT … SELECT from the rows table.

    A row whose member is out of the batch's reach (``members.scope``) — because it changed since
    validation, or because the row never went through it — changes nothing: the upsert skips it by
    itself, and the row ends as an error with the same text validation gives."""
    with transaction.atomic():
        batch = (
            IssuanceBatch.objects.select_for_update(of=("self",))
            .select_related("bank", "union", "approved_by")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None or batch.status not in (
            IssuanceBatch.Status.APPROVED,
            IssuanceBatch.Status.PROCESSING,
        ):
            return "idle"
        if batch.status == IssuanceBatch.Status.APPROVED:
            IssuanceBatch.objects.filter(pk=batch_id).update(status=IssuanceBatch.Status.PROCESSING)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM members_issuancerow WHERE batch_id = %s AND status = 'valid' "
                "ORDER BY row_number LIMIT %s",
                [batch_id, chunk_size],
            )
            row_ids = [row[0] for row in cursor.fetchall()]
            if not row_ids:
                return "finish"
            member_by_row, refused = _upsert_members(cursor, batch, row_ids, now)
            accepted = [row_id for row_id in row_ids if row_id in member_by_row]
            cursor.execute(
                "SELECT member_id FROM members_card WHERE member_id = ANY(%s) AND status = ANY(%s)",
                [list(member_by_row.values()), list(Card.LIVE_STATUSES)],
            )
            holders = {row[0] for row in cursor.fetchall()}
            # A member named twice in the chunk is impossible (duplicates are invalid rows), and a
            # member who already holds a live card is skipped: re-uploads never give a second card.
            needing = [row_id for row_id in accepted if member_by_row[row_id] not in holders]
            serials = bank_allocate_serials(bank=batch.bank, count=len(needing))
            card_by_member: dict[int, int] = {}
            if needing:
                cursor.execute(
                    "INSERT INTO members_card (number, bank_id, serial, member_id, status, batch_id, "
                    "issued_at) SELECT v.number, %s, v.serial, v.member_id, 'issued', %s, %s "
                    "FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[]) AS v(number, serial, member_id) "
                    "RETURNING member_id, id",
                    [
                        batch.bank_id,
                        batch_id,
                        now,
                        [card_number_for(batch.bank, serial) for serial in serials],
                        list(serials),
                        [member_by_row[row_id] for row_id in needing],
                    ],
                )
                card_by_member = dict(cursor.fetchall())
            card_by_row = {row_id: card_by_member[member_by_row[row_id]] for row_id in needing}
            cursor.execute(
                """
                UPDATE members_issuancerow r
                SET status = 'done', member_id = v.member_id, card_id = v.card_id
                FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, member_id, card_id)
                WHERE r.id = v.id AND r.status = 'valid'
                """,
                [
                    accepted,
                    [member_by_row[row_id] for row_id in accepted],
                    [card_by_row.get(r) for r in accepted],
                ],
            )
            done = cursor.rowcount
            if refused:
                cursor.execute(
                    "UPDATE members_issuancerow SET status = 'invalid', errors = errors || %s "
                    "WHERE id = ANY(%s) AND status = 'valid'",
                    [Jsonb([str(MEMBER_OUT_OF_REACH)]), refused],
                )
                done += cursor.rowcount
            if done != len(row_ids):
                raise RuntimeError("issuance rows changed under a locked batch")
        IssuanceBatch.objects.filter(pk=batch_id).update(
            processed_rows=F("processed_rows") + len(accepted),
            cards_created=F("cards_created") + len(card_by_row),
            valid_rows=F("valid_rows") - len(refused),
            error_rows=F("error_rows") + len(refused),
        )
    return "more"


def _upsert_members(cursor, batch: IssuanceBatch, row_ids: list[int], now: datetime) -> tuple[dict, list]:
    """Insert new members and refresh the name and phone of known ones (matched by ID hash), straight
    from the rows table. Known members keep their groups and gain those named in the file; their union
    is left alone, since moving a member is a transfer.

    A known member is changed only if in the batch's reach: the scope rule (``members.scope``) is the
    ``WHERE`` of the ``DO UPDATE``, so the statement itself skips a member out of reach, whatever the
    row says. Every known member that did change is written to the audit log, old and new values
    masked, in the name of the approver.

    Returns member ids by row id, and the ids of the rows refused."""
    # The known members, locked in id order before the upsert (which then waits on nothing), with
    # the values they have now.
    cursor.execute(
        "SELECT m.id_number_hash, m.id, m.name, m.phone, m.groups, m.id_number_masked, u.path "
        "FROM members_member m JOIN members_union u ON u.id = m.union_id "
        "WHERE m.id_number_hash IN (SELECT id_number_hash FROM members_issuancerow WHERE id = ANY(%s)) "
        "ORDER BY m.id FOR UPDATE OF m",
        [row_ids],
    )
    before = {row[0]: row[1:] for row in cursor.fetchall()}
    cursor.execute(
        f"""
        INSERT INTO members_member AS m (name, id_number_encrypted, id_number_hash, id_number_masked, phone,
                                         union_id, status, groups, created_at, updated_at)
        SELECT r.name, r.id_number_encrypted, r.id_number_hash, r.id_number_masked, r.phone,
               r.union_id, 'active', r.groups, %s, %s
        FROM members_issuancerow r WHERE r.id = ANY(%s)
        ORDER BY r.row_number
        ON CONFLICT (id_number_hash) DO UPDATE
        SET name = EXCLUDED.name, phone = EXCLUDED.phone, updated_at = EXCLUDED.updated_at,
            groups = ARRAY(SELECT DISTINCT g FROM unnest(m.groups || EXCLUDED.groups) AS g ORDER BY g)
        WHERE {member_in_scope_sql("m", active_only=True)}
        RETURNING m.id_number_hash, m.id, m.name, m.phone, m.groups
        """,  # noqa: S608 - the scope rule's SQL, no input
        [now, now, row_ids, batch.union.path],
    )
    after = {row[0]: row[1:] for row in cursor.fetchall()}
    cursor.execute("SELECT id, id_number_hash FROM members_issuancerow WHERE id = ANY(%s)", [row_ids])
    member_by_row, refused = {}, []
    for row_id, hash_ in cursor.fetchall():
        if hash_ in after:
            member_by_row[row_id] = after[hash_][0]
        else:
            refused.append(row_id)
    for hash_, (member_id, name, phone, groups, masked_id, union_path) in before.items():
        if hash_ not in after:
            continue
        _member_id, new_name, new_phone, new_groups = after[hash_]
        changes: dict[str, list] = {}
        if new_name != name:
            changes["name"] = [mask_name(name), mask_name(new_name)]
        if new_phone != phone:
            changes["phone"] = [mask_phone(phone), mask_phone(new_phone)]
        if list(new_groups) != list(groups):
            changes["groups"] = [list(groups), list(new_groups)]
        if changes:
            _audit_member_changed(
                member_id=member_id,
                label=f"{mask_name(new_name)} ({masked_id})",
                union_path=union_path,
                actor=batch.approved_by,
                data={"batch": batch.pk, **changes},
            )
    return member_by_row, refused


def batch_finish(*, batch_id: int) -> bool:
    """Write the bank production file once every valid row is done, then mark the batch completed.
    The file is written outside any transaction; a second writer loses the race and deletes its copy."""
    batch = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.PROCESSING).first()
    if (
        batch is None
        or IssuanceRow.objects.filter(batch_id=batch_id, status=IssuanceRow.Status.VALID).exists()
    ):
        return False
    cards = (
        Card.objects.filter(batch_id=batch_id)
        .order_by("serial")
        .values_list(
            "number",
            "member__name",
            "member__id_number_encrypted",
            "member__phone",
            "member__union__code",
            "member__union__name",
            "bank__name",
        )
        .iterator(chunk_size=5000)
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8-sig", newline="") as out:
        issuance.write_production_csv(cards, out, batch_id=batch_id)
        out.seek(0)
        name = default_storage.save(
            f"bank-files/batch-{batch_id}-{timezone.localtime():%Y%m%d%H%M%S}.csv", File(out.buffer)
        )
    changed = IssuanceBatch.objects.filter(pk=batch_id, status=IssuanceBatch.Status.PROCESSING).update(
        status=IssuanceBatch.Status.COMPLETED, production_file=name, completed_at=timezone.now()
    )
    if changed != 1:
        default_storage.delete(name)
        return False
    return True


def _purge_files(due, field: str, purged_field: str, now: datetime) -> int:
    """Delete the stored file in ``field`` of every batch in ``due``; each batch keeps when its file
    was deleted in ``purged_field``."""
    purged = 0
    for batch_id, name in due.exclude(**{field: ""}).values_list("id", field).iterator():
        default_storage.delete(name)  # a file already gone is no error
        purged += IssuanceBatch.objects.filter(pk=batch_id, **{field: name}).update(
            **{field: "", purged_field: now}
        )
    return purged


def bank_files_purge(*, now: datetime | None = None) -> int:
    """Delete the production files (full ID numbers) of batches completed longer ago than
    ``settings.BANK_FILE_RETENTION``; the batch keeps when its file was deleted."""
    now = now or timezone.now()
    due = IssuanceBatch.objects.filter(
        completed_at__lt=now - settings.BANK_FILE_RETENTION, production_file_purged_at__isnull=True
    )
    return _purge_files(due, "production_file", "production_file_purged_at", now)


def application_files_purge(*, now: datetime | None = None) -> int:
    """Delete the uploaded application files (full ID numbers, as the union sent them) once nothing
    will read them again: ``settings.APPLICATION_FILE_RETENTION`` after the batch completed, or after
    it was uploaded when it was rejected. Every applicant's row stays, with its ID number encrypted."""
    now = now or timezone.now()
    cutoff = now - settings.APPLICATION_FILE_RETENTION
    due = IssuanceBatch.objects.filter(file_purged_at__isnull=True).filter(
        Q(status=IssuanceBatch.Status.COMPLETED, completed_at__lt=cutoff)
        | Q(status=IssuanceBatch.Status.REJECTED, created_at__lt=cutoff)
    )
    return _purge_files(due, "file", "file_purged_at", now)


def batch_mark_failed(*, batch_id: int, message: str) -> None:
    IssuanceBatch.objects.filter(
        pk=batch_id, status__in=[IssuanceBatch.Status.APPROVED, IssuanceBatch.Status.PROCESSING]
    ).update(status=IssuanceBatch.Status.FAILED, status_message=message[:500])


def _id_file_open(batch: IssuanceBatch, actor, *, file, purged_at, purged: str, missing: str, action: str):
    """A file of the batch with full ID numbers, for a user with the permission; audited.
    ``purged`` (with ``%(day)s``) and ``missing`` say why there is no file."""
    _batch_for_staff(batch, actor, "members.download_bank_file", _("您没有下载含完整身份证号的文件的权限。"))
    if purged_at:
        raise NotFound(purged % {"day": f"{timezone.localtime(purged_at):%Y-%m-%d}"})
    if not file:
        raise NotFound(missing)
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise NotFound(missing) from None
    audit_record(
        actor=actor,
        action=action,
        target=batch,
        label=str(batch),
        union_path=batch.union.path,
        data={"rows": batch.total_rows, "cards": batch.cards_created},
    )
    return handle


def batch_bank_file_open(*, batch: IssuanceBatch, actor):
    """The production file (full ID numbers) for a user with the permission; the download is audited."""
    return _id_file_open(
        batch,
        actor,
        file=batch.production_file,
        purged_at=batch.production_file_purged_at,
        purged=_("制卡文件已于%(day)s按保存期限删除。"),
        missing=_("制卡文件尚未生成。"),
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED,
    )


def batch_application_file_open(*, batch: IssuanceBatch, actor):
    """The file the union uploaded (full ID numbers, as sent) for a user with the same permission
    as the production file; the download is audited."""
    return _id_file_open(
        batch,
        actor,
        file=batch.file,
        purged_at=batch.file_purged_at,
        purged=_("申请原文件已于%(day)s按保存期限删除。"),
        missing=_("申请原文件已不在存储中，请联系平台管理员。"),
        action=AuditEvent.Action.APPLICATION_FILE_DOWNLOADED,
    )


# --- Sign-in with a one-time code ----------------------------------------------------------------------


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

    The answer is the same whether or not the phone belongs to a member; only members get a text."""
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
        send_sms(
            phone=phone,
            text=_("【工会会员卡】您的登录验证码是 %(code)s，%(minutes)s 分钟内有效。请勿告诉他人。")
            % {"code": code, "minutes": minutes},
        )
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

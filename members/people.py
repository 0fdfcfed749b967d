"""Writes for members: create, update, transfer, status, consent, the full ID number for those allowed,
and the member's own data export. Every door (admin, pages, API, tasks, commands) calls these
functions; none of them re-checks a rule on its own."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import issuance, pii
from members.models import Member, MemberGroup, MemberTransfer, Union, mask_name, mask_phone
from members.scope import ensure_member_in_scope
from portal.audit import audit_record
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope


class MemberExists(Conflict):
    code = "member_exists"
    default_message = gettext_lazy("该身份证号已登记为会员。")


def audit_actor(actor):
    """Audit rows name staff users by account; a member acting on their own card by member id."""
    if isinstance(actor, Member):
        return f"member:{actor.pk}"
    return actor


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
    values = sorted(set(groups or ()))
    unknown = [value for value in values if value not in MemberGroup.values]
    if unknown:
        raise ValidationFailed(_("未知的群体：%(groups)s") % {"groups": "、".join(unknown)})
    return values


def is_staff_actor(actor) -> bool:
    """Staff users are checked against their subtree; a member acting on their own card, and the
    system (no actor: tasks, commands, the demo), are not."""
    return actor is not None and not isinstance(actor, Member) and getattr(actor, "is_authenticated", False)


def staff_scope_check(actor, union: Union) -> None:
    if is_staff_actor(actor):
        ensure_union_in_scope(actor, union)


def audit_member_changed(*, member_id: int, label: str, union_path: str, actor, data: dict) -> None:
    """One MEMBER_CHANGED row: masked values only (``label`` and ``data`` are the caller's, masked)."""
    audit_record(
        actor=audit_actor(actor),
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
    staff_scope_check(actor, union)
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
        if is_staff_actor(actor):
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
            audit_member_changed(
                member_id=member.pk,
                label=f"{mask_name(member.name)} ({member.id_number_masked})",
                union_path=stored.union.path,
                actor=actor,
                data=changes,
            )
    return member


@transaction.atomic
def member_transfer(
    *, member: Member, to_union: Union, actor=None, requested_by_member: bool = False
) -> MemberTransfer:
    """Move a member to another workplace union. The card, redemptions and history stay with them.

    A staff user moves only members of their subtree, and only to a union of it: the destination
    is checked by the same rule as the source. A union's acceptance of a member who asked to come
    (``requested_by_member``, from ``members.transfers``) is that step of its own: the member's
    request stands for the source side, and the receiving staff must still hold the destination."""
    staff_scope_check(actor, to_union)
    _checked_workplace(to_union)
    locked = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
    if not requested_by_member:
        staff_scope_check(actor, locked.union)
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
        actor=audit_actor(actor),
        action=AuditEvent.Action.MEMBER_TRANSFERRED,
        target=locked,
        union_path=to_union.path,
        data={"from": from_union.code, "to": to_union.code},
    )
    member.union = to_union
    member.union_id = to_union.pk
    return transfer


# Statuses that end a membership for good: the live card is cancelled and the bank told (a member
# "transferred" out of the province's unions keeps the card until the receiving side decides).
CARD_CLOSING_STATUSES = (Member.Status.LEFT, Member.Status.RETIRED)


def member_set_status(*, member: Member, status: str, actor=None) -> Member:
    """Change a member's status. Leaving or retiring also cancels the live card, in the same
    transaction, which queues the cancellation for the bank's card-changes file."""
    # cards imports this module (audit and scope helpers); the import is here to keep that one way.
    from members.cards import member_cards_close

    if status not in Member.Status.values:
        raise ValidationFailed(_("未知的会籍状态。"))
    with transaction.atomic():
        if is_staff_actor(actor):
            ensure_member_in_scope(actor, member.pk)
        stored = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
        Member.objects.filter(pk=member.pk).update(status=status, updated_at=timezone.now())
        if stored.status != status:
            audit_member_changed(
                member_id=member.pk,
                label=str(stored),
                union_path=stored.union.path,
                actor=actor,
                data={"status": [stored.status, status]},
            )
        if status in CARD_CLOSING_STATUSES:
            member_cards_close(member=stored, actor=actor)
    member.status = status
    return member


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


# --- The member's own data export ----------------------------------------------------------------------

# What the apps above members hold about a member, by the name of its part of the export: each app adds
# its part when it starts (its AppConfig.ready), so this app never imports them.
_DATA_EXPORT_PARTS: dict[str, Callable[[Member], list]] = {}


def data_export_part_register(name: str, part: Callable[[Member], list]) -> None:
    """Add ``part(member)`` to every member's data export under ``name`` (registering again replaces)."""
    _DATA_EXPORT_PARTS[name] = part


def member_data_export(*, member: Member) -> dict:
    """Everything the portal holds about the member, for their own download (right of access): what
    this app holds, then the parts the apps above add (:func:`data_export_part_register`)."""
    cards = list(member.cards.select_related("bank").order_by("issued_at"))
    transfers = list(member.transfers.select_related("from_union", "to_union"))
    parts = {name: part(member) for name, part in _DATA_EXPORT_PARTS.items()}
    audit_record(
        actor=audit_actor(member),
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
        **parts,
    }

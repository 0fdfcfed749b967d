"""A member's own card application (办卡申请): the member asks from their pages and chooses the bank,
their workplace union (or the staff above it) approves or refuses, and approved applications join the
next issuance batch.

The batch is an ordinary one: the approved applicants are written as an application file in the
template's format and handed to :func:`members.batches.batch_upload`, so they are validated,
approved by a second person and turned into cards by the same pipeline as an uploaded file — this
module never writes a member or a card."""

from __future__ import annotations

import csv
import io

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import issuance, pii, selectors
from members.batches import batch_upload
from members.models import Card, CardApplication, IssuanceBatch, Member, PartnerBank
from members.pending import PendingRequests
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.scoping import ensure_union_in_scope, staff_union_path

DECIDE_PERMISSION = "members.change_cardapplication"
# Applications put into one batch at most (a batch file of this size validates in seconds).
BATCH_MAX_APPLICATIONS = 5_000


class ApplicationStateConflict(Conflict):
    code = "application_state_conflict"


class ApplicationExists(Conflict):
    code = "application_exists"
    default_message = gettext_lazy("您已有一份办卡申请正在办理中。")


def card_application_submit(*, member: Member, bank: PartnerBank) -> CardApplication:
    """The member's application; the staff of their workplace union are told."""
    with transaction.atomic():
        locked = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
        if locked.status != Member.Status.ACTIVE:
            raise Conflict(_("只有在会会员可以申请办卡。"), code="member_inactive")
        if Card.objects.filter(member=locked, status__in=Card.LIVE_STATUSES).exists():
            raise Conflict(_("您已有一张有效会员卡，无需再申请。"), code="card_exists")
        if not bank.is_active:
            raise ValidationFailed(
                _("该银行已停止合作，请选择其他银行。"), fields={"bank": [_("请选择其他银行。")]}
            )
        try:
            with transaction.atomic():
                application = CardApplication.objects.create(member=locked, union=locked.union, bank=bank)
        except IntegrityError:
            raise ApplicationExists() from None
        for user_id in selectors.union_staff_to_notify(locked.union):
            notify(
                recipient=Recipient.user(user_id),
                topic=Topic.CARD_APPLIED,
                title=_("新的办卡申请待审核"),
                body=_("%(name)s（%(union)s）申请办理%(bank)s会员卡，请在“待办事项”中审核。")
                % {"name": locked.name_masked, "union": locked.union.name, "bank": bank.name},
                dedup_key=f"card-applied:{application.pk}",
                link="/staff/todo/",
            )
    return application


APPLICATIONS = PendingRequests(
    CardApplication,
    conflict=ApplicationStateConflict,
    not_found_message=gettext_lazy("没有这份办卡申请。"),
    withdraw_refused=gettext_lazy("该申请当前状态为“%(status)s”，不能撤回。"),
    decide_refused=gettext_lazy("该申请当前状态为“%(status)s”，不能再审核。"),
)


def card_application_withdraw(*, member: Member, application_id: int) -> CardApplication:
    """The member takes back their own application while nobody has decided it; another member's
    application is "not found"."""
    return APPLICATIONS.withdraw(member=member, pk=application_id)


def _decidable(application: CardApplication, actor) -> None:
    if not actor.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(_("您没有审核办卡申请的权限。"))
    ensure_union_in_scope(actor, application.union)


def _decide(application: CardApplication, actor, *, status: str, reason: str = "") -> CardApplication:
    return APPLICATIONS.decide(pk=application.pk, actor=actor, status=status, reason=reason)


def card_application_approve(*, application: CardApplication, actor) -> CardApplication:
    _decidable(application, actor)
    with transaction.atomic():
        application = _decide(application, actor, status=CardApplication.Status.APPROVED)
        _notify_member(
            application,
            title=_("办卡申请已通过"),
            body=_("您的%(bank)s会员卡申请已通过，将加入下一批制卡。制卡完成后会再通知您。")
            % {"bank": application.bank.name},
        )
    return application


def card_application_refuse(*, application: CardApplication, actor, reason: str) -> CardApplication:
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写未通过的原因，会员会看到它。")
        raise ValidationFailed(message, fields={"reason": [message]})
    _decidable(application, actor)
    with transaction.atomic():
        application = _decide(application, actor, status=CardApplication.Status.REFUSED, reason=reason[:300])
        _notify_member(
            application,
            title=_("办卡申请未通过"),
            body=_("您的会员卡申请未通过：%(reason)s。如有疑问请联系%(union)s。")
            % {"reason": application.reason, "union": application.union.name},
        )
    return application


def _notify_member(application: CardApplication, *, title: str, body: str) -> None:
    notify(
        recipient=Recipient.member(application.member_id),
        topic=Topic.CARD_APPLICATION_DECIDED,
        title=title,
        body=body,
        dedup_key=f"card-application:{application.pk}:{application.status}",
        link="/me/card/",
        phone=application.member.phone,
    )


def _application_file(applications: list[CardApplication]) -> bytes:
    """The approved applicants as an application file in the template's columns (UTF-8 CSV)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(issuance.REQUIRED_HEADERS)
    for application in applications:
        member = application.member
        writer.writerow(
            [member.name, pii.decrypt_id_number(member.id_number_encrypted), member.phone, member.union.code]
        )
    return buffer.getvalue().encode("utf-8")


def card_applications_batch(*, bank: PartnerBank, actor) -> IssuanceBatch:
    """Put the approved applications of the actor's subtree for ``bank`` into a new issuance batch,
    uploaded in the actor's name for their own union. Another staff member approves the batch
    (two people, as for every batch); the worker validates it like any file.

    The applications are locked in id order and marked as batched in the transaction that creates
    the batch, so two clicks never put one application into two batches."""
    if not actor.has_perm(DECIDE_PERMISSION) or not actor.has_perm("members.add_issuancebatch"):
        raise PermissionDenied(_("您没有生成发卡批次的权限。"))
    scope = staff_union_path(actor)
    if scope is None or actor.union is None:
        raise PermissionDenied(_("只有所属工会明确的工作人员可以生成发卡批次。"))
    with transaction.atomic():
        applications = list(
            CardApplication.objects.select_for_update(of=("self",))
            .select_related("member__union", "union", "bank")
            .filter(status=CardApplication.Status.APPROVED, bank=bank, union__path__startswith=scope)
            .order_by("pk")[:BATCH_MAX_APPLICATIONS]
        )
        if not applications:
            raise NotFound(_("没有待制卡的已通过申请。"))
        stamp = f"{timezone.localtime():%Y%m%d-%H%M}"
        upload = ContentFile(_application_file(applications), name=f"member-applications-{stamp}.csv")
        batch = batch_upload(union=actor.union, bank=bank, uploaded_file=upload, uploaded_by=actor)
        CardApplication.objects.filter(pk__in=[a.pk for a in applications]).update(
            status=CardApplication.Status.BATCHED, batch=batch
        )
        for user_id in selectors.batch_approvers_to_notify(union=actor.union, uploader=actor):
            notify(
                recipient=Recipient.user(user_id),
                topic=Topic.BATCH_TO_APPROVE,
                title=_("发卡批次待批准"),
                body=_(
                    "%(union)s生成了含 %(count)s 份会员办卡申请的发卡批次，"
                    "校验完成后请在“待办事项”中查看并批准。"
                )
                % {"union": actor.union.name, "count": len(applications)},
                dedup_key=f"batch-to-approve:{batch.pk}",
                link="/staff/todo/",
            )
    return batch

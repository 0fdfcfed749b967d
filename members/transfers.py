"""A member's request to move to another workplace union (转会申请): the member asks from their pages,
the receiving union's staff accept or refuse. Accepting moves the member through the one transfer
service (:func:`members.people.member_transfer`), which checks that the destination is in the
accepting staff's subtree and keeps the card; offers follow the union, so eligibility follows too."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Member, TransferRequest, Union
from members.pending import PendingRequests
from members.people import member_transfer
from members.selectors import union_staff_to_notify
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.scoping import ensure_union_in_scope

DECIDE_PERMISSION = "members.change_transferrequest"


class TransferStateConflict(Conflict):
    code = "transfer_state_conflict"


class TransferPending(Conflict):
    code = "transfer_pending"
    default_message = gettext_lazy("您已有一份转会申请在等待接收。")


def transfer_destination(code: str) -> Union:
    """The workplace union a member names by its code; the same answer for a code nobody has and for
    a union that is not a workplace union."""
    union = Union.objects.real().filter(code=(code or "").strip(), level=Union.Level.WORKPLACE).first()
    if union is None:
        message = _("没有这个基层工会代码，请向新单位的工会确认。")
        raise ValidationFailed(message, fields={"to_union": [message]})
    return union


def transfer_request_submit(*, member: Member, to_union: Union, note: str = "") -> TransferRequest:
    """The member's request; the receiving union's staff are told."""
    with transaction.atomic():
        locked = Member.objects.select_for_update(of=("self",)).select_related("union").get(pk=member.pk)
        if locked.status != Member.Status.ACTIVE:
            raise Conflict(_("只有在会会员可以申请转会。"), code="member_inactive")
        if to_union.level != Union.Level.WORKPLACE:
            raise ValidationFailed(_("只能转入基层工会。"), fields={"to_union": [_("只能转入基层工会。")]})
        if locked.union_id == to_union.pk:
            message = _("您已在该工会，无需转会。")
            raise ValidationFailed(message, fields={"to_union": [message]})
        try:
            with transaction.atomic():
                request = TransferRequest.objects.create(
                    member=locked, from_union=locked.union, to_union=to_union, note=(note or "").strip()[:200]
                )
        except IntegrityError:
            raise TransferPending() from None
        for user_id in union_staff_to_notify(to_union):
            notify(
                recipient=Recipient.user(user_id),
                topic=Topic.TRANSFER_REQUESTED,
                title=_("新的转会申请待接收"),
                body=_("%(name)s申请从%(source)s转入%(target)s，请在“待办事项”中接收或拒绝。")
                % {"name": locked.name_masked, "source": locked.union.name, "target": to_union.name},
                dedup_key=f"transfer-requested:{request.pk}",
                link="/staff/todo/",
            )
    return request


REQUESTS = PendingRequests(
    TransferRequest,
    conflict=TransferStateConflict,
    not_found_message=gettext_lazy("没有这份转会申请。"),
    withdraw_refused=gettext_lazy("该转会申请当前状态为“%(status)s”，不能撤回。"),
    decide_refused=gettext_lazy("该转会申请当前状态为“%(status)s”，不能再处理。"),
)


def transfer_request_withdraw(*, member: Member, request_id: int) -> TransferRequest:
    """The member takes back their own pending request; another member's request is "not found"."""
    return REQUESTS.withdraw(member=member, pk=request_id)


def _decidable(request: TransferRequest, actor) -> None:
    if not actor.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(_("您没有处理转会申请的权限。"))
    ensure_union_in_scope(actor, request.to_union)


def _claim(request: TransferRequest, actor, *, status: str, reason: str = "") -> TransferRequest:
    return REQUESTS.decide(pk=request.pk, actor=actor, status=status, reason=reason)


def transfer_request_accept(*, request: TransferRequest, actor) -> TransferRequest:
    """Accept: the member moves to the receiving union now. Refused (and nothing moves) if the member
    left or moved elsewhere since asking."""
    _decidable(request, actor)
    with transaction.atomic():
        request = _claim(request, actor, status=TransferRequest.Status.ACCEPTED)
        member = Member.objects.select_for_update(of=("self",)).get(pk=request.member_id)
        if member.status != Member.Status.ACTIVE or member.union_id != request.from_union_id:
            raise TransferStateConflict(_("该会员的会籍或所在工会在申请后已变化，请让会员重新申请。"))
        transfer = member_transfer(
            member=member, to_union=request.to_union, actor=actor, requested_by_member=True
        )
        TransferRequest.objects.filter(pk=request.pk).update(transfer=transfer)
        notify(
            recipient=Recipient.member(member.pk),
            topic=Topic.TRANSFER_ACCEPTED,
            title=_("转会已接收"),
            body=_("%(target)s已接收您的转会申请。您的会员卡继续有效，可享受的优惠随新工会变化。")
            % {"target": request.to_union.name},
            dedup_key=f"transfer:{request.pk}:accepted",
            link="/me/card/",
            phone=member.phone,
        )
        for user_id in union_staff_to_notify(request.from_union):
            notify(
                recipient=Recipient.user(user_id),
                topic=Topic.TRANSFER_ACCEPTED,
                title=_("会员已转出"),
                body=_("%(name)s已由%(target)s接收，从%(source)s转出。")
                % {
                    "name": member.name_masked,
                    "target": request.to_union.name,
                    "source": request.from_union.name,
                },
                dedup_key=f"transfer:{request.pk}:accepted:source",
            )
    request.refresh_from_db()
    return request


def transfer_request_refuse(*, request: TransferRequest, actor, reason: str) -> TransferRequest:
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写不接收的原因，会员会看到它。")
        raise ValidationFailed(message, fields={"reason": [message]})
    _decidable(request, actor)
    with transaction.atomic():
        request = _claim(request, actor, status=TransferRequest.Status.REFUSED, reason=reason[:300])
        notify(
            recipient=Recipient.member(request.member_id),
            topic=Topic.TRANSFER_REFUSED,
            title=_("转会未被接收"),
            body=_("%(target)s未接收您的转会申请：%(reason)s。")
            % {"target": request.to_union.name, "reason": request.reason},
            dedup_key=f"transfer:{request.pk}:refused",
            link="/me/transfer/",
            phone=request.member.phone,
        )
    return request

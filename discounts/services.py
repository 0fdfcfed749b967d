"""Writes about offers: the one validation of an offer's rules, drafting, the review workflow and live
limit changes with their audit trail (the one-time codes of online offers are discounts.vouchers').

A little over 500 lines, kept whole: the validation and the writers that must call it before they
save belong together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from discounts import saved
from discounts.models import Offer, OfferLimitChange
from discounts.rules import local_day
from funds.models import Fund
from funds.selectors import fund_in_scope
from members.models import MemberGroup
from merchants.models import Merchant, MerchantUser, Store
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import user_can_reach_union

# Fields a merchant or staff member sets when drafting; the workflow and counters set the rest.
OFFER_FIELDS = (
    "title",
    "description",
    "kind",
    "percent_off",
    "amount_off",
    "min_spend",
    "fixed_price",
    "allowance_per_unit",
    "unit_label",
    "funder",
    "union_share_per_unit",
    "union_share_percent",
    "bank",
    "budget_owner",
    "budget",
    "channel",
    "valid_from",
    "valid_until",
    "weekdays",
    "time_from",
    "time_until",
    "daily_quota",
    "per_member_daily_limit",
    "per_member_total_limit",
    "eligible_union",
    "eligible_groups",
)
ALLOWANCE_RETIRED = gettext_lazy(
    "住院补贴不再作为商家优惠：会员或工会为每次住院申请（“住院补贴”），工会审核后由银行打入会员卡。"
)
# What only offer_change_limits may change once an offer is live.
LIMIT_FIELDS = ("daily_quota", "per_member_daily_limit", "per_member_total_limit", "budget")
LIVE_STATUSES = (Offer.Status.APPROVED, Offer.Status.PUBLISHED, Offer.Status.PAUSED)
EDITABLE_STATUSES = (Offer.Status.DRAFT, Offer.Status.REJECTED)
# The amount each kind needs; the others are cleared so an offer never carries two prices.
KIND_AMOUNT_FIELDS = {
    Offer.Kind.PERCENT_OFF: ("percent_off",),
    Offer.Kind.AMOUNT_OFF: ("amount_off", "min_spend"),
    Offer.Kind.FIXED_PRICE: ("fixed_price",),
    Offer.Kind.ALLOWANCE: ("allowance_per_unit",),
}
MONEY_MAX = Decimal("9999999999.99")


# --- Validation: the one place an offer's rules are checked ------------------------------------------


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _money(errors: _Errors, offer: Offer, field: str, label: str, *, positive: bool) -> None:
    value = getattr(offer, field)
    if value is None:
        return
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors.add(field, _("%(label)s须为金额。") % {"label": label})
        return
    if value.is_nan() or value.is_infinite() or value > MONEY_MAX:
        errors.add(field, _("%(label)s超出范围。") % {"label": label})
    elif positive and value <= 0:
        errors.add(field, _("%(label)s须大于0。") % {"label": label})
    elif value < 0:
        errors.add(field, _("%(label)s不能为负数。") % {"label": label})
    elif value != value.quantize(Decimal("0.01")):
        errors.add(field, _("%(label)s最多保留两位小数。") % {"label": label})


def offer_validate(offer: Offer, *, stores: Iterable[Store] | None = None) -> None:
    """Check every rule of ``offer`` (saved or not) and its ``stores``; raise ValidationFailed with a
    Chinese message per field. Amount fields that do not belong to the offer's kind are cleared.
    The merchant portal form, the admin and the services all call this one function."""
    errors = _Errors()
    if not (offer.title or "").strip():
        errors.add("title", _("请填写优惠标题。"))
    if offer.kind not in Offer.Kind.values:
        errors.add("kind", _("请选择优惠类型。"))
    else:
        for kind, fields in KIND_AMOUNT_FIELDS.items():
            if kind != offer.kind:
                for field in fields:
                    setattr(offer, field, None)

    _money(errors, offer, "percent_off", _("折扣比例"), positive=True)
    _money(errors, offer, "amount_off", _("减免金额"), positive=True)
    _money(errors, offer, "min_spend", _("最低消费"), positive=False)
    _money(errors, offer, "fixed_price", _("特价"), positive=False)
    _money(errors, offer, "allowance_per_unit", _("每份补贴"), positive=True)
    _money(errors, offer, "budget", _("补贴预算"), positive=False)

    if offer.kind == Offer.Kind.PERCENT_OFF:
        if offer.percent_off is None:
            errors.add("percent_off", _("折扣类优惠须填写折扣比例。"))
        elif not errors.get("percent_off") and not Decimal(0) < Decimal(offer.percent_off) < Decimal(100):
            errors.add("percent_off", _("折扣比例须大于0且小于100（例如 12 表示 88 折）。"))
    elif offer.kind == Offer.Kind.AMOUNT_OFF:
        if offer.amount_off is None:
            errors.add("amount_off", _("满减类优惠须填写减免金额。"))
        elif (
            offer.min_spend is not None
            and not errors.get("amount_off")
            and not errors.get("min_spend")
            and Decimal(offer.min_spend) < Decimal(offer.amount_off)
        ):
            errors.add("min_spend", _("最低消费不能低于减免金额。"))
    elif offer.kind == Offer.Kind.FIXED_PRICE:
        if offer.fixed_price is None:
            errors.add("fixed_price", _("特价类优惠须填写每份特价。"))
    elif offer.kind == Offer.Kind.ALLOWANCE:
        # Retired: the hospital allowance is a claim for a stay paid onto the card (allowances), not a
        # discount at the hospital's till. The kind stays only for the offers and redemptions recorded
        # before (allowances migration 0004 carried them over as claims).
        errors.add("kind", ALLOWANCE_RETIRED)

    if not (offer.unit_label or "").strip():
        errors.add("unit_label", _("请填写单位，例如 张、天、份。"))

    if offer.funder not in Offer.Funder.values:
        errors.add("funder", _("请选择出资方。"))
    if offer.funder == Offer.Funder.BANK and offer.bank_id is None:
        errors.add("bank", _("银行出资的优惠须选择出资银行。"))
    if offer.funder != Offer.Funder.BANK and offer.bank_id is not None:
        errors.add("bank", _("只有银行出资的优惠才能选择出资银行。"))
    shares = [offer.union_share_per_unit, offer.union_share_percent]
    if offer.funder == Offer.Funder.COFUNDED:
        if sum(share is not None for share in shares) != 1:
            errors.add(
                "union_share_percent", _("商家与工会共担的优惠须填写工会每份分担金额或分担比例（二选一）。")
            )
        if offer.kind == Offer.Kind.ALLOWANCE or offer.channel == Offer.Channel.ONLINE:
            errors.add("funder", _("共担只适用于到店使用的折扣、满减或特价优惠。"))
    elif any(share is not None for share in shares):
        errors.add("union_share_percent", _("只有商家与工会共担的优惠才能填写工会分担。"))
    if offer.funder in (Offer.Funder.UNION, Offer.Funder.COFUNDED) or offer.kind == Offer.Kind.ALLOWANCE:
        if offer.budget is None:
            errors.add("budget", _("工会出资的优惠须设定补贴预算。"))
        if offer.budget_owner_id is None:
            errors.add("budget_owner", _("工会出资的优惠须指定预算归属工会。"))
    if offer.budget is not None and not errors.get("budget") and Decimal(offer.budget) < offer.budget_used:
        errors.add("budget", _("补贴预算不能低于已用预算%(used)s元。") % {"used": offer.budget_used})
    if offer.channel not in Offer.Channel.values:
        errors.add("channel", _("请选择使用渠道。"))
    elif (
        offer.channel == Offer.Channel.ONLINE
        and offer.funder == Offer.Funder.UNION
        and offer.kind in (Offer.Kind.PERCENT_OFF, Offer.Kind.FIXED_PRICE)
    ):
        # A claimed code takes its face value from the budget (voucher_claim_subsidy): it must have one.
        errors.add("kind", _("工会出资的线上券须为满减或补贴，领取时按面额计入预算。"))

    if offer.valid_from is None:
        errors.add("valid_from", _("请填写开始日期。"))
    if offer.valid_until is None:
        errors.add("valid_until", _("请填写结束日期。"))
    if offer.valid_from and offer.valid_until and offer.valid_until < offer.valid_from:
        errors.add("valid_until", _("结束日期不能早于开始日期。"))

    weekdays = list(offer.weekdays or [])
    if any(not isinstance(day, int) or not 1 <= day <= 7 for day in weekdays):
        errors.add("weekdays", _("适用星期须为1（周一）到7（周日）。"))
    elif len(set(weekdays)) != len(weekdays):
        errors.add("weekdays", _("适用星期有重复。"))
    else:
        offer.weekdays = sorted(weekdays)

    if (offer.time_from is None) != (offer.time_until is None):
        errors.add("time_until", _("每日时段须同时填写开始和结束时间。"))
    elif isinstance(offer.time_from, time) and offer.time_until <= offer.time_from:
        errors.add("time_until", _("每日结束时间须晚于开始时间。"))

    limit_labels = {
        "daily_quota": _("每日名额"),
        "per_member_daily_limit": _("每人每日限用次数"),
        "per_member_total_limit": _("每人累计限用次数"),
    }
    for field, label in limit_labels.items():
        value = getattr(offer, field)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            errors.add(field, _("%(label)s须为整数。") % {"label": label})
        elif value < 0:
            errors.add(field, _("%(label)s不能小于0。") % {"label": label})
        elif value > 2_000_000_000:
            errors.add(field, _("%(label)s超出范围。") % {"label": label})
        elif field != "daily_quota" and value == 0:
            errors.add(field, _("%(label)s须至少为1；不限请留空。") % {"label": label})
    if (
        offer.per_member_daily_limit
        and offer.per_member_total_limit
        and not errors.get("per_member_daily_limit")
        and not errors.get("per_member_total_limit")
        and offer.per_member_daily_limit > offer.per_member_total_limit
    ):
        errors.add("per_member_daily_limit", _("每人每日限用次数不能超过每人累计限用次数。"))

    groups = list(offer.eligible_groups or [])
    if any(group not in MemberGroup.values for group in groups):
        errors.add("eligible_groups", _("适用群体无效。"))

    if stores is not None and any(store.merchant_id != offer.merchant_id for store in stores):
        errors.add("stores", _("所选门店不属于该商家。"))

    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=dict(errors))


# --- Drafting (merchant manager or staff) ------------------------------------------------------------


def _is_manager_of(user, merchant: Merchant) -> bool:
    try:
        membership = user.merchant_user
    except (MerchantUser.DoesNotExist, AttributeError):
        return False
    return membership.merchant_id == merchant.pk and membership.role == MerchantUser.Role.MANAGER


def ensure_offer_editor(user, merchant: Merchant) -> None:
    """The merchant's own manager, or reviewing staff whose subtree holds the merchant."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied()
    if _is_manager_of(user, merchant):
        return
    if (
        user.is_staff
        and user.has_perm("discounts.change_offer")
        and user_can_reach_union(user, merchant.region)
    ):
        return
    raise PermissionDenied(_("您不能编辑该商家的优惠。"))


def offer_editable_fields(offer: Offer) -> frozenset[str]:
    """What may still change of a saved offer, by its status: every drafted field (and its stores)
    of a draft or a rejected offer (``offer_update``); only the limits of a live one
    (``offer_change_limits``); nothing while it is under review or once it has ended. An offer never
    moves to another merchant. The admin locks the rest; the services enforce it."""
    if offer.status in EDITABLE_STATUSES:
        return frozenset((*OFFER_FIELDS, "stores"))
    if offer.status in LIVE_STATUSES:
        return frozenset(LIMIT_FIELDS)
    return frozenset()


def offer_locked_reason(offer: Offer) -> str:
    """Why the fields outside ``offer_editable_fields`` cannot change, in words for the page."""
    if offer.status in EDITABLE_STATUSES:
        return _("优惠不能改到其他商家名下；如属其他商家，请在该商家下另建优惠。")
    if offer.status in LIVE_STATUSES:
        return _(
            "优惠已审核通过（%(status)s），只能调整名额、每人限用次数和补贴预算；类型、价格、适用范围、"
            "商家等内容不能修改。如需改动，请结束此优惠后另建新优惠。"
        ) % {"status": offer.get_status_display()}
    if offer.status == Offer.Status.PENDING:
        return _("优惠正在审核中，不能修改；如需改动请先驳回。")
    return _("优惠已结束，不能修改。")


def _audit_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(item) for item in sorted(value, key=str))
    return str(value)


def _offer_snapshot(offer_id: int) -> dict[str, str]:
    """The drafted fields and the stores of an offer as stored, as text for the audit log."""
    columns = [Offer._meta.get_field(name).attname for name in OFFER_FIELDS]
    row = Offer.objects.filter(pk=offer_id).values(*columns).get()
    snapshot = {name: _audit_text(row[column]) for name, column in zip(OFFER_FIELDS, columns, strict=True)}
    stores = Offer.stores.through.objects.filter(offer_id=offer_id).values_list("store_id", flat=True)
    snapshot["stores"] = _audit_text(list(stores))
    return snapshot


@transaction.atomic
def offer_create(*, merchant: Merchant, created_by, stores: Iterable[Store] = (), **values) -> Offer:
    """A draft offer of ``merchant``, by its manager or by staff (the union's own offers); in the
    audit log."""
    ensure_offer_editor(created_by, merchant)
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationFailed(_("未知字段：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    stores = list(stores)
    offer = Offer(merchant=merchant, created_by=created_by, status=Offer.Status.DRAFT, **values)
    offer_validate(offer, stores=stores)
    offer.save()
    offer.stores.set(stores)
    audit_record(
        actor=created_by,
        action=AuditEvent.Action.OFFER_CHANGED,
        target=offer,
        union_path=merchant.region.path,
        data={"action": "create", "status": offer.status},
    )
    return offer


@transaction.atomic
def offer_update(*, offer: Offer, updated_by, stores: Iterable[Store] | None = None, **values) -> Offer:
    """Edit a draft or a rejected offer; what changed (old and new) goes to the audit log. A live
    offer's limits change through offer_change_limits."""
    ensure_offer_editor(updated_by, offer.merchant)
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationFailed(_("未知字段：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    locked = Offer.objects.select_for_update().get(pk=offer.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(_("只有草稿或被驳回的优惠可以修改。"))
    before = _offer_snapshot(locked.pk)
    for field, value in values.items():
        setattr(locked, field, value)
    stores = list(stores) if stores is not None else None
    offer_validate(locked, stores=stores)
    # update_fields: never write budget_used back from a stale copy
    locked.save(update_fields=[*OFFER_FIELDS, "updated_at"])
    if stores is not None:
        locked.stores.set(stores)
    after = _offer_snapshot(locked.pk)
    changes = {
        name: {"old": before[name], "new": after[name]} for name in after if before[name] != after[name]
    }
    if changes:
        audit_record(
            actor=updated_by,
            action=AuditEvent.Action.OFFER_CHANGED,
            target=locked,
            union_path=offer.merchant.region.path,
            data=changes,
        )
    return locked


# --- Review workflow ---------------------------------------------------------------------------------


def ensure_offer_reviewer(user, offer: Offer) -> None:
    """Staff with discounts.review_offer whose subtree holds the offer's merchant. A merchant's own
    users are never staff, so a merchant cannot approve or publish its own offer."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied()
    if not user.is_staff:
        raise PermissionDenied(_("商家不能审核或发布自己的优惠，请等待工会审核。"))
    if not user.has_perm("discounts.review_offer"):
        raise PermissionDenied(_("您没有审核优惠的权限。"))
    if not user_can_reach_union(user, offer.merchant.region):
        raise PermissionDenied(_("该商家不在您的管理范围内。"))


def _offer_transition(
    *,
    offer: Offer,
    actor,
    action: str,
    from_statuses,
    to_status: str,
    reason: str = "",
    audit_data: dict | None = None,
    **extra,
) -> Offer:
    previous = offer.status
    updated = Offer.objects.filter(pk=offer.pk, status__in=list(from_statuses)).update(
        status=to_status, updated_at=timezone.now(), **extra
    )
    if updated != 1:
        current = Offer.objects.filter(pk=offer.pk).values_list("status", flat=True).first()
        label = Offer.Status(current).label if current else previous
        raise Conflict(_("优惠当前状态为“%(status)s”，不能执行此操作。") % {"status": label})
    offer.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.OFFER_REVIEWED,
        target=offer,
        union_path=offer.merchant.region.path,
        data={"action": action, "from": previous, "to": to_status, "reason": reason, **(audit_data or {})},
    )
    return offer


@transaction.atomic
def offer_submit(*, offer: Offer, submitted_by) -> Offer:
    """A draft (or a rejected offer, after edits) goes to the union for review."""
    ensure_offer_editor(submitted_by, offer.merchant)
    offer_validate(offer, stores=list(offer.stores.all()))
    return _offer_transition(
        offer=offer,
        actor=submitted_by,
        action="submit",
        from_statuses=EDITABLE_STATUSES,
        to_status=Offer.Status.PENDING,
        submitted_at=timezone.now(),
        status_reason="",
    )


def _approval_fund(offer: Offer, reviewer, fund_id) -> Fund | None:
    """The fund an offer's union shares will be spent from, chosen by the reviewer (or already named):
    required when the union pays a share at the till, refused otherwise; one the reviewer reaches."""
    fund_id = offer.fund_id if fund_id in (None, "") else fund_id
    if not offer.draws_on_fund:
        if fund_id is not None:
            raise ValidationFailed(
                _("只有工会出资或共担的到店优惠才从普惠资金支出。"),
                fields={"fund": [_("该优惠不需要普惠资金。")]},
            )
        return None
    if fund_id is None:
        raise ValidationFailed(
            _("请选择工会分担从哪一笔普惠资金支出。"), fields={"fund": [_("该字段是必填项。")]}
        )
    fund = fund_in_scope(reviewer, fund_id)
    if fund is None:
        raise ValidationFailed(
            _("请选择您所辖工会的普惠资金。"), fields={"fund": [_("请选择您所辖工会的普惠资金。")]}
        )
    return fund


@transaction.atomic
def offer_approve(*, offer: Offer, reviewed_by, fund_id: int | None = None) -> Offer:
    """By a reviewer other than whoever drafted the offer (staff draft the union's own offers). An
    offer whose union share is paid at the till (``Offer.draws_on_fund``) is approved with the fund
    that pays it: ``fund_id``, or the one it already names."""
    ensure_offer_reviewer(reviewed_by, offer)
    ensure_second_person(actor=reviewed_by, creator_id=offer.created_by_id, target=offer, what=_("批准优惠"))
    offer_validate(offer, stores=list(offer.stores.all()))
    fund = _approval_fund(offer, reviewed_by, fund_id)
    offer = _offer_transition(
        offer=offer,
        actor=reviewed_by,
        action="approve",
        from_statuses=[Offer.Status.PENDING],
        to_status=Offer.Status.APPROVED,
        reviewed_by=reviewed_by,
        reviewed_at=timezone.now(),
        status_reason="",
        fund=fund,
        audit_data={"fund": fund.pk} if fund is not None else None,
    )
    saved.notify_offer_reviewed(offer, approved=True)
    return offer


@transaction.atomic
def offer_reject(*, offer: Offer, reviewed_by, reason: str) -> Offer:
    ensure_offer_reviewer(reviewed_by, offer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写驳回原因。"), fields={"reason": [_("请填写驳回原因。")]})
    offer = _offer_transition(
        offer=offer,
        actor=reviewed_by,
        action="reject",
        from_statuses=[Offer.Status.PENDING],
        to_status=Offer.Status.REJECTED,
        reason=reason,
        reviewed_by=reviewed_by,
        reviewed_at=timezone.now(),
        status_reason=reason[:500],
    )
    saved.notify_offer_reviewed(offer, approved=False, reason=reason)
    return offer


@transaction.atomic
def offer_publish(*, offer: Offer, published_by) -> Offer:
    """Approved or paused → published (visible to members, usable at the till)."""
    ensure_offer_reviewer(published_by, offer)
    if not offer_merchant_open(offer):
        raise Conflict(_("商家未签约、合同已到期或已暂停合作，不能发布优惠。"))
    extra = {} if offer.published_at else {"published_at": timezone.now()}
    return _offer_transition(
        offer=offer,
        actor=published_by,
        action="publish",
        from_statuses=[Offer.Status.APPROVED, Offer.Status.PAUSED],
        to_status=Offer.Status.PUBLISHED,
        **extra,
    )


@transaction.atomic
def offer_pause(*, offer: Offer, paused_by, reason: str = "") -> Offer:
    ensure_offer_reviewer(paused_by, offer)
    return _offer_transition(
        offer=offer,
        actor=paused_by,
        action="pause",
        from_statuses=[Offer.Status.PUBLISHED],
        to_status=Offer.Status.PAUSED,
        reason=reason,
    )


@transaction.atomic
def offer_end(*, offer: Offer, ended_by, reason: str = "") -> Offer:
    ensure_offer_reviewer(ended_by, offer)
    return _offer_transition(
        offer=offer,
        actor=ended_by,
        action="end",
        from_statuses=[Offer.Status.APPROVED, Offer.Status.PUBLISHED, Offer.Status.PAUSED],
        to_status=Offer.Status.ENDED,
        reason=reason,
    )


# --- Live limits ---------------------------------------------------------------------------------------


def _limit_text(value) -> str:
    return "" if value is None else str(value)


@transaction.atomic
def offer_change_limits(*, offer: Offer, changed_by, **new_values) -> list[OfferLimitChange]:
    """Raise or lower a live offer's daily quota, per-member limits or budget (None = unlimited).

    The row is locked so the old values recorded are the ones replaced; the UPDATE itself refuses a
    budget below what is already spent. A quota below today's used units is allowed: it simply stops
    further redemptions today. Returns the OfferLimitChange rows written (one per changed field)."""
    ensure_offer_reviewer(changed_by, offer)
    unknown = set(new_values) - set(LIMIT_FIELDS)
    if unknown or not new_values:
        raise ValidationFailed(_("只能修改每日名额、每人限用次数和补贴预算。"))
    locked = Offer.objects.select_for_update(of=("self",)).get(pk=offer.pk)
    candidate = Offer.objects.get(pk=offer.pk)  # validated copy; the locked row keeps the old values
    for field, value in new_values.items():
        setattr(candidate, field, value)
    candidate.budget_used = locked.budget_used
    offer_validate(candidate, stores=None)
    changes = {
        field: getattr(candidate, field)
        for field in new_values
        if _limit_text(getattr(candidate, field)) != _limit_text(getattr(locked, field))
    }
    if not changes:
        return []
    guard = {}
    if "budget" in changes and changes["budget"] is not None:
        guard["budget_used__lte"] = changes["budget"]
    updated = Offer.objects.filter(pk=offer.pk, **guard).update(**changes, updated_at=timezone.now())
    if updated != 1:
        raise ValidationFailed(
            _("补贴预算不能低于已用预算。"), fields={"budget": [_("补贴预算不能低于已用预算。")]}
        )
    rows = OfferLimitChange.objects.bulk_create(
        [
            OfferLimitChange(
                offer=locked,
                field=field,
                old_value=_limit_text(getattr(locked, field)),
                new_value=_limit_text(value),
                changed_by=changed_by,
            )
            for field, value in changes.items()
        ]
    )
    audit_record(
        actor=changed_by,
        action=AuditEvent.Action.OFFER_LIMIT_CHANGED,
        target=locked,
        union_path=locked.merchant.region.path,
        data={
            field: {"old": _limit_text(getattr(locked, field)), "new": _limit_text(value)}
            for field, value in changes.items()
        },
    )
    for row in rows:
        if row.field == "daily_quota":
            saved.notify_quota_raised(
                offer=locked, change_id=row.pk, old=locked.daily_quota, new=changes[row.field]
            )
    offer.refresh_from_db()
    return rows


def offer_merchant_open(offer: Offer) -> bool:
    """The offer's merchant is open today, read afresh (the one rule, ``Merchant.objects.open_on``)."""
    return Merchant.objects.open_on(local_day()).filter(pk=offer.merchant_id).exists()

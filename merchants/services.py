"""Writes about merchants: applications and their review, stores, merchant users."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date
from decimal import Decimal

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Union
from merchants.apikeys import forget_keys
from merchants.models import Category, Merchant, MerchantUser, Store
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import user_can_reach_union

logger = logging.getLogger(__name__)

REVIEWABLE_REGION_LEVELS = (Union.Level.CITY, Union.Level.COUNTY)


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def merchant_details_clean(
    *,
    name: str,
    category: Category,
    region: Union,
    contact_name: str,
    contact_phone: str,
    licence_number: str = "",
    contact_email: str = "",
    description: str = "",
) -> dict:
    """The rules of a merchant's details, for the public application and the admin alike: the
    cleaned values, or ValidationFailed on the first field that breaks one."""
    name = name.strip()
    if not name:
        raise _fail("name", _("请填写商家名称。"))
    if region.level not in REVIEWABLE_REGION_LEVELS:
        raise _fail("region", _("请选择商家所在的市或县（区）。"))
    phone = contact_phone.strip()
    if not phone.isdigit() or not 7 <= len(phone) <= 12:
        raise _fail("contact_phone", _("请填写正确的联系电话（7至12位数字）。"))
    licence_number = licence_number.strip().upper()
    if licence_number and (len(licence_number) != 18 or not licence_number.isalnum()):
        raise _fail("licence_number", _("统一社会信用代码应为18位数字或字母。"))
    return {
        "name": name,
        "category": category,
        "region": region,
        "licence_number": licence_number,
        "contact_name": contact_name.strip(),
        "contact_phone": phone,
        "contact_email": contact_email.strip(),
        "description": description.strip(),
    }


class ApplicationsTooFrequent(ApplicationError):
    code = "rate_limited"
    status = 429


APPLICATION_WINDOW_SECONDS = 3600


def _count_application(ip_address: str | None) -> None:
    """Count an application from ``ip_address`` in this clock hour (a Redis counter through the
    cache, incremented atomically) and refuse one over ``MERCHANT_APPLICATIONS_PER_IP_PER_HOUR``.
    Without Redis the form still works: the limit is then not applied (and the log says so)."""
    limit = settings.MERCHANT_APPLICATIONS_PER_IP_PER_HOUR
    if not ip_address or not limit:
        return
    window = int(time.time() // APPLICATION_WINDOW_SECONDS)
    address = hashlib.sha256(ip_address.encode()).hexdigest()[:24]  # no address kept in Redis
    key = f"merchant-apply:{address}:{window}"
    try:
        cache.add(key, 0, timeout=2 * APPLICATION_WINDOW_SECONDS)
        count = cache.incr(key)
    except (redis.RedisError, OSError, ValueError):
        logger.warning("merchant application limit not applied: Redis unavailable")
        return
    if count > limit:
        raise ApplicationsTooFrequent(_("申请提交过于频繁，请一小时后再试；如有疑问请联系当地工会。"))


def merchant_apply(*, created_by=None, ip_address: str | None = None, **details) -> Merchant:
    """A merchant waiting for review by the region's staff: a public "become a partner" application
    (``created_by`` None; limited per requester address, ``ip_address``), or entered by staff, who
    are then recorded as its creator so that someone else signs it (``merchant_approve``)."""
    values = merchant_details_clean(**details)
    _count_application(ip_address)
    creator = created_by if getattr(created_by, "is_authenticated", False) else None
    return Merchant.objects.create(**values, status=Merchant.Status.APPLIED, created_by=creator)


def ensure_merchant_reviewer(user, merchant: Merchant) -> None:
    """Staff who may review this merchant: the merchants permission and the region in their subtree."""
    if not (getattr(user, "is_authenticated", False) and user.is_staff):
        raise PermissionDenied(_("只有工会工作人员可以审核商家。"))
    if not user.has_perm("merchants.change_merchant"):
        raise PermissionDenied(_("您没有审核商家的权限。"))
    if not user_can_reach_union(user, merchant.region):
        raise PermissionDenied(_("该商家不在您的管理范围内。"))


def _transition(
    *, merchant: Merchant, reviewed_by, from_statuses, to_status: str, reason: str = "", **extra
) -> Merchant:
    ensure_merchant_reviewer(reviewed_by, merchant)
    previous = merchant.status
    updated = Merchant.objects.filter(pk=merchant.pk, status__in=list(from_statuses)).update(
        status=to_status,
        status_reason=reason,
        reviewed_by=reviewed_by,
        reviewed_at=timezone.now(),
        **extra,
    )
    if updated != 1:
        message = _("商家当前状态为“%(status)s”，不能执行此操作。")
        raise Conflict(message % {"status": merchant.get_status_display()})
    # Its tills open or close with it: this web process reads its keys anew (merchants.apikeys), now
    # and once the change is committed; the others within POS_KEY_CACHE_SECONDS.
    forget_keys()
    transaction.on_commit(forget_keys)
    merchant.refresh_from_db()
    audit_record(
        actor=reviewed_by,
        action=AuditEvent.Action.MERCHANT_REVIEWED,
        target=merchant,
        union_path=merchant.region.path,
        data={
            "from": previous,
            "to": to_status,
            "reason": reason,
            **{key: str(value) for key, value in extra.items()},
        },
    )
    return merchant


@transaction.atomic
def merchant_approve(
    *, merchant: Merchant, reviewed_by, contract_start: date | None, contract_end: date | None
) -> Merchant:
    """Sign the merchant (an application, a rejected or a suspended one) for the contract period; by
    someone other than the staff member who entered it."""
    if contract_start is None or contract_end is None:
        raise _fail("contract_end", _("批准签约时须填写合作开始和结束日期。"))
    if contract_end < contract_start:
        raise _fail("contract_end", _("合作结束日期不能早于开始日期。"))
    ensure_merchant_reviewer(reviewed_by, merchant)
    ensure_second_person(
        actor=reviewed_by, creator_id=merchant.created_by_id, target=merchant, what=_("批准商家签约")
    )
    return _transition(
        merchant=merchant,
        reviewed_by=reviewed_by,
        from_statuses=[Merchant.Status.APPLIED, Merchant.Status.REJECTED, Merchant.Status.SUSPENDED],
        to_status=Merchant.Status.APPROVED,
        contract_start=contract_start,
        contract_end=contract_end,
    )


@transaction.atomic
def merchant_reject(*, merchant: Merchant, reviewed_by, reason: str) -> Merchant:
    reason = (reason or "").strip()
    if not reason:
        raise _fail("reason", _("请填写不予通过的原因。"))
    return _transition(
        merchant=merchant,
        reviewed_by=reviewed_by,
        from_statuses=[Merchant.Status.APPLIED],
        to_status=Merchant.Status.REJECTED,
        reason=reason,
    )


@transaction.atomic
def merchant_suspend(*, merchant: Merchant, reviewed_by, reason: str) -> Merchant:
    """Suspended merchants disappear from the member pages and their portal closes."""
    reason = (reason or "").strip()
    if not reason:
        raise _fail("reason", _("请填写暂停合作的原因。"))
    return _transition(
        merchant=merchant,
        reviewed_by=reviewed_by,
        from_statuses=[Merchant.Status.APPROVED],
        to_status=Merchant.Status.SUSPENDED,
        reason=reason,
    )


def store_validate(*, merchant: Merchant, name: str, region: Union, address: str, latitude, longitude):
    """The rules of a store, for the portal, the admin inline and the services alike."""
    if not name.strip():
        raise _fail("name", _("请填写门店名称。"))
    if not address.strip():
        raise _fail("address", _("请填写门店地址。"))
    if not merchant.region.contains(region) and not region.contains(merchant.region):
        raise _fail("region", _("门店须位于商家所在地区内。"))
    if (latitude is None) != (longitude is None):
        raise _fail("latitude", _("经纬度须同时填写或同时留空。"))
    if latitude is not None and not Decimal("-90") <= Decimal(latitude) <= Decimal("90"):
        raise _fail("latitude", _("纬度须在 -90 到 90 之间。"))
    if longitude is not None and not Decimal("-180") <= Decimal(longitude) <= Decimal("180"):
        raise _fail("longitude", _("经度须在 -180 到 180 之间。"))


@transaction.atomic
def store_create(
    *,
    merchant: Merchant,
    name: str,
    region: Union,
    address: str,
    phone: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    is_active: bool = True,
) -> Store:
    store_validate(
        merchant=merchant, name=name, region=region, address=address, latitude=latitude, longitude=longitude
    )
    return Store.objects.create(
        merchant=merchant,
        name=name.strip(),
        region=region,
        address=address.strip(),
        phone=phone.strip(),
        latitude=latitude,
        longitude=longitude,
        is_active=is_active,
    )


@transaction.atomic
def store_update(
    *,
    store: Store,
    name: str,
    region: Union,
    address: str,
    phone: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    is_active: bool = True,
) -> Store:
    store_validate(
        merchant=store.merchant,
        name=name,
        region=region,
        address=address,
        latitude=latitude,
        longitude=longitude,
    )
    store.name = name.strip()
    store.region = region
    store.address = address.strip()
    store.phone = phone.strip()
    store.latitude = latitude
    store.longitude = longitude
    store.is_active = is_active
    store.save(update_fields=["name", "region", "address", "phone", "latitude", "longitude", "is_active"])
    return store


def merchant_username(merchant: Merchant, login: str) -> str:
    """The sign-in name of a merchant user: the login the manager chose, under the merchant's own
    prefix (``m12-li``). Names are unique across the portal, so a free choice would tell whoever
    picks one which names exist — staff included; under the prefix, a manager can only ever meet
    its own merchant's names. A login typed with the prefix is taken as it is."""
    prefix = f"m{merchant.pk}-"
    login = login.strip()
    if login.lower().startswith(prefix):
        login = login[len(prefix) :]
    return f"{prefix}{login}" if login else ""


@transaction.atomic
def merchant_user_create(
    *,
    merchant: Merchant,
    username: str,
    password: str,
    role: str,
    store: Store | None = None,
    display_name: str = "",
    created_by=None,
) -> MerchantUser:
    """A sign-in for the merchant portal, named by ``merchant_username``. Merchant users are never
    staff. The new account and its role are in the audit log."""
    user_model = get_user_model()
    username = merchant_username(merchant, username)
    if not username:
        raise _fail("username", _("请填写用户名。"))
    try:
        user_model.username_validator(username)
    except DjangoValidationError as error:
        raise _fail("username", _("用户名只能包含字母、数字和 @ . + - _。")) from error
    if len(username) > user_model._meta.get_field("username").max_length:
        raise _fail("username", _("用户名过长。"))
    if role not in MerchantUser.Role.values:
        raise _fail("role", _("角色无效。"))
    _ensure_own_store(merchant, store)
    if user_model.objects.filter(username__iexact=username).exists():
        raise _fail("username", _("该用户名已被使用，请换一个。"))
    user = user_model(username=username, first_name=display_name.strip(), is_staff=False)
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationFailed(error.messages[0], fields={"password": error.messages}) from error
    user.set_password(password)
    user.save()
    membership = MerchantUser.objects.create(user=user, merchant=merchant, role=role, store=store)
    audit_record(
        actor=created_by if getattr(created_by, "is_authenticated", False) else None,
        action=AuditEvent.Action.USER_ROLES_CHANGED,
        target=membership,
        label=f"{merchant.name} · {username}",
        union_path=merchant.region.path,
        data={"action": "create", "role": role, "store": store.pk if store else None},
    )
    return membership


def _ensure_own_store(merchant: Merchant, store: Store | None) -> None:
    """A merchant user's store (the one a cashier's till is pinned to) is one of its own merchant's."""
    if store is not None and store.merchant_id != merchant.pk:
        raise _fail("store", _("门店不属于该商家。"))


@transaction.atomic
def merchant_user_update(
    *, merchant_user: MerchantUser, role: str, store: Store | None, changed_by
) -> MerchantUser:
    """Change a merchant user's role or store (staff, in the admin). Only the merchant's own stores;
    the change is in the audit log."""
    if role not in MerchantUser.Role.values:
        raise _fail("role", _("角色无效。"))
    locked = (
        MerchantUser.objects.select_for_update().select_related("merchant__region").get(pk=merchant_user.pk)
    )
    _ensure_own_store(locked.merchant, store)
    changes = {}
    if locked.role != role:
        changes["role"] = {"old": locked.role, "new": role}
    if locked.store_id != (store.pk if store else None):
        changes["store"] = {"old": locked.store_id, "new": store.pk if store else None}
    if not changes:
        return locked
    MerchantUser.objects.filter(pk=locked.pk).update(role=role, store=store)
    locked.role, locked.store = role, store
    audit_record(
        actor=changed_by,
        action=AuditEvent.Action.USER_ROLES_CHANGED,
        target=locked,
        label=f"{locked.merchant.name} · {locked.user.username}",
        union_path=locked.merchant.region.path,
        data=changes,
    )
    merchant_user.role, merchant_user.store = role, store
    return locked


@transaction.atomic
def merchant_user_set_active(*, merchant_user: MerchantUser, is_active: bool, changed_by) -> MerchantUser:
    """Disable (or re-enable) a cashier's sign-in; managers cannot lock themselves out."""
    if changed_by is not None and merchant_user.user_id == changed_by.pk and not is_active:
        raise Conflict(_("不能停用自己的账号。"))
    user = merchant_user.user
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    return merchant_user

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    name_en = models.CharField(_("英文名称"), max_length=60)
    icon = models.CharField(_("图标"), max_length=8, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("商家分类")
        verbose_name_plural = _("商家分类")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the page's language: 休闲娱乐, or Entertainment on an English page."""
        return self.name_en if get_language() == "en" and self.name_en else self.name


# The comparisons of the open rule, as Python operators and as the ORM lookups that mean the same.
_LOOKUPS: dict[Callable, str] = {operator.eq: "exact", operator.le: "lte", operator.ge: "gte"}


def _open_terms(day: date) -> tuple[tuple[str, Callable, object, bool], ...]:
    """The merchant-open rule, once: (field, comparison, value, a missing value passes). A merchant
    is open on ``day`` when it is signed (approved) and ``day`` lies inside its contract; a missing
    contract date is open-ended. ``Merchant.open_q`` (SQL) and ``Merchant.closed_by`` (an instance)
    are both built from these terms, so the listings, the POS keys, the till and the redemption
    service cannot drift apart."""
    return (
        ("status", operator.eq, Merchant.Status.APPROVED, False),
        ("contract_start", operator.le, day, True),
        ("contract_end", operator.ge, day, True),
    )


class MerchantQuerySet(models.QuerySet):
    def open_on(self, day: date | None = None) -> MerchantQuerySet:
        """Merchants open on ``day`` (default: today, the local day)."""
        return self.filter(Merchant.open_q(day or timezone.localdate()))


class Merchant(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("待审核")
        APPROVED = "approved", _("已签约")
        REJECTED = "rejected", _("未通过")
        SUSPENDED = "suspended", _("已暂停")

    name = models.CharField(_("商家名称"), max_length=120)
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="merchants"
    )
    region = models.ForeignKey(
        "members.Union",
        verbose_name=_("所在地区"),
        on_delete=models.PROTECT,
        related_name="merchants",
        help_text=_("商家所在的市或县级工会；由该工会及其上级审核。"),
    )
    licence_number = models.CharField(_("统一社会信用代码"), max_length=32, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=60)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    contact_email = models.EmailField(_("电子邮箱"), blank=True)
    description = models.TextField(_("简介"), blank=True)
    # Drawn again by portal.images before it is stored (merchants.pictures); none: the category's own.
    picture = models.ImageField(_("图片"), upload_to="pictures/merchants/", blank=True, max_length=255)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.APPLIED)
    status_reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    contract_start = models.DateField(_("合作开始"), null=True, blank=True)
    contract_end = models.DateField(_("合作结束"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("录入该商家的工作人员；公开申请的商家为空。批准签约须由录入人以外的人完成。"),
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    # The integrators' sandbox (discounts.sandbox): its test keys act here, on test cards only; it is
    # never listed to members, never owed money, and its redemptions never reach a real member.
    is_sandbox = models.BooleanField(_("测试商户"), default=False, editable=False)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        verbose_name = _("商家")
        verbose_name_plural = _("商家")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["status", "category"]), models.Index(fields=["region"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(contract_end__isnull=True)
                | Q(contract_start__isnull=True)
                | Q(contract_end__gte=models.F("contract_start")),
                name="merchant_contract_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def open_q(day: date, prefix: str = "") -> Q:
        """The open rule as a filter; ``prefix`` reaches the merchant from another model
        (``"merchant__"``)."""
        condition = Q()
        for field, compare, value, missing_passes in _open_terms(day):
            term = Q(**{f"{prefix}{field}__{_LOOKUPS[compare]}": value})
            if missing_passes:
                term |= Q(**{f"{prefix}{field}__isnull": True})
            condition &= term
        return condition

    def closed_by(self, day: date) -> str | None:
        """The field of the first term of the open rule this merchant fails on ``day`` (``status``,
        ``contract_start`` or ``contract_end``), or None when it is open. Reads only those three
        columns, so it costs no query on a row read with them."""
        for field, compare, value, missing_passes in _open_terms(day):
            current = getattr(self, field)
            if current is None:
                if not missing_passes:
                    return field
            elif not compare(current, value):
                return field
        return None

    def is_open_on(self, day: date) -> bool:
        return self.closed_by(day) is None


class Store(models.Model):
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("商家"), on_delete=models.CASCADE, related_name="stores"
    )
    name = models.CharField(_("门店名称"), max_length=120)
    region = models.ForeignKey(
        "members.Union", verbose_name=_("所在区县"), on_delete=models.PROTECT, related_name="stores"
    )
    address = models.CharField(_("地址"), max_length=255)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(_("营业中"), default=True)

    class Meta:
        verbose_name = _("门店")
        verbose_name_plural = _("门店")
        ordering = ["merchant", "id"]

    def __str__(self) -> str:
        return f"{self.merchant.name} · {self.name}" if self.merchant_id else self.name


class MerchantUser(models.Model):
    """Links a sign-in (portal.User) to a merchant as its manager or a cashier."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("店长/管理员")
        CASHIER = "cashier", _("收银员")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="merchant_user",
    )
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("商家"), on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    store = models.ForeignKey(
        Store,
        verbose_name=_("所属门店"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("收银员只能在该门店核销；留空表示全部门店。"),
    )

    class Meta:
        verbose_name = _("商家用户")
        verbose_name_plural = _("商家用户")

    def __str__(self) -> str:
        return f"{self.user.username} ({self.get_role_display()})"


class ApiKey(models.Model):
    """A POS API key. The full key is shown once; only its SHA-256 and a visible prefix are stored."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("商家"), on_delete=models.CASCADE, related_name="api_keys"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("限定门店"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("限定后，此密钥只能为该门店核销。"),
    )
    name = models.CharField(_("名称"), max_length=80)
    prefix = models.CharField(_("前缀"), max_length=16, unique=True)
    key_hash = models.CharField(_("密钥摘要"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    # A test key (``pk_test_…``) acts on the sandbox merchant; this is the merchant whose integrator
    # holds it, who sees and revokes it beside the live keys.
    sandbox_for = models.ForeignKey(
        Merchant,
        verbose_name=_("测试密钥所属商家"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.CASCADE,
        related_name="test_keys",
    )

    class Meta:
        verbose_name = _("POS API 密钥")
        verbose_name_plural = _("POS API 密钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_test(self) -> bool:
        return self.sandbox_for_id is not None

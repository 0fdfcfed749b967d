"""The members' online shop (网上购): a partner merchant's products at a member price, and members'
orders of them. Stock and the per-member limit are counters taken with guarded statements
(shop.services); nothing here changes them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("上架")
        ENDED = "ended", _("已下架")

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.PROTECT, related_name="products"
    )
    title = models.CharField(_("商品名称"), max_length=120)
    description = models.TextField(_("商品说明"), blank=True)
    market_price = models.DecimalField(_("市场价"), max_digits=10, decimal_places=2)
    member_price = models.DecimalField(_("会员价"), max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(_("库存"), default=0)
    per_member_limit = models.PositiveIntegerField(
        _("每人限购"), null=True, blank=True, help_text=_("留空表示不限。")
    )
    valid_from = models.DateField(_("开售日期"))
    valid_until = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("网上购商品")
        verbose_name_plural = _("网上购商品")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(member_price__gt=0) & Q(member_price__lt=F("market_price")),
                name="shop_product_member_price_below_market",
                violation_error_message=_("会员价须大于0且低于市场价。"),
            ),
            models.CheckConstraint(condition=Q(stock__gte=0), name="shop_product_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(per_member_limit__isnull=True) | Q(per_member_limit__gte=1),
                name="shop_product_limit_positive",
                violation_error_message=_("每人限购须至少为1件。"),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")),
                name="shop_product_window_in_order",
                violation_error_message=_("截止日期不能早于开售日期。"),
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_until"])]

    def __str__(self) -> str:
        return self.title

    @property
    def saving(self):
        return self.market_price - self.member_price


class Order(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", _("待使用")
        CONFIRMED = "confirmed", _("已使用")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")

    product = models.ForeignKey(
        Product, verbose_name=_("商品"), on_delete=models.PROTECT, related_name="orders"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.PROTECT, related_name="shop_orders"
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.PROTECT, related_name="shop_orders"
    )
    card = models.ForeignKey(
        "members.Card", verbose_name=_("会员卡"), on_delete=models.PROTECT, related_name="shop_orders"
    )
    quantity = models.PositiveIntegerField(_("数量"))
    unit_price = models.DecimalField(_("会员单价"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    code = models.CharField(_("订单码"), max_length=12, unique=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.RESERVED)
    reserved_at = models.DateTimeField(_("预订时间"))
    expires_at = models.DateTimeField(_("过期时间"))
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_api_key = models.ForeignKey(
        "merchants.ApiKey",
        verbose_name=_("确认所用 API 密钥"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网上购订单")
        verbose_name_plural = _("网上购订单")
        ordering = ["-reserved_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shop_order_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["merchant", "status", "confirmed_at"]),
            models.Index(fields=["member", "-reserved_at"]),
        ]

    def __str__(self) -> str:
        return self.code


class MemberProductCounter(models.Model):
    """What one member holds of one product (reserved and confirmed, not given back): the per-member
    limit is taken on this row with one guarded statement."""

    product = models.ForeignKey(Product, verbose_name=_("商品"), on_delete=models.CASCADE)
    member = models.ForeignKey("members.Member", verbose_name=_("会员"), on_delete=models.CASCADE)
    reserved = models.PositiveIntegerField(_("已订数量"), default=0)

    class Meta:
        verbose_name = _("会员限购计数")
        verbose_name_plural = _("会员限购计数")
        constraints = [
            models.UniqueConstraint(fields=["product", "member"], name="shop_counter_one_per_member"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="shop_counter_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.member_id}: {self.reserved}"

"""The discounts app's tables: offers and their live-limit changes, the quota and member counters the
SQL function takes (discounts/sql/redemption_take.sql), redemptions, idempotency records, voucher codes,
saved offers and search synonyms.

Longer than most modules because it is one app's whole schema, and the counters, the redemption row
and the SQL function that writes them must be read together."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 12, "decimal_places": 2}


class Offer(models.Model):
    """A benefit (优惠) of a merchant, the union or a bank. Rules are columns so they can be checked in
    SQL; counters that enforce them live in their own rows (OfferDayCounter and friends)."""

    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", _("折扣")
        AMOUNT_OFF = "amount_off", _("满减")
        FIXED_PRICE = "fixed_price", _("特价")
        ALLOWANCE = "allowance", _("工会补贴")

    class Funder(models.TextChoices):
        MERCHANT = "merchant", _("商家让利")
        UNION = "union", _("工会出资")
        BANK = "bank", _("银行出资")
        COFUNDED = "cofunded", _("商家与工会共担")

    class Channel(models.TextChoices):
        IN_STORE = "in_store", _("到店使用")
        ONLINE = "online", _("线上领券")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已驳回")
        PUBLISHED = "published", _("已发布")
        PAUSED = "paused", _("已暂停")
        ENDED = "ended", _("已结束")

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.PROTECT, related_name="offers"
    )
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("说明"), blank=True)
    # Drawn again by portal.images before it is stored; none: the merchant's picture (discounts.pictures).
    picture = models.ImageField(_("图片"), upload_to="pictures/offers/", blank=True, max_length=255)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    percent_off = models.DecimalField(
        _("折扣比例(%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("优惠的百分比，例如 12 表示 88 折。"),
    )
    amount_off = models.DecimalField(_("减免金额"), null=True, blank=True, **MONEY)
    min_spend = models.DecimalField(_("最低消费"), null=True, blank=True, **MONEY)
    fixed_price = models.DecimalField(_("特价(每份)"), null=True, blank=True, **MONEY)
    allowance_per_unit = models.DecimalField(_("每份补贴"), null=True, blank=True, **MONEY)
    unit_label = models.CharField(_("单位"), max_length=10, default="份", help_text=_("如 张、天、份。"))
    funder = models.CharField(_("出资方"), max_length=16, choices=Funder.choices, default=Funder.MERCHANT)
    bank = models.ForeignKey(
        "members.PartnerBank", verbose_name=_("出资银行"), null=True, blank=True, on_delete=models.PROTECT
    )
    budget_owner = models.ForeignKey(
        "members.Union",
        verbose_name=_("预算归属工会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="funded_offers",
    )
    budget = models.DecimalField(_("补贴预算"), null=True, blank=True, **MONEY)
    # A co-funded offer's union share of each discount: a fixed amount per unit, or a percentage of the
    # discount (one of the two); the merchant bears the rest (discounts.rules.compute_amounts).
    union_share_per_unit = models.DecimalField(_("工会每份分担"), null=True, blank=True, **MONEY)
    union_share_percent = models.DecimalField(
        _("工会分担比例(%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    fund = models.ForeignKey(
        "funds.Fund",
        verbose_name=_("普惠资金"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
        help_text=_("工会分担部分在每笔核销时从该资金支出，撤销时退回；审核通过时选定。"),
    )
    budget_used = models.DecimalField(_("已用预算"), default=Decimal("0.00"), editable=False, **MONEY)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.IN_STORE)
    valid_from = models.DateField(_("开始日期"))
    valid_until = models.DateField(_("结束日期"))
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(),
        verbose_name=_("适用星期"),
        default=list,
        blank=True,
        help_text=_("1=周一 … 7=周日；留空表示每天。"),
    )
    time_from = models.TimeField(_("每日开始时间"), null=True, blank=True)
    time_until = models.TimeField(_("每日结束时间"), null=True, blank=True)
    daily_quota = models.PositiveIntegerField(
        _("每日名额"), null=True, blank=True, help_text=_("留空表示不限量。")
    )
    per_member_daily_limit = models.PositiveIntegerField(_("每人每日限用"), null=True, blank=True)
    per_member_total_limit = models.PositiveIntegerField(_("每人累计限用"), null=True, blank=True)
    eligible_union = models.ForeignKey(
        "members.Union",
        verbose_name=_("适用工会范围"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("仅该工会及下级工会的会员可用；留空表示全省会员。"),
    )
    eligible_groups = ArrayField(
        models.CharField(max_length=32),
        verbose_name=_("适用群体"),
        default=list,
        blank=True,
        help_text=_("留空表示所有会员。"),
    )
    stores = models.ManyToManyField(
        "merchants.Store",
        verbose_name=_("适用门店"),
        blank=True,
        related_name="offers",
        help_text=_("留空表示该商家全部门店。"),
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("提交审核时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("优惠")
        verbose_name_plural = _("优惠")
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "valid_from", "valid_until"]),
            models.Index(fields=["merchant", "status"]),
            # The member list's default order: a page is read off this index instead of sorting
            # every listed offer.
            models.Index(
                F("published_at").desc(nulls_last=True),
                F("id").desc(),
                condition=Q(status="published"),
                name="offer_listed_order_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="offer_dates_ordered"),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gt=0, percent_off__lte=100),
                name="offer_percent_in_range",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")),
                name="offer_budget_not_exceeded",
            ),
            models.CheckConstraint(condition=Q(budget_used__gte=0), name="offer_budget_used_not_negative"),
            models.CheckConstraint(
                condition=Q(union_share_per_unit__isnull=True) | Q(union_share_percent__isnull=True),
                name="offer_union_share_one_way",
            ),
            models.CheckConstraint(
                condition=Q(union_share_percent__isnull=True)
                | Q(union_share_percent__gt=0, union_share_percent__lte=100),
                name="offer_union_share_percent_in_range",
            ),
            models.CheckConstraint(
                condition=Q(union_share_per_unit__isnull=True) | Q(union_share_per_unit__gt=0),
                name="offer_union_share_per_unit_positive",
            ),
        ]
        permissions = [("review_offer", _("可以审核优惠"))]

    def __str__(self) -> str:
        return self.title

    @property
    def is_per_unit(self) -> bool:
        """Whether the money depends on how many units are bought (a fixed price or an allowance per
        unit): only then does the till ask for a quantity (discounts.rules.compute_amounts)."""
        return self.kind in (self.Kind.FIXED_PRICE, self.Kind.ALLOWANCE)

    @property
    def draws_on_fund(self) -> bool:
        """Whether the union pays a share of each redemption at the till — a union-funded or co-funded
        offer used in store — and so needs a fund to take it from (chosen when the offer is approved)."""
        return (
            self.funder in (self.Funder.UNION, self.Funder.COFUNDED)
            and self.channel == self.Channel.IN_STORE
            and self.kind != self.Kind.ALLOWANCE
        )


class OfferLimitChange(models.Model):
    """Audit trail of a live offer's quota, limits or budget: who changed what, when, from and to."""

    offer = models.ForeignKey(
        Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="limit_changes"
    )
    field = models.CharField(_("项目"), max_length=40)
    old_value = models.CharField(_("原值"), max_length=40, blank=True)
    new_value = models.CharField(_("新值"), max_length=40, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True, on_delete=models.SET_NULL
    )
    changed_at = models.DateTimeField(_("修改时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("名额/预算变更")
        verbose_name_plural = _("名额/预算变更")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return _("%(field)s：%(old)s → %(new)s") % {
            "field": self.field,
            "old": self.old_value or "—",
            "new": self.new_value or "—",
        }


class OfferDayCounter(models.Model):
    """Units used of an offer on one local day: the row the daily quota is enforced on."""

    offer = models.ForeignKey(
        Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="day_counters"
    )
    day = models.DateField(_("日期"))
    used = models.PositiveIntegerField(_("已用次数"), default=0)

    class Meta:
        verbose_name = _("优惠每日计数")
        verbose_name_plural = _("优惠每日计数")
        constraints = [models.UniqueConstraint(fields=["offer", "day"], name="offer_day_counter_unique")]

    def __str__(self) -> str:
        return _("%(day)s 已用%(used)s") % {"day": self.day, "used": self.used}


class MemberOfferDayCounter(models.Model):
    offer = models.ForeignKey(Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("日期"))
    used = models.PositiveIntegerField(_("已用次数"), default=0)

    class Meta:
        verbose_name = _("会员每日计数")
        verbose_name_plural = _("会员每日计数")
        constraints = [
            models.UniqueConstraint(fields=["offer", "member", "day"], name="member_offer_day_counter_unique")
        ]

    def __str__(self) -> str:
        return _("%(day)s 已用%(used)s") % {"day": self.day, "used": self.used}


class MemberOfferTotalCounter(models.Model):
    offer = models.ForeignKey(Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.CASCADE, related_name="+"
    )
    used = models.PositiveIntegerField(_("已用次数"), default=0)

    class Meta:
        verbose_name = _("会员累计计数")
        verbose_name_plural = _("会员累计计数")
        constraints = [
            models.UniqueConstraint(fields=["offer", "member"], name="member_offer_total_counter_unique")
        ]

    def __str__(self) -> str:
        return _("累计已用%(used)s") % {"used": self.used}


class VoucherCode(models.Model):
    """A one-time code of an online offer, handed to at most one member."""

    offer = models.ForeignKey(Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(_("券码"), max_length=64)
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("会员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voucher_codes",
    )
    claimed_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    # The partner reports the use of a claimed code (its till's POS key or its portal): the member's
    # history and the merchant's statement show it (discounts.vouchers.voucher_code_use).
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True, editable=False)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记使用的账号"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    used_api_key = models.ForeignKey(
        "merchants.ApiKey",
        verbose_name=_("登记使用的密钥"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("券码")
        verbose_name_plural = _("券码")
        constraints = [models.UniqueConstraint(fields=["offer", "code"], name="voucher_code_unique")]
        indexes = [
            models.Index(
                fields=["offer", "id"], condition=Q(member__isnull=True), name="voucher_unclaimed_idx"
            ),
            models.Index(fields=["member", "offer"]),
        ]

    def __str__(self) -> str:
        return self.code


def merchant_share(*, discount: Decimal, union_subsidy: Decimal) -> Decimal:
    """What the merchant bears of a discount when the union bears ``union_subsidy`` of it (an
    allowance, paid with no discount, leaves the merchant nothing to bear)."""
    return max(discount - union_subsidy, Decimal("0.00"))


class Redemption(models.Model):
    """One use of an offer at a till (核销). Amounts are exact to the fen."""

    class Status(models.TextChoices):
        COMPLETED = "completed", _("已核销")
        VOIDED = "voided", _("已撤销")

    offer = models.ForeignKey(
        Offer, verbose_name=_("优惠"), on_delete=models.PROTECT, related_name="redemptions"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.PROTECT, related_name="redemptions"
    )
    store = models.ForeignKey(
        "merchants.Store", verbose_name=_("门店"), on_delete=models.PROTECT, related_name="redemptions"
    )
    card = models.ForeignKey(
        "members.Card", verbose_name=_("会员卡"), on_delete=models.PROTECT, related_name="redemptions"
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.PROTECT, related_name="redemptions"
    )
    units = models.PositiveIntegerField(_("数量"), default=1)
    amount = models.DecimalField(_("消费金额"), **MONEY)
    discount = models.DecimalField(_("优惠金额"), **MONEY)
    payable = models.DecimalField(_("实付金额"), **MONEY)
    union_subsidy = models.DecimalField(_("工会补贴"), default=Decimal("0.00"), **MONEY)
    # The fund the union's share was spent from at the till (the offer's fund at that moment, so a
    # void gives back to the same fund whatever the offer names later); none without a union share.
    fund = models.ForeignKey(
        "funds.Fund",
        verbose_name=_("普惠资金"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    funder = models.CharField(_("出资方"), max_length=16, choices=Offer.Funder.choices)
    local_day = models.DateField(_("核销日期"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.COMPLETED)
    idempotency_key = models.CharField(_("幂等键"), max_length=255, blank=True)
    # The till's own receipt or transaction number, if it sends one: a till that lost an answer
    # finds its redemption by it (GET /api/v1/redemptions/?merchant_reference=…). Unique per merchant.
    merchant_reference = models.CharField(_("商户单号"), max_length=64, blank=True, default="")
    # SHA-256 of the member's QR token a redemption was made with: a token serves one completed
    # redemption (see the constraint below), so a photo of a member's QR code is worth nothing.
    member_token_hash = models.CharField(_("会员码摘要"), max_length=64, blank=True, default="")
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        verbose_name=_("收银密钥"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收银员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("核销时间"), auto_now_add=True)
    voided_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    void_reason = models.CharField(_("撤销原因"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("核销记录")
        verbose_name_plural = _("核销记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "local_day"]),
            models.Index(fields=["offer", "local_day"]),
            models.Index(fields=["member", "created_at"]),
            models.Index(fields=["store", "local_day"]),
            # Monthly figures (coverage snapshot, settlement) read one month of rows across offers.
            models.Index(fields=["local_day"], name="redemption_local_day_idx"),
            # A till's lookup of a lost answer by the Idempotency-Key it sent.
            models.Index(
                fields=["merchant", "idempotency_key"],
                name="redemption_idempotency_key_idx",
                condition=~Q(idempotency_key=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=1), name="redemption_units_positive"),
            models.CheckConstraint(
                condition=Q(amount__gte=0, discount__gte=0, payable__gte=0, union_subsidy__gte=0),
                name="redemption_money_not_negative",
            ),
            models.UniqueConstraint(
                fields=["merchant", "merchant_reference"],
                condition=~Q(merchant_reference=""),
                name="redemption_merchant_reference_unique",
            ),
            # The local day is part of it so that a short code a member app may show (reissued some
            # day for the same card) is refused only for that day.
            models.UniqueConstraint(
                fields=["card", "member_token_hash", "local_day"],
                condition=Q(status="completed") & ~Q(member_token_hash=""),
                name="redemption_member_token_once",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.offer_id} {self.amount}"

    @property
    def merchant_share(self) -> Decimal:
        return merchant_share(discount=self.discount, union_subsidy=self.union_subsidy)


class IdempotencyRecord(models.Model):
    """The first answer to an Idempotency-Key of a merchant, replayed for retries within 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("处理中")
        COMPLETED = "completed", _("已完成")

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("幂等键"), max_length=255)
    request_hash = models.CharField(_("请求摘要"), max_length=64)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(_("响应状态码"), null=True, blank=True)
    response_body = models.JSONField(_("响应内容"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_state_display()})"


class SearchSynonym(models.Model):
    """Words members use for the same thing (电影、影城、观影、影院): a search for one finds offers that
    say another. Kept by staff in the admin; ``discounts.filters.OfferFilterSet`` reads the groups of
    a search's words in one query."""

    words = ArrayField(models.CharField(max_length=20), verbose_name=_("同义词"), help_text=_("用逗号分隔"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("搜索同义词")
        verbose_name_plural = _("搜索同义词")
        indexes = [GinIndex(fields=["words"], name="search_synonym_words_gin")]

    def __str__(self) -> str:
        return "、".join(self.words)


class SavedOffer(models.Model):
    """A member saved (收藏) an offer: it shows on "我的收藏" and its quota rises are notified."""

    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.CASCADE, related_name="+"
    )
    offer = models.ForeignKey(
        Offer, verbose_name=_("优惠"), on_delete=models.CASCADE, related_name="saved_by"
    )
    created_at = models.DateTimeField(_("收藏时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("收藏的优惠")
        verbose_name_plural = _("收藏的优惠")
        constraints = [models.UniqueConstraint(fields=["member", "offer"], name="saved_offer_once")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return _("收藏 #%(id)s") % {"id": self.pk}


class SavedMerchant(models.Model):
    """A member saved a merchant: quota rises on any of its offers are notified."""

    member = models.ForeignKey(
        "members.Member", verbose_name=_("会员"), on_delete=models.CASCADE, related_name="+"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商户"), on_delete=models.CASCADE, related_name="saved_by"
    )
    created_at = models.DateTimeField(_("收藏时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("收藏的商户")
        verbose_name_plural = _("收藏的商户")
        constraints = [models.UniqueConstraint(fields=["member", "merchant"], name="saved_merchant_once")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return _("收藏 #%(id)s") % {"id": self.pk}

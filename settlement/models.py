"""Merchant settlement (商家结算): per merchant and month a statement of what the union owes, its
lines (the union shares of redemptions, late voids as adjustments), payment runs that pay approved
statements through the union's bank, and the result files the bank answers with.

Only ``settlement.services`` writes these rows; the admin reads them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class Statement(models.Model):
    """What the union owes one merchant for one local month: draft → confirmed by the merchant (or
    disputed, with a reason) → approved by a second staff member → paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待商家确认")
        DISPUTED = "disputed", _("商家有异议")
        CONFIRMED = "confirmed", _("商家已确认")
        APPROVED = "approved", _("已审批待支付")
        PAID = "paid", _("已支付")

    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("商家"),
        on_delete=models.PROTECT,
        related_name="settlement_statements",
    )
    month = models.DateField(_("月份"), help_text=_("该月的第一天。"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    share_total = models.DecimalField(_("工会分担"), default=ZERO, **MONEY)
    adjustment_total = models.DecimalField(_("跨月撤销调整"), default=ZERO, **MONEY)
    total = models.DecimalField(_("应付合计"), default=ZERO, **MONEY)
    line_count = models.PositiveIntegerField(_("明细笔数"), default=0)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    prepared_at = models.DateTimeField(_("生成时间"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("商家确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    dispute_reason = models.CharField(_("异议原因"), max_length=500, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("结算单")
        verbose_name_plural = _("结算单")
        ordering = ["-month", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "month"], name="statement_one_per_merchant_month"),
            models.CheckConstraint(
                condition=Q(total=models.F("share_total") - models.F("adjustment_total")),
                name="statement_total_is_shares_less_adjustments",
            ),
        ]
        indexes = [models.Index(fields=["month", "status"])]
        permissions = [
            ("prepare_statement", _("可以生成结算单")),
            ("approve_statement", _("可以审批结算单")),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} {self.month:%Y-%m}"

    @property
    def outstanding(self) -> Decimal:
        return ZERO if self.status == self.Status.PAID else self.total


class StatementLine(models.Model):
    """One redemption's union share on the statement of its month (``share``, positive), or its
    reversal on the statement of the later month it was voided in (``adjustment``, negative)."""

    class Kind(models.TextChoices):
        SHARE = "share", _("工会分担")
        ADJUSTMENT = "adjustment", _("跨月撤销")

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("结算单")
    )
    redemption = models.ForeignKey(
        "discounts.Redemption", on_delete=models.PROTECT, related_name="+", verbose_name=_("核销记录")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    offer = models.ForeignKey(
        "discounts.Offer", on_delete=models.PROTECT, related_name="+", verbose_name=_("优惠")
    )
    fund = models.ForeignKey(
        "funds.Fund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("资金"),
    )
    local_day = models.DateField(_("核销日期"))
    amount = models.DecimalField(_("金额"), **MONEY)

    class Meta:
        verbose_name = _("结算明细")
        verbose_name_plural = _("结算明细")
        constraints = [
            # A redemption is owed once and taken back at most once, whatever statement holds it.
            models.UniqueConstraint(fields=["redemption", "kind"], name="statement_line_once_per_kind"),
            models.CheckConstraint(
                condition=(Q(kind="share", amount__gt=0) | Q(kind="adjustment", amount__lt=0)),
                name="statement_line_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} · {self.redemption_id}"


class PaymentRun(models.Model):
    """Approved statements collected into one payment file for the union's bank."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待审批")
        APPROVED = "approved", _("已审批，可下载支付文件")
        CLOSED = "closed", _("已完成")

    union = models.ForeignKey("members.Union", verbose_name=_("付款工会"), on_delete=models.PROTECT)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    total = models.DecimalField(_("支付合计"), default=ZERO, **MONEY)
    line_count = models.PositiveIntegerField(_("笔数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("支付批次")
        verbose_name_plural = _("支付批次")
        ordering = ["-created_at", "-id"]
        permissions = [("manage_paymentrun", _("可以创建、审批支付批次并导入银行回单"))]

    def __str__(self) -> str:
        return f"PR{self.pk}"


class PaymentLine(models.Model):
    """One statement in a payment run (or, without a run, a statement settled otherwise, e.g. a
    negative total offset against the merchant), and what the bank answered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待银行回单")
        PAID = "paid", _("已支付")
        FAILED = "failed", _("支付失败")

    run = models.ForeignKey(
        PaymentRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("支付批次"),
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="payment_lines", verbose_name=_("结算单")
    )
    amount = models.DecimalField(_("金额"), **MONEY)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    message = models.CharField(_("银行说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("支付明细")
        verbose_name_plural = _("支付明细")
        constraints = [
            # A statement is in at most one live payment: a failed line frees it for the next run.
            models.UniqueConstraint(
                fields=["statement"],
                condition=~Q(status="failed"),
                name="payment_line_one_live_per_statement",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"PL{self.pk}"


class PaymentResultUpload(models.Model):
    """A result file of the bank for a run, processed by a worker; its per-row outcome is kept."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        DONE = "done", _("已处理")
        FAILED = "failed", _("文件无法读取")

    run = models.ForeignKey(
        PaymentRun, on_delete=models.PROTECT, related_name="result_uploads", verbose_name=_("支付批次")
    )
    file = models.FileField(upload_to="settlement/results/%Y/%m/", verbose_name=_("结果文件"))
    original_filename = models.CharField(max_length=255, verbose_name=_("文件名"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.CharField(max_length=500, blank=True, verbose_name=_("说明"))
    results = models.JSONField(default=list, blank=True, verbose_name=_("逐行结果"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("上传人"),
    )
    created_at = models.DateTimeField(verbose_name=_("上传时间"))

    class Meta:
        verbose_name = _("银行回单")
        verbose_name_plural = _("银行回单")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.run_id} · {self.original_filename}"

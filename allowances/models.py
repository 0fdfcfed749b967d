"""Hospital allowance claims: a member's stay in hospital, the bill paid with the union card, and the
allowance the union pays onto the card (rate × days, capped), and the payout runs that pay it. Only
``allowances.services`` and ``allowances.payouts`` change them; the money moves in ``funds.services``
with the claim as its reference."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from banking.models import BankFile, CardTransaction
from funds.models import Fund
from members.models import Card, Member, PartnerBank, Union


class Claim(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")
        PAYING = "paying", _("发放中")
        PAID = "paid", _("已到账")
        FAILED = "failed", _("发放失败")
        CANCELLED = "cancelled", _("已取消")

    # Approved and not given up: the days count against the year, the money stays committed.
    COUNTED = (Status.APPROVED, Status.PAYING, Status.PAID, Status.FAILED)

    member = models.ForeignKey(Member, verbose_name=_("会员"), on_delete=models.PROTECT, related_name="+")
    # The member's union when the claim was opened: scope and the fund that pays read it.
    union = models.ForeignKey(Union, verbose_name=_("工会"), on_delete=models.PROTECT, related_name="+")
    union_path = models.CharField(max_length=255, db_index=True, verbose_name=_("工会路径"))
    hospital = models.CharField(_("医院"), max_length=100)
    admitted_on = models.DateField(_("入院日期"))
    discharged_on = models.DateField(_("出院日期"))
    bill_fen = models.BigIntegerField(_("医疗费用（分）"))
    payment = models.ForeignKey(
        CardTransaction,
        verbose_name=_("用卡支付记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    paid_otherwise = models.BooleanField(_("其他方式支付"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    days = models.PositiveIntegerField(_("补贴天数"), default=0)
    amount_fen = models.BigIntegerField(_("补贴金额（分）"), default=0)
    fund = models.ForeignKey(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("资金")
    )
    decision_note = models.CharField(_("审核说明"), max_length=300, blank=True)
    paid_on = models.DateField(_("到账日期"), null=True, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审核人"),
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("住院补贴申请")
        verbose_name_plural = _("住院补贴申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_on__gte=F("admitted_on")), name="claim_dates_ordered"
            ),
            models.CheckConstraint(condition=Q(bill_fen__gt=0), name="claim_bill_positive"),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="claim_amount_not_negative"),
            # A card payment pays one stay.
            models.UniqueConstraint(fields=["payment"], name="claim_payment_once"),
        ]

    def __str__(self) -> str:
        return f"{self.hospital} {self.admitted_on:%Y-%m-%d}"


class PayoutRun(models.Model):
    """Approved claims of one bank's cards paid in one credit file: made by one staff member, released
    by another (the file is then written for the bank), closed when the bank's result has answered
    every line."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待发放")
        RELEASED = "released", _("已发出，待银行结果")
        CLOSED = "closed", _("已结清")

    bank = models.ForeignKey(PartnerBank, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")
    union = models.ForeignKey(Union, verbose_name=_("工会"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    line_count = models.PositiveIntegerField(_("笔数"), default=0)
    total_fen = models.BigIntegerField(_("总金额（分）"), default=0)
    credit_file = models.ForeignKey(
        BankFile,
        verbose_name=_("入账文件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发放人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(_("发放时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结清时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("补贴发放批次")
        verbose_name_plural = _("补贴发放批次")
        ordering = ["-created_at", "-id"]
        permissions = [("manage_payoutrun", _("可以创建和发放住院补贴发放批次"))]

    def __str__(self) -> str:
        return f"{self.bank.name} · {self.created_at:%Y-%m-%d} · #{self.pk}"


class PayoutLine(models.Model):
    """One claim's credit in a run. Its reference is what the bank answers with."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待银行结果")
        CREDITED = "credited", _("已入账")
        FAILED = "failed", _("入账失败")

    run = models.ForeignKey(
        PayoutRun, verbose_name=_("发放批次"), on_delete=models.PROTECT, related_name="lines"
    )
    claim = models.ForeignKey(
        Claim, verbose_name=_("补贴申请"), on_delete=models.PROTECT, related_name="payout_lines"
    )
    card = models.ForeignKey(Card, verbose_name=_("会员卡"), on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField(_("金额（分）"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    credited_on = models.DateField(_("入账日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("补贴发放明细")
        verbose_name_plural = _("补贴发放明细")
        ordering = ["run", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payout_line_amount_positive"),
            # A claim is in one run at a time: a failed line may be retried in a later run.
            models.UniqueConstraint(
                fields=["claim"], condition=Q(status="pending"), name="payout_line_one_pending_per_claim"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """What the credit file names the line by and the bank's result answers with."""
        return f"BT{self.pk:010d}"

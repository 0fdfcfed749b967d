"""Hospital allowance claims: a member's stay in hospital, the bill paid with the union card, and the
allowance the union pays onto the card (rate × days, capped). Only ``allowances.services`` changes
a claim; the money moves in ``funds.services`` with the claim as its reference."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from banking.models import CardTransaction
from funds.models import Fund
from members.models import Member, Union


class Claim(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")

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

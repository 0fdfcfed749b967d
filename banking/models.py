"""The files exchanged with each partner bank, what each line of them did, and what they brought in.

- :class:`BankFile` — one file, in or out, kept as it was; an inbound file is known by the SHA-256 of
  its content, so the same file uploaded twice is the same row and changes nothing the second time.
- :class:`BankFileLine` — the result of one line of a file (applied, unchanged or refused, and why).
- :class:`IssuanceResult` — the bank's answer for one card applied for: the account opened with the
  number the bank assigned, or a rejection with its reason (the workplace union's to-do). One per card.
- :class:`CardChange` — one change of a card's status that went out in a card-changes file: the
  same change never goes out twice.
- :class:`CardTransaction` — one payment with a card, from the bank's daily transactions file.
- :class:`BankStaff` — a user who works for a bank: sees and exchanges that bank's files only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Card, PartnerBank, Union


class BankStaff(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="bank_staff"
    )
    bank = models.ForeignKey(PartnerBank, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("银行工作人员")
        verbose_name_plural = _("银行工作人员")

    def __str__(self) -> str:
        return f"{self.user} · {self.bank}"


def bank_file_path(bank_file: BankFile, filename: str) -> str:
    return f"bank-exchange/{bank_file.bank.code}/{bank_file.kind}/{filename}"


class BankFile(models.Model):
    class Kind(models.TextChoices):
        ISSUANCE_RESULT = "issuance_result", _("制卡结果（银行→工会）")
        CARD_CHANGES = "card_changes", _("卡片变更（工会→银行）")
        TRANSACTIONS = "transactions", _("卡交易明细（银行→工会）")
        ALLOWANCE_CREDITS = "allowance_credits", _("补贴入账（工会→银行）")
        CREDIT_RESULT = "credit_result", _("补贴入账结果（银行→工会）")

    INBOUND = (Kind.ISSUANCE_RESULT, Kind.TRANSACTIONS, Kind.CREDIT_RESULT)

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("待处理")
        PROCESSING = "processing", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    bank = models.ForeignKey(PartnerBank, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("文件类型"), max_length=32, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=bank_file_path, max_length=255)
    original_filename = models.CharField(_("文件名"), max_length=255)
    content_hash = models.CharField(_("内容摘要 (SHA-256)"), max_length=64)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    status_message = models.CharField(_("说明"), max_length=500, blank=True)
    total_lines = models.PositiveIntegerField(_("总行数"), default=0)
    applied_lines = models.PositiveIntegerField(_("已处理行数"), default=0)
    unchanged_lines = models.PositiveIntegerField(_("无变化行数"), default=0)
    error_lines = models.PositiveIntegerField(_("错误行数"), default=0)
    # An export: the changes it holds happened up to this moment.
    changes_until = models.DateTimeField(_("变更截至"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("银行文件")
        verbose_name_plural = _("银行文件")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("exchange_bankfile", _("可以上传和生成银行往来文件")),
            ("download_bankfile", _("可以下载银行往来文件（含完整卡号）")),
        ]
        constraints = [
            # The same content for the same bank and kind is one file: a re-upload finds it.
            models.UniqueConstraint(fields=["bank", "kind", "content_hash"], name="bank_file_content_once"),
        ]
        indexes = [models.Index(fields=["bank", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.bank.name} · {self.get_kind_display()} · {self.original_filename}"

    @property
    def is_inbound(self) -> bool:
        return self.kind in self.INBOUND


class BankFileLine(models.Model):
    class Outcome(models.TextChoices):
        APPLIED = "applied", _("已处理")
        UNCHANGED = "unchanged", _("已处理过，无变化")
        ERROR = "error", _("有误")

    file = models.ForeignKey(
        BankFile, on_delete=models.CASCADE, related_name="lines", verbose_name=_("银行文件")
    )
    line_number = models.PositiveIntegerField(_("行号"))
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("会员卡")
    )

    class Meta:
        verbose_name = _("文件行结果")
        verbose_name_plural = _("文件行结果")
        ordering = ["file", "line_number"]
        constraints = [models.UniqueConstraint(fields=["file", "line_number"], name="bank_file_line_once")]

    def __str__(self) -> str:
        return f"{self.file_id} · {self.pk}"


class IssuanceResult(models.Model):
    """The bank's answer for one card applied for. ``card`` is unique: a card is answered once, and a
    second answer for it (another file, a re-upload) is a line "unchanged" or an error."""

    class Outcome(models.TextChoices):
        OPENED = "opened", _("已开户")
        REJECTED = "rejected", _("银行拒绝")

    card = models.OneToOneField(
        Card, on_delete=models.PROTECT, related_name="issuance_result", verbose_name=_("会员卡")
    )
    # The member's workplace union when the answer came: whose to-do a rejection is (scoped by path).
    union = models.ForeignKey(Union, on_delete=models.PROTECT, related_name="+", verbose_name=_("基层工会"))
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    application_number = models.CharField(_("申请编号"), max_length=19, db_index=True)
    bank_card_number = models.CharField(_("银行卡号"), max_length=19, blank=True)
    reason = models.CharField(_("拒绝原因"), max_length=200, blank=True)
    file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="+", verbose_name=_("银行文件"))
    line_number = models.PositiveIntegerField(_("行号"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("处理人"),
    )

    class Meta:
        verbose_name = _("制卡结果")
        verbose_name_plural = _("制卡结果")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["outcome", "handled_at"])]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.get_outcome_display()}"


class CardChange(models.Model):
    """A change of a card's status as it went out to the bank. ``(card, kind, changed_at)`` is unique:
    an export takes only changes no export holds yet, so running it again sends nothing twice."""

    class Kind(models.TextChoices):
        LOST = "lost", _("挂失")
        FOUND = "found", _("解除挂失")
        REPLACED = "replaced", _("换卡")
        CANCELLED = "cancelled", _("注销")

    file = models.ForeignKey(
        BankFile, on_delete=models.PROTECT, related_name="card_changes", verbose_name=_("银行文件")
    )
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="+", verbose_name=_("会员卡"))
    kind = models.CharField(_("变更"), max_length=16, choices=Kind.choices)
    changed_at = models.DateTimeField(_("变更时间"))
    new_card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("新卡")
    )

    class Meta:
        verbose_name = _("卡片变更")
        verbose_name_plural = _("卡片变更")
        constraints = [
            models.UniqueConstraint(fields=["card", "kind", "changed_at"], name="card_change_sent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.get_kind_display()}"


class CardTransaction(models.Model):
    """One card payment from the bank's daily file. ``(bank, reference)`` is unique: a line loaded
    twice (the same file again, or the next day's file repeating it) is one transaction."""

    bank = models.ForeignKey(PartnerBank, on_delete=models.PROTECT, related_name="+", verbose_name=_("银行"))
    reference = models.CharField(_("交易流水号"), max_length=64)
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="+", verbose_name=_("会员卡"))
    # The cardholder's workplace union at import: card use per union reads this path prefix.
    union_path = models.CharField(max_length=255, verbose_name=_("工会路径"))
    bank_merchant_id = models.CharField(_("银行商户号"), max_length=32)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    occurred_at = models.DateTimeField(_("交易时间"))
    file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="+", verbose_name=_("银行文件"))

    class Meta:
        verbose_name = _("卡交易")
        verbose_name_plural = _("卡交易")
        constraints = [
            models.UniqueConstraint(fields=["bank", "reference"], name="card_transaction_once"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="card_transaction_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["occurred_at", "card"]),
            models.Index(fields=["card", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} · {self.reference}"

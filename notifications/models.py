"""Notices, their deliveries per channel, and the recipients' opt-outs.

A recipient is the pair (``recipient_kind``, ``recipient_id``), never a foreign key: this app sits below
the apps whose people it notifies (see the package docstring)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RecipientKind(models.TextChoices):
    MEMBER = "member", _("会员")
    USER = "user", _("工作人员或商家用户")


class Topic(models.TextChoices):
    """What a notice is about. A recipient opts out per topic and channel."""

    CARD_READY = "card_ready", _("会员卡制作完成")
    BANK_REJECTED = "bank_rejected", _("银行退回办卡申请")
    CLAIM_APPROVED = "claim_approved", _("补贴申领已通过")
    CLAIM_PAID = "claim_paid", _("补贴已到账")
    TRANSFER_REQUESTED = "transfer_requested", _("转会申请待接收")
    TRANSFER_ACCEPTED = "transfer_accepted", _("转会已接收")
    TRANSFER_REFUSED = "transfer_refused", _("转会未被接收")
    CARD_APPLIED = "card_applied", _("办卡申请待审核")
    CARD_APPLICATION_DECIDED = "card_application_decided", _("办卡申请审核结果")
    BATCH_TO_APPROVE = "batch_to_approve", _("发卡批次待批准")
    BATCH_REJECTED = "batch_rejected", _("发卡批次被退回")
    OFFER_APPROVED = "offer_approved", _("优惠通过审核")
    OFFER_REJECTED = "offer_rejected", _("优惠未通过审核")
    QUOTA_RAISED = "quota_raised", _("收藏的优惠增加名额")
    STATEMENT_READY = "statement_ready", _("月度结算单已生成")
    GENERAL = "general", _("其他通知")


# The topics a member receives (the rest go to union staff and merchant users): the member's
# settings page lists these.
MEMBER_TOPICS = (
    Topic.CARD_READY,
    Topic.BANK_REJECTED,
    Topic.CLAIM_APPROVED,
    Topic.CLAIM_PAID,
    Topic.TRANSFER_ACCEPTED,
    Topic.TRANSFER_REFUSED,
    Topic.CARD_APPLICATION_DECIDED,
    Topic.QUOTA_RAISED,
    Topic.GENERAL,
)


class Channel(models.TextChoices):
    INBOX = "inbox", _("站内消息")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")


EXTERNAL_CHANNELS = (Channel.SMS, Channel.WECHAT)


class Notification(models.Model):
    recipient_kind = models.CharField(_("接收人类型"), max_length=8, choices=RecipientKind.choices)
    recipient_id = models.BigIntegerField(_("接收人编号"))
    topic = models.CharField(_("主题"), max_length=32, choices=Topic.choices)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"), max_length=1000)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    # Named values for the WeChat template of the topic (settings.WECHAT_TEMPLATES), e.g. an amount.
    params = models.JSONField(_("模板参数"), default=dict, blank=True)
    # Names the event ("offer-approved:42"): the same event never notifies the same recipient twice.
    dedup_key = models.CharField(_("去重键"), max_length=200)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_kind", "recipient_id", "dedup_key"],
                name="notification_dedup_per_recipient",
            ),
        ]
        indexes = [
            # The inbox: one recipient's notices, unread first, newest first.
            models.Index(
                "recipient_kind",
                "recipient_id",
                models.F("read_at").asc(nulls_first=True),
                models.F("created_at").desc(),
                name="notification_inbox_idx",
            ),
            # The unread count in every page header.
            models.Index(
                fields=["recipient_kind", "recipient_id"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            # Retention: read notices by age.
            models.Index(
                fields=["created_at"], condition=Q(read_at__isnull=False), name="notification_read_age_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class Delivery(models.Model):
    """One channel of one notice. The inbox delivery is sent when the notice is written; SMS and WeChat
    are sent by a task. ``not_before`` is both the claim lease of the task sending it and the wait
    before its next attempt."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        SKIPPED = "skipped", _("未发送")

    notification = models.ForeignKey(
        Notification, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    # The phone or openid, kept only while the delivery may still be sent.
    address = models.CharField(_("地址"), max_length=128, blank=True)
    address_masked = models.CharField(_("地址（脱敏）"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    not_before = models.DateTimeField(_("最早发送时间"), default=timezone.now)
    provider_message_id = models.CharField(_("服务商消息编号"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知投递")
        verbose_name_plural = _("通知投递")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [
            # Deliveries whose task was lost (broker down at commit, a dead worker): found by beat.
            models.Index(fields=["not_before"], condition=Q(status="queued"), name="delivery_queued_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}"


class NotificationPreference(models.Model):
    """A recipient's choice for one topic on one external channel; no row means "on". The inbox always
    receives every notice, so it has no preference."""

    recipient_kind = models.CharField(_("接收人类型"), max_length=8, choices=RecipientKind.choices)
    recipient_id = models.BigIntegerField(_("接收人编号"))
    topic = models.CharField(_("主题"), max_length=32, choices=Topic.choices)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(_("接收"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_kind", "recipient_id", "topic", "channel"], name="preference_once"
            ),
            models.CheckConstraint(condition=~Q(channel="inbox"), name="preference_not_for_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.get_topic_display()} · {self.get_channel_display()}"

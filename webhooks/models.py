"""Webhook endpoints of merchants, the events they may receive, and one delivery per endpoint and
event with its attempts. ``RedemptionFeed`` is the outbox cursor of one merchant (webhooks/outbox.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    REDEMPTION_CREATED = "redemption.created", _("核销成功")
    REDEMPTION_VOIDED = "redemption.voided", _("核销已撤销")
    STATEMENT_READY = "statement.ready", _("月度结算单已生成")
    # Sent to one endpoint by "发送测试事件"; nobody subscribes to it.
    TEST = "webhook.test", _("测试事件")


SUBSCRIBABLE_TYPES = (EventType.REDEMPTION_CREATED, EventType.REDEMPTION_VOIDED, EventType.STATEMENT_READY)
REDEMPTION_TYPES = (EventType.REDEMPTION_CREATED, EventType.REDEMPTION_VOIDED)


class Endpoint(models.Model):
    """An address of a merchant's own system that receives the events it subscribed to, signed with
    its secret. The secret is shown once, at creation, and kept encrypted (``webhooks.secrets``): the
    portal needs it back to sign every delivery, so it cannot be stored as a hash like a POS key."""

    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("商家"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.CharField(_("接收地址"), max_length=500)
    description = models.CharField(_("备注"), max_length=80, blank=True)
    events = ArrayField(
        models.CharField(max_length=32, choices=EventType.choices), verbose_name=_("订阅事件")
    )
    secret_encrypted = models.TextField(_("签名密钥（加密）"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    disabled_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("事件推送地址")
        verbose_name_plural = _("事件推送地址")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The outbox and event_publish look up the active endpoints of a merchant.
            models.Index(
                fields=["merchant"], condition=Q(disabled_at__isnull=True), name="endpoint_active_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(events=[]), name="endpoint_subscribes_to_something"),
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    def event_labels(self) -> list[str]:
        labels = dict(EventType.choices)
        return [str(labels.get(name, name)) for name in self.events]


class Event(models.Model):
    """Something that happened to a merchant. ``event_id`` names it for good
    (``redemption.created:42``): the same fact can never become two events."""

    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("商家"), on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(_("事件类型"), max_length=32, choices=EventType.choices)
    event_id = models.CharField(_("事件编号"), max_length=200)
    payload = models.JSONField(_("内容"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        constraints = [models.UniqueConstraint(fields=["event_id"], name="webhook_event_id_unique")]
        indexes = [models.Index(fields=["created_at"], name="webhook_event_age_idx")]

    def __str__(self) -> str:
        return self.event_id


class Delivery(models.Model):
    """One event on its way to one endpoint; (endpoint, event) is unique, so an event reaches an
    endpoint once. ``next_attempt_at`` is both the wait before the next attempt and the lease of the
    worker sending it (webhooks.services.delivery_attempt)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SUCCEEDED = "succeeded", _("已送达")
        FAILED = "failed", _("失败")

    # Looked up by the unique (endpoint, event) and the list index, which both begin with it.
    endpoint = models.ForeignKey(
        Endpoint,
        verbose_name=_("推送地址"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    event = models.ForeignKey(
        Event, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("事件推送")
        verbose_name_plural = _("事件推送")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            # An endpoint's page: its deliveries, newest first.
            models.Index(
                "endpoint",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="webhook_delivery_list_idx",
            ),
            # Deliveries due again (a long wait, a lost task): found by beat.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, how long, what came back. Only a short excerpt of the answer is
    kept, and the error never holds the secret or the signature."""

    delivery = models.ForeignKey(
        Delivery,
        verbose_name=_("推送"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
        db_index=False,  # the unique pair serves
    )
    number = models.PositiveSmallIntegerField(_("第几次"))
    started_at = models.DateTimeField(_("时间"))
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"))
    status_code = models.PositiveSmallIntegerField(_("响应码"), null=True, blank=True)
    error = models.CharField(_("错误"), max_length=200, blank=True)
    response_excerpt = models.CharField(_("响应摘录"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("推送尝试")
        verbose_name_plural = _("推送尝试")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once"),
        ]

    def __str__(self) -> str:
        return _("第%(number)s次") % {"number": self.number}

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class RedemptionFeed(models.Model):
    """The outbox cursor of one merchant: redemption rows changed from ``resume_from`` on are read
    by the next run. ``started_at`` is when the merchant's redemption events begin (its first
    subscribed endpoint): nothing before it is ever sent."""

    merchant = models.OneToOneField(
        "merchants.Merchant",
        verbose_name=_("商家"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    started_at = models.DateTimeField(_("开始时间"))
    resume_from = models.DateTimeField(_("续传起点"))

    class Meta:
        verbose_name = _("核销事件游标")
        verbose_name_plural = _("核销事件游标")

    def __str__(self) -> str:
        return _("核销推送 · %(merchant)s") % {"merchant": self.merchant_id}

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in with a password: union staff (attached to one union node) or a merchant
    user (see merchants.MerchantUser). Members sign in with a one-time code and are not users."""

    union = models.ForeignKey(
        "members.Union",
        verbose_name=_("所属工会"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("工作人员只能查看和管理本工会及其下级工会的数据。"),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def is_union_staff(self) -> bool:
        return self.is_staff and (self.union_id is not None or self.is_superuser)


class AuditEvent(models.Model):
    """Append-only record of a sensitive action. Nothing updates or deletes these rows."""

    class Action(models.TextChoices):
        ID_REVEALED = "id_revealed", _("查看完整身份证号")
        CARD_STATE_CHANGED = "card_state_changed", _("卡状态变更")
        BATCH_APPROVED = "batch_approved", _("批准发卡批次")
        BANK_FILE_DOWNLOADED = "bank_file_downloaded", _("下载制卡文件")
        APPLICATION_FILE_DOWNLOADED = "application_file_downloaded", _("下载发卡申请原文件")
        OFFER_REVIEWED = "offer_reviewed", _("优惠审核")
        OFFER_LIMIT_CHANGED = "offer_limit_changed", _("修改名额或预算")
        MERCHANT_REVIEWED = "merchant_reviewed", _("商家审核")
        API_KEY_CREATED = "api_key_created", _("创建 API 密钥")
        API_KEY_REVOKED = "api_key_revoked", _("吊销 API 密钥")
        REDEMPTION_VOIDED = "redemption_voided", _("撤销核销")
        MEMBER_DATA_EXPORTED = "member_data_exported", _("导出个人数据")
        MEMBER_TRANSFERRED = "member_transferred", _("会员转会")
        MEMBER_CHANGED = "member_changed", _("会员信息变更")
        SELF_APPROVED = "self_approved", _("创建人自行批准")
        USER_ROLES_CHANGED = "user_roles_changed", _("修改用户角色或权限")
        OFFER_CHANGED = "offer_changed", _("修改优惠")
        UNION_SETTINGS_CHANGED = "union_settings_changed", _("修改工会设置")
        WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint_created", _("创建推送地址")
        WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled", _("停用推送地址")
        WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint_deleted", _("删除推送地址")
        FUND_CHANGED = "fund_changed", _("普惠资金变动")
        ROSTER_CONFIRMED = "roster_confirmed", _("确认导入会员名册")
        MEMBER_COUNT_REPORTED = "member_count_reported", _("上报会员人数")
        STATEMENT_CHANGED = "statement_changed", _("结算单变更")
        PAYMENT_RUN_CHANGED = "payment_run_changed", _("支付批次变更")
        ALLOWANCE_CLAIM_CHANGED = "allowance_claim_changed", _("住院补贴申请变动")
        VOUCHER_CODE_USED = "voucher_code_used", _("登记券码已使用")
        SHOP_PRODUCT_CHANGED = "shop_product_changed", _("网上购商品变更")
        SHOP_ORDER_CHANGED = "shop_order_changed", _("网上购订单变动")

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=40, choices=Action.choices, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=60)
    target_id = models.CharField(_("对象"), max_length=64)
    target_label = models.CharField(_("对象名称"), max_length=200, blank=True)
    union_path = models.CharField(_("工会路径"), max_length=255, blank=True, db_index=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.target_label}"

"""The coverage snapshot rows and the runs that compute them.

Both models were born in the members app; their tables keep the names they had there
(``members_coveragesnapshot``, ``members_snapshotrun``), so moving them here touched no row
(migration ``stats.0001``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Union


class CoverageSnapshot(models.Model):
    """One union node's figures on one day, computed set-wise by the snapshot task.

    members = active members in the subtree (or, for a workplace union without a roster, its reported
    count); cardholders = those of them with a live card (issued or active); coverage = cardholders ÷
    members. Computed from the dated history, so any past day can be computed again."""

    day = models.DateField(_("日期"))
    union = models.ForeignKey(
        Union, verbose_name=_("工会"), on_delete=models.CASCADE, related_name="snapshots"
    )
    level = models.CharField(_("层级"), max_length=16, choices=Union.Level.choices)
    parent = models.ForeignKey(
        Union, verbose_name=_("上级工会"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    path = models.CharField(_("路径"), max_length=255)
    members = models.PositiveIntegerField(_("会员数"), default=0)
    cardholders = models.PositiveIntegerField(_("持卡人数"), default=0)
    coverage = models.DecimalField(_("覆盖率"), max_digits=7, decimal_places=4, default=0)
    cards_activated = models.PositiveIntegerField(_("已激活卡数"), default=0)
    merchants = models.PositiveIntegerField(_("签约商家"), default=0)
    published_offers = models.PositiveIntegerField(_("在线优惠"), default=0)
    redemptions_month = models.PositiveIntegerField(_("本月核销笔数"), default=0)
    savings_month = models.DecimalField(_("本月优惠金额"), max_digits=16, decimal_places=2, default=0)
    subsidies_month = models.DecimalField(_("本月工会补贴"), max_digits=16, decimal_places=2, default=0)
    # Where the member count came from, and the reporting rate (上报率): counts of workplace unions
    # of the subtree — all of them, those with an applied roster, those counted by a reported member
    # count instead (no roster), those that have submitted card applications.
    workplace_unions = models.PositiveIntegerField(_("基层工会数"), default=0)
    roster_unions = models.PositiveIntegerField(_("已报名册的基层工会"), default=0)
    reported_unions = models.PositiveIntegerField(_("按上报人数计的基层工会"), default=0)
    card_data_unions = models.PositiveIntegerField(_("已报办卡资料的基层工会"), default=0)
    reported_members = models.PositiveIntegerField(_("其中按上报人数计的会员"), default=0)
    rank_among_siblings = models.PositiveIntegerField(_("同级排名"), null=True, blank=True)
    rank_in_level = models.PositiveIntegerField(_("全省同层级排名"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        db_table = "members_coveragesnapshot"
        verbose_name = _("覆盖面快照")
        verbose_name_plural = _("覆盖面快照")
        constraints = [models.UniqueConstraint(fields=["day", "union"], name="coverage_snapshot_unique")]
        indexes = [
            # Named as they were created in the members app.
            models.Index(fields=["parent", "day"], name="members_cov_parent__e2c722_idx"),
            models.Index(fields=["level", "day"], name="members_cov_level_afc8d6_idx"),
            models.Index(fields=["path"], opclasses=["text_pattern_ops"], name="coverage_path_prefix_idx"),
            # The trend of one node: its rows newest first without walking every node of every day.
            models.Index(fields=["union", "day"], name="coverage_union_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.union_id} · {self.day}"


class SnapshotRun(models.Model):
    """A run of the coverage snapshot, so the dashboard can show progress and the last success."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    day = models.DateField(_("日期"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    nodes_written = models.PositiveIntegerField(_("写入节点数"), default=0)

    class Meta:
        verbose_name = _("快照任务")
        verbose_name_plural = _("快照任务")
        db_table = "members_snapshotrun"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="snapshot_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.day} · {self.get_status_display()}"

"""A fund per union and year, and the append-only ledger of its movements.

What a fund can still use ("left") is derived from the columns, never stored:

    left = received + added + transferred_in − allocated − transferred_out − committed − spent

and CHECK constraints keep every column and ``left`` at zero or above, so no writer, however it got
to the table, can leave a fund below zero. Each column is the sum of the fund's ledger rows of one
kind (committed and spent net of what was released and given back): see ``COLUMN_OF_KIND``."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import GreaterThanOrEqual
from django.utils.translation import gettext_lazy as _

from members.models import Union

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")

# The money columns of a fund, in the order pages and exports show them.
INFLOW_COLUMNS = ("received", "added", "transferred_in")
OUTFLOW_COLUMNS = ("allocated", "transferred_out", "committed", "spent")
MONEY_COLUMNS = (*INFLOW_COLUMNS, *OUTFLOW_COLUMNS)

# "left" as SQL over the columns of funds_fund: the services' guarded statements and the CHECK
# constraint below say the same thing.
LEFT_SQL = "received + added + transferred_in - allocated - transferred_out - committed - spent"


def left_expression():
    """``left`` as an ORM expression over the fund's columns (annotations, the CHECK constraint)."""
    inflow = F("received") + F("added") + F("transferred_in")
    return inflow - F("allocated") - F("transferred_out") - F("committed") - F("spent")


class FundQuerySet(models.QuerySet):
    def with_left(self) -> FundQuerySet:
        return self.annotate(
            left_amount=models.ExpressionWrapper(left_expression(), output_field=models.DecimalField(**MONEY))
        )


class Fund(models.Model):
    """The benefit money of one union for one year (e.g. 河北省总工会 2026 年普惠资金).

    Money comes in from the parent's fund (``received``), from the union itself (``added``) or from
    another fund (``transferred_in``); it goes out to the children's funds (``allocated``), to another
    fund (``transferred_out``), is promised to something not yet paid (``committed``) or paid
    (``spent``). Only :mod:`funds.services` changes these columns."""

    union = models.ForeignKey(Union, verbose_name=_("工会"), on_delete=models.PROTECT, related_name="funds")
    year = models.PositiveSmallIntegerField(_("年度"))
    name = models.CharField(_("名称"), max_length=120)
    received = models.DecimalField(_("上级拨入"), default=ZERO, editable=False, **MONEY)
    added = models.DecimalField(_("本级追加"), default=ZERO, editable=False, **MONEY)
    transferred_in = models.DecimalField(_("调入"), default=ZERO, editable=False, **MONEY)
    allocated = models.DecimalField(_("下拨下级"), default=ZERO, editable=False, **MONEY)
    transferred_out = models.DecimalField(_("调出"), default=ZERO, editable=False, **MONEY)
    committed = models.DecimalField(_("已承诺"), default=ZERO, editable=False, **MONEY)
    spent = models.DecimalField(_("已支出"), default=ZERO, editable=False, **MONEY)
    created_at = models.DateTimeField(_("开设时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("开设人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = FundQuerySet.as_manager()

    class Meta:
        verbose_name = _("普惠资金")
        verbose_name_plural = _("普惠资金")
        ordering = ["-year", "id"]
        permissions = [("manage_fund", _("可以开设、追加、下拨和调剂普惠资金"))]
        constraints = [
            models.UniqueConstraint(fields=["union", "year"], name="fund_one_per_union_and_year"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{column}__gte": 0}), name=f"fund_{column}_not_negative"
                )
                for column in MONEY_COLUMNS
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(left_expression(), 0), name="fund_left_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        """Money the fund has had to use: what came in, less what went to another fund."""
        return self.received + self.added + self.transferred_in - self.transferred_out

    @property
    def left(self) -> Decimal:
        """What the fund can still allocate, commit or spend."""
        return self.total - self.allocated - self.committed - self.spent


class FundMovement(models.Model):
    """One change of one fund, append-only (a database trigger refuses UPDATE and DELETE).

    ``amount`` is always positive; ``kind`` says which column it moved and which way. The two sides of
    an allocation or a transfer share ``operation_id``; a page sends the id of its confirmation step
    again when the form is submitted twice, and the unique constraint makes the second a refusal.
    ``reference_type``/``reference_id`` name what caused a movement — ``("discounts.redemption",
    "123")`` — without a foreign key, so the apps that spend from a fund stay above this one."""

    class Kind(models.TextChoices):
        ADDED = "added", _("本级追加")
        RECEIVED = "received", _("上级拨入")
        ALLOCATED = "allocated", _("下拨下级")
        TRANSFER_IN = "transfer_in", _("调入")
        TRANSFER_OUT = "transfer_out", _("调出")
        COMMITTED = "committed", _("承诺支出")
        RELEASED = "released", _("释放承诺")
        SPENT = "spent", _("支出")
        GIVEN_BACK = "given_back", _("退回")

    fund = models.ForeignKey(Fund, verbose_name=_("资金"), on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("金额"), **MONEY)
    # PROTECT: clearing the actor would be an UPDATE of the ledger, which the trigger refuses.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    reference_type = models.CharField(_("关联对象类型"), max_length=60, blank=True)
    reference_id = models.CharField(_("关联对象"), max_length=64, blank=True)
    operation_id = models.UUIDField(_("操作编号"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("资金流水")
        verbose_name_plural = _("资金流水")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["fund", "-id"], name="fundmovement_ledger_idx"),
            models.Index(
                fields=["reference_type", "reference_id", "fund"], name="fundmovement_reference_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="fundmovement_amount_positive"),
            models.UniqueConstraint(fields=["operation_id", "kind"], name="fundmovement_one_per_operation"),
            models.CheckConstraint(
                condition=Q(reference_type="", reference_id="")
                | (~Q(reference_type="") & ~Q(reference_id="")),
                name="fundmovement_reference_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def adds_to_left(self) -> bool:
        """Whether the movement made more money left (added, received, transferred in, released,
        given back) rather than less."""
        column, sign = COLUMN_OF_KIND[self.kind]
        return (column in INFLOW_COLUMNS) == (sign > 0)

    @property
    def reference(self) -> str:
        return f"{self.reference_type}:{self.reference_id}" if self.reference_type else ""


# Which fund column each kind of movement changes, and which way: the identities the ledger check
# verifies (funds.selectors.fund_ledger_mismatches) and the services keep.
COLUMN_OF_KIND: dict[str, tuple[str, int]] = {
    FundMovement.Kind.ADDED: ("added", 1),
    FundMovement.Kind.RECEIVED: ("received", 1),
    FundMovement.Kind.ALLOCATED: ("allocated", 1),
    FundMovement.Kind.TRANSFER_IN: ("transferred_in", 1),
    FundMovement.Kind.TRANSFER_OUT: ("transferred_out", 1),
    FundMovement.Kind.COMMITTED: ("committed", 1),
    FundMovement.Kind.RELEASED: ("committed", -1),
    FundMovement.Kind.SPENT: ("spent", 1),
    FundMovement.Kind.GIVEN_BACK: ("spent", -1),
}

"""A statement as a workbook (the merchant's download, the staff's, and the POS API's), written by
``portal.xlsx``, which neutralises formula-looking text."""

from __future__ import annotations

from django.utils.translation import gettext as _

from portal.xlsx import workbook_bytes
from settlement.models import Statement


def statement_lines(statement: Statement):
    return statement.lines.select_related("offer", "redemption__card", "redemption__member").order_by(
        "kind", "local_day", "redemption_id"
    )


def statement_workbook(statement: Statement) -> bytes:
    summary = (
        _("结算单"),
        [_("项目"), _("内容")],
        [
            [_("商家"), statement.merchant.name],
            [_("月份"), f"{statement.month:%Y-%m}"],
            [_("状态"), statement.get_status_display()],
            [_("工会分担"), statement.share_total],
            [_("跨月撤销调整"), -statement.adjustment_total],
            [_("应付合计"), statement.total],
            [_("明细笔数"), statement.line_count],
            [_("银行流水号"), statement.bank_reference],
            [_("支付日期"), statement.paid_on.isoformat() if statement.paid_on else ""],
        ],
    )
    lines = (
        _("明细"),
        [_("核销编号"), _("核销日期"), _("类型"), _("优惠"), _("卡号"), _("会员"), _("金额")],
        (
            [
                line.redemption_id,
                line.local_day.isoformat(),
                line.get_kind_display(),
                line.offer.title,
                line.redemption.card.number_masked,
                line.redemption.member.name_masked,
                line.amount,
            ]
            for line in statement_lines(statement).iterator(chunk_size=2000)
        ),
    )
    return workbook_bytes([summary, lines])

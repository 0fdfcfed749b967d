"""The funds board as a spreadsheet (through ``portal.xlsx``, which neutralises formula-looking text)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from funds.selectors import FundBoard


def board_sheets(board: FundBoard) -> list[tuple[str, list[str], list]]:
    """Three sheets: the roll-up by level, every fund with its subtree, and what the columns mean."""
    levels = [
        [
            row.label,
            row.totals.count,
            row.totals.received,
            row.totals.added,
            row.totals.transfers_net,
            row.totals.total,
            row.totals.allocated,
            row.totals.committed,
            row.totals.spent,
            row.totals.left,
        ]
        for row in board.levels
    ]
    overall = board.overall
    levels.append(
        [
            _("合计"),
            overall.count,
            overall.received,
            overall.added,
            overall.transfers_net,
            overall.total,
            overall.allocated,
            overall.committed,
            overall.spent,
            overall.left,
        ]
    )
    funds = [
        [
            row.fund.union.code,
            row.fund.union.name,
            row.fund.union.get_level_display(),
            row.fund.name,
            row.fund.received,
            row.fund.added,
            row.fund.transferred_in,
            row.fund.transferred_out,
            row.fund.total,
            row.fund.allocated,
            row.fund.committed,
            row.fund.spent,
            row.fund.left,
            row.subtree.committed,
            row.subtree.spent,
            row.subtree.left,
        ]
        for row in board.rows
    ]
    return [
        (
            _("按层级汇总"),
            [
                _("层级"),
                _("资金数"),
                _("上级拨入"),
                _("本级追加"),
                _("调剂净额"),
                _("资金总额"),
                _("下拨下级"),
                _("已承诺"),
                _("已支出"),
                _("可用余额"),
            ],
            levels,
        ),
        (
            _("%(year)s年各资金") % {"year": board.year},
            [
                _("工会代码"),
                _("工会"),
                _("层级"),
                _("资金名称"),
                _("上级拨入"),
                _("本级追加"),
                _("调入"),
                _("调出"),
                _("资金总额"),
                _("下拨下级"),
                _("已承诺"),
                _("已支出"),
                _("可用余额"),
                _("含下级已承诺"),
                _("含下级已支出"),
                _("含下级可用余额"),
            ],
            funds,
        ),
        (_("指标说明"), [_("指标"), _("说明")], [[label, text] for label, text in definitions()]),
    ]


def definitions() -> list[tuple[str, str]]:
    """What each figure means, for the page and the export alike."""
    return [
        (_("资金总额"), _("上级拨入 + 本级追加 + 调入 − 调出：本资金可以使用的全部资金。")),
        (_("下拨下级"), _("已下拨到直属下级工会资金的金额。")),
        (_("已承诺"), _("已批准、尚未支付的金额（如已审批的补贴申领、已确认的结算单）。")),
        (_("已支出"), _("已支付的金额（如核销时工会承担的部分、已发放的补贴），扣除撤销退回的部分。")),
        (_("可用余额"), _("资金总额 − 下拨下级 − 已承诺 − 已支出，任何时候都不小于 0。")),
        (_("含下级"), _("本资金及其下级工会各资金之和；下拨在上下级之间抵消，不重复计算。")),
        (
            _("按层级汇总"),
            _("同一层级各资金之和；各层级的已承诺、已支出、可用余额相加，即为全部资金的去向。"),
        ),
    ]

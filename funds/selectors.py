"""Reads of benefit funds: the staff member's funds of a year with their roll-up, a fund's ledger, and
the check that every fund's columns equal the sums of its ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from funds.models import COLUMN_OF_KIND, MONEY_COLUMNS, ZERO, Fund, FundMovement
from members.models import Union
from portal.scoping import scope_queryset, staff_union_path

Kind = FundMovement.Kind
MAX_ID = 2**63 - 1  # ids are bigint: a larger number names no row (and must not reach the database)


def funds_in_scope(user) -> QuerySet:
    """Funds of unions in ``user``'s subtree (none for anyone else)."""
    return scope_queryset(Fund.objects.all(), user, "union__path")


def fund_in_scope(user, fund_id) -> Fund | None:
    """The fund with its union when it lies in ``user``'s subtree; None otherwise, exactly as for an id
    that does not exist."""
    try:
        pk = int(fund_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk <= MAX_ID:
        return None
    return funds_in_scope(user).select_related("union", "union__parent").filter(pk=pk).first()


def fund_years(user) -> list[int]:
    """The years the user's subtree has funds for, and the current one, newest first."""
    years = set(funds_in_scope(user).order_by().values_list("year", flat=True).distinct())
    years.add(timezone.localdate().year)
    return sorted(years, reverse=True)


# --- The board: funds of a year with their roll-up ------------------------------------------------------


@dataclass
class Totals:
    """Sums of the money columns of some funds. ``left`` and ``total`` are derived, as on a fund."""

    count: int = 0
    received: Decimal = ZERO
    added: Decimal = ZERO
    transferred_in: Decimal = ZERO
    transferred_out: Decimal = ZERO
    allocated: Decimal = ZERO
    committed: Decimal = ZERO
    spent: Decimal = ZERO

    def add(self, fund: Fund) -> None:
        self.count += 1
        for column in MONEY_COLUMNS:
            setattr(self, column, getattr(self, column) + getattr(fund, column))

    @property
    def total(self) -> Decimal:
        return self.received + self.added + self.transferred_in - self.transferred_out

    @property
    def transfers_net(self) -> Decimal:
        return self.transferred_in - self.transferred_out

    @property
    def left(self) -> Decimal:
        return self.total - self.allocated - self.committed - self.spent

    @property
    def held(self) -> Decimal:
        """Money that sits in these funds: committed, spent or left (allocations between them cancel)."""
        return self.committed + self.spent + self.left


@dataclass
class FundRow:
    fund: Fund
    indent: int  # levels below the top of the board
    subtree: Totals = field(default_factory=Totals)  # this fund and every fund of a union below it


@dataclass
class LevelRow:
    level: str
    label: str
    totals: Totals


@dataclass
class FundBoard:
    year: int
    rows: list[FundRow]
    levels: list[LevelRow]
    overall: Totals


def fund_board(*, user, year: int) -> FundBoard:
    """The funds of ``year`` in the user's subtree, in tree order, each with the totals of its
    subtree, and the roll-up by level (province → cities → counties → workplaces). One query."""
    funds = list(funds_in_scope(user).filter(year=year).select_related("union").order_by("union__path"))
    top_depth = min((fund.union.depth for fund in funds), default=0)
    rows = [FundRow(fund=fund, indent=fund.union.depth - top_depth) for fund in funds]
    by_path = {row.fund.union.path: row for row in rows}
    overall = Totals()
    levels: dict[str, Totals] = {}
    for row in rows:
        fund = row.fund
        overall.add(fund)
        levels.setdefault(fund.union.level, Totals()).add(fund)
        # Add the fund to its own subtree and to each ancestor's that has a fund on the board.
        parts = fund.union.path.strip("/").split("/")
        for end in range(len(parts), 0, -1):
            holder = by_path.get("/".join(parts[:end]) + "/")
            if holder is not None:
                holder.subtree.add(fund)
    level_rows = [
        LevelRow(level=level, label=str(label), totals=levels[level])
        for level, label in Union.Level.choices
        if level in levels
    ]
    return FundBoard(year=year, rows=rows, levels=level_rows, overall=overall)


# --- One fund ---------------------------------------------------------------------------------------------

LEDGER_PAGE_SIZE = 50
PAIR_KINDS = (Kind.ALLOCATED, Kind.RECEIVED, Kind.TRANSFER_OUT, Kind.TRANSFER_IN)


def fund_ledger(fund: Fund) -> QuerySet:
    """The fund's movements, newest first (the order of the ledger index)."""
    return FundMovement.objects.filter(fund=fund).order_by("-id")


def counterparts(movements: list[FundMovement]) -> dict[int, Fund]:
    """For movements of an allocation or a transfer: the fund on the other side, by movement id (one
    query for the page)."""
    operations = {m.operation_id: m for m in movements if m.kind in PAIR_KINDS and m.operation_id}
    if not operations:
        return {}
    others = (
        FundMovement.objects.filter(operation_id__in=list(operations), kind__in=PAIR_KINDS)
        .select_related("fund", "fund__union")
        .only("operation_id", "fund_id", "fund__name", "fund__union__name", "fund__union__code")
    )
    found: dict[int, Fund] = {}
    for other in others:
        mine = operations.get(other.operation_id)
        if mine is not None and other.fund_id != mine.fund_id:
            found[mine.pk] = other.fund
    return found


def child_funds(fund: Fund) -> list[Fund]:
    """The funds of the same year of the unions directly below the fund's union."""
    return list(
        Fund.objects.filter(union__parent_id=fund.union_id, year=fund.year)
        .select_related("union")
        .order_by("union__path")
    )


def parent_fund(fund: Fund) -> Fund | None:
    if fund.union.parent_id is None:
        return None
    return Fund.objects.filter(union_id=fund.union.parent_id, year=fund.year).select_related("union").first()


def transfer_targets(*, user, fund: Fund) -> QuerySet:
    """Funds the user may transfer ``fund``'s money to: the same year, in their subtree, not itself."""
    return (
        funds_in_scope(user)
        .filter(year=fund.year)
        .exclude(pk=fund.pk)
        .select_related("union")
        .order_by("union__path")
    )


def user_may_manage(user) -> bool:
    return staff_union_path(user) is not None and user.has_perm("funds.manage_fund")


# --- The ledger check -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A fund column that differs from the sum of its ledger, or an allocation or transfer whose two
    sides do not match (``fund_id`` None, ``column`` "pair", ``operation`` set)."""

    fund_id: int | None
    column: str
    stored: Decimal | None
    ledger: Decimal | None
    operation: str = ""


def _ledger_sums_sql() -> str:
    sums = []
    for column in MONEY_COLUMNS:
        terms = [
            f"WHEN '{kind}' THEN {'' if sign > 0 else '-'}amount"
            for kind, (target, sign) in COLUMN_OF_KIND.items()
            if target == column
        ]
        sums.append(f"COALESCE(SUM(CASE kind {' '.join(terms)} ELSE 0 END), 0) AS {column}")
    return (
        "SELECT fund_id, "  # noqa: S608 - names from the model's constants, never from input
        + ", ".join(sums)
        + " FROM funds_fundmovement GROUP BY fund_id"
    )


_COLUMNS_SQL = ", ".join(f"f.{c}, COALESCE(m.{c}, 0)" for c in MONEY_COLUMNS)
_CHECK_SQL = (
    f"SELECT f.id, {_COLUMNS_SQL} FROM funds_fund f"  # noqa: S608 - names from the model's constants
    f" LEFT JOIN ({_ledger_sums_sql()}) m ON m.fund_id = f.id"
    " WHERE %(ids)s::bigint[] IS NULL OR f.id = ANY(%(ids)s::bigint[])"
    " ORDER BY f.id"
)
# Both sides of an allocation or a transfer: one out, one in, of the same amount and the matching kinds.
_PAIRS_SQL = """
SELECT COALESCE(operation_id::text, 'movement:' || MIN(id)::text),
       SUM(amount) FILTER (WHERE kind IN ('allocated', 'transfer_out')),
       SUM(amount) FILTER (WHERE kind IN ('received', 'transfer_in'))
FROM funds_fundmovement
WHERE kind IN ('allocated', 'received', 'transfer_out', 'transfer_in')
GROUP BY operation_id, CASE WHEN operation_id IS NULL THEN id END
HAVING operation_id IS NULL
    OR COUNT(*) <> 2
    OR COUNT(*) FILTER (WHERE kind = 'allocated') <> COUNT(*) FILTER (WHERE kind = 'received')
    OR COUNT(*) FILTER (WHERE kind = 'transfer_out') <> COUNT(*) FILTER (WHERE kind = 'transfer_in')
    OR SUM(amount) FILTER (WHERE kind IN ('allocated', 'transfer_out'))
       IS DISTINCT FROM SUM(amount) FILTER (WHERE kind IN ('received', 'transfer_in'))
"""


def fund_ledger_mismatches(fund_ids: list[int] | None = None) -> list[Mismatch]:
    """Every way the funds disagree with their ledger: a column that is not the sum of its movements
    (see ``COLUMN_OF_KIND``), or an allocation or transfer without its other side. Empty when all
    holds. ``fund_ids`` limits the column check to some funds; the pair check reads every pair."""
    found: list[Mismatch] = []
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_SQL, {"ids": fund_ids})
        for row in cursor.fetchall():
            fund_id, values = row[0], row[1:]
            for index, column in enumerate(MONEY_COLUMNS):
                stored, ledger = values[2 * index], values[2 * index + 1]
                if stored != ledger:
                    found.append(Mismatch(fund_id, column, stored, ledger))
        cursor.execute(_PAIRS_SQL)
        for operation, out_amount, in_amount in cursor.fetchall():
            found.append(Mismatch(None, "pair", out_amount, in_amount, operation=operation))
    return found

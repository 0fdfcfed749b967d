"""Writes of benefit funds. Every door calls these functions — the staff pages, the demo, and the apps
that spend union money (redemptions of co-funded offers, allowance claims, payment runs); the admin
only reads.

How a balance changes. Each change is ONE conditional ``UPDATE`` of the fund row, and its row count is
checked. Money going out of a fund (allocated, transferred out, committed, spent) is guarded by what
the fund has left, e.g. a spend:

    UPDATE funds_fund SET spent = spent + %(amount)s
    WHERE id = %(fund)s
      AND received + added + transferred_in - allocated - transferred_out - committed - spent >= %(amount)s

No row changed means the fund does not have the money (``fund_exhausted``), whatever other
transactions did meanwhile: PostgreSQL evaluates the ``WHERE`` again on the row as the last committed
writer left it. Money coming back (released, given back) is guarded by the column it comes back from
(``spent >= %(amount)s``). In the same transaction the movement is inserted into the ledger, so a
fund's columns always equal the sums of its ledger rows. The CHECK constraints of ``funds_fund`` hold
the same line a second time, in the database itself.

What a reference may take back. A release or a give-back names the reference (the redemption, the
claim) of the commitment or spend it undoes, and may not take back more than that reference put in
on that fund. The reference's net is read after the fund row's ``UPDATE``: that row lock is held
until commit and every movement of the fund is written under it, so the read sees every earlier
movement of the fund, and no later one can slip in before this transaction commits.

Order of rows. An operation on two funds (allocate, transfer) updates the fund with the lower id
first, whichever side it is on, so two transfers in opposite directions cannot wait for each other.
A transaction that also changes other rows (a redemption's counters) changes the fund row last: it
is the hottest row (every redemption of every offer drawing on the fund), so its lock is held for the
shortest time.

Who may do what. Opening a fund, adding money, allocating and transferring are staff acts: the actor
needs ``funds.manage_fund`` and every union involved in their subtree (allocating needs the parent's
union only: its children are below it). Commitments, spends and their reversals are decided by the
service that calls them (an approved claim, a redemption), which checks its own permission; here a
staff actor must only reach the fund. ``actor=None`` is the system (tasks, commands, the demo, the
till's redemption). Every change is written to the audit log (``portal.audit``).

Longer than most modules, and kept whole: every write of a balance goes through ``_change`` and
``_record`` here, and the staff acts and the spends are read against them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funds.models import LEFT_SQL, Fund, FundMovement
from members.models import Union
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope

Kind = FundMovement.Kind

MAX_AMOUNT = Decimal("999999999999.99")  # the largest amount a fund column holds (14 digits)
FEN = Decimal("0.01")
YEARS = (2000, 2099)  # a year outside is a typing mistake
NOTE_LENGTH = 200
AUDIT_ACTION = AuditEvent.Action.FUND_CHANGED  # the audit log's action for every change of a fund
SYSTEM = "system"
_REFERENCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


# --- Errors, with stable codes --------------------------------------------------------------------


class FundNotFound(NotFound):
    code = "fund_not_found"
    default_message = gettext_lazy("未找到该资金。")


class FundExhausted(Conflict):
    code = "fund_exhausted"
    default_message = gettext_lazy("该资金的可用余额不足。")


class FundExists(Conflict):
    code = "fund_exists"
    default_message = gettext_lazy("该工会本年度的资金已开设。")


class ExceedsReference(Conflict):
    """A release or give-back larger than what its reference committed or spent on the fund."""

    code = "exceeds_reference"


class OperationDone(Conflict):
    code = "operation_already_done"
    default_message = gettext_lazy("该操作已经完成，没有重复执行。")


# --- Input ------------------------------------------------------------------------------------------


def clean_amount(value, *, field: str = "amount") -> Decimal:
    """A positive amount in yuan with at most two decimals (fen), within what a fund can hold."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("金额不正确。"), fields={field: [_("请填写有效的金额。")]}) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(
            _("金额不正确。"), fields={field: [_("金额须大于 0 且不超过 %(max)s 元。") % {"max": MAX_AMOUNT}]}
        )
    if amount != amount.quantize(FEN):
        raise ValidationFailed(_("金额最多两位小数。"), fields={field: [_("金额最多两位小数。")]})
    return amount.quantize(FEN)


def clean_year(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValidationFailed(
            _("年度不正确。"),
            fields={"year": [_("年度须在 %(a)s–%(b)s 之间。") % {"a": YEARS[0], "b": YEARS[1]}]},
        )
    return year


def _clean_note(note: str, *, field: str = "note", required: bool = False) -> str:
    text = (note or "").strip()
    if required and not text:
        raise ValidationFailed(_("请填写原因。"), fields={field: [_("该字段是必填项。")]})
    if len(text) > NOTE_LENGTH:
        raise ValidationFailed(_("说明过长。"), fields={field: [_("最多 %(n)s 个字。") % {"n": NOTE_LENGTH}]})
    return text


@dataclass(frozen=True)
class Reference:
    """What caused a movement, as the pair (``"app_label.model"``, id): ``Reference.to(redemption)``.
    A generic pair, not a foreign key, so the apps above this one can be named without importing them."""

    type: str
    id: str

    @classmethod
    def to(cls, obj: models.Model) -> Reference:
        return cls(obj._meta.label_lower, str(obj.pk))

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


def _clean_reference(reference: Reference | None) -> Reference:
    if (
        not isinstance(reference, Reference)
        or not _REFERENCE_TYPE_RE.match(reference.type or "")
        or len(reference.type) > 60
        or not reference.id
        or len(str(reference.id)) > 64
    ):
        raise ValidationFailed(_("资金变动须注明关联对象。"), code="reference_required")
    return Reference(reference.type, str(reference.id))


# --- Who ------------------------------------------------------------------------------------------


def _is_person(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def _is_staff(actor) -> bool:
    return _is_person(actor) and actor.is_staff


def ensure_fund_manager(actor, *unions: Union) -> None:
    """Staff with ``funds.manage_fund`` whose subtree holds every union named; the system passes."""
    if actor is None:
        return
    if not _is_staff(actor):
        raise PermissionDenied(_("只有工会工作人员可以管理普惠资金。"))
    if not actor.has_perm("funds.manage_fund"):
        raise PermissionDenied(_("您没有管理普惠资金的权限。"))
    for union in unions:
        ensure_union_in_scope(actor, union)


def _actor_fields(actor) -> dict:
    if _is_person(actor):
        return {"actor": actor, "actor_label": actor.get_username()[:150]}
    return {"actor": None, "actor_label": str(actor or SYSTEM)[:150]}


# --- The one place balances change ------------------------------------------------------------------
# Column names below come from this module, never from input.

_CREDIT = "UPDATE funds_fund SET {column} = {column} + %(amount)s WHERE id = %(fund)s"
_DEBIT = (
    "UPDATE funds_fund SET {column} = {column} + %(amount)s"  # noqa: S608 - columns from this module
    f" WHERE id = %(fund)s AND {LEFT_SQL} >= %(amount)s"
)
_UNDO = (
    "UPDATE funds_fund SET {column} = {column} - %(amount)s WHERE id = %(fund)s AND {column} >= %(amount)s"
)
# Paying what was committed: the commitment becomes a spend, what is left does not change.
_SETTLE = (
    "UPDATE funds_fund SET committed = committed - %(amount)s, spent = spent + %(amount)s"
    " WHERE id = %(fund)s AND committed >= %(amount)s"
)
_RETURNING = " RETURNING name, (SELECT path FROM members_union WHERE members_union.id = union_id)"

STATEMENTS: dict[str, str] = {
    Kind.ADDED: _CREDIT.format(column="added"),
    Kind.RECEIVED: _CREDIT.format(column="received"),
    Kind.TRANSFER_IN: _CREDIT.format(column="transferred_in"),
    Kind.ALLOCATED: _DEBIT.format(column="allocated"),
    Kind.TRANSFER_OUT: _DEBIT.format(column="transferred_out"),
    Kind.COMMITTED: _DEBIT.format(column="committed"),
    Kind.SPENT: _DEBIT.format(column="spent"),
    Kind.RELEASED: _UNDO.format(column="committed"),
    Kind.GIVEN_BACK: _UNDO.format(column="spent"),
}
_SETTLE_KINDS = (Kind.RELEASED, Kind.SPENT)


def _refusal(kind: str):
    if kind == Kind.RELEASED:
        return ExceedsReference(_("释放金额超过该资金已承诺的金额。"))
    if kind == Kind.GIVEN_BACK:
        return ExceedsReference(_("退回金额超过该资金已支出的金额。"))
    return FundExhausted()


@dataclass(frozen=True)
class _Changed:
    fund_id: int
    name: str
    union_path: str


def _change(*, fund_id: int, kind: str, amount: Decimal, settle: bool = False) -> _Changed:
    """Run the one guarded statement of ``kind`` (or of paying a commitment, ``settle``) on one fund,
    or raise: the fund does not exist, or it would go below zero."""
    sql = _SETTLE if settle else STATEMENTS[kind]
    with connection.cursor() as cursor:
        cursor.execute(sql + _RETURNING, {"fund": fund_id, "amount": amount})
        row = cursor.fetchone() if cursor.rowcount == 1 else None
    if row is not None:
        return _Changed(fund_id, row[0], row[1])
    if not Fund.objects.filter(pk=fund_id).exists():
        raise FundNotFound()
    if settle:
        raise ExceedsReference(_("支付金额超过该资金已承诺的金额。"))
    raise _refusal(kind)


def _record(
    *,
    fund_id: int,
    kinds: tuple[str, ...],
    amount: Decimal,
    actor,
    reference: Reference | None = None,
    operation_id: uuid.UUID | None = None,
    note: str = "",
) -> list[FundMovement]:
    """The ledger rows of one change (two for paying a commitment: released and spent)."""
    rows = [
        FundMovement(
            fund_id=fund_id,
            kind=kind,
            amount=amount,
            reference_type=reference.type if reference else "",
            reference_id=reference.id if reference else "",
            operation_id=operation_id,
            note=note,
            **_actor_fields(actor),
        )
        for kind in kinds
    ]
    try:
        return FundMovement.objects.bulk_create(rows)
    except IntegrityError as error:
        if operation_id is not None and "fundmovement_one_per_operation" in str(error):
            raise OperationDone() from None
        raise


_REFERENCE_NET = """
SELECT COALESCE(SUM(CASE WHEN kind = %(plus)s THEN amount ELSE -amount END), 0)
FROM funds_fundmovement
WHERE fund_id = %(fund)s AND reference_type = %(type)s AND reference_id = %(id)s
  AND kind IN (%(plus)s, %(minus)s)
"""


def _ensure_reference_covers(*, fund_id: int, reference: Reference, plus: str, minus: str) -> None:
    """After a release or give-back: the reference's net on the fund is still zero or more. Called
    under the fund row's lock (see the module docstring), so every earlier movement is counted."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REFERENCE_NET,
            {"fund": fund_id, "type": reference.type, "id": reference.id, "plus": plus, "minus": minus},
        )
        net = cursor.fetchone()[0]
    if net < 0 and plus == Kind.COMMITTED:
        raise ExceedsReference(_("金额超过 %(ref)s 在该资金已承诺的金额。") % {"ref": reference})
    if net < 0:
        raise ExceedsReference(_("金额超过 %(ref)s 在该资金已支出的金额。") % {"ref": reference})


def _audit(*, actor, changed: _Changed, kind: str, amount: Decimal, movement: FundMovement, **data) -> None:
    audit_record(
        actor=actor,
        action=AUDIT_ACTION,
        target=Fund(pk=changed.fund_id, name=changed.name),
        label=changed.name,
        union_path=changed.union_path,
        data={
            "kind": kind,
            "amount": str(amount),
            "movement": movement.pk,
            **{key: str(value) for key, value in data.items() if value not in (None, "")},
        },
    )


def _fund(fund: Fund | int) -> Fund:
    """The fund as stored, with its union (its scope), or ``fund_not_found``."""
    pk = fund.pk if isinstance(fund, Fund) else fund
    found = Fund.objects.select_related("union").filter(pk=pk).first() if pk else None
    if found is None:
        raise FundNotFound()
    return found


def _ensure_new_operation(operation_id: uuid.UUID | None) -> None:
    """A confirmation submitted twice is refused before it changes anything (the unique constraint on
    the ledger holds it too, for two submissions at the same moment)."""
    if operation_id is not None and FundMovement.objects.filter(operation_id=operation_id).exists():
        raise OperationDone()


# --- Staff acts -----------------------------------------------------------------------------------------


def default_fund_name(union: Union, year: int) -> str:
    """The name a fund gets when none is given: data, in the union's own language, not translated."""
    suffix = f"{year}年普惠资金"
    return f"{union.name[: 120 - len(suffix)]}{suffix}"


@transaction.atomic
def fund_open(*, union: Union, year: int, name: str = "", actor=None) -> Fund:
    """Open the fund of ``union`` for ``year`` (one per union and year), empty."""
    year = clean_year(year)
    name = (name or "").strip() or default_fund_name(union, year)
    if len(name) > 120:
        raise ValidationFailed(_("名称过长。"), fields={"name": [_("最多 120 个字。")]})
    ensure_fund_manager(actor, union)
    try:
        with transaction.atomic():
            fund = Fund.objects.create(
                union=union, year=year, name=name, created_by=actor if _is_person(actor) else None
            )
    except IntegrityError:
        raise FundExists() from None
    audit_record(
        actor=actor,
        action=AUDIT_ACTION,
        target=fund,
        union_path=union.path,
        data={"kind": "opened", "year": year, "union": union.code},
    )
    return fund


@transaction.atomic
def fund_add_money(
    *, fund: Fund | int, amount, actor, note: str = "", operation_id: uuid.UUID | None = None
) -> FundMovement:
    """The fund's own union puts money of its own in (本级追加)."""
    amount = clean_amount(amount)
    note = _clean_note(note)
    stored = _fund(fund)
    ensure_fund_manager(actor, stored.union)
    _ensure_new_operation(operation_id)
    changed = _change(fund_id=stored.pk, kind=Kind.ADDED, amount=amount)
    [movement] = _record(
        fund_id=stored.pk,
        kinds=(Kind.ADDED,),
        amount=amount,
        actor=actor,
        operation_id=operation_id,
        note=note,
    )
    _audit(actor=actor, changed=changed, kind=Kind.ADDED, amount=amount, movement=movement, note=note)
    return movement


def _two_funds(
    *,
    source: Fund,
    target: Fund,
    out_kind: str,
    in_kind: str,
    amount: Decimal,
    actor,
    operation_id: uuid.UUID | None,
    note: str,
) -> tuple[FundMovement, FundMovement]:
    """Move ``amount`` from ``source`` to ``target``: both rows changed lower id first (see the module
    docstring), both movements sharing one operation id."""
    _ensure_new_operation(operation_id)
    operation_id = operation_id or uuid.uuid4()
    sides = {source.pk: out_kind, target.pk: in_kind}
    changed = {pk: _change(fund_id=pk, kind=sides[pk], amount=amount) for pk in sorted(sides)}
    out_movement, in_movement = (
        _record(
            fund_id=pk,
            kinds=(sides[pk],),
            amount=amount,
            actor=actor,
            operation_id=operation_id,
            note=note,
        )[0]
        for pk in (source.pk, target.pk)
    )
    _audit(
        actor=actor,
        changed=changed[source.pk],
        kind=out_kind,
        amount=amount,
        movement=out_movement,
        to_fund=target.pk,
        operation=operation_id,
        note=note,
    )
    _audit(
        actor=actor,
        changed=changed[target.pk],
        kind=in_kind,
        amount=amount,
        movement=in_movement,
        from_fund=source.pk,
        operation=operation_id,
        note=note,
    )
    return out_movement, in_movement


def _ensure_direct_child(parent: Union, child: Union) -> None:
    if child.parent_id != parent.pk:
        raise ValidationFailed(
            _("只能下拨给本工会的直属下级工会。"),
            code="not_a_child_union",
            fields={"child": [_("请选择直属下级工会。")]},
        )


@transaction.atomic
def fund_allocate(
    *,
    parent_fund: Fund | int,
    child_fund: Fund | int,
    amount,
    actor,
    note: str = "",
    operation_id: uuid.UUID | None = None,
) -> tuple[FundMovement, FundMovement]:
    """The parent union's fund allocates money to the fund of one of its direct children, same year.
    Returns the (allocated, received) movements."""
    amount = clean_amount(amount)
    note = _clean_note(note)
    parent, child = _fund(parent_fund), _fund(child_fund)
    ensure_fund_manager(actor, parent.union)
    _ensure_direct_child(parent.union, child.union)
    if child.year != parent.year:
        raise ValidationFailed(_("只能在同一年度的资金之间下拨。"), code="fund_year_mismatch")
    return _two_funds(
        source=parent,
        target=child,
        out_kind=Kind.ALLOCATED,
        in_kind=Kind.RECEIVED,
        amount=amount,
        actor=actor,
        operation_id=operation_id,
        note=note,
    )


@transaction.atomic
def fund_allocate_to_union(
    *,
    parent_fund: Fund | int,
    child_union: Union,
    amount,
    actor,
    note: str = "",
    operation_id: uuid.UUID | None = None,
) -> tuple[FundMovement, FundMovement]:
    """``fund_allocate`` to the fund of ``child_union`` for the parent fund's year, opening that fund
    first when the child has none yet (both or neither: one transaction)."""
    parent = _fund(parent_fund)
    child_fund = Fund.objects.filter(union=child_union, year=parent.year).first()
    if child_fund is None:
        # Checked before anything is opened in the child's name.
        clean_amount(amount)
        ensure_fund_manager(actor, parent.union)
        _ensure_direct_child(parent.union, child_union)
        child_fund = fund_open(union=child_union, year=parent.year, actor=actor)
    return fund_allocate(
        parent_fund=parent,
        child_fund=child_fund,
        amount=amount,
        actor=actor,
        note=note,
        operation_id=operation_id,
    )


@transaction.atomic
def fund_transfer(
    *,
    from_fund: Fund | int,
    to_fund: Fund | int,
    amount,
    reason: str,
    actor,
    operation_id: uuid.UUID | None = None,
) -> tuple[FundMovement, FundMovement]:
    """Move money between two funds of the same year, both in the actor's subtree (调剂), with a
    reason. Returns the (transfer_out, transfer_in) movements. Audited; a second person is not
    required: the money stays in the union's funds and a transfer can be undone by another."""
    amount = clean_amount(amount)
    reason = _clean_note(reason, field="reason", required=True)
    source, target = _fund(from_fund), _fund(to_fund)
    ensure_fund_manager(actor, source.union, target.union)
    if source.pk == target.pk:
        raise ValidationFailed(_("调出和调入不能是同一笔资金。"), code="same_fund")
    if source.year != target.year:
        raise ValidationFailed(_("只能在同一年度的资金之间调剂。"), code="fund_year_mismatch")
    return _two_funds(
        source=source,
        target=target,
        out_kind=Kind.TRANSFER_OUT,
        in_kind=Kind.TRANSFER_IN,
        amount=amount,
        actor=actor,
        operation_id=operation_id,
        note=reason,
    )


# --- What the union pays: commitments and spends --------------------------------------------------------


def _spend_side(
    *, fund_id: int, kind: str, amount, reference: Reference, actor, settle: bool = False
) -> FundMovement:
    amount = clean_amount(amount)
    reference = _clean_reference(reference)
    if _is_staff(actor):
        # The calling service decided the act; a staff actor must still reach the fund.
        ensure_union_in_scope(actor, _fund(fund_id).union)
    changed = _change(fund_id=fund_id, kind=kind, amount=amount, settle=settle)
    kinds = _SETTLE_KINDS if settle else (kind,)
    movements = _record(fund_id=fund_id, kinds=kinds, amount=amount, actor=actor, reference=reference)
    if settle or kind == Kind.RELEASED:
        _ensure_reference_covers(
            fund_id=fund_id, reference=reference, plus=Kind.COMMITTED, minus=Kind.RELEASED
        )
    if kind == Kind.GIVEN_BACK:
        _ensure_reference_covers(fund_id=fund_id, reference=reference, plus=Kind.SPENT, minus=Kind.GIVEN_BACK)
    for movement in movements:
        _audit(
            actor=actor,
            changed=changed,
            kind=movement.kind,
            amount=amount,
            movement=movement,
            reference=reference,
        )
    return movements[-1]


@transaction.atomic
def fund_commit(*, fund_id: int, amount, reference: Reference, actor=None) -> FundMovement:
    """Promise money not yet paid (an approved allowance claim, an approved statement): it is no
    longer left to anything else. Refused with ``fund_exhausted`` when the fund has not got it."""
    return _spend_side(fund_id=fund_id, kind=Kind.COMMITTED, amount=amount, reference=reference, actor=actor)


@transaction.atomic
def fund_release(*, fund_id: int, amount, reference: Reference, actor=None) -> FundMovement:
    """Withdraw (part of) a promise: at most what ``reference`` committed on the fund."""
    return _spend_side(fund_id=fund_id, kind=Kind.RELEASED, amount=amount, reference=reference, actor=actor)


@transaction.atomic
def fund_spend(
    *, fund_id: int, amount, reference: Reference, actor=None, from_commitment: bool = False
) -> FundMovement:
    """Pay ``amount`` from the fund for ``reference`` (a redemption's union share, a paid claim).

    ``from_commitment``: pay what ``reference`` committed earlier — one statement turns the
    commitment into a spend (ledger: released, then spent), and at most what it committed."""
    return _spend_side(
        fund_id=fund_id,
        kind=Kind.SPENT,
        amount=amount,
        reference=reference,
        actor=actor,
        settle=from_commitment,
    )


@transaction.atomic
def fund_give_back(*, fund_id: int, amount, reference: Reference, actor=None) -> FundMovement:
    """Give back (part of) a spend — a voided redemption, a failed bank credit: at most what
    ``reference`` spent on the fund."""
    return _spend_side(fund_id=fund_id, kind=Kind.GIVEN_BACK, amount=amount, reference=reference, actor=actor)

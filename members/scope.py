"""Which existing members a writer may change: one rule for every door that changes one.

A writer acts for a union: a staff user for the union they are attached to, an issuance batch for
the union that uploaded it. It may change an existing member only when the member's workplace union,
as stored, lies in that union's subtree (the materialized-path prefix rule of ``portal.scoping``).
An issuance batch may in addition only reach members who are active: a batch applies for cards, it
does not bring back a member who retired, left or was transferred away.

The rule is one SQL predicate, :func:`member_in_scope_sql`. The bulk statement that processes a batch
(``members.batch_processing._upsert_members``) carries it in its ``ON CONFLICT … DO UPDATE … WHERE``,
so even a row that never went through validation cannot change a member out of reach; validation
(``members.issuance.RowChecker``) and the staff forms (:func:`ensure_member_in_scope`, called by the
member services) run the very same predicate."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from portal.errors import PermissionDenied
from portal.scoping import staff_union_path

# What an uploader is told about a row whose ID number belongs to a member out of the batch's reach,
# whatever the reason (another subtree, a card or none, not active): one text, so the answer tells
# nothing about that member beyond the fact — unavoidable, the number is unique — that it is taken.
MEMBER_OUT_OF_REACH = _(
    "该身份证号已登记为会员，但不在本批次工会的管辖范围内或会籍状态不是“在会”，"
    "不能通过本批次办理。请联系会员所在的工会。"
)


def member_in_scope_sql(alias: str, *, active_only: bool) -> str:
    """The predicate on the member row ``alias``, with one ``%s`` parameter: the path of the union
    the writer acts for ('' reaches every member). ``starts_with`` compares the path as text, so a
    ``_`` or ``%`` in a union code means nothing special."""
    in_subtree = f"starts_with((SELECT u.path FROM members_union u WHERE u.id = {alias}.union_id), %s)"  # noqa: S608
    if active_only:
        return f"({alias}.status = 'active' AND {in_subtree})"
    return in_subtree


def member_in_scope(*, member_id: int, scope_path: str, active_only: bool = False) -> bool:
    """Whether the stored member ``member_id`` is in reach of a writer acting for ``scope_path``.
    Inside a transaction the member row is locked, so the answer holds until the write commits."""
    lock = " FOR UPDATE" if connection.in_atomic_block else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {member_in_scope_sql('m', active_only=active_only)} "  # noqa: S608 - the rule, no input
            f"FROM members_member m WHERE m.id = %s{lock}",
            [scope_path, member_id],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def ensure_member_in_scope(actor, member_id: int) -> None:
    """The staff forms' check: refuse a staff user whose subtree does not hold the member."""
    scope_path = staff_union_path(actor)
    if scope_path is None or not member_in_scope(member_id=member_id, scope_path=scope_path):
        raise PermissionDenied(_("该会员不在您的管理范围内。"))

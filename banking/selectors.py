"""Reads of the banking app: the card-use figure (what the bank asks the union for), the files and
the issuance results a user may see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from banking.models import IssuanceResult
from members.models import Card, Union
from portal.scoping import scope_queryset


@dataclass(frozen=True)
class CardUseRow:
    union: Union
    live_cards: int
    used_cards: int

    @property
    def percent(self) -> Decimal | None:
        """Share of live cards used in the month, in percent to two places (None without cards)."""
        if not self.live_cards:
            return None
        return (Decimal(self.used_cards * 100) / self.live_cards).quantize(Decimal("0.01"), ROUND_HALF_UP)


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The local month holding ``month`` as [start, end) instants."""
    first = month.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    zone = timezone.get_default_timezone()
    return (
        datetime.datetime.combine(first, datetime.time(), tzinfo=zone),
        datetime.datetime.combine(following, datetime.time(), tzinfo=zone),
    )


# Per node (the parent itself and each child): its subtree's live cards, and how many of them were
# used at least once in the month. One query; the card's (card, occurred_at) index answers the EXISTS.
CARD_USE_SQL = """
SELECT n.id, n.code, n.name, n.level, n.path, n.depth, n.parent_id,
       count(c.id) AS live_cards,
       count(c.id) FILTER (WHERE EXISTS (
           SELECT 1 FROM banking_cardtransaction t
           WHERE t.card_id = c.id AND t.occurred_at >= %(start)s AND t.occurred_at < %(end)s
       )) AS used_cards
FROM members_union n
LEFT JOIN members_union u ON starts_with(u.path, n.path)
LEFT JOIN members_member m ON m.union_id = u.id
LEFT JOIN members_card c ON c.member_id = m.id AND c.status = ANY(%(live)s)
     AND (%(bank)s::bigint IS NULL OR c.bank_id = %(bank)s::bigint)
WHERE n.id = %(parent)s OR n.parent_id = %(parent)s
GROUP BY n.id
ORDER BY n.id <> %(parent)s, n.path
"""


def card_use_by_union(*, parent: Union, month: datetime.date, bank_id: int | None = None) -> list[CardUseRow]:
    """The card-use figure of ``parent`` (first) and of each union directly below it, for the month
    holding ``month``; only ``bank_id``'s cards when given. Live cards are those issued, active or
    reported lost now."""
    start, end = month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            CARD_USE_SQL,
            {
                "start": start,
                "end": end,
                "live": list(Card.LIVE_STATUSES),
                "bank": bank_id,
                "parent": parent.pk,
            },
        )
        return [
            CardUseRow(
                union=Union(
                    id=pk, code=code, name=name, level=level, path=path, depth=depth, parent_id=parent_id
                ),
                live_cards=live,
                used_cards=used,
            )
            for pk, code, name, level, path, depth, parent_id, live, used in cursor.fetchall()
        ]


def rejections_for_user(user, *, open_only: bool = True) -> QuerySet[IssuanceResult]:
    """The bank's rejections in the user's subtree: the workplace union's to-do list."""
    found = IssuanceResult.objects.filter(outcome=IssuanceResult.Outcome.REJECTED)
    if open_only:
        found = found.filter(handled_at__isnull=True)
    return scope_queryset(found, user, "union__path").select_related("card", "card__member", "union", "file")

"""The reporting rate (上报率) of a union: of the workplace unions below it, which have submitted a
roster and which card-application data, and which have not — read live from the submissions
(``members.UnionSubmission``) and reported counts, in one query whatever the size of the subtree.
The snapshot keeps the same counts per day for the trend (``stats.coverage``)."""

from __future__ import annotations

import dataclasses
import datetime

from django.db.models import Exists, OuterRef, Subquery

from members.models import ReportedMemberCount, Union, UnionSubmission


@dataclasses.dataclass
class WorkplaceReport:
    union: Union
    has_roster: bool
    has_card_data: bool
    reported_count: int | None
    reported_as_of: datetime.date | None
    reported_source: str

    @property
    def denominator_source(self) -> str:
        """ "roster", "reported" or "members": what the coverage of this union is counted against."""
        if self.has_roster:
            return "roster"
        return "reported" if self.reported_count is not None else "members"


@dataclasses.dataclass
class ReportingLists:
    union: Union
    workplaces: list[WorkplaceReport]

    @property
    def without_roster(self) -> list[WorkplaceReport]:
        return [w for w in self.workplaces if not w.has_roster]

    @property
    def without_card_data(self) -> list[WorkplaceReport]:
        return [w for w in self.workplaces if not w.has_card_data]

    @property
    def total(self) -> int:
        return len(self.workplaces)

    def rate(self, count: int) -> str:
        return f"{count * 100 / self.total:.1f}" if self.total else "0.0"

    @property
    def roster_rate(self) -> str:
        return self.rate(self.total - len(self.without_roster))

    @property
    def card_data_rate(self) -> str:
        return self.rate(self.total - len(self.without_card_data))


def reporting_lists(*, union: Union) -> ReportingLists:
    """Every workplace union of ``union``'s subtree with what it has submitted (one query)."""
    submitted = UnionSubmission.objects.filter(union=OuterRef("pk"))
    latest = ReportedMemberCount.objects.filter(union=OuterRef("pk")).order_by("-as_of", "-id")
    rows = (
        Union.objects.subtree(union)
        .filter(level=Union.Level.WORKPLACE)
        .annotate(
            has_roster=Exists(submitted.filter(kind=UnionSubmission.Kind.ROSTER)),
            has_card_data=Exists(submitted.filter(kind=UnionSubmission.Kind.CARDS)),
            reported_count=Subquery(latest.values("count")[:1]),
            reported_as_of=Subquery(latest.values("as_of")[:1]),
            reported_source=Subquery(latest.values("source")[:1]),
        )
        .select_related("parent")
        .order_by("path")
    )
    return ReportingLists(
        union=union,
        workplaces=[
            WorkplaceReport(
                union=row,
                has_roster=row.has_roster,
                has_card_data=row.has_card_data,
                reported_count=row.reported_count,
                reported_as_of=row.reported_as_of,
                reported_source=row.reported_source or "",
            )
            for row in rows
        ],
    )

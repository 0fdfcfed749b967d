"""Hand-written SQL rows read as model instances.

A few lookups sit on the path of every POS request (the API key, the card, the offer, the store).
Building their select_related querysets cost more CPU than the rest of a redemption, so they are
written as SQL once, at import, with the column lists taken from the models; the row then becomes
model instances through ``Model.from_db``, so a column not read would still load on access."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

Part = tuple[type[Model], Sequence[str]]


def model_columns(model: type[Model], names: Iterable[str] | None = None) -> tuple[str, ...]:
    """The attribute names of ``model``'s columns (all, or those in ``names``) in the order of the
    model's fields, which is the order ``Model.from_db`` takes the values of a partial row in."""
    wanted = None if names is None else set(names)
    return tuple(f.attname for f in model._meta.concrete_fields if wanted is None or f.attname in wanted)


def select_list(*aliased: tuple[str, Sequence[str]]) -> str:
    """``a.x, a.y, b.z`` for (table alias, columns) pairs."""
    return ", ".join(f"{alias}.{column}" for alias, columns in aliased for column in columns)


def fetch_row(sql: str, params: Sequence | Mapping) -> tuple | None:
    """The first row of ``sql``, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def instances_from_row(row: tuple, *parts: Part) -> tuple:
    """``row`` cut into one new instance per (model, columns) part, in order, followed by any values
    after the last part's columns."""
    found, start = [], 0
    for model, columns in parts:
        found.append(model.from_db(DEFAULT_DB_ALIAS, columns, row[start : start + len(columns)]))
        start += len(columns)
    return (*found, *row[start:])


def fetch_instances(sql: str, params: Sequence | Mapping, *parts: Part) -> tuple | None:
    """The first row of ``sql`` cut into one instance per (model, columns) part, in order, followed
    by any values after the last part's columns; None when there is no row."""
    row = fetch_row(sql, params)
    return None if row is None else instances_from_row(row, *parts)

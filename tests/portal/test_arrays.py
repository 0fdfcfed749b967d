"""Array literals for bulk statements (``portal.db.arrays``) read back by PostgreSQL as the values given."""

from __future__ import annotations

import pytest
from django.db import connection

from portal.db.arrays import bigint_array_literal, text_array_literal

pytestmark = pytest.mark.django_db


def read_back(literal: str, cast: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [literal])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "values",
    [[], [1], [3, 1, 2], [2**62, -7, 0], range(1000, 1005)],
)
def test_bigint_literal_reads_back_as_the_ids(values):
    assert read_back(bigint_array_literal(values), "bigint[]") == list(values)


@pytest.mark.parametrize("bad", [["1); DROP TABLE members_member; --"], [1.5], ["7"], [None]])
def test_bigint_literal_takes_only_integers(bad):
    with pytest.raises(TypeError):
        bigint_array_literal([1, *bad])


def test_text_literal_reads_back_as_the_strings():
    values = ["", "a,b", 'say "hi"', "back\\slash", "{braces}", "NULL", "张三", " padded "]
    assert read_back(text_array_literal(values), "text[]") == values
    assert read_back(text_array_literal(iter(values)), "text[]") == values

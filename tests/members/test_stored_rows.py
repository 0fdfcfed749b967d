"""Checked rows are written by COPY with their jsonb and array values as preformatted text: what is
stored must be what psycopg's own Jsonb and list adapters store, whatever the names and messages hold."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from members import batch_validation, issuance, roster
from members.models import IssuanceBatch, RosterImport
from portal.db.arrays import text_array_literal
from tests.factories import PartnerBankFactory, UserFactory

pytestmark = pytest.mark.django_db

AWKWARD = [
    "张三",
    "tab\there",
    "back\\slash",
    "two\\\\back",
    "new\nline",
    "carriage\rreturn",
    'double"quote',
    "single'quote",
    "\\N",
    "NULL",
    "{brace,comma}",
    " spaces ",
    "",
    "😀 emoji",
    "\\x41",
    "end\\",
]


def checked_rows(owner_id: int, union_id: int) -> list[issuance.CheckedRow]:
    rows = []
    for index, text in enumerate(AWKWARD, start=2):
        plain = index % 2 == 0
        rows.append(
            issuance.CheckedRow(
                batch_id=owner_id,
                row_number=index,
                name=text,
                union_code=text[:64],
                id_number_encrypted=f"token{index}",
                id_number_hash=f"hash{index}",
                id_number_masked="1301**********0017",
                phone=text[:32],
                union_id=None if index % 3 == 0 else union_id,
                groups=[] if plain else sorted({"hardship", text[:32]}),
                status="valid" if plain else "invalid",
                errors=[] if plain else [text, f"第{index}行：{text}", "姓名为空。"],
                member_changes={} if plain else {"name": text, "phone": "138****0000"},
                member_status="active",
            )
        )
    return rows


def copy_with_psycopg_adapters(table: str, owner: str, owner_id: int, rows, *, roster_row: bool) -> None:
    """The rows as the adapters write them: a Python list for text[], Jsonb for jsonb."""
    status_column = ", member_status" if roster_row else ""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({owner}, row_number, name, id_number_encrypted, id_number_hash, "
            f"id_number_masked, phone, union_code, union_id, groups{status_column}, status, errors, "
            "member_changes) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            status = (row.member_status,) if roster_row else ()
            copy.write_row(
                (
                    owner_id,
                    row.row_number,
                    row.name,
                    row.id_number_encrypted,
                    row.id_number_hash,
                    row.id_number_masked,
                    row.phone,
                    row.union_code,
                    row.union_id,
                    row.groups,
                    *status,
                    row.status,
                    Jsonb(row.errors),
                    Jsonb(row.member_changes),
                )
            )


def stored(table: str, owner: str, owner_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT row_number, name, union_code, phone, union_id, groups, status, errors, "  # noqa: S608
            f"member_changes, errors::text, member_changes::text, groups::text "
            f"FROM {table} WHERE {owner} = %s ORDER BY row_number",
            [owner_id],
        )
        return cursor.fetchall()


def decoded(rows) -> list[tuple]:
    """The stored rows with the jsonb values (which the connection reads as text) decoded."""
    return [(*row[:7], json.loads(row[7]), json.loads(row[8])) for row in rows]


def expected(rows) -> list[tuple]:
    return [
        (
            row.row_number,
            row.name,
            row.union_code,
            row.phone,
            row.union_id,
            row.groups,
            row.status,
            row.errors,
            row.member_changes,
        )
        for row in rows
    ]


def _batch(tree, user):
    return IssuanceBatch.objects.create(
        union=tree.C1A, bank=PartnerBankFactory(), file="x.csv", original_filename="x.csv", uploaded_by=user
    )


def _roster(tree, user):
    return RosterImport.objects.create(
        union=tree.C1A, file="x.csv", original_filename="x.csv", uploaded_by=user
    )


@pytest.mark.parametrize(
    ("make", "store", "table", "owner", "roster_row"),
    [
        (_batch, batch_validation._store_checked_rows, "members_issuancerow", "batch_id", False),
        (_roster, roster._store_checked_rows, "members_rosterrow", "roster_id", True),
    ],
    ids=["issuance", "roster"],
)
def test_rows_are_stored_as_psycopg_adapters_store_them(tree, make, store, table, owner, roster_row):
    user = UserFactory()
    item, reference = make(tree, user), make(tree, user)
    store(item.pk, checked_rows(item.pk, tree.C1A1.pk))
    copy_with_psycopg_adapters(
        table, owner, reference.pk, checked_rows(reference.pk, tree.C1A1.pk), roster_row=roster_row
    )
    ours = stored(table, owner, item.pk)
    assert ours == stored(table, owner, reference.pk)
    assert decoded(ours) == expected(checked_rows(item.pk, tree.C1A1.pk))
    item.refresh_from_db()
    assert (item.valid_rows, item.error_rows) == (8, 8)


@pytest.mark.parametrize(
    ("values", "literal"),
    [
        ([], "{}"),
        (["hardship"], '{"hardship"}'),
        (["a,b", 'q"uote', "back\\slash", "NULL", " "], '{"a,b","q\\"uote","back\\\\slash","NULL"," "}'),
    ],
)
def test_array_literals_quote_every_element(values, literal):
    assert text_array_literal(values) == literal

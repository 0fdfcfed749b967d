"""The function that takes a redemption's limits lives in discounts/sql/redemption_take.sql: the
database runs that text, and the benchmark inserts the columns the application inserts."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from bench.redemption.run import redeem_sql
from discounts.redemption import REDEMPTION_COLUMNS
from discounts.sql import function_body, source

pytestmark = pytest.mark.django_db


def _installed(name: str) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosrc, pg_get_functiondef(p.oid) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname = %s AND n.nspname = current_schema()",
            [name],
        )
        rows = cursor.fetchall()
    assert len(rows) == 1, f"expected one {name}(), found {len(rows)}"
    return rows[0]


def test_installed_redemption_take_is_the_sql_file():
    prosrc, definition = _installed("discounts_redemption_take")
    assert prosrc == function_body("redemption_take")
    assert "RETURNS void" in definition
    assert "LANGUAGE plpgsql" in definition


def test_the_file_declares_the_signature_the_application_calls():
    signature = re.search(
        r"FUNCTION discounts_redemption_take\((.*?)\) RETURNS", source("redemption_take"), re.S
    )
    types = [part.split()[1] for part in signature.group(1).split(",")]
    assert types == [
        "bigint",
        "bigint",
        "date",
        "integer",
        "numeric",
        "bigint",
        "bigint",
        "bigint",
        "jsonb",
        "boolean",
    ]


def test_function_body_is_what_the_dollar_quotes_enclose():
    body = function_body("redemption_take")
    assert body.lstrip().startswith("BEGIN")
    assert body.rstrip().endswith("END")
    assert "$$" not in body


def test_benchmark_inserts_the_columns_the_application_inserts(tmp_path):
    script = redeem_sql({"redemption_columns": list(REDEMPTION_COLUMNS)}, tmp_path).read_text()
    insert = re.search(r"INSERT INTO discounts_redemption \(([^)]*)\)\s*VALUES \((.*?)\)\n", script, re.S)
    columns = [name.strip() for name in insert.group(1).split(",")]
    assert columns == list(REDEMPTION_COLUMNS)
    assert "/*" not in insert.group(0)


def test_benchmark_refuses_a_column_it_has_no_value_for(tmp_path):
    with pytest.raises(SystemExit, match="new_column"):
        redeem_sql({"redemption_columns": [*REDEMPTION_COLUMNS, "new_column"]}, tmp_path)

"""How the portal talks to PostgreSQL."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_a_statement_run_repeatedly_is_prepared_once_and_reused():
    sql = "SELECT count(*) FROM discounts_offer WHERE id = %s AND status <> %s"
    with connection.cursor() as cursor:
        for offer_id in range(6):
            cursor.execute(sql, [offer_id, "prepared-statement-check"])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FROM discounts_offer WHERE id = $1 AND status <> $2%"],
        )
        assert cursor.fetchone()[0] == 1

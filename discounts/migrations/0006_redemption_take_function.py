"""discounts_redemption_take(): the limits of one redemption, taken inside the database.

``discounts.redemption.redemption_create`` inserts the redemption row and calls this function in one
statement. In the order every writer uses (see discounts.redemption), it takes the member's day
counter and total counter, stores the idempotent answer in the request's claim, then takes the
offer's day counter and budget — each with one conditional statement, never a read followed by a
write — and raises ``refused:<reason>`` (SQLSTATE P0001) when a limit is reached, which undoes the
whole statement, the inserted redemption included.

Running these statements inside the database instead of one round trip each from Python means the
row lock on the offer's day counter, which every redemption of the offer needs, is held only for the
rest of this function and the commit, never while a web process waits for its turn on the CPU.

With ``p_async_commit`` the transaction commits without waiting for its WAL flush, so that lock is
released without waiting for the disk either; the caller then waits for the flush before it answers
(``discounts.redemption._await_durable``), so no till is told "done" before the redemption is durable.
"""

from django.db import migrations

from discounts.sql import source

# The source is a file of the app (discounts/sql/redemption_take.sql). A later migration that
# changes the function installs that file again, with the same call.
FUNCTION = source("redemption_take")

DROP = (
    "DROP FUNCTION IF EXISTS discounts_redemption_take("
    "bigint, bigint, date, integer, numeric, bigint, bigint, jsonb, boolean)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("discounts", "0005_redemption_local_day_index"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, reverse_sql=DROP),
    ]

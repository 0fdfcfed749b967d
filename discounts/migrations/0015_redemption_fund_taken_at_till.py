"""The union's share of a redemption is spent from the offer's fund at the till, and given back by a
void (issue 18), instead of being committed when a merchant's statement was approved and spent when it
was paid.

- ``Redemption.fund``: the fund a redemption's share was taken from.
- ``discounts_redemption_take()`` gains ``p_fund`` and takes the share from the fund last, with the
  fund's own guard (refused ``fund_exhausted``); the old signature is dropped.
- What was recorded before moves to the new books, so every identity holds after the migration: each
  union share already recorded names its offer's fund; what the statements committed is released and
  what they spent is given back (on the statements' references), then every completed redemption's
  share is spent on its own reference. If a fund cannot cover the shares its offers already recorded,
  the fund's CHECK constraint stops the migration: add money to the fund and migrate again.
"""

import django.db.models.deletion
from django.db import migrations, models

from discounts.sql import source

OLD_SIGNATURE = "bigint, bigint, date, integer, numeric, bigint, bigint, jsonb, boolean"
NEW_SIGNATURE = "bigint, bigint, date, integer, numeric, bigint, bigint, bigint, jsonb, boolean"

NAME_THE_FUNDS = """
UPDATE discounts_redemption r SET fund_id = o.fund_id
FROM discounts_offer o
WHERE r.offer_id = o.id AND o.fund_id IS NOT NULL AND r.union_subsidy > 0 AND o.kind <> 'allowance'
"""

# What the statements committed or spent, net, per fund and statement.
STATEMENT_NET = """
CREATE TEMPORARY TABLE statement_net ON COMMIT DROP AS
SELECT fund_id, reference_id,
       SUM(CASE kind WHEN 'committed' THEN amount WHEN 'released' THEN -amount ELSE 0 END) AS committed,
       SUM(CASE kind WHEN 'spent' THEN amount WHEN 'given_back' THEN -amount ELSE 0 END) AS spent
FROM funds_fundmovement
WHERE reference_type = 'settlement.statement'
GROUP BY fund_id, reference_id
"""

MOVEMENT_COLUMNS = "fund_id, kind, amount, actor_id, actor_label, reference_type, reference_id, operation_id, note, created_at"

UNDO_STATEMENTS = [
    """
    INSERT INTO funds_fundmovement
        (fund_id, kind, amount, actor_id, actor_label, reference_type, reference_id, operation_id, note,
         created_at)
    SELECT fund_id, 'released', committed, NULL, 'system', 'settlement.statement', reference_id, NULL,
           '工会分担改为核销时支出', now()
    FROM statement_net WHERE committed > 0
    """,
    """
    INSERT INTO funds_fundmovement
        (fund_id, kind, amount, actor_id, actor_label, reference_type, reference_id, operation_id, note,
         created_at)
    SELECT fund_id, 'given_back', spent, NULL, 'system', 'settlement.statement', reference_id, NULL,
           '工会分担改为核销时支出', now()
    FROM statement_net WHERE spent > 0
    """,
    """
    UPDATE funds_fund f SET committed = f.committed - n.committed, spent = f.spent - n.spent
    FROM (SELECT fund_id, SUM(GREATEST(committed, 0)) AS committed, SUM(GREATEST(spent, 0)) AS spent
          FROM statement_net GROUP BY fund_id) n
    WHERE f.id = n.fund_id
    """,
]

SPEND_PER_REDEMPTION = [
    """
    INSERT INTO funds_fundmovement
        (fund_id, kind, amount, actor_id, actor_label, reference_type, reference_id, operation_id, note,
         created_at)
    SELECT fund_id, 'spent', union_subsidy, NULL, 'system', 'discounts.redemption', id::text, NULL, '', now()
    FROM discounts_redemption WHERE fund_id IS NOT NULL AND status = 'completed' AND union_subsidy > 0
    """,
    """
    UPDATE funds_fund f SET spent = f.spent + s.total
    FROM (SELECT fund_id, SUM(union_subsidy) AS total FROM discounts_redemption
          WHERE fund_id IS NOT NULL AND status = 'completed' AND union_subsidy > 0 GROUP BY fund_id) s
    WHERE f.id = s.fund_id
    """,
]


def move_the_books(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(NAME_THE_FUNDS)
        cursor.execute(STATEMENT_NET)
        for statement in (*UNDO_STATEMENTS, *SPEND_PER_REDEMPTION):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("discounts", "0014_pictures"),
        ("funds", "0002_movements_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="redemption",
            name="fund",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="redemptions",
                to="funds.fund",
                verbose_name="普惠资金",
            ),
        ),
        migrations.AlterField(
            model_name="offer",
            name="fund",
            field=models.ForeignKey(
                blank=True,
                help_text="工会分担部分在每笔核销时从该资金支出，撤销时退回；审核通过时选定。",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="offers",
                to="funds.fund",
                verbose_name="普惠资金",
            ),
        ),
        migrations.RunSQL(
            f"DROP FUNCTION IF EXISTS discounts_redemption_take({OLD_SIGNATURE})",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            source("redemption_take"),
            reverse_sql=f"DROP FUNCTION IF EXISTS discounts_redemption_take({NEW_SIGNATURE})",
        ),
        migrations.RunPython(move_the_books, migrations.RunPython.noop),
    ]

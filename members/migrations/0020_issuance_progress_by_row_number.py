"""Issuance progress kept as the last row number processed (``IssuanceBatch.processed_through``)
instead of rewriting every row as done with its member and card.

Batches processed before: their done rows become valid again and the batch's progress is the last of
them (chunks run in row order, so every valid row up to it is done)."""

from django.db import migrations, models

FORWARD = """
UPDATE members_issuancebatch b SET processed_through = d.last
FROM (SELECT batch_id, max(row_number) AS last FROM members_issuancerow
      WHERE status = 'done' GROUP BY batch_id) d
WHERE b.id = d.batch_id;
UPDATE members_issuancerow SET status = 'valid' WHERE status = 'done';
"""

BACKWARD = """
UPDATE members_issuancerow r SET status = 'done'
FROM members_issuancebatch b
WHERE r.batch_id = b.id AND r.status = 'valid' AND r.row_number <= b.processed_through;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0019_history_dated_when_the_change_is_made"),
    ]

    operations = [
        migrations.AddField(
            model_name="issuancebatch",
            name="processed_through",
            field=models.PositiveIntegerField(default=0, verbose_name="已处理至行号"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RemoveField(model_name="issuancerow", name="card"),
        migrations.RemoveField(model_name="issuancerow", name="member"),
        migrations.AlterField(
            model_name="issuancerow",
            name="status",
            field=models.CharField(
                choices=[("valid", "有效"), ("invalid", "有误")], max_length=16, verbose_name="状态"
            ),
        ),
    ]

"""The staging table of the transactions file: COPY loads a file's lines here as they are (one text
column, split in SQL), then one INSERT … SELECT checks and converts them into banking_cardtransaction. UNLOGGED: its rows live only
for the length of one import (a crash loses nothing the file cannot give again)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("banking", "0001_bank_files_results_changes_transactions")]

    operations = [
        migrations.RunSQL(
            """
            CREATE UNLOGGED TABLE banking_transaction_staging (
                file_id bigint NOT NULL,
                line_number integer NOT NULL,
                raw text NOT NULL
            );
            CREATE INDEX banking_transaction_staging_file ON banking_transaction_staging (file_id);
            """,
            "DROP TABLE banking_transaction_staging;",
        ),
    ]

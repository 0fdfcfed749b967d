"""Re-encrypt every stored ID number under the newest key of PII_ENCRYPTION_KEYS.

Rotation: put the new key first in PII_ENCRYPTION_KEYS (keep the old one after it), deploy, run this
command, then remove the old key. Rows are rewritten in chunks, each in its own transaction, so the
command can be stopped and run again at any time; the keyed lookup hash does not change."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from members import pii

CHUNK_ROWS = 5000
TABLES = (("members_member", "members"), ("members_issuancerow", "issuance rows"))


class Command(BaseCommand):
    help = "Re-encrypt every ID number (members and issuance rows) under the first PII encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=CHUNK_ROWS)

    def handle(self, *args, **options):
        chunk = options["chunk_size"]
        for table, label in TABLES:
            done = rotate_table(table, chunk)
            self.stdout.write(f"{label}: {done} ID numbers re-encrypted")


def rotate_table(table: str, chunk: int) -> int:
    """Walk the table in primary-key order; one UPDATE … FROM unnest(…) per chunk."""
    last_id = 0
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, id_number_encrypted FROM {table} "  # noqa: S608 - table names are constants
                "WHERE id > %s AND id_number_encrypted <> '' ORDER BY id LIMIT %s FOR UPDATE",
                [last_id, chunk],
            )
            rows = cursor.fetchall()
            if not rows:
                return done
            ids = [row[0] for row in rows]
            tokens = [pii.rotate_id_number(row[1]) for row in rows]
            cursor.execute(
                f"UPDATE {table} t SET id_number_encrypted = v.token "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, token) WHERE t.id = v.id",
                [ids, tokens],
            )
            if cursor.rowcount != len(rows):
                raise RuntimeError(f"{table}: rows vanished during rotation")
        done += len(rows)
        last_id = ids[-1]

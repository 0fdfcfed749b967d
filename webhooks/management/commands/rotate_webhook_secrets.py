"""Re-encrypt every webhook endpoint's secret under the newest key of PII_ENCRYPTION_KEYS.

Run it together with ``rotate_pii_key`` when the key is rotated (new key first in
PII_ENCRYPTION_KEYS, deploy, run both commands, then remove the old key). The secrets themselves do
not change: receivers keep verifying with the ones they have. Each chunk is its own transaction, so
the command can be stopped and run again at any time."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from members import pii
from webhooks.models import Endpoint

CHUNK_ROWS = 1000


class Command(BaseCommand):
    help = "Re-encrypt every webhook endpoint secret under the first PII encryption key."

    def handle(self, *args, **options):
        last_id, done = 0, 0
        while True:
            with transaction.atomic():
                endpoints = list(
                    Endpoint.objects.filter(pk__gt=last_id).order_by("pk").select_for_update()[:CHUNK_ROWS]
                )
                if not endpoints:
                    break
                for endpoint in endpoints:
                    endpoint.secret_encrypted = (
                        pii.fernet().rotate(endpoint.secret_encrypted.encode()).decode()
                    )
                Endpoint.objects.bulk_update(endpoints, ["secret_encrypted"])
            done += len(endpoints)
            last_id = endpoints[-1].pk
        self.stdout.write(f"webhook endpoints: {done} secrets re-encrypted")

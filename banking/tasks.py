"""Celery tasks of the banking app. Each takes ids, re-reads the database and calls a service, and is
safe to run twice (acks_late redelivers a killed worker's task). Services queue them by name."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from banking import card_changes, files, issuance_results, transactions
from banking.models import BankFile
from members.models import PartnerBank
from portal.errors import ApplicationError
from portal.tasks_util import enqueue_on_commit

logger = logging.getLogger(__name__)

# A file still "processing" after this long lost its worker (the transactions import of a million lines
# takes well under a minute): beat queues it again.
STUCK_AFTER = timedelta(minutes=30)


@shared_task(soft_time_limit=1500, time_limit=1600)
def bank_file_process(bank_file_id: int) -> None:
    bank_file = files.bank_file_claim(bank_file_id=bank_file_id)
    if bank_file is None:
        return
    try:
        if bank_file.kind == BankFile.Kind.ISSUANCE_RESULT:
            issuance_results.issuance_results_process(bank_file=bank_file)
        elif bank_file.kind == BankFile.Kind.TRANSACTIONS:
            transactions.transactions_process(bank_file=bank_file)
        elif bank_file.kind in files.INBOUND_READERS:
            files.INBOUND_READERS[bank_file.kind](bank_file=bank_file)
    except ApplicationError as problem:
        # The file as a whole cannot be read (no header, a missing column): nothing was applied.
        files.bank_file_mark_failed(bank_file_id=bank_file_id, message=str(problem.message))
    logger.info("bank file %s processed", bank_file_id)


@shared_task
def card_changes_export_nightly() -> None:
    for bank in PartnerBank.objects.filter(is_active=True).order_by("pk"):
        made = card_changes.card_changes_export(bank=bank)
        if made is not None:
            logger.info("card changes of bank %s: file %s, %s lines", bank.code, made.pk, made.total_lines)


@shared_task
def requeue_stuck_files() -> None:
    cutoff = timezone.now() - STUCK_AFTER
    for file_id in BankFile.objects.filter(
        status__in=[BankFile.Status.UPLOADED, BankFile.Status.PROCESSING], created_at__lt=cutoff
    ).values_list("pk", flat=True):
        enqueue_on_commit("banking.tasks.bank_file_process", file_id)

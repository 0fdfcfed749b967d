"""A bank file as a file: received (kept as uploaded, known by its content), read line by line,
processed by a worker with a result per line, and downloaded by those allowed to.

The same content uploaded again for the same bank and kind is the same :class:`BankFile`: the upload
answers with the file already received and queues nothing, so a second upload changes nothing.
What each kind of file does is in its own module (``issuance_results``, ``transactions``); outbound
files are made by ``card_changes``."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banking.access import ensure_may_download, ensure_may_exchange
from banking.models import BankFile, BankFileLine
from members.models import PartnerBank
from portal.audit import audit_record
from portal.errors import NotFound, ValidationFailed
from portal.models import AuditEvent
from portal.tasks_util import enqueue_on_commit

# A day of card transactions of a large bank is a few hundred thousand lines of ~70 bytes.
UPLOAD_MAX_BYTES = 256 * 1024 * 1024
HASH_BLOCK = 1024 * 1024
ALLOWED_EXTENSIONS = (".csv", ".txt")


class BankFileProblem(ValidationFailed):
    code = "bank_file_invalid"


# Inbound kinds read by an app above this one (the allowances' credit results) register their reader
# here from that app's ``ready()``, so that banking never imports it. A reader takes the file being
# processed and records a result per line (``line_record``).
INBOUND_READERS: dict[str, Callable[..., None]] = {}


def register_inbound_reader(kind: str, reader: Callable[..., None]) -> None:
    INBOUND_READERS[kind] = reader


def content_hash_of(uploaded_file) -> str:
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for block in iter(lambda: uploaded_file.read(HASH_BLOCK), b""):
        digest.update(block)
    uploaded_file.seek(0)
    return digest.hexdigest()


def _check_upload(uploaded_file) -> None:
    name = os.path.basename(uploaded_file.name or "")
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        message = _("银行文件应为 CSV 文本文件（.csv 或 .txt）。")
        raise BankFileProblem(message, fields={"file": [message]})
    if uploaded_file.size == 0:
        message = _("文件是空的。")
        raise BankFileProblem(message, fields={"file": [message]})
    if uploaded_file.size > UPLOAD_MAX_BYTES:
        message = _("文件超过 %(limit)d MB 的上限，请按日拆分后上传。") % {
            "limit": UPLOAD_MAX_BYTES // 1024 // 1024
        }
        raise BankFileProblem(message, fields={"file": [message]})


def bank_file_receive(*, bank: PartnerBank, kind: str, uploaded_file, actor) -> tuple[BankFile, bool]:
    """Keep an inbound file and queue its processing. Returns the file and whether it is new: the
    same content received before (for this bank and kind) is that file again, and nothing is queued."""
    ensure_may_exchange(actor, bank)
    if kind not in BankFile.INBOUND:
        raise BankFileProblem(_("只能上传制卡结果文件或卡交易明细文件。"))
    _check_upload(uploaded_file)
    content_hash = content_hash_of(uploaded_file)
    known = BankFile.objects.filter(bank=bank, kind=kind, content_hash=content_hash).first()
    if known is not None:
        return known, False
    original = os.path.basename(uploaded_file.name or "")[:255]
    bank_file = BankFile(
        bank=bank, kind=kind, original_filename=original, content_hash=content_hash, uploaded_by=actor
    )
    bank_file.file.save(
        f"{timezone.localtime():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.csv", uploaded_file, save=False
    )
    try:
        with transaction.atomic():
            bank_file.save()
            enqueue_on_commit("banking.tasks.bank_file_process", bank_file.pk)
    except IntegrityError:
        # The same file uploaded twice at once: the other upload won; ours is not kept.
        bank_file.file.storage.delete(bank_file.file.name)
        return BankFile.objects.get(bank=bank, kind=kind, content_hash=content_hash), False
    return bank_file, True


def bank_file_open(*, bank_file: BankFile, actor) -> IO[bytes]:
    """The stored file for a user allowed to download it; the download is audited."""
    ensure_may_download(actor, bank_file)
    try:
        handle = bank_file.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise NotFound(_("文件已不在存储中，请联系平台管理员。")) from None
    audit_record(
        actor=actor,
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED,
        target=bank_file,
        label=str(bank_file)[:200],
        data={"bank": bank_file.bank.code, "kind": bank_file.kind, "lines": bank_file.total_lines},
    )
    return handle


# --- Reading ----------------------------------------------------------------------------------------


def _text_of(fileobj: IO[bytes]) -> IO[str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK): what banks' systems write."""
    head = fileobj.read(64 * 1024)
    fileobj.seek(0)
    try:
        head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "gb18030"
    return io.TextIOWrapper(fileobj, encoding=encoding, errors="replace", newline="")


def read_lines(
    fileobj: IO[bytes], headers: dict[str, tuple[str, ...]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, values by field) for each data line of a CSV with a header line. ``headers``
    names each field with the header texts it may have (Chinese or English); a missing one fails
    the whole file with a message naming it."""
    reader = csv.reader(_text_of(fileobj))
    header = next(reader, None)
    if header is None:
        raise BankFileProblem(_("文件是空的。"))
    seen = {cell.strip().lower(): index for index, cell in enumerate(header)}
    columns: dict[str, int] = {}
    for field, names in headers.items():
        index = next((seen[n.lower()] for n in names if n.lower() in seen), None)
        if index is None:
            raise BankFileProblem(_("缺少“%(column)s”列。") % {"column": names[0]})
        columns[field] = index
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        yield (
            number,
            {field: (cells[index].strip() if index < len(cells) else "") for field, index in columns.items()},
        )


def line_record(
    bank_file: BankFile, number: int, outcome: str, message: str = "", card_id=None
) -> BankFileLine:
    return BankFileLine(
        file=bank_file, line_number=number, outcome=outcome, message=message[:300], card_id=card_id
    )


def bank_file_finish(*, bank_file_id: int) -> None:
    """Counts from the line results, and the file done."""
    counts = BankFileLine.objects.filter(file_id=bank_file_id).aggregate(
        applied=Count("id", filter=Q(outcome=BankFileLine.Outcome.APPLIED)),
        unchanged=Count("id", filter=Q(outcome=BankFileLine.Outcome.UNCHANGED)),
        errors=Count("id", filter=Q(outcome=BankFileLine.Outcome.ERROR)),
    )
    BankFile.objects.filter(pk=bank_file_id).update(
        status=BankFile.Status.DONE,
        applied_lines=counts["applied"],
        unchanged_lines=counts["unchanged"],
        error_lines=counts["errors"],
        total_lines=counts["applied"] + counts["unchanged"] + counts["errors"],
        finished_at=timezone.now(),
    )


def bank_file_mark_failed(*, bank_file_id: int, message: str) -> None:
    BankFile.objects.filter(
        pk=bank_file_id, status__in=[BankFile.Status.UPLOADED, BankFile.Status.PROCESSING]
    ).update(status=BankFile.Status.FAILED, status_message=message[:500], finished_at=timezone.now())


def bank_file_claim(*, bank_file_id: int) -> BankFile | None:
    """Take a file to process (uploaded, or processing again after a lost worker); None when it is
    done or failed already, so a redelivered task does nothing."""
    BankFile.objects.filter(pk=bank_file_id, status=BankFile.Status.UPLOADED).update(
        status=BankFile.Status.PROCESSING
    )
    return (
        BankFile.objects.select_related("bank", "uploaded_by")
        .filter(pk=bank_file_id, status=BankFile.Status.PROCESSING)
        .first()
    )

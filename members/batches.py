"""The issuance batch (发卡批次) as staff work it: upload a file, approve or reject it, resume what a
lost worker or a broker outage left, download the files with full ID numbers, and the purges that
delete those files after their retention.

The work itself runs in tasks (``members.tasks``): reading and checking the file is
``members.batch_validation``, creating members and cards is ``members.batch_processing``. They are
queued here by task name (``portal.tasks_util``), so this module never imports the tasks."""

from __future__ import annotations

import os
import uuid
from datetime import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members import issuance
from members.models import IssuanceBatch, IssuanceRow, PartnerBank, Union
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.approvals import ensure_second_person
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.scoping import ensure_union_in_scope
from portal.tasks_util import enqueue_on_commit


class BatchStateConflict(Conflict):
    code = "batch_state_conflict"


def batch_check_upload(uploaded_file) -> None:
    """The type and size rules of an application file, shown under the upload field."""
    extension = issuance.extension_of(os.path.basename(uploaded_file.name or ""))
    if extension not in issuance.ALLOWED_EXTENSIONS:
        message = _("只支持 CSV 或 XLSX 文件。")
        raise ValidationFailed(message, fields={"file": [message]})
    limit = settings.ISSUANCE_UPLOAD_MAX_BYTES
    if uploaded_file.size > limit:
        message = _("文件大小 %(size).1f MB，超过 %(limit).1f MB 的上限，请拆分后分批上传。") % {
            "size": uploaded_file.size / 1024 / 1024,
            "limit": limit / 1024 / 1024,
        }
        raise ValidationFailed(message, fields={"file": [message]})
    if uploaded_file.size == 0:
        message = _("文件是空的。")
        raise ValidationFailed(message, fields={"file": [message]})


def batch_upload(*, union: Union, bank: PartnerBank, uploaded_file, uploaded_by) -> IssuanceBatch:
    """Keep the file and queue its validation."""
    ensure_union_in_scope(uploaded_by, union)
    batch_check_upload(uploaded_file)
    original = os.path.basename(uploaded_file.name or "")
    extension = issuance.extension_of(original)
    if not bank.is_active:
        raise ValidationFailed(_("该银行已停止合作。"))
    batch = IssuanceBatch(union=union, bank=bank, original_filename=original[:255], uploaded_by=uploaded_by)
    stored_name = f"{timezone.localtime():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}{extension}"
    batch.file.save(stored_name, uploaded_file, save=False)
    with transaction.atomic():
        batch.save()
        enqueue_on_commit("members.tasks.batch_validate", batch.pk)
    return batch


def _batch_for_staff(batch: IssuanceBatch, actor, permission: str, message: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(message)
    ensure_union_in_scope(actor, batch.union)


def batch_approve(*, batch: IssuanceBatch, actor) -> IssuanceBatch:
    _batch_for_staff(batch, actor, "members.approve_issuancebatch", _("您没有批准发卡批次的权限。"))
    with transaction.atomic():
        # Card production cannot be undone: someone other than the uploader approves it.
        ensure_second_person(
            actor=actor, creator_id=batch.uploaded_by_id, target=batch, what=_("批准发卡批次")
        )
        now = timezone.now()
        changed = IssuanceBatch.objects.filter(
            pk=batch.pk, status=IssuanceBatch.Status.VALIDATED, valid_rows__gt=0
        ).update(status=IssuanceBatch.Status.APPROVED, approved_by=actor, approved_at=now)
        if changed != 1:
            batch.refresh_from_db()
            if batch.status == IssuanceBatch.Status.VALIDATED:
                raise BatchStateConflict(_("批次中没有有效行，无需批准。"))
            raise BatchStateConflict(
                _("只有“待审核”的批次可以批准，当前状态为“%(status)s”。")
                % {"status": batch.get_status_display()}
            )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.BATCH_APPROVED,
            target=batch,
            union_path=batch.union.path,
            data={
                "valid_rows": batch.valid_rows,
                "error_rows": batch.error_rows,
                "changed_members": batch.changed_members,
            },
        )
        enqueue_on_commit("members.tasks.batch_process", batch.pk)
    batch.refresh_from_db()
    return batch


def batch_reject(*, batch: IssuanceBatch, actor, reason: str = "") -> IssuanceBatch:
    """Send a batch back before it is approved; its uploader (the workplace operator, usually) is
    told why, in the inbox and by the channels they keep."""
    _batch_for_staff(batch, actor, "members.approve_issuancebatch", _("您没有审核发卡批次的权限。"))
    message = (reason or _("已驳回"))[:500]
    with transaction.atomic():
        changed = IssuanceBatch.objects.filter(
            pk=batch.pk,
            status__in=[IssuanceBatch.Status.VALIDATED, IssuanceBatch.Status.FAILED],
            approved_at=None,
        ).update(status=IssuanceBatch.Status.REJECTED, status_message=message)
        batch.refresh_from_db()
        if changed != 1:
            raise BatchStateConflict(
                _("当前状态为“%(status)s”的批次不能驳回。") % {"status": batch.get_status_display()}
            )
        if batch.uploaded_by_id is not None:
            notify(
                recipient=Recipient.user(batch.uploaded_by_id),
                topic=Topic.BATCH_REJECTED,
                title=_("发卡批次被退回"),
                body=_("您上传的发卡批次“%(file)s”被退回：%(reason)s")
                % {"file": batch.original_filename, "reason": message},
                dedup_key=f"batch-rejected:{batch.pk}",
                link=reverse("admin:members_issuancebatch_change", args=[batch.pk]),
            )
    return batch


def batch_resume(*, batch: IssuanceBatch) -> bool:
    """Queue the unfinished work of a batch again (after a lost worker or a broker outage).
    Safe at any time: every step skips what is already done. A batch whose validation failed is
    validated again from the start (the file is kept; the limits or the reader may have changed)."""
    batch.refresh_from_db()
    status = batch.status
    if status == IssuanceBatch.Status.FAILED and batch.approved_at is None:
        with transaction.atomic():
            again = IssuanceBatch.objects.filter(
                pk=batch.pk, status=IssuanceBatch.Status.FAILED, approved_at=None
            ).update(
                status=IssuanceBatch.Status.UPLOADED,
                status_message="",
                total_rows=0,
                valid_rows=0,
                error_rows=0,
                changed_members=0,
                validated_at=None,
            )
            if not again:
                return False
            IssuanceRow.objects.filter(batch_id=batch.pk).delete()
            enqueue_on_commit("members.tasks.batch_validate", batch.pk)
        return True
    if status in (IssuanceBatch.Status.UPLOADED, IssuanceBatch.Status.VALIDATING):
        enqueue_on_commit("members.tasks.batch_validate", batch.pk)
        return True
    if status in (IssuanceBatch.Status.APPROVED, IssuanceBatch.Status.PROCESSING) or (
        status == IssuanceBatch.Status.FAILED and batch.approved_at is not None
    ):
        IssuanceBatch.objects.filter(pk=batch.pk, status=IssuanceBatch.Status.FAILED).update(
            status=IssuanceBatch.Status.PROCESSING, status_message=""
        )
        enqueue_on_commit("members.tasks.batch_process", batch.pk)
        return True
    return False


def _purge_files(due, field: str, purged_field: str, now: datetime) -> int:
    """Delete the stored file in ``field`` of every batch in ``due``; each batch keeps when its file
    was deleted in ``purged_field``."""
    purged = 0
    for batch_id, name in due.exclude(**{field: ""}).values_list("id", field).iterator():
        default_storage.delete(name)  # a file already gone is no error
        purged += IssuanceBatch.objects.filter(pk=batch_id, **{field: name}).update(
            **{field: "", purged_field: now}
        )
    return purged


def bank_files_purge(*, now: datetime | None = None) -> int:
    """Delete the production files (full ID numbers) of batches completed longer ago than
    ``settings.BANK_FILE_RETENTION``; the batch keeps when its file was deleted."""
    now = now or timezone.now()
    due = IssuanceBatch.objects.filter(
        completed_at__lt=now - settings.BANK_FILE_RETENTION, production_file_purged_at__isnull=True
    )
    return _purge_files(due, "production_file", "production_file_purged_at", now)


def application_files_purge(*, now: datetime | None = None) -> int:
    """Delete the uploaded application files (full ID numbers, as the union sent them) once nothing
    will read them again: ``settings.APPLICATION_FILE_RETENTION`` after the batch completed, or after
    it was uploaded when it was rejected. Every applicant's row stays, with its ID number encrypted."""
    now = now or timezone.now()
    cutoff = now - settings.APPLICATION_FILE_RETENTION
    due = IssuanceBatch.objects.filter(file_purged_at__isnull=True).filter(
        Q(status=IssuanceBatch.Status.COMPLETED, completed_at__lt=cutoff)
        | Q(status=IssuanceBatch.Status.REJECTED, created_at__lt=cutoff)
    )
    return _purge_files(due, "file", "file_purged_at", now)


def batch_mark_failed(*, batch_id: int, message: str) -> None:
    IssuanceBatch.objects.filter(
        pk=batch_id, status__in=[IssuanceBatch.Status.APPROVED, IssuanceBatch.Status.PROCESSING]
    ).update(status=IssuanceBatch.Status.FAILED, status_message=message[:500])


ID_FILE_PERMISSION = "members.download_bank_file"


def _id_file_open(
    batch: IssuanceBatch,
    actor,
    *,
    file,
    purged_at,
    purged: str,
    missing: str,
    action: str,
    reader_checked: bool = False,
):
    """A file of the batch with full ID numbers, for a user with the permission; audited.
    ``purged`` (with ``%(day)s``) and ``missing`` say why there is no file. ``reader_checked``: the
    caller checked the reader by the bank's rule instead of the union subtree (see below)."""
    if not reader_checked:
        _batch_for_staff(batch, actor, ID_FILE_PERMISSION, _("您没有下载含完整身份证号的文件的权限。"))
    if purged_at:
        raise NotFound(purged % {"day": f"{timezone.localtime(purged_at):%Y-%m-%d}"})
    if not file:
        raise NotFound(missing)
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise NotFound(missing) from None
    audit_record(
        actor=actor,
        action=action,
        target=batch,
        label=str(batch),
        union_path=batch.union.path,
        data={"rows": batch.total_rows, "cards": batch.cards_created},
    )
    return handle


def batch_bank_file_open(*, batch: IssuanceBatch, actor):
    """The production file (full ID numbers) for a user with the permission; the download is audited."""
    return _id_file_open(
        batch,
        actor,
        file=batch.production_file,
        purged_at=batch.production_file_purged_at,
        purged=_("制卡文件已于%(day)s按保存期限删除。"),
        missing=_("制卡文件尚未生成。"),
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED,
    )


def batch_bank_file_open_for_bank(*, batch: IssuanceBatch, actor, bank_ids) -> object:
    """The production file for the staff of the bank that produces the batch: the same permission as
    for union staff, and instead of the union subtree, the batch's bank among ``bank_ids`` — the banks
    the reader works with, as the bank exchange's access rule (``banking.access``) names them."""
    if not actor.has_perm(ID_FILE_PERMISSION) or batch.bank_id not in set(bank_ids):
        raise PermissionDenied(_("您没有下载含完整身份证号的文件的权限。"))
    return _id_file_open(
        batch,
        actor,
        file=batch.production_file,
        purged_at=batch.production_file_purged_at,
        purged=_("制卡文件已于%(day)s按保存期限删除。"),
        missing=_("制卡文件尚未生成。"),
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED,
        reader_checked=True,
    )


def batch_application_file_open(*, batch: IssuanceBatch, actor):
    """The file the union uploaded (full ID numbers, as sent) for a user with the same permission
    as the production file; the download is audited."""
    return _id_file_open(
        batch,
        actor,
        file=batch.file,
        purged_at=batch.file_purged_at,
        purged=_("申请原文件已于%(day)s按保存期限删除。"),
        missing=_("申请原文件已不在存储中，请联系平台管理员。"),
        action=AuditEvent.Action.APPLICATION_FILE_DOWNLOADED,
    )

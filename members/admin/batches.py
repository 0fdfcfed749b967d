"""Admin of issuance batches: upload, progress, errors and changes to existing members, approval by a
second person, resume, and the downloads with full ID numbers (audited)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from members import batches, issuance, selectors
from members.admin.uploads import UploadFileForm, UploadJobAdminMixin
from members.models import IssuanceBatch, PartnerBank
from portal.confirm import ask_first
from portal.errors import NotFound, PermissionDenied
from portal.xlsx import xlsx_download


class IssuanceBatchUploadForm(UploadFileForm):
    class Meta:
        model = IssuanceBatch
        fields = ("union", "bank", "file")
        help_texts = {
            "file": _(
                "CSV（UTF-8 或 GBK）或 XLSX，第一行为表头：姓名、身份证号、手机号、基层工会代码，可选 群体。"
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "bank" in self.fields:
            self.fields["bank"].queryset = PartnerBank.objects.filter(is_active=True)


BATCH_APPROVE_CONSEQUENCE = _(
    "批准后将立即为 %(count)s 条有效记录制卡，"
    "并按本批次修改 %(changed)s 名已有会员的姓名或手机号；批准后不能撤回。"
)


@admin.register(IssuanceBatch)
class IssuanceBatchAdmin(UploadJobAdminMixin, admin.ModelAdmin):
    """Upload → validation by a worker → approval → card production by a worker, with a live progress
    bar. Nothing of a batch is edited by hand; each step is a button backed by a service."""

    form = IssuanceBatchUploadForm
    list_display = (
        "id",
        "original_filename",
        "union",
        "bank",
        "status",
        "total_rows",
        "valid_rows",
        "error_rows",
        "changed_members",
        "progress_display",
        "created_at",
    )
    list_filter = ("status", "bank")
    list_select_related = ("union", "bank")
    search_fields = ("original_filename", "union__name", "union__code")
    list_per_page = 50
    readonly_fields = (
        "union",
        "bank",
        "original_filename",
        "status",
        "status_message",
        "total_rows",
        "valid_rows",
        "error_rows",
        "processed_rows",
        "cards_created",
        "changed_members",
        "uploaded_by",
        "approved_by",
        "created_at",
        "validated_at",
        "approved_at",
        "completed_at",
        "file_purged_at",
        "production_file_purged_at",
    )
    change_form_template = "admin/members/issuancebatch/change_form.html"

    upload_fields = ("union", "bank", "file")
    uploaded_message = _("文件已上传，正在后台校验，请稍候查看结果。")
    select_related = ("union", "bank")

    def upload(self, request, cleaned_data):
        return batches.batch_upload(
            union=cleaned_data["union"],
            bank=cleaned_data["bank"],
            uploaded_file=cleaned_data["file"],
            uploaded_by=request.user,
        )

    def job_status(self, obj) -> dict:
        return selectors.batch_status(obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("template.xlsx", wrap(self.template_view), name="members_issuancebatch_template"),
            path("<int:pk>/status/", wrap(self.status_view), name="members_issuancebatch_status"),
            path("<int:pk>/errors.xlsx", wrap(self.errors_view), name="members_issuancebatch_errors"),
            path("<int:pk>/changes.xlsx", wrap(self.changes_view), name="members_issuancebatch_changes"),
            path("<int:pk>/source/", wrap(self.source_view), name="members_issuancebatch_source"),
            path("<int:pk>/bank-file/", wrap(self.bank_file_view), name="members_issuancebatch_bank_file"),
            path("<int:pk>/approve/", wrap(self.approve_view), name="members_issuancebatch_approve"),
            path("<int:pk>/reject/", wrap(self.reject_view), name="members_issuancebatch_reject"),
            path("<int:pk>/resume/", wrap(self.resume_view), name="members_issuancebatch_resume"),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        batch = self.get_queryset(request).filter(pk=object_id).select_related("union").first()
        if batch is not None:
            may_download_id_files = request.user.has_perm("members.download_bank_file")
            own_union = getattr(request.user, "union", None)
            extra_context.update(
                job_status=selectors.batch_status(batch),
                error_preview=selectors.batch_error_preview(batch),
                member_changes=selectors.batch_member_changes_preview(batch),
                can_approve=request.user.has_perm("members.approve_issuancebatch")
                and batch.status == IssuanceBatch.Status.VALIDATED,
                # Said beside the button; the refusal itself is batch_approve's (portal.approvals).
                approver_must_differ=batch.uploaded_by_id == request.user.pk
                and not (own_union is not None and own_union.single_person_approval),
                # A failed batch is resumed too: processing continues, validation starts again.
                can_resume=batch.status
                in (
                    IssuanceBatch.Status.UPLOADED,
                    IssuanceBatch.Status.VALIDATING,
                    IssuanceBatch.Status.PROCESSING,
                    IssuanceBatch.Status.FAILED,
                ),
                can_download_bank_file=may_download_id_files and bool(batch.production_file),
                can_download_application_file=may_download_id_files and bool(batch.file),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def template_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        return xlsx_download("发卡申请表模板.xlsx", issuance.template_workbook())

    def errors_view(self, request, pk):
        batch = self._job_or_404(request, pk)
        report = issuance.error_report_workbook(selectors.batch_error_rows(batch))
        return xlsx_download(f"批次{batch.pk}错误明细.xlsx", report)

    def changes_view(self, request, pk):
        batch = self._job_or_404(request, pk)
        report = issuance.member_changes_workbook(selectors.batch_member_change_rows(batch))
        return xlsx_download(f"批次{batch.pk}对已有会员的修改.xlsx", report)

    def _id_file_download(self, request, pk, open_file, filename_of) -> FileResponse:
        """A file of the batch with full ID numbers, opened (permission, audit) by the service."""
        batch = self._job_or_404(request, pk)
        try:
            handle = open_file(batch=batch, actor=request.user)
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        except NotFound:
            raise Http404 from None
        return FileResponse(handle, as_attachment=True, filename=filename_of(batch))

    def source_view(self, request, pk):
        return self._id_file_download(
            request, pk, batches.batch_application_file_open, lambda batch: batch.original_filename
        )

    def bank_file_view(self, request, pk):
        return self._id_file_download(
            request, pk, batches.batch_bank_file_open, lambda batch: f"制卡文件-批次{batch.pk}.csv"
        )

    def approve_view(self, request, pk):
        if request.method == "POST":
            batch = self._job_or_404(request, pk)
            page = ask_first(
                request,
                heading=_("批准制卡"),
                consequence=BATCH_APPROVE_CONSEQUENCE
                % {"count": batch.valid_rows, "changed": batch.changed_members or 0},
                button=_("确认批准"),
                cancel_url=reverse("admin:members_issuancebatch_change", args=[batch.pk]),
                admin_context=self.admin_site.each_context(request),
            )
            if page is not None:
                return page
        return self._step(
            request,
            pk,
            lambda batch: batches.batch_approve(batch=batch, actor=request.user),
            _("已批准，正在后台制卡。"),
        )

    def reject_view(self, request, pk):
        return self._step(
            request,
            pk,
            lambda batch: batches.batch_reject(
                batch=batch, actor=request.user, reason=request.POST.get("reason", "")[:500]
            ),
            _("已驳回该批次。"),
            queues_work=False,
        )

    def resume_view(self, request, pk):
        def resume(batch):
            if not request.user.has_perm("members.add_issuancebatch"):
                raise PermissionDenied()
            if not batches.batch_resume(batch=batch):
                raise batches.BatchStateConflict(_("该批次没有需要继续的工作。"))

        return self._step(request, pk, resume, _("已重新排队，未完成的部分将继续处理。"))

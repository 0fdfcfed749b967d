"""What the admin of an uploaded file of rows shares — card application batches and roster imports:
the upload form with its limits, a read-only status page with a live progress bar, and step buttons
that each call one service and come back to that page. Each admin says only its own fields, figures
and steps."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _

from members.batches import batch_check_upload
from portal.admin import ScopedAdminMixin
from portal.approvals import SecondPersonRequired
from portal.errors import ApplicationError, PermissionDenied
from portal.health import redis_is_up

WORKERS_UNREACHABLE = _("后台任务服务暂时不可用，处理将在服务恢复后开始；请稍后再试，或稍后点击“继续处理”。")


class UploadFileForm(forms.ModelForm):
    """The upload of a file of rows: the limits said beside the field, the file checked before it is
    kept (type, size, row count: ``members.batches.batch_check_upload``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "file" in self.fields:
            limits = _("每个文件最多 %(rows)s 行、%(size)d MB。") % {
                "rows": f"{settings.ISSUANCE_UPLOAD_MAX_ROWS:,}",
                "size": settings.ISSUANCE_UPLOAD_MAX_BYTES // (1024 * 1024),
            }
            self.fields["file"].help_text = f"{self.fields['file'].help_text} {limits}"

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded is not None:
            try:
                batch_check_upload(uploaded)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from None
        return uploaded


class UploadJobAdminMixin(ScopedAdminMixin):
    """An uploaded job is never edited: its change page is a status page with step buttons.

    A subclass names ``upload_fields`` (the add form), ``uploaded_message``, ``select_related`` for its
    page, and implements ``upload(request, cleaned_data)`` (the service that keeps the file) and
    ``job_status(obj)`` (the figures the progress bar reads)."""

    upload_fields: tuple[str, ...] = ()
    uploaded_message = ""
    select_related: tuple[str, ...] = ("union",)

    def upload(self, request, cleaned_data):
        raise NotImplementedError

    def job_status(self, obj) -> dict:
        raise NotImplementedError

    @property
    def change_url_name(self) -> str:
        return f"admin:{self.opts.app_label}_{self.opts.model_name}_change"

    @admin.display(description=_("进度"))
    def progress_display(self, obj):
        return f"{obj.progress_percent}%"

    def get_fields(self, request, obj=None):
        return self.upload_fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.user.union_id:
            initial.setdefault("union", request.user.union_id)
        return initial

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            created = self.upload(request, form.cleaned_data)
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        obj.pk = created.pk
        obj.file = created.file
        obj.original_filename = created.original_filename
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        if redis_is_up():
            self.message_user(request, self.uploaded_message, messages.SUCCESS)
        else:
            self.message_user(request, _("文件已保存。") + str(WORKERS_UNREACHABLE), messages.WARNING)
        return redirect(self.change_url_name, obj.pk)

    def _job_or_404(self, request, pk):
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        return get_object_or_404(self.get_queryset(request).select_related(*self.select_related), pk=pk)

    def status_view(self, request, pk):
        return JsonResponse(self.job_status(self._job_or_404(request, pk)))

    def _step(self, request, pk, step, success, queues_work=True):
        """Run one step (a service call) on a POST and come back to the status page with its outcome."""
        job = self._job_or_404(request, pk)
        if request.method != "POST":
            return redirect(self.change_url_name, job.pk)
        try:
            step(job)
        except SecondPersonRequired as exc:
            self.message_user(request, exc.message, messages.ERROR)
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            if queues_work and not redis_is_up():
                # The step is recorded; its work waits until the workers can be reached again.
                self.message_user(request, WORKERS_UNREACHABLE, messages.WARNING)
            else:
                self.message_user(request, success, messages.SUCCESS)
        return redirect(self.change_url_name, job.pk)

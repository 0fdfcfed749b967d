"""Admin of the roster: imports (upload, progress, errors, confirm, resume), the members not in the
latest roster (confirm as left or transferred, or keep), and reported member counts. Every button
calls a service of ``members.roster``; nothing here decides a rule."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.urls import path
from django.utils.translation import gettext_lazy as _

from members import issuance, roster
from members.admin.uploads import UploadFileForm, UploadJobAdminMixin
from members.models import ReportedMemberCount, RosterImport, RosterMissing, RosterRow, Union
from portal.admin import ScopedAdminMixin
from portal.errors import ApplicationError, PermissionDenied
from portal.xlsx import xlsx_download

RESUMABLE = (RosterImport.Status.UPLOADED, RosterImport.Status.VALIDATING, RosterImport.Status.APPLYING)


def roster_status(item: RosterImport) -> dict:
    """What the progress bar shows (the batch page's script reads the same keys)."""
    return {
        "id": item.pk,
        "status": item.status,
        "status_display": str(item.get_status_display()),
        "status_message": item.status_message,
        "percent": item.progress_percent,
        "total_rows": item.total_rows,
        "valid_rows": item.valid_rows,
        "error_rows": item.error_rows,
        "processed_rows": item.processed_rows,
        "members_added": item.members_added,
        "members_updated": item.members_updated,
        "status_changes": item.status_changes,
        "missing_members": item.missing_members,
    }


def _error_rows(item: RosterImport):
    return (
        RosterRow.objects.filter(roster=item, status=RosterRow.Status.INVALID)
        .order_by("row_number")
        .only("row_number", "name", "id_number_masked", "phone", "union_code", "errors")
    )


class RosterUploadForm(UploadFileForm):
    class Meta:
        model = RosterImport
        fields = ("union", "file")
        help_texts = {
            "file": _(
                "CSV（UTF-8 或 GBK）或 XLSX，表头与发卡申请表相同：姓名、身份证号、手机号、基层工会代码，"
                "可选 群体、会籍状态。名册是完整名单：未列入的在会会员将列为“不在最新名册”，由您确认。"
            ),
        }


@admin.register(RosterImport)
class RosterImportAdmin(UploadJobAdminMixin, admin.ModelAdmin):
    form = RosterUploadForm
    list_display = (
        "id",
        "original_filename",
        "union",
        "status",
        "total_rows",
        "valid_rows",
        "error_rows",
        "members_added",
        "missing_members",
        "progress_display",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("union",)
    search_fields = ("original_filename", "union__name", "union__code")
    list_per_page = 50
    readonly_fields = (
        "union",
        "original_filename",
        "status",
        "status_message",
        "total_rows",
        "valid_rows",
        "error_rows",
        "processed_rows",
        "members_added",
        "members_updated",
        "status_changes",
        "missing_members",
        "uploaded_by",
        "confirmed_by",
        "created_at",
        "validated_at",
        "confirmed_at",
        "completed_at",
    )
    change_form_template = "admin/members/rosterimport/change_form.html"

    upload_fields = ("union", "file")
    uploaded_message = _("名册已上传，正在后台校验，请稍候查看结果。")

    def upload(self, request, cleaned_data):
        return roster.roster_upload(
            union=cleaned_data["union"], uploaded_file=cleaned_data["file"], uploaded_by=request.user
        )

    def job_status(self, obj) -> dict:
        return roster_status(obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("template.xlsx", wrap(self.template_view), name="members_rosterimport_template"),
            path("<int:pk>/status/", wrap(self.status_view), name="members_rosterimport_status"),
            path("<int:pk>/errors.xlsx", wrap(self.errors_view), name="members_rosterimport_errors"),
            path("<int:pk>/confirm/", wrap(self.confirm_view), name="members_rosterimport_confirm"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="members_rosterimport_cancel"),
            path("<int:pk>/resume/", wrap(self.resume_view), name="members_rosterimport_resume"),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        item = self.get_queryset(request).filter(pk=object_id).select_related("union").first()
        if item is not None:
            extra_context.update(
                job_status=roster_status(item),
                error_preview=list(_error_rows(item)[:20]),
                can_confirm=request.user.has_perm("members.confirm_rosterimport")
                and item.status == RosterImport.Status.VALIDATED
                and item.valid_rows > 0,
                can_cancel=item.status in (RosterImport.Status.VALIDATED, RosterImport.Status.FAILED)
                and item.confirmed_at is None,
                can_resume=item.status
                in (
                    RosterImport.Status.UPLOADED,
                    RosterImport.Status.VALIDATING,
                    RosterImport.Status.APPLYING,
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def template_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        return xlsx_download("会员名册模板.xlsx", roster.roster_template_workbook())

    def errors_view(self, request, pk):
        item = self._job_or_404(request, pk)
        report = issuance.error_report_workbook(_error_rows(item).iterator(chunk_size=5000))
        return xlsx_download(f"名册{item.pk}错误明细.xlsx", report)

    def confirm_view(self, request, pk):
        return self._step(
            request,
            pk,
            lambda item: roster.roster_confirm(roster=item, actor=request.user),
            _("已确认，正在后台导入名册。"),
        )

    def cancel_view(self, request, pk):
        return self._step(
            request,
            pk,
            lambda item: roster.roster_cancel(roster=item, actor=request.user),
            _("已放弃该名册。"),
            queues_work=False,
        )

    def resume_view(self, request, pk):
        def resume(item):
            if not request.user.has_perm("members.add_rosterimport"):
                raise PermissionDenied()
            if not roster.roster_resume(roster=item):
                raise roster.RosterStateConflict(_("该名册没有需要继续的工作。"))

        return self._step(request, pk, resume, _("已重新排队，未完成的部分将继续处理。"))


@admin.register(RosterMissing)
class RosterMissingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """ "不在最新名册": staff confirm each as left or transferred, or keep them (admin actions)."""

    scope_path_field = "union__path"
    list_display = ("member_display", "union", "roster_display", "resolution", "resolved_at")
    list_filter = ("resolution",)
    list_select_related = ("member", "union", "roster")
    search_fields = ("union__name", "union__code")
    list_per_page = 100
    actions = ("confirm_left", "confirm_transferred", "keep")

    @admin.display(description=_("会员"))
    def member_display(self, obj):
        return str(obj.member)

    @admin.display(description=_("会员名册导入"))
    def roster_display(self, obj):
        return str(obj.roster)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def _resolve(self, request, queryset, resolution, done_message):
        try:
            count = roster.roster_missing_resolve(
                missing_ids=list(queryset.values_list("pk", flat=True)),
                resolution=resolution,
                actor=request.user,
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, done_message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("确认所选会员已退会"), permissions=["change"])
    def confirm_left(self, request, queryset):
        self._resolve(
            request, queryset, RosterMissing.Resolution.LEFT, _("已将 %(count)s 名会员确认为退会。")
        )

    @admin.action(description=_("确认所选会员已转出"), permissions=["change"])
    def confirm_transferred(self, request, queryset):
        self._resolve(
            request, queryset, RosterMissing.Resolution.TRANSFERRED, _("已将 %(count)s 名会员确认为转出。")
        )

    @admin.action(description=_("所选会员仍在会（保留）"), permissions=["change"])
    def keep(self, request, queryset):
        self._resolve(request, queryset, RosterMissing.Resolution.KEPT, _("已保留 %(count)s 名会员。"))


class ReportedCountForm(forms.ModelForm):
    class Meta:
        model = ReportedMemberCount
        fields = ("union", "count", "as_of", "source")


@admin.register(ReportedMemberCount)
class ReportedMemberCountAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Counts are entered, never edited: a new count with a later date replaces an old one."""

    form = ReportedCountForm
    list_display = ("union", "count", "as_of", "source", "entered_by", "created_at")
    list_select_related = ("union", "entered_by")
    search_fields = ("union__name", "union__code")
    date_hierarchy = "as_of"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "union":
            field.queryset = field.queryset.real().filter(level=Union.Level.WORKPLACE)
        return field

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            created = roster.reported_count_record(
                union=form.cleaned_data["union"],
                count=form.cleaned_data["count"],
                as_of=form.cleaned_data["as_of"],
                source=form.cleaned_data["source"],
                actor=request.user,
            )
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        obj.pk = created.pk
        obj._state.adding = False

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from members import issuance, pii, selectors, services
from members.models import Card, IssuanceBatch, Member, MemberGroup, MemberTransfer, PartnerBank, Union
from portal.admin import ScopedAdminMixin
from portal.approvals import SecondPersonRequired
from portal.errors import ApplicationError, NotFound, PermissionDenied
from portal.health import redis_is_up
from portal.scoping import scope_queryset
from portal.xlsx import xlsx_download

WORKERS_UNREACHABLE = _("后台任务服务暂时不可用，处理将在服务恢复后开始；请稍后再试，或稍后点击“继续处理”。")


@admin.register(Union)
class UnionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The union tree, browsable by parent; staff see their own node and everything below it."""

    scope_path_field = "path"
    list_display = ("indented_name", "code", "level", "child_count")
    list_filter = ("level",)
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth")
    list_per_page = 100
    autocomplete_fields = ("parent",)

    def get_queryset(self, request):
        # an explicit order: with the GROUP BY of the count, the model's default ordering no longer applies
        return super().get_queryset(request).annotate(child_count=Count("children")).order_by("path")

    @admin.display(description="名称", ordering="path")
    def indented_name(self, obj):
        return "　" * obj.depth + obj.name

    @admin.display(description="下级数", ordering="child_count")
    def child_count(self, obj):
        return obj.child_count

    def get_readonly_fields(self, request, obj=None):
        # Codes and parents are fixed once created: the materialized paths below depend on them.
        fields = (*self.readonly_fields, "code", "parent") if obj else self.readonly_fields
        if not services.may_set_single_person_approval(request.user):
            fields = (*fields, "single_person_approval")
        return fields

    def save_model(self, request, obj, form, change):
        # Self-approval is switched by its service only (province admins, audited): the row is saved
        # with the value it had, then the service changes it.
        wanted = form.cleaned_data.get("single_person_approval")
        if change:
            obj.single_person_approval = (
                Union.objects.filter(pk=obj.pk).values_list("single_person_approval", flat=True).get()
            )
        else:
            obj.path = Union.path_for(obj.code, obj.parent)
            obj.depth = obj.path.count("/") - 1
            obj.single_person_approval = False
        super().save_model(request, obj, form, change)
        if wanted is not None and wanted != obj.single_person_approval:
            services.union_set_single_person_approval(union=obj, enabled=wanted, actor=request.user)


# --- Members ------------------------------------------------------------------------------------------


class MemberAdminForm(forms.ModelForm):
    id_number = forms.CharField(label=_("身份证号"), max_length=32, required=False)
    groups = forms.MultipleChoiceField(
        label=_("群体"), choices=MemberGroup.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Member
        fields = ("name", "phone", "union", "status", "groups")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["id_number"].label = _("更正身份证号")
            self.fields["id_number"].help_text = _("留空则不修改。当前：%(masked)s") % {
                "masked": self.instance.id_number_masked
            }
        else:
            self.fields["id_number"].required = True

    def clean_id_number(self):
        value = self.cleaned_data.get("id_number", "")
        if not value:
            return ""
        try:
            value = services.checked_id_number(value)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None
        if value:
            clash = Member.objects.filter(id_number_hash=pii.hash_id_number(value))
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError(_("该身份证号已登记为会员。"))
        return value

    def clean_phone(self):
        try:
            return services.checked_phone(self.cleaned_data.get("phone", ""))
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_union(self):
        union = self.cleaned_data.get("union")
        if union is not None and union.level != Union.Level.WORKPLACE:
            raise forms.ValidationError(_("会员只能属于基层工会。"))
        return union


class CardInline(admin.TabularInline):
    model = Card
    fk_name = "member"
    fields = ("number", "bank", "status", "issued_at", "activated_at", "frozen_at", "closed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class MemberTransferInline(admin.TabularInline):
    model = MemberTransfer
    fields = ("from_union", "to_union", "transferred_at", "transferred_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Members of the staff's subtree. The ID number is always masked here; the full value is behind
    the audited "reveal" page, and moving a member is a transfer, never an edit of the union."""

    form = MemberAdminForm
    list_display = ("name", "id_number_masked", "phone", "union", "status", "groups_display", "created_at")
    list_filter = ("status",)
    list_select_related = ("union",)
    search_fields = ("name", "phone", "union__code")
    readonly_fields = ("id_number_masked", "consent_at", "last_sign_in_at", "created_at", "updated_at")
    autocomplete_fields = ("union",)
    inlines = (CardInline, MemberTransferInline)
    actions = ("issue_cards",)
    list_per_page = 50
    show_full_result_count = False  # the exact count over millions of members is not worth a scan

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "id_number", "phone", "union", "status", "groups")
        return (
            "name",
            "id_number_masked",
            "id_number",
            "phone",
            "union",
            "status",
            "groups",
            "consent_at",
            "last_sign_in_at",
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "union") if obj else self.readonly_fields

    @admin.display(description=_("群体"))
    def groups_display(self, obj):
        labels = dict(MemberGroup.choices)
        return "、".join(str(labels.get(group, group)) for group in obj.groups) or "—"

    def get_search_results(self, request, queryset, search_term):
        # The search box is a GET: a number typed into it would be kept in the address, the access
        # log and the next page's Referer. Full ID numbers are found by the POST form above the
        # list (find_by_id_view); here such a term finds nothing, and the page says where to go.
        if ID_NUMBER_LIKE.match(re.sub(r"\s", "", search_term or "")):
            self.message_user(
                request,
                _("完整身份证号不能在搜索框中查找（会被记录在网址和日志里），请使用上方的“按身份证号查找”。"),
                messages.WARNING,
            )
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.member_update(
                member=obj,
                name=data["name"],
                phone=data["phone"],
                groups=data["groups"],
                id_number=data.get("id_number") or None,
                actor=request.user,
            )
            if obj.status != form.initial.get("status"):
                services.member_set_status(member=obj, status=data["status"], actor=request.user)
            return
        member = services.member_create(
            name=data["name"],
            id_number=data["id_number"],
            phone=data["phone"],
            union=data["union"],
            groups=data["groups"],
            status=data["status"],
            actor=request.user,
        )
        obj.pk = member.pk
        obj.id_number_masked = member.id_number_masked
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False  # members leave (status), their history stays

    @admin.action(description=_("为所选会员制卡（默认合作银行）"), permissions=["change"])
    def issue_cards(self, request, queryset):
        bank = PartnerBank.objects.filter(is_active=True).order_by("pk").first()
        if bank is None:
            self.message_user(request, _("没有合作中的银行。"), messages.ERROR)
            return
        issued = refused = 0
        for member in queryset.select_related("union")[:500]:
            try:
                services.card_issue(member=member, bank=bank, actor=request.user)
                issued += 1
            except ApplicationError:
                refused += 1
        self.message_user(
            request,
            _("已制卡 %(issued)s 张；%(refused)s 名会员已有有效卡，未重复制卡。")
            % {"issued": issued, "refused": refused},
            messages.SUCCESS if issued else messages.WARNING,
        )

    def get_urls(self):
        urls = super().get_urls()
        own = [
            path(
                "<int:pk>/reveal-id/",
                self.admin_site.admin_view(self.reveal_view),
                name="members_member_reveal",
            ),
            path(
                "<int:pk>/transfer/",
                self.admin_site.admin_view(self.transfer_view),
                name="members_member_transfer",
            ),
            path(
                "find-by-id/",
                self.admin_site.admin_view(require_POST(self.find_by_id_view)),
                name="members_member_find_by_id",
            ),
        ]
        return own + urls

    def find_by_id_view(self, request):
        """A member of the staff's subtree by full ID number, posted (never in a URL): the answer is
        the member's page, or the list with a message that is the same whether the number is unknown
        or belongs to a member out of reach."""
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        try:
            value = pii.validate_id_number(request.POST.get("id_number", ""))
        except DjangoValidationError as exc:
            self.message_user(request, exc.messages[0], messages.ERROR)
            return redirect("admin:members_member_changelist")
        member = selectors.member_for_staff_by_id_number(request.user, value)
        if member is None:
            self.message_user(request, _("您管理的会员中没有这个身份证号。"), messages.WARNING)
            return redirect("admin:members_member_changelist")
        return redirect("admin:members_member_change", member.pk)

    def _member_or_404(self, request, pk) -> Member:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def reveal_view(self, request, pk):
        member = self._member_or_404(request, pk)
        if not request.user.has_perm("members.reveal_id_number"):
            raise DjangoPermissionDenied
        full = None
        if request.method == "POST":
            full = services.member_reveal_id_number(member=member, actor=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": member,
            "title": _("查看完整身份证号"),
            "full_id_number": full,
        }
        return TemplateResponse(request, "admin/members/member/reveal_id.html", context)

    def transfer_view(self, request, pk):
        member = self._member_or_404(request, pk)
        if not self.has_change_permission(request, member):
            raise DjangoPermissionDenied
        form = MemberTransferForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                services.member_transfer(
                    member=member, to_union=form.cleaned_data["to_union"], actor=request.user
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request, _("已将会员转入%(union)s。") % {"union": form.cleaned_data["to_union"].name}
                )
                return redirect("admin:members_member_change", member.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": member,
            "title": _("会员转会"),
            "form": form,
        }
        return TemplateResponse(request, "admin/members/member/transfer.html", context)


class MemberTransferForm(forms.Form):
    to_union = forms.CharField(label=_("转入基层工会代码"), max_length=32)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_to_union(self):
        # Looked up within the user's subtree only: a code of another subtree is answered as one
        # that does not exist, so the page does not confirm which codes exist elsewhere.
        code = self.cleaned_data["to_union"].strip()
        union = scope_queryset(Union.objects.all(), self.user, "path").filter(code=code).first()
        if union is None:
            raise forms.ValidationError(_("找不到该工会代码，或该工会不在您的管理范围内。"))
        if union.level != Union.Level.WORKPLACE:
            raise forms.ValidationError(_("只能转入基层工会。"))
        return union


# A full resident ID number (18 characters, or the old 15 digits), as typed into a search box.
ID_NUMBER_LIKE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")


# --- Banks and cards -------------------------------------------------------------------------------------


@admin.register(PartnerBank)
class PartnerBankAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "bin", "serial_length", "next_serial", "is_active")
    readonly_fields = ("next_serial",)

    def get_readonly_fields(self, request, obj=None):
        # Changing the BIN or the serial length of a bank with cards would break their numbers.
        if obj is not None and obj.cards.exists():
            return (*self.readonly_fields, "bin", "serial_length")
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False


def _card_action(service, done_message):
    def action(modeladmin, request, queryset):
        done = 0
        for card in queryset.select_related("member__union", "bank")[:500]:
            try:
                service(card=card, actor=request.user)
                done += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{card.number}：{exc.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    return action


@admin.register(Card)
class CardAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Cards of members in the staff's subtree; full numbers are shown on staff screens only."""

    scope_path_field = "member__union__path"
    list_display = (
        "number",
        "member_name",
        "member_union",
        "bank",
        "status",
        "batch_id",
        "issued_at",
        "activated_at",
    )
    list_filter = ("status", "bank")
    list_select_related = ("member__union", "bank")
    search_fields = ("number", "member__phone", "member__name")
    readonly_fields = (
        "number",
        "bank",
        "serial",
        "member",
        "status",
        "batch",
        "replaces",
        "issued_at",
        "activated_at",
        "frozen_at",
        "closed_at",
    )
    fields = readonly_fields
    actions = ("activate_cards", "freeze_cards", "replace_cards", "cancel_cards")
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("会员"), ordering="member__name")
    def member_name(self, obj):
        return obj.member.name

    @admin.display(description=_("基层工会"))
    def member_union(self, obj):
        return obj.member.union.name

    def has_add_permission(self, request):
        return False  # cards come from issuance batches or a member's "issue card" action

    def has_delete_permission(self, request, obj=None):
        return False

    activate_cards = admin.action(description=_("激活所选卡"), permissions=["change"])(
        _card_action(services.card_activate, _("已激活 %(count)s 张卡。"))
    )
    freeze_cards = admin.action(description=_("挂失所选卡"), permissions=["change"])(
        _card_action(services.card_freeze, _("已挂失 %(count)s 张卡。"))
    )
    replace_cards = admin.action(description=_("补换所选卡（注销旧卡并制新卡）"), permissions=["change"])(
        _card_action(services.card_replace, _("已为 %(count)s 张卡补换新卡。"))
    )
    cancel_cards = admin.action(description=_("注销所选卡"), permissions=["change"])(
        _card_action(services.card_cancel, _("已注销 %(count)s 张卡。"))
    )


# --- Issuance batches ------------------------------------------------------------------------------------


class IssuanceBatchUploadForm(forms.ModelForm):
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
                services.batch_check_upload(uploaded)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from None
        return uploaded


@admin.register(IssuanceBatch)
class IssuanceBatchAdmin(ScopedAdminMixin, admin.ModelAdmin):
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

    @admin.display(description=_("进度"))
    def progress_display(self, obj):
        return f"{obj.progress_percent}%"

    def get_fields(self, request, obj=None):
        return ("union", "bank", "file") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.user.union_id:
            initial.setdefault("union", request.user.union_id)
        return initial

    def has_change_permission(self, request, obj=None):
        # Batches are never edited: the change page is a read-only status page with step buttons.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        batch = services.batch_upload(
            union=form.cleaned_data["union"],
            bank=form.cleaned_data["bank"],
            uploaded_file=form.cleaned_data["file"],
            uploaded_by=request.user,
        )
        obj.pk = batch.pk
        obj.file = batch.file
        obj.original_filename = batch.original_filename
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        if redis_is_up():
            self.message_user(request, _("文件已上传，正在后台校验，请稍候查看结果。"), messages.SUCCESS)
        else:
            self.message_user(request, _("文件已保存。") + str(WORKERS_UNREACHABLE), messages.WARNING)
        return redirect("admin:members_issuancebatch_change", obj.pk)

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

    def _batch_or_404(self, request, pk) -> IssuanceBatch:
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        return get_object_or_404(self.get_queryset(request).select_related("union", "bank"), pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        batch = self.get_queryset(request).filter(pk=object_id).select_related("union").first()
        if batch is not None:
            may_download_id_files = request.user.has_perm("members.download_bank_file")
            own_union = getattr(request.user, "union", None)
            extra_context.update(
                batch_status=selectors.batch_status(batch),
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

    def status_view(self, request, pk):
        batch = self._batch_or_404(request, pk)
        return JsonResponse(selectors.batch_status(batch))

    def errors_view(self, request, pk):
        batch = self._batch_or_404(request, pk)
        report = issuance.error_report_workbook(selectors.batch_error_rows(batch))
        return xlsx_download(f"批次{batch.pk}错误明细.xlsx", report)

    def changes_view(self, request, pk):
        batch = self._batch_or_404(request, pk)
        report = issuance.member_changes_workbook(selectors.batch_member_change_rows(batch))
        return xlsx_download(f"批次{batch.pk}对已有会员的修改.xlsx", report)

    def _id_file_download(self, request, pk, open_file, filename_of) -> FileResponse:
        """A file of the batch with full ID numbers, opened (permission, audit) by the service."""
        batch = self._batch_or_404(request, pk)
        try:
            handle = open_file(batch=batch, actor=request.user)
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        except NotFound:
            raise Http404 from None
        return FileResponse(handle, as_attachment=True, filename=filename_of(batch))

    def source_view(self, request, pk):
        return self._id_file_download(
            request, pk, services.batch_application_file_open, lambda batch: batch.original_filename
        )

    def bank_file_view(self, request, pk):
        return self._id_file_download(
            request, pk, services.batch_bank_file_open, lambda batch: f"制卡文件-批次{batch.pk}.csv"
        )

    def _step(self, request, pk, step, success, queues_work=True):
        batch = self._batch_or_404(request, pk)
        if request.method != "POST":
            return redirect("admin:members_issuancebatch_change", batch.pk)
        try:
            step(batch)
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
        return redirect("admin:members_issuancebatch_change", batch.pk)

    def approve_view(self, request, pk):
        return self._step(
            request,
            pk,
            lambda batch: services.batch_approve(batch=batch, actor=request.user),
            _("已批准，正在后台制卡。"),
        )

    def reject_view(self, request, pk):
        return self._step(
            request,
            pk,
            lambda batch: services.batch_reject(
                batch=batch, actor=request.user, reason=request.POST.get("reason", "")[:500]
            ),
            _("已驳回该批次。"),
            queues_work=False,
        )

    def resume_view(self, request, pk):
        def resume(batch):
            if not request.user.has_perm("members.add_issuancebatch"):
                raise PermissionDenied()
            if not services.batch_resume(batch=batch):
                raise services.BatchStateConflict(_("该批次没有需要继续的工作。"))

        return self._step(request, pk, resume, _("已重新排队，未完成的部分将继续处理。"))

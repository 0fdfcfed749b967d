"""Allowance claims and payout runs in the staff admin, scoped to the staff member's subtree. Nothing
is edited by hand: claims change only through ``allowances.services`` and ``allowances.payouts``, whose
steps are the actions and buttons here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from allowances import payouts, services
from allowances.models import Claim, PayoutLine, PayoutRun
from allowances.services import yuan
from banking.access import may_download
from banking.files import bank_file_open
from members.models import PartnerBank
from portal.admin import ScopedAdminMixin
from portal.confirm import ask_first
from portal.errors import ApplicationError, NotFound, PermissionDenied

CANCEL_REASON = _("银行无法入账，经工作人员核实取消发放")


@admin.register(Claim)
class ClaimAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "union_path"
    actions = ("mark_paid_otherwise", "approve_claims", "reject_claims", "retry_credit", "cancel_credit")
    list_display = (
        "id",
        "member",
        "hospital",
        "admitted_on",
        "discharged_on",
        "status",
        "days",
        "amount_fen",
        "paid_on",
    )
    list_filter = ("status",)
    list_select_related = ("member",)
    search_fields = ("=id", "hospital")
    fields = (
        "member", "union", "hospital", "admitted_on", "discharged_on", "bill_fen", "payment",
        "paid_otherwise", "status", "days", "amount_fen", "fund", "paid_on", "bank_reference",
        "decision_note", "created_by", "created_at", "decided_by", "decided_at",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's actions (retry, cancel a failed credit) need it; the form stays read-only.
        return obj is None and request.user.has_perm(payouts.MANAGE_PERMISSION)

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, step, done_message):
        done = 0
        for claim_id in queryset.values_list("pk", flat=True):
            try:
                step(claim_id)
            except ApplicationError as exc:
                self.message_user(request, f"#{claim_id}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(
        description=_("待审核：未找到用卡支付，标记为其他方式支付（凭票据审核）"), permissions=["change"]
    )
    def mark_paid_otherwise(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda claim_id: services.claim_mark_paid_otherwise(actor=request.user, claim=claim_id),
            _("%(count)s 份申请已标记为其他方式支付。"),
        )

    @admin.action(description=_("待审核：批准（按天数计算补贴并占用普惠资金）"), permissions=["change"])
    def approve_claims(self, request, queryset):
        page = ask_first(
            request,
            heading=_("批准住院补贴"),
            consequence=_(
                "所选申请将按天数计算补贴并从普惠资金中占用相应金额，随下一批发放打入会员卡。须由申请录入人以外的工作人员批准。"
            ),
            button=_("确认批准"),
            cancel_url=reverse("admin:allowances_claim_changelist"),
            admin_context=self.admin_site.each_context(request),
        )
        if page is not None:
            return page
        self._each(
            request,
            queryset,
            lambda claim_id: services.claim_approve(actor=request.user, claim=claim_id),
            _("已批准 %(count)s 份申请。"),
        )

    @admin.action(description=_("待审核：不批准（填写原因）"), permissions=["change"])
    def reject_claims(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if "apply" not in request.POST or not reason:
            return TemplateResponse(
                request,
                "admin/allowances/claim/reject.html",
                {
                    **self.admin_site.each_context(request),
                    "claims": list(queryset),
                    "reason": reason,
                    "error": _("请填写不批准的原因，会员会看到它。") if "apply" in request.POST else "",
                },
            )
        self._each(
            request,
            queryset,
            lambda claim_id: services.claim_reject(actor=request.user, claim=claim_id, reason=reason),
            _("%(count)s 份申请未批准。"),
        )

    @admin.action(description=_("发放失败的补贴：重新发放（加入下一批）"), permissions=["change"])
    def retry_credit(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda claim_id: payouts.claim_retry(actor=request.user, claim_id=claim_id),
            _("%(count)s 笔补贴将随下一批重新发放。"),
        )

    @admin.action(description=_("发放失败的补贴：取消发放（退回资金）"), permissions=["change"])
    def cancel_credit(self, request, queryset):
        page = ask_first(
            request,
            heading=_("取消发放"),
            consequence=_("所选发放失败的补贴将不再发放，已承诺的资金退回普惠资金。此操作不能撤回。"),
            button=_("确认取消发放"),
            cancel_url=reverse("admin:allowances_claim_changelist"),
            admin_context=self.admin_site.each_context(request),
        )
        if page is not None:
            return page
        self._each(
            request,
            queryset,
            lambda claim_id: payouts.claim_cancel(
                actor=request.user, claim_id=claim_id, reason=str(CANCEL_REASON)
            ),
            _("已取消 %(count)s 笔补贴的发放。"),
        )


class PayoutLineInline(admin.TabularInline):
    model = PayoutLine
    fields = ("reference", "claim", "card_masked", "amount_fen", "status", "failure_reason", "credited_on")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("参考号"))
    def reference(self, obj):
        return obj.reference

    @admin.display(description=_("会员卡"))
    def card_masked(self, obj):
        return obj.card.number_masked

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PayoutRunForm(forms.ModelForm):
    class Meta:
        model = PayoutRun
        fields = ("bank",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "bank" in self.fields:
            self.fields["bank"].queryset = PartnerBank.objects.filter(is_active=True)
            self.fields["bank"].help_text = _("收集本辖区内持该行会员卡、已批准待发放的全部住院补贴。")


@admin.register(PayoutRun)
class PayoutRunAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Create (one staff member) → release by another, which writes the bank's credit file → the
    bank's result file, uploaded on the bank-file page, pays or fails each line."""

    form = PayoutRunForm
    inlines = (PayoutLineInline,)
    list_display = ("id", "bank", "union", "status", "line_count", "total_yuan", "created_by", "created_at")
    list_filter = ("status", "bank")
    list_select_related = ("bank", "union", "created_by")
    readonly_fields = (
        "bank", "union", "status", "line_count", "total_yuan", "credited_yuan", "failed_yuan",
        "pending_yuan", "credit_file", "created_by", "created_at", "released_by", "released_at", "closed_at",
    )  # fmt: skip
    change_form_template = "admin/allowances/payoutrun/change_form.html"

    @admin.display(description=_("总金额（元）"))
    def total_yuan(self, obj):
        return yuan(obj.total_fen)

    def _status_yuan(self, obj, status):
        return yuan(payouts.run_totals(obj)[status])

    @admin.display(description=_("已入账（元）"))
    def credited_yuan(self, obj):
        return self._status_yuan(obj, PayoutLine.Status.CREDITED)

    @admin.display(description=_("入账失败（元）"))
    def failed_yuan(self, obj):
        return self._status_yuan(obj, PayoutLine.Status.FAILED)

    @admin.display(description=_("待银行结果（元）"))
    def pending_yuan(self, obj):
        return self._status_yuan(obj, PayoutLine.Status.PENDING)

    def get_fields(self, request, obj=None):
        return ("bank",) if obj is None else self.readonly_fields

    def get_inlines(self, request, obj=None):
        return () if obj is None else self.inlines

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_add_permission(self, request):
        # Making a run is the payout permission's (allowances.payouts), not a model "add".
        return request.user.has_perm(payouts.MANAGE_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            run = payouts.payout_run_create(actor=request.user, bank=form.cleaned_data["bank"])
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        obj.pk, obj.union, obj.created_by, obj.created_at = run.pk, run.union, run.created_by, run.created_at
        obj._state.adding = False

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return redirect("admin:allowances_payoutrun_add")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("<int:pk>/release/", wrap(self.release_view), name="allowances_payoutrun_release"),
            path(
                "<int:pk>/credit-file/", wrap(self.credit_file_view), name="allowances_payoutrun_credit_file"
            ),
        ]
        return own + super().get_urls()

    def _run_or_404(self, request, pk) -> PayoutRun:
        if not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        return get_object_or_404(self.get_queryset(request).select_related("bank", "credit_file"), pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_queryset(request).select_related("credit_file").filter(pk=object_id).first()
        extra_context = extra_context or {}
        if run is not None:
            extra_context.update(
                can_release=run.status == PayoutRun.Status.DRAFT
                and request.user.has_perm(payouts.MANAGE_PERMISSION),
                release_must_differ=run.created_by_id == request.user.pk,
                # The link only for those allowed to download it (the file holds full card numbers).
                has_credit_file=run.credit_file is not None and may_download(request.user, run.credit_file),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def release_view(self, request, pk):
        run = self._run_or_404(request, pk)
        change_url = reverse("admin:allowances_payoutrun_change", args=[run.pk])
        if request.method != "POST":
            return redirect(change_url)
        page = ask_first(
            request,
            heading=_("发放住院补贴"),
            consequence=_(
                "将生成 %(count)s 笔、共 ¥%(total)s 的银行入账文件，发给%(bank)s入账；发放后不能撤回。"
            )
            % {"count": run.line_count, "total": yuan(run.total_fen), "bank": run.bank.name},
            button=_("确认发放"),
            cancel_url=change_url,
            admin_context=self.admin_site.each_context(request),
        )
        if page is not None:
            return page
        try:
            payouts.payout_run_release(run_id=run.pk, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, _("已发放：入账文件已生成，请下载后交银行。"), messages.SUCCESS)
        return redirect(change_url)

    def credit_file_view(self, request, pk):
        run = self._run_or_404(request, pk)
        if run.credit_file is None:
            raise Http404
        try:
            handle = bank_file_open(bank_file=run.credit_file, actor=request.user)
        except PermissionDenied:
            raise DjangoPermissionDenied from None
        except NotFound:
            raise Http404 from None
        return FileResponse(handle, as_attachment=True, filename=run.credit_file.original_filename)

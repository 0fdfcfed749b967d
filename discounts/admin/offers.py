"""Staff side of offers: review workflow (approve, reject with a reason, publish, pause, end), live
limit changes with their audit trail shown inline, and the code pool of online offers.

The admin writes nothing itself: a new offer is made by ``offer_create``, a draft changed by
``offer_update``, a live offer's limits by ``offer_change_limits``; what an offer's status no longer
lets change (``offer_editable_fields``) is shown locked, and a request that changes it anyway is
refused with the reason."""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from discounts import services, vouchers
from discounts.forms import OfferFormMixin, ZheField, eligible_groups_field, weekdays_field, zhe_initial
from discounts.models import Offer, OfferLimitChange
from discounts.selectors import offer_headline, offer_preview
from funds.selectors import funds_in_scope
from members.models import Union
from merchants.models import Merchant, Store
from portal.admin import ScopedAdminMixin
from portal.confirm import ask_first
from portal.errors import ApplicationError
from portal.scoping import scope_queryset

END_CONSEQUENCE = _lazy(
    "结束后，优惠“%(title)s”立即从会员的优惠列表中下架、不能再核销，且不能重新发布；已核销的记录和结算不受影响。"
)


class OfferAdminForm(OfferFormMixin, forms.ModelForm):
    """The staff's offer form: the same rules (offer_validate) and the same 折 as the merchant's."""

    weekdays = weekdays_field()
    eligible_groups = eligible_groups_field()
    discount_zhe = ZheField()
    field_aliases = {"percent_off": "discount_zhe"}

    class Meta:
        model = Offer
        # 折 takes the percent off's place (and its order)
        fields = [
            "merchant",
            *("discount_zhe" if f == "percent_off" else f for f in services.OFFER_FIELDS),
            "stores",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zhe_initial(self)
        # The unions offered are the staff's own subtree; an existing offer keeps the union it
        # already names (e.g. the province funding an allowance that a city operator edits).
        for name in ("budget_owner", "eligible_union"):
            field = self.fields.get(name)
            current = getattr(self.instance, f"{name}_id", None)
            if field is not None and current is not None:
                field.queryset = (field.queryset | Union.objects.filter(pk=current)).distinct()
        self.locked = set()
        if self.instance.pk is not None:
            editable = set(services.offer_editable_fields(self.instance))
            if "percent_off" in editable:
                editable.add("discount_zhe")
            self.locked = set(self.fields) - editable
            for name in self.locked:
                self.fields[name].disabled = True  # shown, and never taken from the request

    def _tampered(self) -> list[str]:
        """Locked fields the request sends with a value other than the stored one: a browser never
        sends a disabled field, so somebody is trying to change what may not change."""
        found = []
        for name in sorted(self.locked):
            if self.add_prefix(name) not in self.data:
                continue
            field = self.fields[name]
            sent = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            probe = copy.copy(field)
            probe.disabled = False
            if probe.has_changed(self.get_initial_for_field(field, name), sent):
                found.append(str(field.label))
        return found

    def clean(self):
        cleaned = super().clean()
        tampered = self._tampered()
        if tampered:
            raise forms.ValidationError(
                _("%(reason)s（未保存：%(fields)s）")
                % {"reason": services.offer_locked_reason(self.instance), "fields": "、".join(tampered)},
                code="offer_locked",
            )
        return cleaned


class OfferLimitChangeInline(admin.TabularInline):
    """The audit trail of a live offer's quota, limits and budget: read-only."""

    model = OfferLimitChange
    extra = 0
    fields = ("changed_at", "field_label", "old_value", "new_value", "changed_by")
    readonly_fields = fields
    verbose_name_plural = _lazy("名额/预算变更记录")
    can_delete = False

    @admin.display(description=_lazy("项目"))
    def field_label(self, change: OfferLimitChange) -> str:
        try:
            return str(Offer._meta.get_field(change.field).verbose_name)
        except Exception:
            return change.field

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class VoucherUploadForm(forms.Form):
    file = forms.FileField(label=_lazy("上传券码文件（TXT/CSV，每行一个）"), required=False)
    count = forms.IntegerField(label=_lazy("或随机生成数量"), required=False, min_value=1, max_value=100_000)


@admin.register(Offer)
class OfferAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "merchant__region__path"
    form = OfferAdminForm
    list_display = (
        "title",
        "merchant",
        "kind",
        "value",
        "status",
        "valid_from",
        "valid_until",
        "daily_quota",
        "channel",
    )
    list_filter = ("status", "kind", "channel", "funder", "merchant__category")
    search_fields = ("title", "merchant__name")
    list_select_related = ("merchant",)
    autocomplete_fields = ()
    readonly_fields = (
        "status",
        "status_reason",
        "budget_used",
        "voucher_summary",
        "created_by",
        "reviewed_by",
        "submitted_at",
        "reviewed_at",
        "published_at",
    )
    inlines = [OfferLimitChangeInline]
    actions = ["approve_selected", "publish_selected", "pause_selected", "end_selected"]
    change_form_template = "discounts/admin/offer_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merchant__region")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Merchant:
            kwargs["queryset"] = scope_queryset(Merchant.objects.all(), request.user, "region__path")
        elif db_field.related_model is Union:
            # budget owners and eligible subtrees: the staff's own subtree, above workplace level
            kwargs["queryset"] = scope_queryset(
                Union.objects.exclude(level=Union.Level.WORKPLACE), request.user, "path"
            )
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "stores":
            kwargs["queryset"] = scope_queryset(
                Store.objects.select_related("merchant"), request.user, "merchant__region__path"
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_lazy("优惠内容"))
    def value(self, offer: Offer) -> str:
        """What the member gets, as the member's card says it (95折, 满100减20): the reviewer checks
        this, not the raw percent off."""
        return offer_headline(offer)

    @admin.display(description=_lazy("券码"))
    def voucher_summary(self, offer: Offer) -> str:
        if offer.pk is None or offer.channel != Offer.Channel.ONLINE:
            return "—"
        total = offer.codes.count()
        claimed = offer.codes.filter(member__isnull=False).count()
        return _("共%(total)d个，已领取%(claimed)d个，剩余%(left)d个") % {
            "total": total,
            "claimed": claimed,
            "left": total - claimed,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "voucher_form": VoucherUploadForm()}
        offer = self.get_object(request, object_id)
        if offer is not None:
            locked = set(services.OFFER_FIELDS) - services.offer_editable_fields(offer)
            extra_context["locked_reason"] = services.offer_locked_reason(offer) if locked else ""
            extra_context["preview"] = offer_preview(offer)
            if offer.status == Offer.Status.PENDING and offer.draws_on_fund:
                # The funds the reviewer may pay the union's shares from, with what each has left.
                funds = funds_in_scope(request.user).with_left().select_related("union")
                extra_context["approval_funds"] = funds.order_by("-year", "union__path")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Every write goes through a service; what the service refuses is said on the page."""
        values = {name: form.cleaned_data.get(name) for name in services.OFFER_FIELDS}
        stores = list(form.cleaned_data.get("stores") or [])
        try:
            if not change:
                created = services.offer_create(
                    merchant=form.cleaned_data["merchant"], created_by=request.user, stores=stores, **values
                )
                # The admin logs and redirects with ``obj``: make it the row the service created.
                obj.__dict__.update(created.__dict__)
            elif obj.status in services.EDITABLE_STATUSES:
                services.offer_update(offer=obj, updated_by=request.user, stores=stores, **values)
            else:
                limits = {name: values[name] for name in form.changed_data if name in services.LIMIT_FIELDS}
                if limits:
                    services.offer_change_limits(offer=obj, changed_by=request.user, **limits)
                    self.message_user(request, _("名额/预算已修改，变更已记录。"), messages.SUCCESS)
        except ApplicationError as error:
            request._offer_refused = True
            self.message_user(request, error.message, messages.ERROR)

    def save_related(self, request, form, formsets, change):
        # The services set the stores; the only inline (the limit trail) is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_offer_refused", False):
            return redirect(reverse("admin:discounts_offer_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_offer_refused", False):
            return redirect(reverse("admin:discounts_offer_change", args=[obj.pk]))
        return super().response_change(request, obj)

    # --- workflow --------------------------------------------------------------------------------

    def _run(self, request, queryset, action, done_message):
        done = 0
        for offer in queryset.select_related("merchant__region"):
            try:
                action(offer)
            except ApplicationError as error:
                self.message_user(request, f"{offer.title}：{error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_lazy("审核通过所选优惠"), permissions=["review"])
    def approve_selected(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda offer: services.offer_approve(offer=offer, reviewed_by=request.user),
            _("已审核通过%(count)d个优惠。"),
        )

    @admin.action(description=_lazy("发布所选优惠"), permissions=["review"])
    def publish_selected(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda offer: services.offer_publish(offer=offer, published_by=request.user),
            _("已发布%(count)d个优惠。"),
        )

    @admin.action(description=_lazy("暂停所选优惠"), permissions=["review"])
    def pause_selected(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda offer: services.offer_pause(offer=offer, paused_by=request.user),
            _("已暂停%(count)d个优惠。"),
        )

    @admin.action(description=_lazy("结束所选优惠"), permissions=["review"])
    def end_selected(self, request, queryset):
        page = ask_first(
            request,
            heading=_("结束优惠"),
            consequence=_(
                "结束后，所选的%(count)d个优惠立即从会员的优惠列表中下架、不能再核销，且不能重新发布。"
            )
            % {"count": queryset.count()},
            button=_("确认结束"),
            cancel_url=request.get_full_path(),
            admin_context=self.admin_site.each_context(request),
        )
        if page is not None:
            return page
        self._run(
            request,
            queryset,
            lambda offer: services.offer_end(offer=offer, ended_by=request.user),
            _("已结束%(count)d个优惠。"),
        )

    def has_review_permission(self, request):
        return request.user.has_perm("discounts.review_offer")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="discounts_offer_workflow",
            ),
            path(
                "<path:object_id>/codes/",
                self.admin_site.admin_view(self.codes_view),
                name="discounts_offer_codes",
            ),
            *super().get_urls(),
        ]

    def workflow_view(self, request, object_id):
        if request.method != "POST":
            return redirect(reverse("admin:discounts_offer_change", args=[object_id]))
        offer = get_object_or_404(self.get_queryset(request), pk=object_id)
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        steps = {
            "approve": lambda: services.offer_approve(
                offer=offer, reviewed_by=request.user, fund_id=request.POST.get("fund") or None
            ),
            "reject": lambda: services.offer_reject(offer=offer, reviewed_by=request.user, reason=reason),
            "publish": lambda: services.offer_publish(offer=offer, published_by=request.user),
            "pause": lambda: services.offer_pause(offer=offer, paused_by=request.user, reason=reason),
            "end": lambda: services.offer_end(offer=offer, ended_by=request.user, reason=reason),
        }
        if action == "end":
            page = ask_first(
                request,
                heading=_("结束优惠"),
                consequence=END_CONSEQUENCE % {"title": offer.title},
                button=_("确认结束"),
                cancel_url=reverse("admin:discounts_offer_change", args=[offer.pk]),
                admin_context=self.admin_site.each_context(request),
            )
            if page is not None:
                return page
        if action not in steps:
            self.message_user(request, _("未知操作。"), messages.ERROR)
        else:
            try:
                steps[action]()
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("优惠状态已更新为“%(status)s”。") % {"status": offer.get_status_display()},
                    messages.SUCCESS,
                )
        return redirect(reverse("admin:discounts_offer_change", args=[offer.pk]))

    def codes_view(self, request, object_id):
        if request.method != "POST":
            return redirect(reverse("admin:discounts_offer_change", args=[object_id]))
        offer = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, offer):
            raise DjangoPermissionDenied
        form = VoucherUploadForm(request.POST, request.FILES)
        try:
            if not form.is_valid():
                raise ApplicationError(_("请上传文件或填写1到100000之间的生成数量。"))
            upload, count = form.cleaned_data["file"], form.cleaned_data["count"]
            if upload:
                if upload.size > 5 * 1024 * 1024:
                    raise ApplicationError(_("文件不能超过5MB。"))
                codes = vouchers.voucher_codes_parse(upload.read())
                added = vouchers.voucher_codes_add(offer=offer, codes=codes)
                message = _("上传%(total)d个券码，新增%(added)d个（重复的已跳过）。") % {
                    "total": len(codes),
                    "added": added,
                }
            elif count:
                added = vouchers.voucher_codes_generate(offer=offer, count=count)
                message = _("已生成%(added)d个券码。") % {"added": added}
            else:
                raise ApplicationError(_("请上传文件或填写生成数量。"))
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return redirect(reverse("admin:discounts_offer_change", args=[offer.pk]))

"""Staff side of merchants: review applications (scoped to the region's subtree), stores, merchant
users and POS API keys. Every change of status goes through merchants.services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from members.models import Union
from merchants import apikeys, services
from merchants.forms import add_service_errors
from merchants.models import ApiKey, Category, Merchant, MerchantUser, Store
from merchants.selectors import merchant_contract_state
from portal.admin import ScopedAdminMixin
from portal.clock import local_day
from portal.errors import ApplicationError, ValidationFailed
from portal.forms import DateInput
from portal.scoping import scope_queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "code", "icon", "sort_order")
    list_editable = ("sort_order",)
    ordering = ("sort_order", "id")


class StoreInlineForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ("name", "region", "address", "phone", "latitude", "longitude", "is_active")

    def clean(self):
        cleaned = super().clean()
        merchant = getattr(self.instance, "merchant", None) if self.instance.merchant_id else None
        merchant = merchant or getattr(self, "parent_merchant", None)
        if merchant is None or self.errors or cleaned.get("DELETE"):
            return cleaned
        try:
            services.store_validate(
                merchant=merchant,
                name=cleaned.get("name", ""),
                region=cleaned["region"],
                address=cleaned.get("address", ""),
                latitude=cleaned.get("latitude"),
                longitude=cleaned.get("longitude"),
            )
        except ValidationFailed as error:
            add_service_errors(self, error)
        return cleaned


class StoreInline(admin.TabularInline):
    model = Store
    form = StoreInlineForm
    extra = 0
    fields = ("name", "region", "address", "phone", "latitude", "longitude", "is_active")
    autocomplete_fields = ("region",)  # hundreds of places: typed, not scrolled

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # new rows of an existing merchant are checked against it, like the portal's stores
        formset.form = type("BoundStoreInlineForm", (formset.form,), {"parent_merchant": obj})
        return formset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Union:
            kwargs["queryset"] = scope_queryset(
                Union.objects.exclude(level="workplace"), request.user, "path"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MerchantReviewForm(forms.Form):
    DECISIONS = [
        ("approve", _lazy("批准签约")),
        ("reject", _lazy("不予通过")),
        ("suspend", _lazy("暂停合作")),
    ]
    decision = forms.ChoiceField(label=_lazy("审核结果"), choices=DECISIONS, widget=forms.RadioSelect)
    contract_start = forms.DateField(label=_lazy("合作开始"), required=False, widget=DateInput)
    contract_end = forms.DateField(label=_lazy("合作结束"), required=False, widget=DateInput)
    reason = forms.CharField(
        label=_lazy("意见/原因"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


DETAIL_FIELDS = (
    "name",
    "category",
    "region",
    "licence_number",
    "description",
    "contact_name",
    "contact_phone",
    "contact_email",
)


class MerchantAdminForm(forms.ModelForm):
    """The merchant's details, checked by the same rules as the public application."""

    class Meta:
        model = Merchant
        fields = DETAIL_FIELDS

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned.update(
                services.merchant_details_clean(**{name: cleaned.get(name) or "" for name in DETAIL_FIELDS})
            )
        except ValidationFailed as error:
            add_service_errors(self, error)
        return cleaned


@admin.register(Merchant)
class MerchantAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "region__path"
    form = MerchantAdminForm
    list_display = (
        "name",
        "category",
        "region",
        "status_label",
        "contract_end",
        "contact_phone",
        "created_at",
    )
    list_filter = ("status", "category")
    search_fields = ("name", "licence_number", "contact_name", "contact_phone")
    list_select_related = ("category", "region")
    autocomplete_fields = ("region",)  # hundreds of places: typed, not scrolled
    readonly_fields = (
        "status",
        "status_reason",
        "contract_start",
        "contract_end",
        "reviewed_by",
        "reviewed_at",
        "created_by",
    )
    fieldsets = (
        (None, {"fields": ("name", "category", "region", "licence_number", "description")}),
        (_lazy("联系人"), {"fields": ("contact_name", "contact_phone", "contact_email")}),
        (
            _lazy("审核与合同"),
            {
                "fields": (
                    "status",
                    "status_reason",
                    "contract_start",
                    "contract_end",
                    "reviewed_by",
                    "reviewed_at",
                    "created_by",
                )
            },
        ),
    )
    inlines = [StoreInline]
    change_form_template = "merchants/admin/merchant_change_form.html"

    @admin.display(description=_lazy("状态"), ordering="status")
    def status_label(self, merchant: Merchant) -> str:
        return merchant_contract_state(merchant, local_day())

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A merchant entered by staff is an application like a public one, with its creator
        # recorded (so someone else signs it). The admin saves the store rows on ``obj`` next,
        # so ``obj`` becomes the row the service created.
        created = services.merchant_apply(
            created_by=request.user, **{name: form.cleaned_data[name] for name in DETAIL_FIELDS}
        )
        obj.__dict__.update(created.__dict__)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="merchants_merchant_review",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "review_form": MerchantReviewForm()}
        return super().change_view(request, object_id, form_url, extra_context)

    def review_view(self, request, object_id):
        merchant = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, merchant):
            raise DjangoPermissionDenied
        form = MerchantReviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["decision"] == "approve":
                    services.merchant_approve(
                        merchant=merchant,
                        reviewed_by=request.user,
                        contract_start=data["contract_start"],
                        contract_end=data["contract_end"],
                    )
                elif data["decision"] == "reject":
                    services.merchant_reject(
                        merchant=merchant, reviewed_by=request.user, reason=data["reason"]
                    )
                else:
                    services.merchant_suspend(
                        merchant=merchant, reviewed_by=request.user, reason=data["reason"]
                    )
            except ValidationFailed as error:
                add_service_errors(form, error)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                return redirect(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
            else:
                self.message_user(request, _("已保存审核结果。"), messages.SUCCESS)
                return redirect(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("审核商家：%(name)s") % {"name": merchant.name},
            "merchant": merchant,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "merchants/admin/merchant_review.html", context)


class MerchantUserAddForm(forms.Form):
    merchant = forms.ModelChoiceField(label=_lazy("商家"), queryset=Merchant.objects.none())
    username = forms.CharField(
        label=_lazy("登录名"),
        max_length=120,
        help_text=_lazy("账号会加上商家前缀（如 m12-li），登录时输入完整账号。"),
    )
    display_name = forms.CharField(label=_lazy("姓名"), max_length=60, required=False)
    password = forms.CharField(label=_lazy("初始密码"), widget=forms.PasswordInput)
    role = forms.ChoiceField(label=_lazy("角色"), choices=MerchantUser.Role.choices)


@admin.register(MerchantUser)
class MerchantUserAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Staff open a signed merchant's first manager account here; managers add the rest themselves."""

    scope_path_field = "merchant__region__path"
    list_display = ("user", "merchant", "role", "store")
    list_filter = ("role",)
    search_fields = ("user__username", "merchant__name")
    list_select_related = ("user", "merchant", "store")
    fields = ("user", "merchant", "role", "store")
    readonly_fields = ("user", "merchant")

    def has_add_permission(self, request):
        return request.user.has_perm("merchants.change_merchant")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("merchants.change_merchant")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "store" in form.base_fields:
            # A cashier's till may be pinned only to one of its own merchant's stores.
            own = Store.objects.filter(merchant_id=obj.merchant_id) if obj else Store.objects.none()
            form.base_fields["store"].queryset = own.order_by("id")
        return form

    def save_model(self, request, obj, form, change):
        # Only role and store are editable (user and merchant are read-only); both go through the
        # service, which checks the store and writes the audit log.
        try:
            services.merchant_user_update(
                merchant_user=obj,
                role=form.cleaned_data["role"],
                store=form.cleaned_data.get("store"),
                changed_by=request.user,
            )
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)

    def add_view(self, request, form_url="", extra_context=None):
        form = MerchantUserAddForm(request.POST or None)
        form.fields["merchant"].queryset = scope_queryset(
            Merchant.objects.filter(status=Merchant.Status.APPROVED), request.user, "region__path"
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                membership = services.merchant_user_create(
                    merchant=data["merchant"],
                    username=data["username"],
                    password=data["password"],
                    role=data["role"],
                    display_name=data["display_name"],
                    created_by=request.user,
                )
            except ValidationFailed as error:
                add_service_errors(form, error)
            else:
                self.message_user(request, _("账号“%(name)s”已创建。") % {"name": membership.user.username})
                return redirect(reverse("admin:merchants_merchantuser_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("添加商家账号"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "merchants/admin/simple_form.html", context)


class ApiKeyAddForm(forms.Form):
    merchant = forms.ModelChoiceField(label=_lazy("商家"), queryset=Merchant.objects.none())
    name = forms.CharField(label=_lazy("密钥名称"), max_length=80)
    store = forms.ModelChoiceField(label=_lazy("限定门店"), queryset=Store.objects.none(), required=False)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "merchant__region__path"
    list_display = ("name", "merchant", "prefix", "store", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "merchant__name")
    list_select_related = ("merchant", "store")
    readonly_fields = (
        "merchant",
        "sandbox_for",
        "store",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
    actions = ["revoke_keys"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_lazy("吊销所选密钥"), permissions=["add"])
    def revoke_keys(self, request, queryset):
        for key in queryset.select_related("merchant__region"):
            apikeys.api_key_revoke(key=key, revoked_by=request.user)
        self.message_user(request, _("已吊销所选密钥。"))

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise DjangoPermissionDenied
        form = ApiKeyAddForm(request.POST or None)
        merchants = scope_queryset(
            Merchant.objects.filter(status=Merchant.Status.APPROVED), request.user, "region__path"
        )
        form.fields["merchant"].queryset = merchants
        form.fields["store"].queryset = Store.objects.filter(merchant__in=merchants)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                key, raw_key = apikeys.api_key_create(
                    merchant=data["merchant"], name=data["name"], store=data["store"], created_by=request.user
                )
            except ValidationFailed as error:
                add_service_errors(form, error)
            else:
                context = {
                    **self.admin_site.each_context(request),
                    "title": _("密钥已创建"),
                    "key": key,
                    "raw_key": raw_key,
                    "opts": self.model._meta,
                }
                response = TemplateResponse(request, "merchants/admin/key_created.html", context)
                response["Cache-Control"] = "no-store"
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("新建 POS API 密钥"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "merchants/admin/simple_form.html", context)

"""Admin of members: the list and forms of a subtree, the full ID number for those allowed (audited),
finding a member by full ID number, and transfers."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from members import cards, people, pii, selectors
from members.models import Card, Member, MemberGroup, MemberTransfer, PartnerBank, Union
from portal.admin import ScopedAdminMixin
from portal.errors import ApplicationError
from portal.scoping import scope_queryset


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
            value = people.checked_id_number(value)
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
            return people.checked_phone(self.cleaned_data.get("phone", ""))
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
            people.member_update(
                member=obj,
                name=data["name"],
                phone=data["phone"],
                groups=data["groups"],
                id_number=data.get("id_number") or None,
                actor=request.user,
            )
            if obj.status != form.initial.get("status"):
                people.member_set_status(member=obj, status=data["status"], actor=request.user)
            return
        member = people.member_create(
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
                cards.card_issue(member=member, bank=bank, actor=request.user)
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
            full = people.member_reveal_id_number(member=member, actor=request.user)
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
                people.member_transfer(
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

"""Admin of partner banks and cards: a card's transitions go through members.cards."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from members import cards
from members.models import Card, PartnerBank
from portal.admin import ScopedAdminMixin
from portal.confirm import ask_first
from portal.errors import ApplicationError


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


def _card_action(service, done_message, consequence=None, button=None):
    """An admin action running a card service on each selected card; with a ``consequence``, the
    action asks first (portal.confirm) and says what will happen to how many cards."""

    def action(modeladmin, request, queryset):
        if consequence is not None:
            page = ask_first(
                request,
                heading=str(button),
                consequence=consequence % {"count": queryset.count()},
                button=str(button),
                cancel_url=request.get_full_path(),
                admin_context=modeladmin.admin_site.each_context(request),
            )
            if page is not None:
                return page
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
    actions = ("activate_cards", "freeze_cards", "undo_lost_cards", "replace_cards", "cancel_cards")
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
        _card_action(cards.card_activate, _("已激活 %(count)s 张卡。"))
    )
    freeze_cards = admin.action(description=_("挂失所选卡"), permissions=["change"])(
        _card_action(cards.card_freeze, _("已挂失 %(count)s 张卡。"))
    )
    undo_lost_cards = admin.action(description=_("解除所选卡的挂失（挂失7天内）"), permissions=["change"])(
        _card_action(cards.card_undo_lost, _("已为 %(count)s 张卡解除挂失。"))
    )
    replace_cards = admin.action(description=_("补换所选卡（注销旧卡并制新卡）"), permissions=["change"])(
        _card_action(
            cards.card_replace,
            _("已为 %(count)s 张卡补换新卡。"),
            consequence=_(
                "补换后，所选的 %(count)s 张卡立即注销、不能再使用，也不能恢复，"
                "并为每位会员各制一张新卡号的新卡。"
            ),
            button=_("确认补换"),
        )
    )
    cancel_cards = admin.action(description=_("注销所选卡"), permissions=["change"])(
        _card_action(
            cards.card_cancel,
            _("已注销 %(count)s 张卡。"),
            consequence=_("注销后，所选的 %(count)s 张卡立即不能再使用，也不能恢复。"),
            button=_("确认注销"),
        )
    )

"""Staff roles as Django groups with their permissions. ``ensure_roles()`` is idempotent."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import models
from django.utils.translation import gettext_lazy as _

# Members' own requests: card applications and transfers into the subtree, decided on the to-do page.
_MEMBER_REQUESTS = [
    "members.view_cardapplication",
    "members.change_cardapplication",
    "members.view_transferrequest",
    "members.change_transferrequest",
]
_MEMBER_DATA = [
    "members.view_union",
    "members.view_member",
    "members.add_member",
    "members.change_member",
    "members.view_card",
    "members.change_card",
    "members.view_issuancebatch",
    "members.add_issuancebatch",
    "members.change_issuancebatch",
    "members.view_partnerbank",
    "stats.view_coveragesnapshot",
    *_MEMBER_REQUESTS,
    "members.view_rosterimport",
    "members.add_rosterimport",
    "members.confirm_rosterimport",
    "members.view_rostermissing",
    "members.change_rostermissing",
    "members.view_reportedmembercount",
    "members.add_reportedmembercount",
]
_MERCHANT_REVIEW = [
    "merchants.view_category",
    "discounts.view_searchsynonym",
    "merchants.view_merchant",
    "merchants.change_merchant",
    "merchants.view_store",
    "merchants.view_apikey",
    "merchants.change_apikey",
    "merchants.add_apikey",
    "discounts.view_offer",
    "discounts.add_offer",
    "discounts.change_offer",
    "discounts.review_offer",
    "discounts.view_offerlimitchange",
    "discounts.view_redemption",
    "shop.view_product",
    "shop.view_order",
]

# A city's own site (docs/cities.md): its city operators and the province edit it; the province creates it.
_CITY_SITE = [
    "cities.view_citysite",
    "cities.change_citysite",
    "cities.view_banner",
    "cities.add_banner",
    "cities.change_banner",
    "cities.delete_banner",
    "cities.view_newspost",
    "cities.add_newspost",
    "cities.change_newspost",
    "cities.delete_newspost",
]
# The files exchanged with the partner banks (docs/bank-files.md): see them, upload and export them,
# download them (full card numbers). Union staff see them from the province only (banking.access).
_BANK_FILES = ["banking.view_bankfile", "banking.exchange_bankfile", "banking.download_bankfile"]
# Benefit funds of the subtree: see them, and open, add to, allocate and transfer them.
_FUNDS = ["funds.view_fund", "funds.view_fundmovement", "funds.manage_fund"]
# Merchant settlement of the subtree: prepare and approve statements, run payments (docs/settlement.md).
_SETTLEMENT = [
    "settlement.view_statement",
    "settlement.prepare_statement",
    "settlement.approve_statement",
    "settlement.view_paymentrun",
    "settlement.manage_paymentrun",
]
# Hospital allowances of the subtree: claims, and payout runs to the banks (docs/allowances.md).
_ALLOWANCES = [
    "allowances.view_claim",
    "allowances.view_payoutrun",
    "allowances.view_payoutline",
    "allowances.manage_payoutrun",
]


class Role(models.TextChoices):
    PROVINCE_ADMIN = "province_admin", _("省总工会管理员")
    CITY_OPERATOR = "city_operator", _("市级工会操作员")
    COUNTY_OPERATOR = "county_operator", _("县级工会操作员")
    WORKPLACE_OPERATOR = "workplace_operator", _("基层工会操作员")
    MERCHANT_REVIEWER = "merchant_reviewer", _("商家审核员")
    # A partner bank's staff: attached to a bank (banking.BankStaff), not to a union; they see and
    # exchange their own bank's files, batches, card figures and offers, nothing of any union's.
    BANK_STAFF = "bank_staff", _("合作银行工作人员")

    def group(self) -> Group:
        return Group.objects.get(name=str(self.label))


ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.PROVINCE_ADMIN: [
        *_MEMBER_DATA,
        *_MERCHANT_REVIEW,
        "members.add_union",
        "members.change_union",
        "members.add_partnerbank",
        "members.change_partnerbank",
        "members.approve_issuancebatch",
        "members.download_bank_file",
        "members.reveal_id_number",
        "discounts.change_redemption",
        "merchants.add_category",
        "merchants.change_category",
        "discounts.add_searchsynonym",
        "discounts.change_searchsynonym",
        "discounts.delete_searchsynonym",
        "merchants.add_store",
        "merchants.change_store",
        "portal.view_auditevent",
        "portal.view_user",
        "portal.add_user",
        "portal.change_user",
        *_CITY_SITE,
        "cities.add_citysite",
        *_FUNDS,
        *_SETTLEMENT,
        *_ALLOWANCES,
        *_BANK_FILES,
    ],
    Role.CITY_OPERATOR: [
        *_MEMBER_DATA,
        *_MERCHANT_REVIEW,
        "members.approve_issuancebatch",
        *_CITY_SITE,
        *_FUNDS,
        *_SETTLEMENT,
        *_ALLOWANCES,
    ],
    Role.COUNTY_OPERATOR: [
        *_MEMBER_DATA,
        *_MERCHANT_REVIEW,
        "members.approve_issuancebatch",
        *_FUNDS,
        *_SETTLEMENT,
        *_ALLOWANCES,
    ],
    Role.WORKPLACE_OPERATOR: [
        "members.view_union",
        "members.view_member",
        "members.view_card",
        "members.view_issuancebatch",
        "members.add_issuancebatch",
        "stats.view_coveragesnapshot",
        *_MEMBER_REQUESTS,
        # A workplace union keeps its own roster, or reports its member count while it has none.
        "members.view_rosterimport",
        "members.add_rosterimport",
        "members.confirm_rosterimport",
        "members.view_rostermissing",
        "members.change_rostermissing",
        "members.view_reportedmembercount",
        "members.add_reportedmembercount",
    ],
    Role.MERCHANT_REVIEWER: [*_MERCHANT_REVIEW, "members.view_union"],
    # With the issuance file of their own bank's batches (full ID numbers): the bank produces the cards.
    Role.BANK_STAFF: [*_BANK_FILES, "members.download_bank_file"],
}


def ensure_roles() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=str(role.label))
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.append((app_label, codename))
        permissions = Permission.objects.filter(
            content_type__app_label__in={a for a, _ in wanted}, codename__in={c for _, c in wanted}
        ).select_related("content_type")
        found = [p for p in permissions if (p.content_type.app_label, p.codename) in set(wanted)]
        missing = set(wanted) - {(p.content_type.app_label, p.codename) for p in found}
        if missing:
            raise RuntimeError(f"unknown permissions for {role}: {sorted(missing)}")
        group.permissions.set(found)

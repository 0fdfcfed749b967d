"""Every door of the portal, tried by every kind of party, from the outsider's side.

The list of doors is read from the URL resolver: a URL added without a row in this matrix fails
``test_every_door_is_in_the_matrix``. Object URLs point at rows of one merchant, one member and one
county (C1A); the parties around them must be refused: another member, another merchant's manager
and key, the operator of the sibling county C1B. The city above (C1) and the province may enter."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from allowances.models import PayoutRun
from allowances.services import claim_open
from banking.models import BankFile, BankStaff, IssuanceResult
from cities.models import Banner, CitySite, NewsPost
from discounts.models import Offer, SearchSynonym
from discounts.redemption import redemption_create
from discounts.vouchers import voucher_claim, voucher_codes_add
from funds.services import fund_add_money, fund_open
from members.auth import SESSION_KEY
from members.models import (
    Card,
    CardApplication,
    IssuanceBatch,
    MemberApiToken,
    ReportedMemberCount,
    RosterImport,
    RosterMissing,
    TransferRequest,
)
from merchants.models import ApiKey
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.audit import audit_record
from portal.models import AuditEvent
from portal.roles import Role
from settlement.models import PaymentRun
from settlement.services import statement_prepare
from shop.models import Order, Product
from shop.services import order_reserve
from stats.models import SnapshotRun
from tests.factories import CardFactory, OfferFactory, PartnerBankFactory, UserFactory
from tests.hardening.conftest import member_token
from webhooks.services import endpoint_create, endpoint_send_test

ANONYMOUS = "anonymous"
MEMBER = "member"
OTHER_MEMBER = "other_member"
CASHIER = "cashier"
RIVAL_MANAGER = "rival_manager"
SIBLING_COUNTY = "sibling_county_operator"
CITY = "city_operator"
PROVINCE = "province_admin"
POS_KEY = "pos_key"
RIVAL_POS_KEY = "rival_pos_key"
BANK_STAFF = "bank_staff"  # the staff of the bank whose files the object URLs point at
OTHER_BANK_STAFF = "other_bank_staff"
ROLES = (
    ANONYMOUS,
    MEMBER,
    OTHER_MEMBER,
    CASHIER,
    RIVAL_MANAGER,
    SIBLING_COUNTY,
    CITY,
    PROVINCE,
    POS_KEY,
    RIVAL_POS_KEY,
    BANK_STAFF,
    OTHER_BANK_STAFF,
)

NOBODY: frozenset[str] = frozenset()
EVERYBODY = frozenset(ROLES)
MEMBERS = frozenset({MEMBER, OTHER_MEMBER})
MERCHANT_USERS = frozenset({CASHIER, RIVAL_MANAGER})
MANAGERS = frozenset({RIVAL_MANAGER})  # the cashier is no manager; the rival manages only its own
STAFF = frozenset({SIBLING_COUNTY, CITY, PROVINCE})
ABOVE = frozenset({CITY, PROVINCE})  # staff whose subtree holds county C1A's rows
PROVINCE_ONLY = frozenset({PROVINCE})
OWN_MERCHANT = frozenset({CASHIER})
OWN_KEY = frozenset({POS_KEY})
KEYS = frozenset({POS_KEY, RIVAL_POS_KEY})
BANK_USERS = frozenset({BANK_STAFF, OTHER_BANK_STAFF})
BANKS = BANK_USERS | {PROVINCE}  # each bank its own, the province all
OWN_BANK = frozenset({BANK_STAFF, PROVINCE})
OPEN = None  # a public door: anybody, and it must simply not fail
MATRIX_ORDER_CODE = "MATRIXORDER2"  # the shop order of the object URLs


@dataclass(frozen=True)
class Door:
    url: object  # (objects) -> path
    allowed: frozenset[str] | None
    method: str = "get"
    data: dict | Callable | None = None  # a callable is given the objects


def door(url, allowed, method="get", data=None) -> Door:
    return Door(url, allowed, method, data)


# --- Admin: one row per registered model, generated URLs per action -----------------------------


@dataclass(frozen=True)
class AdminModel:
    obj: str  # attribute of the objects namespace
    changelist: frozenset[str]
    add: frozenset[str]
    change: frozenset[str]
    delete: frozenset[str]


ADMIN_MODELS = {
    "members.union": AdminModel("union", STAFF, PROVINCE_ONLY, ABOVE, NOBODY),
    "members.member": AdminModel("member", STAFF, STAFF, ABOVE, NOBODY),
    "members.partnerbank": AdminModel("bank", STAFF, PROVINCE_ONLY, STAFF, NOBODY),
    "members.card": AdminModel("card", STAFF, NOBODY, ABOVE, NOBODY),
    "members.issuancebatch": AdminModel("batch", STAFF, STAFF, ABOVE, NOBODY),
    # Members' own requests, read-only (decided on the to-do page).
    "members.cardapplication": AdminModel("card_application", STAFF, NOBODY, ABOVE, NOBODY),
    "members.transferrequest": AdminModel("transfer_request", STAFF, NOBODY, ABOVE, NOBODY),
    "members.rosterimport": AdminModel("roster_import", STAFF, STAFF, ABOVE, NOBODY),
    "members.rostermissing": AdminModel("roster_missing", STAFF, NOBODY, ABOVE, NOBODY),
    "members.reportedmembercount": AdminModel("reported_count", STAFF, STAFF, ABOVE, NOBODY),
    "merchants.category": AdminModel("category", STAFF, PROVINCE_ONLY, STAFF, NOBODY),
    "merchants.merchant": AdminModel("merchant", STAFF, NOBODY, ABOVE, NOBODY),
    "merchants.merchantuser": AdminModel("cashier", STAFF, STAFF, ABOVE, NOBODY),
    "merchants.apikey": AdminModel("api_key", STAFF, STAFF, ABOVE, NOBODY),
    "discounts.offer": AdminModel("offer", STAFF, STAFF, ABOVE, NOBODY),
    "discounts.redemption": AdminModel("redemption", STAFF, NOBODY, ABOVE, NOBODY),
    # Search synonyms are province-wide words: every staff member reads them, the province keeps them.
    "discounts.searchsynonym": AdminModel("search_synonym", STAFF, PROVINCE_ONLY, STAFF, PROVINCE_ONLY),
    "webhooks.endpoint": AdminModel("webhook_endpoint", STAFF, NOBODY, ABOVE, NOBODY),
    "funds.fund": AdminModel("fund", STAFF, NOBODY, ABOVE, NOBODY),
    "funds.fundmovement": AdminModel("fund_movement", STAFF, NOBODY, ABOVE, NOBODY),
    "settlement.statement": AdminModel("statement", STAFF, NOBODY, ABOVE, NOBODY),
    "settlement.paymentrun": AdminModel("payment_run", STAFF, NOBODY, ABOVE, NOBODY),
    # Read-only: products and orders change only through shop.services.
    "shop.product": AdminModel("product", STAFF, NOBODY, ABOVE, NOBODY),
    "shop.order": AdminModel("shop_order", STAFF, NOBODY, ABOVE, NOBODY),
    # Read-only: claims change only through allowances.services.
    "allowances.claim": AdminModel("claim", STAFF, NOBODY, ABOVE, NOBODY),
    # Payout runs: any staff member may make one of their subtree's claims; C1A's run is seen above it.
    "allowances.payoutrun": AdminModel("payout_run", STAFF, STAFF, ABOVE, NOBODY),
    "portal.user": AdminModel("county_operator", PROVINCE_ONLY, PROVINCE_ONLY, PROVINCE_ONLY, NOBODY),
    # City C1's site: its city operator and the province; only the province creates one, nobody deletes.
    "cities.citysite": AdminModel("city_site", ABOVE, PROVINCE_ONLY, ABOVE, NOBODY),
    "cities.banner": AdminModel("banner", ABOVE, ABOVE, ABOVE, ABOVE),
    "cities.newspost": AdminModel("news_post", ABOVE, ABOVE, ABOVE, ABOVE),
    "portal.auditevent": AdminModel("audit_event", PROVINCE_ONLY, NOBODY, PROVINCE_ONLY, NOBODY),
    "auth.group": AdminModel("group", NOBODY, NOBODY, NOBODY, NOBODY),
    "axes.accessattempt": AdminModel("access_attempt", NOBODY, NOBODY, NOBODY, NOBODY),
    "axes.accesslog": AdminModel("access_log", NOBODY, NOBODY, NOBODY, NOBODY),
    "axes.accessfailurelog": AdminModel("access_failure_log", NOBODY, NOBODY, NOBODY, NOBODY),
}


def _admin_doors() -> dict[str, Door]:
    doors: dict[str, Door] = {}
    for label, spec in ADMIN_MODELS.items():
        app, model = label.split(".")
        prefix = f"admin:{app}_{model}"

        def obj_url(action, spec=spec, prefix=prefix):
            return lambda o: reverse(f"{prefix}_{action}", args=[getattr(o, spec.obj).pk])

        doors[f"{prefix}_changelist"] = door(lambda o, p=prefix: reverse(f"{p}_changelist"), spec.changelist)
        doors[f"{prefix}_add"] = door(lambda o, p=prefix: reverse(f"{p}_add"), spec.add)
        doors[f"{prefix}_change"] = door(obj_url("change"), spec.change)
        doors[f"{prefix}_history"] = door(obj_url("history"), spec.change)
        doors[f"{prefix}_delete"] = door(obj_url("delete"), spec.delete)
        # admin/<app>/<model>/<id>/ only redirects to the change page, which is checked itself.
        doors[f"admin/{app}/{model}/<path:object_id>/"] = door(
            lambda o, s=spec, a=app, m=model: f"/admin/{a}/{m}/{getattr(o, s.obj).pk}/", OPEN
        )
    return doors


def _roster(action: str):
    return lambda o: reverse(f"admin:members_rosterimport_{action}", args=[o.roster_import.pk])


def _batch(action: str):
    return lambda o: reverse(f"admin:members_issuancebatch_{action}", args=[o.batch.pk])


DOORS: dict[str, Door] = {
    # Member pages.
    "discounts:offer_list": door(lambda o: "/", OPEN),
    "discounts:offers_redirect": door(lambda o: "/offers/", OPEN),
    "discounts:offer_detail": door(lambda o: reverse("discounts:offer_detail", args=[o.offer.pk]), OPEN),
    "discounts:offer_claim_code": door(
        lambda o: reverse("discounts:offer_claim_code", args=[o.offer.pk]), MEMBERS, "post"
    ),
    "members:sign_in": door(lambda o: reverse("members:sign_in"), OPEN),
    "members:sign_in_code": door(lambda o: reverse("members:sign_in_code"), OPEN),
    "members:sign_out": door(lambda o: reverse("members:sign_out"), OPEN, "post"),
    "members:consent": door(lambda o: reverse("members:consent"), MEMBERS),
    "members:card": door(lambda o: reverse("members:card"), MEMBERS),
    "members:card_number": door(lambda o: reverse("members:card_number"), MEMBERS),
    "members:card_activate": door(lambda o: reverse("members:card_activate"), MEMBERS, "post"),
    "members:card_report_lost": door(lambda o: reverse("members:card_report_lost"), MEMBERS, "post"),
    "members:data_export": door(lambda o: reverse("members:data_export"), MEMBERS),
    "members:card_undo_lost": door(
        lambda o: reverse("members:card_undo_lost"), MEMBERS, "post", {"confirm": "on"}
    ),
    "members:card_apply": door(lambda o: reverse("members:card_apply"), MEMBERS),
    "members:transfer_request": door(lambda o: reverse("members:transfer_request"), MEMBERS),
    # The application is the member's; the transfer request the other member's: theirs alone.
    "members:card_application_withdraw": door(
        lambda o: reverse("members:card_application_withdraw", args=[o.card_application.pk]), {MEMBER}, "post"
    ),
    "members:transfer_request_withdraw": door(
        lambda o: reverse("members:transfer_request_withdraw", args=[o.transfer_request.pk]),
        {OTHER_MEMBER},
        "post",
    ),
    "history:redemptions": door(lambda o: reverse("history:redemptions"), MEMBERS),
    "allowances:mine": door(lambda o: reverse("allowances:mine"), MEMBERS),
    "history:saved": door(lambda o: reverse("history:saved"), MEMBERS),
    "discounts:offer_save": door(
        lambda o: reverse("discounts:offer_save", args=[o.offer.pk]), MEMBERS, "post"
    ),
    "discounts:merchant_save": door(
        lambda o: reverse("discounts:merchant_save", args=[o.offer.pk]), MEMBERS, "post"
    ),
    # Inboxes: the member's notice and the cashier's belong to them alone.
    "notifications:member_inbox": door(lambda o: reverse("notifications:member_inbox"), MEMBERS),
    "notifications:member_mark_read": door(
        lambda o: reverse("notifications:member_mark_read", args=[o.member_notice.pk]), {MEMBER}, "post"
    ),
    "notifications:member_mark_all_read": door(
        lambda o: reverse("notifications:member_mark_all_read"), MEMBERS, "post"
    ),
    "notifications:member_preferences": door(lambda o: reverse("notifications:member_preferences"), MEMBERS),
    "notifications:user_inbox": door(
        lambda o: reverse("notifications:user_inbox"), MERCHANT_USERS | STAFF | BANK_USERS
    ),
    "notifications:user_mark_read": door(
        lambda o: reverse("notifications:user_mark_read", args=[o.user_notice.pk]), OWN_MERCHANT, "post"
    ),
    "notifications:user_mark_all_read": door(
        lambda o: reverse("notifications:user_mark_all_read"), MERCHANT_USERS | STAFF | BANK_USERS, "post"
    ),
    # Merchant portal: object ids belong to the cashier's merchant, never the rival's.
    "merchants:home": door(lambda o: reverse("merchants:home"), MERCHANT_USERS),
    "merchants:apply": door(lambda o: reverse("merchants:apply"), OPEN),
    "merchants:apply_done": door(lambda o: reverse("merchants:apply_done"), OPEN),
    "merchants:login": door(lambda o: reverse("merchants:login"), OPEN),
    "merchants:logout": door(lambda o: reverse("merchants:logout"), OPEN, "post"),
    "merchants:store_create": door(lambda o: reverse("merchants:store_create"), MANAGERS),
    # Each manager changes only their own merchant's picture (nothing sent: a message, nothing changed).
    # Only a partner hospital's users (the matrix's merchants are not hospitals: tests/allowances).
    "merchants:hospital_claims": door(lambda o: reverse("merchants:hospital_claims"), NOBODY),
    "merchants:picture_upload": door(lambda o: reverse("merchants:picture_upload"), MANAGERS, "post"),
    # No picture was uploaded: 404 for everybody (who sees one: tests/merchants/test_pictures.py).
    "merchants:picture": door(lambda o: reverse("merchants:picture", args=[o.merchant.pk]), NOBODY),
    "discounts:offer_picture": door(lambda o: reverse("discounts:offer_picture", args=[o.offer.pk]), NOBODY),
    "merchants:store_edit": door(lambda o: reverse("merchants:store_edit", args=[o.store.pk]), NOBODY),
    "merchants:user_create": door(lambda o: reverse("merchants:user_create"), MANAGERS),
    "merchants:user_set_active": door(
        lambda o: reverse("merchants:user_set_active", args=[o.cashier.pk]), NOBODY, "post"
    ),
    "merchants:key_create": door(lambda o: reverse("merchants:key_create"), MANAGERS),
    "merchants:sandbox": door(lambda o: reverse("merchants:sandbox"), MANAGERS),
    "merchants:voucher_use": door(lambda o: reverse("merchants:voucher_use"), OWN_MERCHANT | MANAGERS),
    "merchants:key_revoke": door(
        lambda o: reverse("merchants:key_revoke", args=[o.api_key.pk]), NOBODY, "post"
    ),
    "merchants:offer_create": door(lambda o: reverse("merchants:offer_create"), MANAGERS),
    "merchants:offer_edit": door(lambda o: reverse("merchants:offer_edit", args=[o.offer.pk]), NOBODY),
    "merchants:offer_preview": door(lambda o: reverse("merchants:offer_preview"), MANAGERS, "post"),
    "merchants:offer_submit": door(
        lambda o: reverse("merchants:offer_submit", args=[o.offer.pk]), NOBODY, "post"
    ),
    "merchants:offer_picture": door(
        lambda o: reverse("merchants:offer_picture", args=[o.offer.pk]), NOBODY, "post"
    ),
    # Webhooks: managers only; the endpoint and delivery are the cashier's merchant's.
    "webhooks:endpoints": door(lambda o: reverse("webhooks:endpoints"), MANAGERS),
    "webhooks:endpoint_create": door(lambda o: reverse("webhooks:endpoint_create"), MANAGERS),
    "webhooks:endpoint_detail": door(
        lambda o: reverse("webhooks:endpoint_detail", args=[o.webhook_endpoint.pk]), NOBODY
    ),
    "webhooks:endpoint_test": door(
        lambda o: reverse("webhooks:endpoint_test", args=[o.webhook_endpoint.pk]), NOBODY, "post"
    ),
    "webhooks:endpoint_disable": door(
        lambda o: reverse("webhooks:endpoint_disable", args=[o.webhook_endpoint.pk]), NOBODY, "post"
    ),
    "webhooks:endpoint_delete": door(
        lambda o: reverse("webhooks:endpoint_delete", args=[o.webhook_endpoint.pk]), NOBODY, "post"
    ),
    "webhooks:delivery_detail": door(
        lambda o: reverse("webhooks:delivery_detail", args=[o.webhook_endpoint.pk, o.webhook_delivery.pk]),
        NOBODY,
    ),
    # The till.
    "cashier:till": door(lambda o: reverse("cashier:till"), MERCHANT_USERS),
    "cashier:store": door(lambda o: reverse("cashier:store"), MERCHANT_USERS, "post", {"store": "0"}),
    "cashier:identify": door(lambda o: reverse("cashier:identify"), MERCHANT_USERS, "post", {"card": ""}),
    "cashier:clear": door(lambda o: reverse("cashier:clear"), MERCHANT_USERS, "post"),
    "cashier:redeem": door(lambda o: reverse("cashier:redeem"), MERCHANT_USERS, "post"),
    "cashier:preview": door(
        lambda o: f"{reverse('cashier:preview')}?offer={o.redemption.offer_id}&amount=100", OWN_MERCHANT
    ),
    "cashier:receipt": door(lambda o: reverse("cashier:receipt", args=[o.redemption.pk]), OWN_MERCHANT),
    "cashier:void": door(
        lambda o: reverse("cashier:void", args=[o.redemption.pk]), OWN_MERCHANT, "post", {"reason": "错收"}
    ),
    "cashier:statement": door(lambda o: reverse("cashier:statement"), MANAGERS),
    # Union staff pages.
    "staff:dashboard": door(lambda o: reverse("staff:dashboard"), STAFF),
    "staff:unit": door(lambda o: reverse("staff:unit", args=["C1A"]), ABOVE),
    "staff:unit_export": door(lambda o: reverse("staff:unit_export", args=["C1A"]), ABOVE),
    "staff:reporting": door(lambda o: reverse("staff:reporting", args=["C1A"]), ABOVE),
    "staff:reporting_export": door(lambda o: reverse("staff:reporting_export", args=["C1A"]), ABOVE),
    "staff:refresh": door(lambda o: reverse("staff:refresh"), STAFF, "post"),
    "staff:run_status": door(lambda o: reverse("staff:run_status", args=[o.run.pk]), STAFF),
    "subsidies:report": door(lambda o: reverse("subsidies:report"), STAFF),
    # The staff to-do page answers every staff member (with their own subtree's items); an item's
    # actions belong to the staff above its union (a transfer's: above the receiving union).
    "todo:list": door(lambda o: reverse("todo:list"), STAFF),
    "todo:application_approve": door(
        lambda o: reverse("todo:application_approve", args=[o.card_application.pk]), ABOVE, "post"
    ),
    "todo:application_refuse": door(
        lambda o: reverse("todo:application_refuse", args=[o.card_application.pk]),
        ABOVE,
        "post",
        {"reason": "x"},
    ),
    "todo:applications_batch": door(
        lambda o: reverse("todo:applications_batch", args=[o.bank.pk]), STAFF, "post"
    ),
    "todo:transfer_accept": door(
        lambda o: reverse("todo:transfer_accept", args=[o.transfer_request.pk]), ABOVE, "post"
    ),
    "todo:transfer_refuse": door(
        lambda o: reverse("todo:transfer_refuse", args=[o.transfer_request.pk]),
        ABOVE,
        "post",
        {"reason": "x"},
    ),
    "todo:card_undo_lost": door(
        lambda o: reverse("todo:card_undo_lost", args=[o.card.pk]), ABOVE, "post", {"confirm": "on"}
    ),
    # Benefit funds: the board and the open form answer every staff member (with their own subtree's
    # funds); a fund's pages belong to the staff above its union.
    "funds:list": door(lambda o: reverse("funds:list"), STAFF),
    "funds:export": door(lambda o: reverse("funds:export"), STAFF),
    "funds:open": door(lambda o: reverse("funds:open"), STAFF, "post"),
    "funds:detail": door(lambda o: reverse("funds:detail", args=[o.fund.pk]), ABOVE),
    "funds:add_money": door(lambda o: reverse("funds:add_money", args=[o.fund.pk]), ABOVE),
    "funds:allocate": door(lambda o: reverse("funds:allocate", args=[o.fund.pk]), ABOVE),
    "funds:transfer": door(lambda o: reverse("funds:transfer", args=[o.fund.pk]), ABOVE),
    # Merchant settlement: a statement belongs to the cashier's merchant (its manager is no party here:
    # the rival manager gets 404, the cashier 403); the run and the statement to county C1A's staff.
    "settlement_merchant:list": door(lambda o: reverse("settlement_merchant:list"), MANAGERS),
    "settlement_merchant:detail": door(
        lambda o: reverse("settlement_merchant:detail", args=[o.statement.pk]), NOBODY
    ),
    "settlement_merchant:xlsx": door(
        lambda o: reverse("settlement_merchant:xlsx", args=[o.statement.pk]), NOBODY
    ),
    "settlement_merchant:confirm": door(
        lambda o: reverse("settlement_merchant:confirm", args=[o.statement.pk]), NOBODY, "post"
    ),
    "settlement_merchant:dispute": door(
        lambda o: reverse("settlement_merchant:dispute", args=[o.statement.pk]),
        NOBODY,
        "post",
        {"reason": "x"},
    ),
    # The members' shop: the product and the order are the merchant's and the member's (docs/shop.md).
    "shop:product_list": door(lambda o: reverse("shop:product_list"), OPEN),
    "shop:product_detail": door(lambda o: reverse("shop:product_detail", args=[o.product.pk]), OPEN),
    "shop:reserve": door(lambda o: reverse("shop:reserve", args=[o.product.pk]), MEMBERS, "post"),
    "shop:my_orders": door(lambda o: reverse("shop:my_orders"), MEMBERS),
    "shop:order_cancel": door(
        lambda o: reverse("shop:order_cancel", args=[o.shop_order.pk]), {MEMBER}, "post"
    ),
    "shop_merchant:home": door(lambda o: reverse("shop_merchant:home"), MANAGERS),
    "shop_merchant:product_create": door(lambda o: reverse("shop_merchant:product_create"), MANAGERS),
    "shop_merchant:product_edit": door(
        lambda o: reverse("shop_merchant:product_edit", args=[o.product.pk]), NOBODY
    ),
    "shop_merchant:product_stock": door(
        lambda o: reverse("shop_merchant:product_stock", args=[o.product.pk]), NOBODY, "post", {"delta": "1"}
    ),
    # Another merchant's code is "not found" (a message on the manager's own page).
    "shop_merchant:order_confirm": door(lambda o: reverse("shop_merchant:order_confirm"), MANAGERS, "post"),
    "settlement:list": door(lambda o: reverse("settlement:list"), STAFF),
    "settlement:prepare": door(lambda o: reverse("settlement:prepare"), STAFF, "post"),
    "settlement:detail": door(lambda o: reverse("settlement:detail", args=[o.statement.pk]), ABOVE),
    "settlement:xlsx": door(lambda o: reverse("settlement:xlsx", args=[o.statement.pk]), ABOVE),
    "settlement:approve": door(lambda o: reverse("settlement:approve", args=[o.statement.pk]), ABOVE, "post"),
    "settlement:settle": door(lambda o: reverse("settlement:settle", args=[o.statement.pk]), ABOVE, "post"),
    "settlement:runs": door(lambda o: reverse("settlement:runs"), STAFF),
    "settlement:run_create": door(lambda o: reverse("settlement:run_create"), STAFF, "post"),
    "settlement:run_detail": door(lambda o: reverse("settlement:run_detail", args=[o.payment_run.pk]), ABOVE),
    "settlement:run_approve": door(
        lambda o: reverse("settlement:run_approve", args=[o.payment_run.pk]), ABOVE, "post"
    ),
    "settlement:run_file": door(lambda o: reverse("settlement:run_file", args=[o.payment_run.pk]), ABOVE),
    "settlement:run_result": door(
        lambda o: reverse("settlement:run_result", args=[o.payment_run.pk]), ABOVE, "post"
    ),
    "settlement:reconciliation": door(lambda o: reverse("settlement:reconciliation"), STAFF),
    # Bank exchange: a bank's staff see their own bank's files only, the province every bank's; union
    # staff below the province see none, and download none (docs/bank-files.md).
    "banking:login": door(lambda o: reverse("banking:login"), OPEN),
    "banking:logout": door(lambda o: reverse("banking:logout"), OPEN, "post"),
    "banking:home": door(lambda o: reverse("banking:home"), BANKS),
    "banking:upload": door(lambda o: reverse("banking:upload"), BANKS, "post"),
    # Without a bank chosen the form is refused for all; refusals of another bank are in tests/banking.
    "banking:export_card_changes": door(lambda o: reverse("banking:export_card_changes"), NOBODY, "post"),
    "banking:file_detail": door(lambda o: reverse("banking:file_detail", args=[o.bank_file.pk]), OWN_BANK),
    "banking:file_download": door(
        lambda o: reverse("banking:file_download", args=[o.bank_file.pk]), OWN_BANK
    ),
    "banking:batches": door(lambda o: reverse("banking:batches"), BANKS),
    # The issuance file (full ID numbers) of a batch of the bank: its staff and the province.
    "banking:batch_production_file": door(
        lambda o: reverse("banking:batch_production_file", args=[o.batch.pk]), OWN_BANK
    ),
    "banking:card_use": door(lambda o: reverse("banking:card_use"), BANKS),
    "banking:card_use_export": door(lambda o: reverse("banking:card_use_export"), BANKS),
    "bank_offers": door(lambda o: reverse("bank_offers"), BANKS),
    # The rejections to-do: every union staff user (their own subtree's); one rejection, those above it.
    "banking:rejections": door(lambda o: reverse("banking:rejections"), STAFF),
    "banking:rejection_handled": door(
        lambda o: reverse("banking:rejection_handled", args=[o.issuance_result.pk]), ABOVE, "post"
    ),
    # Admin pages beside the model views.
    "admin:index": door(lambda o: reverse("admin:index"), STAFF),
    "admin:login": door(lambda o: reverse("admin:login"), OPEN),
    "admin:logout": door(lambda o: reverse("admin:logout"), OPEN, "post"),
    "admin:password_change": door(lambda o: reverse("admin:password_change"), STAFF),
    "admin:password_change_done": door(lambda o: reverse("admin:password_change_done"), STAFF),
    "admin:autocomplete": door(
        lambda o: (
            reverse("admin:autocomplete") + "?app_label=portal&model_name=user&field_name=union&term=C1A"
        ),
        STAFF,  # answers only with unions of the user's own subtree
    ),
    "admin:jsi18n": door(lambda o: reverse("admin:jsi18n"), STAFF),
    "admin:view_on_site": door(
        lambda o: reverse(
            "admin:view_on_site", args=[ContentType.objects.get_for_model(o.member).pk, o.member.pk]
        ),
        NOBODY,
    ),
    "admin:app_list": door(lambda o: reverse("admin:app_list", args=["members"]), STAFF),
    "admin/(?P<url>.*)$": door(lambda o: "/admin/no-such-page/", NOBODY),
    "admin:auth_user_password_change": door(
        lambda o: reverse("admin:auth_user_password_change", args=[o.county_operator.pk]), PROVINCE_ONLY
    ),
    "admin:members_member_reveal": door(
        lambda o: reverse("admin:members_member_reveal", args=[o.member.pk]), PROVINCE_ONLY
    ),
    "admin:members_member_transfer": door(
        lambda o: reverse("admin:members_member_transfer", args=[o.member.pk]), ABOVE
    ),
    # Answers every staff user (with the member's page, or the list saying "not among yours").
    "admin:members_member_find_by_id": door(
        lambda o: reverse("admin:members_member_find_by_id"), STAFF, "post", {"id_number": "x"}
    ),
    "admin:members_issuancebatch_template": door(
        lambda o: reverse("admin:members_issuancebatch_template"), STAFF
    ),
    "admin:members_issuancebatch_status": door(_batch("status"), ABOVE),
    "admin:members_issuancebatch_errors": door(_batch("errors"), ABOVE),
    "admin:members_issuancebatch_changes": door(_batch("changes"), ABOVE),
    "admin:members_issuancebatch_source": door(_batch("source"), PROVINCE_ONLY),
    "admin:members_issuancebatch_bank_file": door(_batch("bank_file"), PROVINCE_ONLY),
    "admin:members_issuancebatch_approve": door(_batch("approve"), ABOVE, "post"),
    "admin:allowances_payoutrun_release": door(
        lambda o: reverse("admin:allowances_payoutrun_release", args=[o.payout_run.pk]), ABOVE, "post"
    ),
    # The credit file holds full card numbers: the bank-file download rule (the province) applies too.
    "admin:allowances_payoutrun_credit_file": door(
        lambda o: reverse("admin:allowances_payoutrun_credit_file", args=[o.payout_run.pk]), PROVINCE_ONLY
    ),
    "admin:members_issuancebatch_reject": door(_batch("reject"), ABOVE, "post", {"reason": "x"}),
    "admin:members_issuancebatch_resume": door(_batch("resume"), ABOVE, "post"),
    "admin:members_rosterimport_template": door(
        lambda o: reverse("admin:members_rosterimport_template"), STAFF
    ),
    "admin:members_rosterimport_status": door(_roster("status"), ABOVE),
    "admin:members_rosterimport_errors": door(_roster("errors"), ABOVE),
    "admin:members_rosterimport_confirm": door(_roster("confirm"), ABOVE, "post"),
    "admin:members_rosterimport_cancel": door(_roster("cancel"), ABOVE, "post"),
    "admin:members_rosterimport_resume": door(_roster("resume"), ABOVE, "post"),
    "admin:merchants_merchant_review": door(
        lambda o: reverse("admin:merchants_merchant_review", args=[o.merchant.pk]), ABOVE
    ),
    "admin:discounts_offer_workflow": door(
        lambda o: reverse("admin:discounts_offer_workflow", args=[o.offer.pk]),
        ABOVE,
        "post",
        {"action": "pause"},
    ),
    "admin:discounts_offer_codes": door(
        lambda o: reverse("admin:discounts_offer_codes", args=[o.offer.pk]), ABOVE, "post", {"count": "1"}
    ),
    **_admin_doors(),
    # APIs.
    "members_api:otp_request": door(lambda o: "/api/v1/auth/otp/request/", OPEN, "post", {"phone": "1"}),
    "members_api:otp_verify": door(
        lambda o: "/api/v1/auth/otp/verify/", OPEN, "post", {"phone": "1", "code": "1"}
    ),
    "members_api:me": door(lambda o: "/api/v1/me/", MEMBERS),
    "members_api:sessions": door(lambda o: "/api/v1/me/sessions/", MEMBERS),
    "members_api:sign_out": door(lambda o: "/api/v1/auth/sign-out/", MEMBERS, "post"),
    "members_api:session_end": door(
        lambda o: f"/api/v1/me/sessions/{_session_of(o.member)}/end/", {MEMBER}, "post"
    ),
    "offers_api:offer_claim": door(lambda o: f"/api/v1/offers/{o.offer.pk}/claim/", MEMBERS, "post"),
    "members_api:consent": door(lambda o: "/api/v1/me/consent/", MEMBERS, "post"),
    "members_api:card_token": door(lambda o: "/api/v1/me/card-token/", MEMBERS),
    "members_api:card_undo_lost": door(lambda o: "/api/v1/me/card/undo-lost/", MEMBERS, "post"),
    "members_api:card_applications": door(lambda o: "/api/v1/me/card-applications/", MEMBERS),
    "members_api:transfer_requests": door(lambda o: "/api/v1/me/transfer-requests/", MEMBERS),
    "offers_api:category_list": door(lambda o: "/api/v1/categories/", OPEN),
    "offers_api:offer_list": door(lambda o: "/api/v1/offers/", OPEN),
    "offers_api:offer_detail": door(lambda o: f"/api/v1/offers/{o.offer.pk}/", OPEN),
    "pos:card_verify": door(lambda o: "/api/v1/cards/verify/", KEYS, "post", {"card_number": "1"}),
    "pos:redemptions": door(lambda o: "/api/v1/redemptions/", KEYS),
    "pos:redemption_detail": door(lambda o: f"/api/v1/redemptions/{o.redemption.pk}/", OWN_KEY),
    "pos:redemption_void": door(
        lambda o: f"/api/v1/redemptions/{o.redemption.pk}/void/", OWN_KEY, "post", {"reason": "错收"}
    ),
    "pos:voucher_use": door(
        lambda o: "/api/v1/vouchers/use/",
        OWN_KEY,
        "post",
        lambda o: {"offer": o.voucher.offer_id, "code": "MATRIX-CODE"},  # data may name objects too
    ),
    "pos:me_redemptions": door(lambda o: "/api/v1/me/redemptions/", MEMBERS),
    "pos:me_saved": door(lambda o: "/api/v1/me/saved/", MEMBERS),
    "pos:me_saved_offer": door(lambda o: f"/api/v1/me/saved/offers/{o.offer.pk}/", MEMBERS, "put"),
    "pos:me_saved_merchant": door(
        lambda o: f"/api/v1/me/saved/merchants/{o.offer.merchant_id}/", MEMBERS, "put"
    ),
    "notifications_api:list": door(lambda o: "/api/v1/me/notifications/", MEMBERS),
    "notifications_api:read": door(
        lambda o: f"/api/v1/me/notifications/{o.member_notice.pk}/read/", {MEMBER}, "post"
    ),
    "notifications_api:read_all": door(lambda o: "/api/v1/me/notifications/read-all/", MEMBERS, "post"),
    "shop_api:order_confirm": door(
        lambda o: "/api/v1/shop/orders/confirm/", OWN_KEY, "post", {"code": MATRIX_ORDER_CODE}
    ),
    "settlement_api:list": door(lambda o: "/api/v1/statements/", KEYS),
    "settlement_api:detail": door(lambda o: f"/api/v1/statements/{o.statement.pk}/", OWN_KEY),
    "settlement_api:xlsx": door(lambda o: f"/api/v1/statements/{o.statement.pk}/xlsx/", OWN_KEY),
    "stats_api:coverage": door(lambda o: "/api/v1/stats/coverage/?union=C1A", ABOVE),
    "api-schema": door(lambda o: "/api/schema/", OPEN),
    "api-docs": door(lambda o: "/api/docs/", OPEN),
    "api-not-found": door(lambda o: "/api/v1/no-such-thing/", OPEN),
    "healthz": door(lambda o: "/healthz", OPEN),
    # City sites and the member app: public pages and files (staff edit them in the admin, above).
    "cities:chooser": door(lambda o: reverse("cities:chooser"), OPEN),
    "cities:home": door(lambda o: reverse("cities:home", args=[o.city_site.slug]), OPEN),
    "cities:offers": door(lambda o: reverse("cities:offers", args=[o.city_site.slug]), OPEN),
    "cities:news_list": door(lambda o: reverse("cities:news_list", args=[o.city_site.slug]), OPEN),
    "cities:news_detail": door(
        lambda o: reverse("cities:news_detail", args=[o.city_site.slug, o.news_post.pk]), OPEN
    ),
    "cities:about": door(lambda o: reverse("cities:about", args=[o.city_site.slug]), OPEN),
    "cities:manifest": door(lambda o: reverse("cities:manifest", args=[o.city_site.slug]), OPEN),
    "cities:logo": door(lambda o: reverse("cities:logo", args=[o.city_site.slug]), OPEN),
    "cities:wechat_qr": door(lambda o: reverse("cities:wechat_qr", args=[o.city_site.slug]), OPEN),
    "cities:banner_image": door(
        lambda o: reverse("cities:banner_image", args=[o.city_site.slug, o.banner.pk]), OPEN
    ),
    "cities:icon": door(lambda o: reverse("cities:icon", args=[o.city_site.slug, 192]), OPEN),
    "pwa:manifest": door(lambda o: reverse("pwa:manifest"), OPEN),
    "pwa:service_worker": door(lambda o: reverse("pwa:service_worker"), OPEN),
    "pwa:offline": door(lambda o: reverse("pwa:offline"), OPEN),
    "set_language": door(lambda o: "/i18n/setlang/", OPEN, "post", {"language": "en"}),
}


def resolver_doors() -> set[str]:
    """Every URL pattern, by name (namespaced) or, when unnamed, by its full route."""
    found: set[str] = set()

    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace
                if pattern.namespace:
                    ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    found.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
                else:
                    found.add(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return found


def test_every_door_is_in_the_matrix():
    doors = resolver_doors()
    assert sorted(doors - DOORS.keys()) == [], "URLs without a row in the access matrix"
    assert sorted(DOORS.keys() - doors) == [], "matrix rows for URLs that no longer exist"
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == ADMIN_MODELS.keys()


# --- Running the matrix ----------------------------------------------------------------------------

SIGN_IN_PATHS = ("/admin/login/", "/merchant/login/", "/me/sign-in/", "/bank/login/")


def _session_of(member) -> int:
    """A signed-in device of the member (a bearer token): only its owner may end it."""
    member_token(member)
    return MemberApiToken.objects.filter(member=member).latest("pk").pk


def outcome(response, door_url: str) -> str:
    """allowed or refused, as the outsider sees it."""
    status = response.status_code
    assert status < 500, f"{door_url}: server error {status}"
    if status in (401, 403, 404):
        return "refused"
    if status in (301, 302, 303):
        location = response["Location"]
        if location.startswith(SIGN_IN_PATHS):
            return "refused"
        if door_url.startswith("/admin/") and location.rstrip("/") == "/admin":
            return "refused"  # the admin's answer to an object outside the user's subtree
        if door_url.startswith("/me/") and location.startswith("/me/consent/"):
            return "allowed"
    return "allowed"


@pytest.fixture
def objects(world, bank):
    class Objects:
        pass

    o = Objects()
    for name, value in vars(world).items():
        setattr(o, name, value)
    o.union = world.tree.C1A
    o.bank = bank
    o.category = world.merchant.category
    o.search_synonym = SearchSynonym.objects.create(words=["测试甲", "测试乙"])
    o.api_key = ApiKey.objects.filter(merchant=world.merchant).first()
    o.redemption = redemption_create(
        merchant=world.merchant,
        store_id=world.store.pk,
        offer_id=world.offer.pk,
        card_number=world.card.number,
        amount=Decimal("100.00"),
        idempotency_key="matrix-1",
    )
    online = OfferFactory(
        merchant=world.merchant,
        channel=Offer.Channel.ONLINE,
        kind=Offer.Kind.AMOUNT_OFF,
        percent_off=None,
        amount_off=Decimal("20"),
    )
    voucher_codes_add(offer=online, codes=["MATRIX-CODE"])
    o.voucher = voucher_claim(offer=online, member=world.member)
    batch = IssuanceBatch(
        union=world.tree.C1A1, bank=bank, original_filename="申请.csv", uploaded_by=world.county_operator
    )
    batch.file.save("matrix.csv", ContentFile("姓名,身份证号\n".encode()), save=False)
    batch.production_file.save("matrix-bank.csv", ContentFile(b"card,id\n"), save=False)
    batch.status = IssuanceBatch.Status.COMPLETED
    batch.save()
    o.batch = batch
    o.run = SnapshotRun.objects.create(day=timezone.localdate())
    o.card_application = CardApplication.objects.create(
        member=world.member, union=world.member.union, bank=bank
    )
    o.transfer_request = TransferRequest.objects.create(
        member=world.other_member, from_union=world.tree.C1A2, to_union=world.tree.C1A1
    )
    roster_import = RosterImport(
        union=world.tree.C1A,
        original_filename="名册.csv",
        uploaded_by=world.county_operator,
        status=RosterImport.Status.VALIDATED,
        valid_rows=1,
    )
    roster_import.file.save("matrix-roster.csv", ContentFile("姓名,身份证号\n".encode()), save=False)
    roster_import.save()
    o.roster_import = roster_import
    o.roster_missing = RosterMissing.objects.create(
        roster=roster_import, member=world.member, union=world.member.union
    )
    o.reported_count = ReportedMemberCount.objects.create(
        union=world.tree.C1A1,
        count=10,
        as_of=timezone.localdate(),
        source="年报",
        entered_by=world.county_operator,
    )
    o.audit_event = audit_record(
        actor=world.county_operator,
        action=AuditEvent.Action.CARD_STATE_CHANGED,
        target=world.card,
        union_path=world.tree.C1A1.path,
    )
    o.fund = fund_open(union=world.tree.C1A, year=timezone.localdate().year)
    o.fund_movement = fund_add_money(fund=o.fund, amount=Decimal("100.00"), actor=None)
    o.claim = claim_open(
        actor=world.county_operator,
        member=world.member,
        hospital="市第一医院",
        admitted_on=timezone.localdate() - datetime.timedelta(days=3),
        discharged_on=timezone.localdate(),
        bill_fen=150_000,
    )
    o.group = Group.objects.first()
    o.statement = statement_prepare(
        merchant=world.merchant, month=date(2026, 1, 1), actor=world.county_operator
    )
    o.product = Product.objects.create(
        merchant=world.merchant,
        title="会员专享花生油",
        market_price=Decimal("89.00"),
        member_price=Decimal("59.90"),
        stock=10,
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + datetime.timedelta(days=7),
        status=Product.Status.PUBLISHED,
    )
    o.shop_order = order_reserve(product_id=o.product.pk, member=world.member, card=world.card, quantity=1)
    Order.objects.filter(pk=o.shop_order.pk).update(code=MATRIX_ORDER_CODE)  # the API door's body names it
    o.payment_run = PaymentRun.objects.create(
        union=world.tree.C1A, created_by=world.county_operator, created_at=timezone.now()
    )
    o.member_notice = notify(
        recipient=Recipient.member(world.member.pk),
        topic=Topic.CARD_READY,
        title="会员卡已制作完成",
        body="请到所在基层工会领取。",
        dedup_key="matrix-member",
    )
    o.user_notice = notify(
        recipient=Recipient.user(world.cashier.user.pk),
        topic=Topic.STATEMENT_READY,
        title="月度结算单已生成",
        body="请核对本月结算单。",
        dedup_key="matrix-user",
    )
    o.city_site = CitySite.objects.create(
        union=world.tree.C1, slug="cityone", name="一城惠", short_name="一城惠"
    )
    o.banner = Banner.objects.create(site=o.city_site, title="横幅", image="cities/cityone/banner-0.jpg")
    o.news_post = NewsPost.objects.create(site=o.city_site, title="新闻", body="正文", status="published")
    o.webhook_endpoint, _secret = endpoint_create(
        merchant=world.merchant,
        url="https://pos.example.com/hooks",
        events=["redemption.created"],
        created_by=world.manager.user,
    )
    o.webhook_delivery = endpoint_send_test(endpoint=o.webhook_endpoint)
    o.access_attempt = AccessAttempt.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", failures_since_start=1
    )
    o.access_log = AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t")
    o.access_failure_log = AccessFailureLog.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t"
    )
    o.bank_file = BankFile(
        bank=bank, kind=BankFile.Kind.ISSUANCE_RESULT, original_filename="result.csv", content_hash="0" * 64
    )
    o.bank_file.file.save(
        "matrix-result.csv", ContentFile("申请编号,结果,银行卡号,拒绝原因\n".encode()), save=False
    )
    o.bank_file.save()
    o.payout_run = PayoutRun.objects.create(
        bank=bank, union=world.tree.C1A, created_by=world.county_operator, credit_file=o.bank_file
    )
    rejected = CardFactory(bank=bank, member=world.other_member, status=Card.Status.CANCELLED)
    o.issuance_result = IssuanceResult.objects.create(
        card=rejected,
        union=world.other_member.union,
        outcome=IssuanceResult.Outcome.REJECTED,
        application_number=rejected.number,
        reason="身份核验不通过",
        file=o.bank_file,
        line_number=2,
    )
    return o


@pytest.fixture
def bank(db):
    return PartnerBankFactory()


def OTHER_BANK():
    return PartnerBankFactory(code="CCB", name="建设银行", bin="621700")


def clients(world) -> dict[str, tuple[Client, dict]]:
    made: dict[str, tuple[Client, dict]] = {}
    made[ANONYMOUS] = (Client(), {})
    for role, member in ((MEMBER, world.member), (OTHER_MEMBER, world.other_member)):
        member.consent_at = timezone.now()
        member.save(update_fields=["consent_at"])
        client = Client()
        session = client.session
        session[SESSION_KEY] = member.pk
        session.save()
        client.cookies["sessionid"] = session.session_key
        made[role] = (client, {})
    for role, user in (
        (CASHIER, world.cashier.user),
        (RIVAL_MANAGER, world.rival_manager.user),
        (SIBLING_COUNTY, world.sibling_county_operator),
        (CITY, world.city_operator),
        (PROVINCE, world.province_admin),
    ):
        client = Client()
        client.force_login(user)
        made[role] = (client, {})
    for role, bank in ((BANK_STAFF, PartnerBankFactory()), (OTHER_BANK_STAFF, OTHER_BANK())):
        user = UserFactory(is_staff=False, union=None, username=role)
        user.groups.add(Role.BANK_STAFF.group())
        BankStaff.objects.create(user=user, bank=bank)
        client = Client()
        client.force_login(user)
        made[role] = (client, {})
    made[POS_KEY] = (Client(), {"HTTP_AUTHORIZATION": f"Api-Key {world.pos_key}"})
    made[RIVAL_POS_KEY] = (Client(), {"HTTP_AUTHORIZATION": f"Api-Key {world.rival_key}"})
    return made


def test_each_party_enters_only_its_own_doors(objects, world, settings):
    settings.POS_RATE_LIMIT_PER_MINUTE = 0
    parties = clients(world)
    wrong = []
    for name, spec in sorted(DOORS.items()):
        url = spec.url(objects)
        data = (spec.data(objects) if callable(spec.data) else spec.data) or {}
        for role in ROLES:
            client, headers = parties[role]
            session_cookie = client.cookies.get("sessionid")
            # Each attempt leaves no trace for the next one (a void, a revoked key, a freeze...).
            with transaction.atomic():
                if spec.method == "post" and url.startswith("/api/"):
                    response = client.post(url, data, content_type="application/json", **headers)
                elif spec.method == "post":
                    response = client.post(url, data, **headers)
                elif spec.method == "put":
                    response = client.put(url, data, content_type="application/json", **headers)
                else:
                    response = client.get(url, **headers)
                transaction.set_rollback(True)
            if session_cookie is not None:  # a sign-out door was rolled back: keep the session
                client.cookies["sessionid"] = session_cookie.value
            got = outcome(response, url)
            if spec.allowed is OPEN:
                continue
            expected = "allowed" if role in spec.allowed else "refused"
            if got != expected:
                wrong.append(f"{name} {url} as {role}: {got} ({response.status_code}), expected {expected}")
    assert not wrong, "\n".join(wrong)

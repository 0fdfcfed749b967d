"""Every address of discounts, in one module, each group in the namespace its names have always had.

The merchant portal's namespace ``merchants`` is completed here: the merchants app's own pages
(merchants.urls) and the portal's offer pages, which are discounts'. That is why the root URLconf
includes merchants.urls only through this module."""

from django.urls import include, path
from django.views.generic import RedirectView

from discounts.api import member as member_api
from discounts.api import pos as pos_api
from discounts.api import public as public_api
from discounts.views import bank_offers, cashier, history, merchant_offers, offers, sandbox, saved, statements
from merchants import urls as merchant_portal

# The POS API, with the member's own redemption history beside it (its names were always "pos:…").
pos_patterns = [
    path("cards/verify/", pos_api.CardVerifyView.as_view(), name="card_verify"),
    path("redemptions/", pos_api.RedemptionListCreateView.as_view(), name="redemptions"),
    path("redemptions/<int:pk>/", pos_api.RedemptionDetailView.as_view(), name="redemption_detail"),
    path("redemptions/<int:pk>/void/", pos_api.RedemptionVoidView.as_view(), name="redemption_void"),
    path("vouchers/use/", pos_api.VoucherUseView.as_view(), name="voucher_use"),
    path("me/redemptions/", member_api.MemberRedemptionListView.as_view(), name="me_redemptions"),
    path("me/saved/", member_api.MemberSavedView.as_view(), name="me_saved"),
    path("me/saved/offers/<int:offer_id>/", member_api.MemberSavedOfferView.as_view(), name="me_saved_offer"),
    path(
        "me/saved/merchants/<int:merchant_id>/",
        member_api.MemberSavedMerchantView.as_view(),
        name="me_saved_merchant",
    ),
]

public_api_patterns = [
    path("categories/", public_api.CategoryListView.as_view(), name="category_list"),
    path("offers/", public_api.OfferListView.as_view(), name="offer_list"),
    path("offers/<int:offer_id>/", public_api.OfferDetailView.as_view(), name="offer_detail"),
    path("offers/<int:offer_id>/claim/", member_api.VoucherClaimView.as_view(), name="offer_claim"),
]

# Member-facing offer pages: the offer list is the home page.
offer_pages = [
    path("", offers.offer_list, name="offer_list"),
    # The list lives at the home page; the address its detail pages suggest leads there too.
    path(
        "offers/",
        RedirectView.as_view(pattern_name="discounts:offer_list", query_string=True),
        name="offers_redirect",
    ),
    path("offers/<int:offer_id>/", offers.offer_detail, name="offer_detail"),
    path("offers/<int:offer_id>/picture/", offers.offer_picture, name="offer_picture"),
    path("offers/<int:offer_id>/claim/", offers.offer_claim_code, name="offer_claim_code"),
    path("offers/<int:offer_id>/save/", saved.offer_save_view, name="offer_save"),
    path("offers/<int:offer_id>/save-merchant/", saved.merchant_save_view, name="merchant_save"),
]

history_pages = [
    path("redemptions/", history.history_page, name="redemptions"),
    path("saved/", saved.saved_page, name="saved"),
]

till_pages = [
    path("", cashier.till_page, name="till"),
    path("store/", cashier.choose_store, name="store"),
    path("identify/", cashier.identify, name="identify"),
    path("clear/", cashier.clear, name="clear"),
    path("redeem/", cashier.redeem, name="redeem"),
    path("preview/", cashier.preview, name="preview"),
    path("redemptions/<int:pk>/", cashier.receipt, name="receipt"),
    path("redemptions/<int:pk>/void/", cashier.void, name="void"),
    path("statement/", statements.statement_page, name="statement"),
]

merchant_offer_pages = [
    path("offers/new/", merchant_offers.offer_new, name="offer_create"),
    path("offers/preview/", merchant_offers.offer_preview_view, name="offer_preview"),
    path("offers/<int:offer_id>/", merchant_offers.offer_edit, name="offer_edit"),
    path("offers/<int:offer_id>/submit/", merchant_offers.offer_submit_view, name="offer_submit"),
    path("offers/<int:offer_id>/picture/", merchant_offers.offer_picture_view, name="offer_picture"),
    path("sandbox/", sandbox.sandbox_page, name="sandbox"),
    path("vouchers/use/", merchant_offers.voucher_use_view, name="voucher_use"),
]

subsidy_pages = [
    path("", statements.subsidies_page, name="report"),
]

urlpatterns = [
    # The POS API first: every till's request is resolved here, before anything else is tried.
    path("api/v1/", include((pos_patterns, "pos"))),
    path("api/v1/", include((public_api_patterns, "offers_api"))),
    path("", include((offer_pages, "discounts"))),
    path("me/", include((history_pages, "history"))),
    path("merchant/till/", include((till_pages, "cashier"))),
    path(
        "merchant/",
        include(([*merchant_portal.urlpatterns, *merchant_offer_pages], merchant_portal.app_name)),
    ),
    path("staff/subsidies/", include((subsidy_pages, "subsidies"))),
    # A partner bank's own offers, beside its files (banking.urls holds the rest of /bank/).
    path("bank/offers/", bank_offers.bank_offer_list, name="bank_offers"),
]

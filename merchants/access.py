"""Who may use the merchant portal (a signed-in user linked to a merchant, merchants.MerchantUser),
and whether a merchant may redeem today: the merchant-open rule (``Merchant.closed_by``) in words,
for every door that redeems — the POS key, the till and its sign-in, and the redemption service."""

from __future__ import annotations

from datetime import date
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant, MerchantUser
from portal.errors import PermissionDenied


class MerchantClosed(PermissionDenied):
    """The merchant is not open today: not signed, suspended, or outside its contract dates."""

    code = "merchant_not_open"


def merchant_closed_reason(merchant: Merchant, day: date | None = None) -> str | None:
    """Why ``merchant`` cannot redeem on ``day`` (default: today, the local day), or None when it is
    open. Reads the status and the contract dates only."""
    day = day or timezone.localdate()
    closed_by = merchant.closed_by(day)
    if closed_by is None:
        return None
    if closed_by == "contract_start":
        return _("商家合作合同尚未生效（%(start)s 起）") % {"start": merchant.contract_start.isoformat()}
    if closed_by == "contract_end":
        return _("商家合作合同已于 %(end)s 到期") % {"end": merchant.contract_end.isoformat()}
    return _("商家未签约或已暂停合作")


def ensure_merchant_open(merchant: Merchant, day: date | None = None) -> None:
    """Raise MerchantClosed unless ``merchant`` may redeem on ``day``."""
    reason = merchant_closed_reason(merchant, day)
    if reason is not None:
        raise MerchantClosed(_("%(reason)s，不能核销。") % {"reason": reason})


def current_merchant_user(request) -> MerchantUser | None:
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        membership = user.merchant_user
    except MerchantUser.DoesNotExist:
        return None
    return membership


def merchant_user_required(role: str | None = None, allow_suspended: bool = False, till: bool = False):
    """Decorator for merchant-portal views. Sets ``request.merchant_user`` and ``request.merchant``.
    ``role="manager"`` limits the view to managers; cashiers get 403.

    The portal is open to a signed merchant (status approved) also outside its contract dates, so
    its manager can read the contract state and the statements; the till (``till=True``) only to a
    merchant open today, and it says why otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = current_merchant_user(request)
            if membership is None:
                return redirect_to_login(request.get_full_path(), "merchants:login")
            if role and membership.role != role:
                raise DjangoPermissionDenied
            if till:
                reason = merchant_closed_reason(membership.merchant)
                if reason is not None:
                    message = _("%(reason)s，收银台暂不可用。") % {"reason": reason}
                    return render(request, "merchants/till_closed.html", {"message": message}, status=403)
            elif not allow_suspended and membership.merchant.status != Merchant.Status.APPROVED:
                raise DjangoPermissionDenied
            request.merchant_user = membership
            request.merchant = membership.merchant
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

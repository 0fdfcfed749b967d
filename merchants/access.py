"""Who may use the merchant portal: a signed-in user linked to a merchant (merchants.MerchantUser)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from merchants.models import Merchant, MerchantUser


def current_merchant_user(request) -> MerchantUser | None:
    user = request.user
    if not user.is_authenticated:
        return None
    try:
        membership = user.merchant_user
    except MerchantUser.DoesNotExist:
        return None
    return membership


def merchant_user_required(role: str | None = None, allow_suspended: bool = False):
    """Decorator for merchant-portal views. Sets ``request.merchant_user`` and ``request.merchant``.
    ``role="manager"`` limits the view to managers; cashiers get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = current_merchant_user(request)
            if membership is None:
                return redirect_to_login(request.get_full_path(), "merchants:login")
            if role and membership.role != role:
                raise PermissionDenied
            if not allow_suspended and membership.merchant.status != Merchant.Status.APPROVED:
                raise PermissionDenied
            request.merchant_user = membership
            request.merchant = membership.merchant
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

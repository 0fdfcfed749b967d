"""Webhook pages of the merchant portal (``/merchant/webhooks/``), for the merchant's managers only:
list, create (the secret is shown once), disable and delete endpoints — each asking first — send a
test event, and follow every delivery with its attempts. Cashiers get 403; another merchant's
endpoint or delivery is "not found"."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from merchants.access import merchant_user_required
from merchants.models import MerchantUser
from portal.errors import ApplicationError, ValidationFailed
from webhooks import selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import Delivery, Endpoint

MANAGER = MerchantUser.Role.MANAGER
PAGE_SIZE = 20


def _endpoint(request, endpoint_id: int) -> Endpoint:
    endpoint = selectors.endpoint_of(merchant_id=request.merchant.pk, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404(_("未找到该推送地址。"))
    return endpoint


@never_cache
@merchant_user_required(role=MANAGER)
@require_GET
def endpoint_list(request):
    endpoints = list(selectors.merchant_endpoints(merchant_id=request.merchant.pk))
    return render(
        request,
        "webhooks/endpoints.html",
        {"endpoints": endpoints, "max_active": services.MAX_ACTIVE_ENDPOINTS},
    )


@never_cache
@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def endpoint_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(
                merchant=request.merchant,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except ValidationFailed as error:
            form.add_service_errors(error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            # Rendered, never redirected to: the secret exists in clear only in this one response.
            return render(request, "webhooks/endpoint_created.html", {"endpoint": endpoint, "secret": secret})
    return render(request, "webhooks/endpoint_form.html", {"form": form})


@never_cache
@merchant_user_required(role=MANAGER)
@require_GET
def endpoint_detail(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    status = request.GET.get("status", "")
    deliveries = selectors.endpoint_deliveries(endpoint=endpoint, status=status)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "status": status if status in Delivery.Status.values else "",
            "statuses": Delivery.Status.choices,
        },
    )


@merchant_user_required(role=MANAGER)
@require_POST
def endpoint_test(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    try:
        delivery = services.endpoint_send_test(endpoint=endpoint)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("webhooks:endpoint_detail", endpoint.pk)
    messages.success(request, _("测试事件已排队发送，稍后刷新本页查看结果。"))
    return redirect("webhooks:delivery_detail", endpoint.pk, delivery.pk)


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def endpoint_disable(request, endpoint_id: int):
    """GET asks; POST disables."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        services.endpoint_disable(endpoint=endpoint, disabled_by=request.user)
        messages.success(request, _("推送地址已停用，不会再收到事件。"))
        return redirect("webhooks:endpoint_detail", endpoint.pk)
    return render(
        request,
        "webhooks/confirm.html",
        {
            "endpoint": endpoint,
            "heading": _("停用推送地址"),
            "question": _("停用后不再向此地址推送任何事件，等待中的推送也将停止。停用后不能再启用。"),
            "button": _("确认停用"),
        },
    )


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def endpoint_delete(request, endpoint_id: int):
    """GET asks; POST deletes."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        services.endpoint_delete(endpoint=endpoint, deleted_by=request.user)
        messages.success(request, _("推送地址及其推送记录已删除。"))
        return redirect("webhooks:endpoints")
    return render(
        request,
        "webhooks/confirm.html",
        {
            "endpoint": endpoint,
            "heading": _("删除推送地址"),
            "question": _("删除后，此地址及其全部推送记录将被永久删除，无法恢复。"),
            "button": _("确认删除"),
        },
    )


@never_cache
@merchant_user_required(role=MANAGER)
@require_GET
def delivery_detail(request, endpoint_id: int, delivery_id: int):
    endpoint = _endpoint(request, endpoint_id)
    delivery = selectors.delivery_of(endpoint=endpoint, delivery_id=delivery_id)
    if delivery is None:
        raise Http404(_("未找到该推送记录。"))
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "endpoint": endpoint,
            "delivery": delivery,
            "attempts": list(selectors.delivery_attempts(delivery=delivery)),
            "body": json.dumps(json.loads(services.event_body(delivery.event)), ensure_ascii=False, indent=2),
        },
    )

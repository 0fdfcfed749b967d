"""The shop's pages. Members: the products on sale (/shop/), one product with its reserve form, their
orders (/me/shop/) with the code to show and a cancel button. The merchant's manager: products
(create, edit, stock), orders with a confirm button or a code typed or scanned, and the month of
confirmed orders (/merchant/shop/). The services decide; these pages ask and show a refusal."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from discounts.statements import next_month, parse_month, previous_month
from members.auth import current_member, member_required
from merchants.access import merchant_user_required
from merchants.models import MerchantUser
from portal.confirm import ask_first
from portal.errors import ApplicationError
from shop import selectors, services
from shop.forms import OrderCodeForm, ProductCreateForm, ProductForm, QuantityForm, StockChangeForm
from shop.models import Order, Product

MANAGER = MerchantUser.Role.MANAGER
PAGE_SIZE = 20
ORDER_LIST_LIMIT = 200


# --- Members -----------------------------------------------------------------------------------------


def product_list(request):
    page = Paginator(selectors.products_on_sale(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "shop/product_list.html", {"page": page, "member": current_member(request)})


def _product_on_sale(product_id: int) -> Product:
    product = selectors.products_on_sale().filter(pk=product_id).first()
    if product is None:
        raise Http404(_("未找到该商品。"))
    return product


def product_detail(request, product_id: int):
    product = _product_on_sale(product_id)
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "member": current_member(request), "form": QuantityForm()},
    )


@require_POST
@member_required
def product_reserve(request, product_id: int):
    product = _product_on_sale(product_id)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写1到%(max)d之间的数量。") % {"max": services.MAX_QUANTITY})
        return HttpResponseRedirect(reverse("shop:product_detail", args=[product.pk]))
    member = request.member
    try:
        order = services.order_reserve(
            product_id=product.pk,
            member=member,
            card=services.member_shop_card(member),
            quantity=form.cleaned_data["quantity"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("shop:product_detail", args=[product.pk]))
    messages.success(
        request,
        _("预订成功，订单码 %(code)s。请在 %(until)s 前到店出示订单码领取。")
        % {"code": order.code, "until": f"{timezone.localtime(order.expires_at):%Y-%m-%d %H:%M}"},
    )
    return HttpResponseRedirect(reverse("shop:my_orders"))


@member_required
def my_orders(request):
    page = Paginator(selectors.member_orders(request.member), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "shop/my_orders.html", {"page": page})


@require_POST
@member_required
def order_cancel(request, order_id: int):
    order = selectors.member_orders(request.member).filter(pk=order_id).first()
    if order is None:
        raise Http404(_("未找到该订单。"))
    page = ask_first(
        request,
        heading=_("取消订单"),
        consequence=_("取消后订单码 %(code)s 作废，商品名额退回，不能恢复。") % {"code": order.code},
        button=_("确认取消"),
        cancel_url=reverse("shop:my_orders"),
    )
    if page is not None:
        return page
    try:
        services.order_cancel(order=order, member=request.member)
        messages.success(request, _("订单已取消。"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(reverse("shop:my_orders"))


# --- The merchant's manager ------------------------------------------------------------------------------


@merchant_user_required(role=MANAGER)
def merchant_home(request):
    merchant = request.merchant
    month = parse_month(request.GET.get("month"))
    status = request.GET.get("status", Order.Status.RESERVED)
    orders = selectors.merchant_orders(merchant)
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    return render(
        request,
        "shop/merchant_home.html",
        {
            "products": selectors.merchant_products(merchant),
            "orders": orders[:ORDER_LIST_LIMIT],
            "status": status,
            "statuses": Order.Status.choices,
            "code_form": OrderCodeForm(),
            "shop_month": selectors.merchant_shop_month(merchant=merchant, month=month),
            "previous_month": previous_month(month),
            "next_month": next_month(month),
        },
    )


def _merchant_product(request, product_id: int) -> Product:
    product = selectors.merchant_products(request.merchant).filter(pk=product_id).first()
    if product is None:
        raise Http404(_("未找到该商品。"))
    return product


@merchant_user_required(role=MANAGER)
def product_create(request):
    form = ProductCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_save(
                product=form.save(commit=False), merchant=request.merchant, by_user=request.user
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("商品已保存。"))
            return HttpResponseRedirect(reverse("shop_merchant:home"))
    return render(request, "shop/product_form.html", {"form": form, "heading": _("新建商品")})


@merchant_user_required(role=MANAGER)
def product_edit(request, product_id: int):
    product = _merchant_product(request, product_id)
    form = ProductForm(request.POST or None, instance=product)
    stock_form = StockChangeForm()
    if request.method == "POST" and form.is_valid():
        services.product_save(
            product=form.save(commit=False), merchant=request.merchant, by_user=request.user
        )
        messages.success(request, _("商品已保存。"))
        return HttpResponseRedirect(reverse("shop_merchant:home"))
    return render(
        request,
        "shop/product_form.html",
        {"form": form, "stock_form": stock_form, "product": product, "heading": _("编辑商品")},
    )


@require_POST
@merchant_user_required(role=MANAGER)
def product_stock(request, product_id: int):
    product = _merchant_product(request, product_id)
    form = StockChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写要调整的库存数量（整数）。"))
    else:
        try:
            services.product_stock_change(
                product=product, delta=form.cleaned_data["delta"], by_user=request.user
            )
            messages.success(request, _("库存已调整，现有 %(stock)d 件。") % {"stock": product.stock})
        except ApplicationError as error:
            messages.error(request, error.message)
    return HttpResponseRedirect(reverse("shop_merchant:product_edit", args=[product.pk]))


@require_POST
@merchant_user_required(role=MANAGER)
def order_confirm(request):
    """Confirm by the order code the member shows (the button of each reserved order sends it too)."""
    form = OrderCodeForm(request.POST)
    order = (
        selectors.merchant_order_by_code(request.merchant, form.data.get("code", ""))
        if form.is_valid()
        else None
    )
    if order is None:
        messages.error(request, _("未找到该订单码，请核对后重试。"))
    else:
        try:
            services.order_confirm(order=order, by_user=request.user)
            messages.success(
                request,
                _("订单 %(code)s 已确认：%(title)s × %(quantity)d。")
                % {"code": order.code, "title": order.product.title, "quantity": order.quantity},
            )
        except ApplicationError as error:
            messages.error(request, error.message)
    return HttpResponseRedirect(reverse("shop_merchant:home"))

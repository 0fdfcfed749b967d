"""The shop's rules, for every door (member pages, merchant portal, POS API, the expiry task, admin).

- ``order_reserve``: a signed-in member reserves ``quantity`` of a product. Card and member are
  judged by the one usability rule (``discounts.usability.member_card_refusal``); then, in one
  transaction, one guarded UPDATE takes the stock (published, inside its sale window, enough left)
  and one guarded upsert takes the member's limit. A failed guard raises ``Conflict`` and the
  transaction rolls back: nothing is taken.
- ``order_confirm``: the merchant confirms a reserved order (portal or POS key); again is the same
  answer, an expired or cancelled order is refused.
- ``order_cancel`` (the member) and ``orders_expire`` (the beat task) end a reserved order with one
  guarded status UPDATE each, so stock and limit are given back exactly once.
- ``product_save`` / ``product_stock_change``: the merchant's products; stock moves only by a
  guarded delta, never by writing a number read earlier.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.usability import member_card_refusal
from discounts.vouchers import voucher_random_code
from members.models import Card, Member
from merchants.access import merchant_closed_reason
from merchants.models import Merchant
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import AuditEvent
from shop.models import Order, Product

logger = logging.getLogger(__name__)

# How long a reservation waits for the merchant to hand the goods over.
RESERVATION_HOURS = 48
# The most one order may ask for (the page's form and the service agree).
MAX_QUANTITY = 99
CODE_ATTEMPTS = 5

# Table names (Product._meta.db_table …) spelled out so the SQL stays static.
_TAKE_STOCK_SQL = """
UPDATE shop_product SET stock = stock - %(q)s
WHERE id = %(product)s AND stock >= %(q)s AND status = 'published'
  AND valid_from <= %(today)s AND valid_until >= %(today)s
RETURNING merchant_id, member_price, per_member_limit
"""
# The member's counter: created with ``q`` when the limit allows it, or raised by ``q`` only while the
# total stays within the limit. No row back: the limit is reached, nothing was written.
_TAKE_LIMIT_SQL = """
INSERT INTO shop_memberproductcounter (product_id, member_id, reserved)
SELECT %(product)s, %(member)s, %(q)s
WHERE %(limit)s::integer IS NULL OR %(q)s <= %(limit)s::integer
ON CONFLICT (product_id, member_id) DO UPDATE
SET reserved = shop_memberproductcounter.reserved + EXCLUDED.reserved
WHERE %(limit)s::integer IS NULL
   OR shop_memberproductcounter.reserved + EXCLUDED.reserved <= %(limit)s::integer
RETURNING reserved
"""
_GIVE_BACK_STOCK_SQL = "UPDATE shop_product SET stock = stock + %s WHERE id = %s"
_GIVE_BACK_LIMIT_SQL = """
UPDATE shop_memberproductcounter SET reserved = GREATEST(reserved - %s, 0)
WHERE product_id = %s AND member_id = %s
"""
_EXPIRE_SQL = """
UPDATE shop_order SET status = 'expired'
WHERE status = 'reserved' AND expires_at <= %s
RETURNING id, product_id, member_id, quantity
"""


def _refused(code: str, message: str) -> Conflict:
    return Conflict(message, code=code)


def _give_back(cursor, *, product_id: int, member_id: int, quantity: int) -> None:
    cursor.execute(_GIVE_BACK_STOCK_SQL, [quantity, product_id])
    cursor.execute(_GIVE_BACK_LIMIT_SQL, [quantity, product_id, member_id])


def _audit(order: Order, *, actor, event: str, **data) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.SHOP_ORDER_CHANGED,
        target=order,
        label=f"{order.code} · {order.product.title}",
        union_path=order.merchant.region.path,
        data={"event": event, "quantity": order.quantity, "amount": str(order.amount), **data},
    )


def member_shop_card(member: Member) -> Card | None:
    """The card a member's order is made with: their active card (the newest when there are two)."""
    return Card.objects.filter(member=member, status=Card.Status.ACTIVE).order_by("-pk").first()


def _product_refusal(product: Product, now: datetime) -> Conflict | None:
    """Why the product cannot be ordered now, in words; None when it can (the guarded UPDATE decides
    in the end: this only names the reason)."""
    today = timezone.localdate(now)
    if product.status != Product.Status.PUBLISHED or not product.valid_from <= today <= product.valid_until:
        return _refused("product_not_on_sale", _("该商品当前不在销售期内。"))
    reason = merchant_closed_reason(product.merchant, today)
    if reason is not None:
        return _refused("merchant_not_open", _("%(reason)s，暂不能预订。") % {"reason": reason})
    return None


def order_reserve(
    *, product_id: int, member: Member, card: Card | None, quantity: int, now: datetime | None = None
) -> Order:
    """Reserve ``quantity`` of the product for ``member`` (with ``card``, their active card)."""
    now = now or timezone.now()
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            _("数量须在1到%(max)d之间。") % {"max": MAX_QUANTITY},
            fields={"quantity": [_("数量无效。")]},
        )
    if card is None:
        raise _refused("card_required", _("您还没有可用的会员卡，暂不能预订。"))
    if card.member_id != member.pk:
        raise ValidationFailed(_("该卡不属于该会员。"))
    refusal = member_card_refusal(member, card)
    if refusal is not None:
        raise _refused(refusal.code, refusal.message)
    product = Product.objects.select_related("merchant", "merchant__region").filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("未找到该商品。"), code="product_not_found")
    refused = _product_refusal(product, now)
    if refused is not None:
        raise refused
    today = timezone.localdate(now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TAKE_STOCK_SQL, {"q": quantity, "product": product.pk, "today": today})
        row = cursor.fetchone()
        if row is None:
            # Published and in its window a moment ago: what is missing now is stock (or it just ended).
            raise _refused("out_of_stock", _("库存不足，剩余数量少于您要预订的数量。"))
        merchant_id, unit_price, limit = row
        cursor.execute(
            _TAKE_LIMIT_SQL, {"product": product.pk, "member": member.pk, "q": quantity, "limit": limit}
        )
        if cursor.fetchone() is None:
            raise _refused(
                "member_limit_reached",
                _("该商品每人限购%(limit)d件，您已达上限。") % {"limit": limit},
            )
        order = _order_create(
            product=product,
            merchant_id=merchant_id,
            member=member,
            card=card,
            quantity=quantity,
            unit_price=unit_price,
            now=now,
        )
        _audit(order, actor=None, event="reserved")
    logger.info("shop order %s reserved: product %s, quantity %s", order.pk, product.pk, quantity)
    return order


def _order_create(*, product, merchant_id, member, card, quantity, unit_price, now) -> Order:
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Order.objects.create(
                    product=product,
                    merchant_id=merchant_id,
                    member=member,
                    card=card,
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=unit_price * quantity,
                    code=voucher_random_code(),
                    reserved_at=now,
                    expires_at=now + timedelta(hours=RESERVATION_HOURS),
                )
        except IntegrityError:
            continue  # the code was taken (one in 32^12): draw another
    raise Conflict(_("订单码生成失败，请重试。"), code="code_unavailable")


def _ended(order: Order) -> Conflict:
    if order.status == Order.Status.CANCELLED:
        return _refused("order_cancelled", _("该订单已取消。"))
    if order.status == Order.Status.CONFIRMED:
        return _refused("order_confirmed", _("该订单已确认使用。"))
    return _refused("order_expired", _("该订单已过期。"))


def order_confirm(*, order: Order, by_user=None, api_key=None, now: datetime | None = None) -> Order:
    """The merchant hands over the goods: a reserved order, not yet past its expiry, is confirmed.
    Confirming a confirmed order answers it again; an expired or cancelled order is refused."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Order.objects.filter(pk=order.pk, status=Order.Status.RESERVED, expires_at__gt=now).update(
            status=Order.Status.CONFIRMED,
            confirmed_at=now,
            confirmed_by=by_user if getattr(by_user, "is_authenticated", False) else None,
            confirmed_api_key=api_key,
        )
        order.refresh_from_db()
        if updated:
            _audit(
                order,
                actor=by_user,
                event="confirmed",
                api_key=api_key.prefix if api_key is not None else None,
            )
    if updated or order.status == Order.Status.CONFIRMED:
        if updated:
            logger.info("shop order %s confirmed", order.pk)
        return order
    if order.status == Order.Status.RESERVED:  # past its expiry, not yet swept by orders_expire
        raise _refused("order_expired", _("该订单已过期。"))
    raise _ended(order)


def order_cancel(*, order: Order, member: Member, now: datetime | None = None) -> Order:
    """The member cancels their reserved order: stock and limit go back once. Cancelling a cancelled
    order answers it again."""
    if order.member_id != member.pk:
        raise NotFound(_("未找到该订单。"), code="order_not_found")
    now = now or timezone.now()
    with transaction.atomic():
        updated = Order.objects.filter(pk=order.pk, status=Order.Status.RESERVED).update(
            status=Order.Status.CANCELLED, cancelled_at=now
        )
        if updated:
            with connection.cursor() as cursor:
                _give_back(
                    cursor, product_id=order.product_id, member_id=order.member_id, quantity=order.quantity
                )
        order.refresh_from_db()
        if updated:
            _audit(order, actor=None, event="cancelled")
    if updated or order.status == Order.Status.CANCELLED:
        return order
    raise _ended(order)


def orders_expire(now: datetime | None = None) -> int:
    """Expire every reserved order past its expiry and give back its stock and limit. Each order is
    expired by one guarded UPDATE … RETURNING: two runs at once expire (and give back) each order once.
    Returns how many this run expired."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, [now])
        rows = cursor.fetchall()
        for _order_id, product_id, member_id, quantity in rows:
            _give_back(cursor, product_id=product_id, member_id=member_id, quantity=quantity)
        if rows:
            expired = Order.objects.filter(pk__in=[row[0] for row in rows]).select_related(
                "product", "merchant__region"
            )
            for order in expired:
                _audit(order, actor=None, event="expired")
    if rows:
        logger.info("shop orders expired: %s", len(rows))
    return len(rows)


# --- Products --------------------------------------------------------------------------------------


def product_save(*, product: Product, merchant: Merchant, by_user) -> Product:
    """Create or change the merchant's product from a validated form's instance. The stock column is
    written only when the product is created; afterwards it moves by ``product_stock_change``."""
    if product.pk is None:
        product.merchant = merchant
    elif product.merchant_id != merchant.pk:
        raise NotFound(_("未找到该商品。"), code="product_not_found")
    try:
        product.full_clean(exclude=["merchant"])
    except DjangoValidationError as invalid:
        fields = {name: [str(m) for m in found] for name, found in invalid.message_dict.items()}
        general = fields.pop(NON_FIELD_ERRORS, [_("提交的数据有误。")])
        raise ValidationFailed(general[0], fields=fields or None) from None
    with transaction.atomic():
        created = product.pk is None
        if created:
            product.save()
        else:
            fields = [
                f.name
                for f in Product._meta.concrete_fields
                if f.name not in {"id", "merchant", "stock", "created_at"}
            ]
            product.save(update_fields=fields)
        audit_record(
            actor=by_user,
            action=AuditEvent.Action.SHOP_PRODUCT_CHANGED,
            target=product,
            label=f"{merchant.name} · {product.title}",
            union_path=merchant.region.path,
            data={"event": "created" if created else "changed", "status": product.status},
        )
    return product


def product_stock_change(*, product: Product, delta: int, by_user) -> Product:
    """Add ``delta`` (negative: take away) to the stock, never below what is left: one guarded UPDATE."""
    if not isinstance(delta, int) or isinstance(delta, bool):
        raise ValidationFailed(_("库存调整须为整数。"))
    if delta == 0:
        return product
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE shop_product SET stock = stock + %s WHERE id = %s AND stock + %s >= 0 RETURNING stock",
            [delta, product.pk, delta],
        )
        row = cursor.fetchone()
        if row is None:
            raise _refused("out_of_stock", _("减少的数量超过了当前库存。"))
        product.stock = row[0]
        audit_record(
            actor=by_user,
            action=AuditEvent.Action.SHOP_PRODUCT_CHANGED,
            target=product,
            label=f"{product.merchant.name} · {product.title}",
            union_path=product.merchant.region.path,
            data={"event": "stock", "delta": delta, "stock": row[0]},
        )
    return product

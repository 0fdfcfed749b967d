"""Online offers' one-time codes (券码): the pool staff fill (uploaded or generated), a member's
claim, which is a use of the offer and takes the same limits as a redemption, and the partner's
report that the member used it (its till's POS key or its portal)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.history import HistoryItem, HistorySection
from discounts.models import Offer, VoucherCode
from discounts.redemption import limits_take
from discounts.rules import Refusal, local_day
from discounts.selectors import offer_headline
from discounts.usability import offer_usability
from members.models import Card, Member
from portal.audit import audit_record
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import AuditEvent

VOUCHER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
VOUCHER_CODE_LENGTH = 12
VOUCHER_BATCH_SIZE = 2000
VOUCHER_MAX_PER_UPLOAD = 100_000


def voucher_codes_parse(content: bytes | str) -> list[str]:
    """Codes from an uploaded text or CSV file: the first column of each line; blank lines, a header
    (券码 / code) and lines starting with # are skipped."""
    if isinstance(content, bytes):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                content = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(_("文件编码无法识别，请使用 UTF-8 文本或 CSV。"))
    codes: list[str] = []
    for line_number, line in enumerate(content.splitlines(), start=1):
        value = line.split(",")[0].strip().strip('"').strip()
        if not value or value.startswith("#") or value.lower() in {"code", "券码", "codes"}:
            continue
        if len(value) > 64 or not value.isprintable() or " " in value:
            raise ValidationFailed(
                _("第%(line)d行的券码无效：须为1至64个字符且不含空格。") % {"line": line_number}
            )
        codes.append(value)
    if len(codes) > VOUCHER_MAX_PER_UPLOAD:
        raise ValidationFailed(_("一次最多上传%(max)d个券码。") % {"max": VOUCHER_MAX_PER_UPLOAD})
    return codes


def _ensure_online(offer: Offer) -> None:
    if offer.channel != Offer.Channel.ONLINE:
        raise ValidationFailed(_("只有线上领券的优惠才有券码。"))
    if offer.status == Offer.Status.ENDED:
        raise Conflict(_("优惠已结束，不能再添加券码。"))


@transaction.atomic
def voucher_codes_add(*, offer: Offer, codes: Iterable[str]) -> int:
    """Add codes to the pool; codes already in the pool are skipped. Returns how many were added."""
    _ensure_online(offer)
    unique = list(dict.fromkeys(code.strip() for code in codes if code and code.strip()))
    added = 0
    for start in range(0, len(unique), VOUCHER_BATCH_SIZE):
        chunk = unique[start : start + VOUCHER_BATCH_SIZE]
        existing = set(VoucherCode.objects.filter(offer=offer, code__in=chunk).values_list("code", flat=True))
        fresh = [VoucherCode(offer=offer, code=code) for code in chunk if code not in existing]
        VoucherCode.objects.bulk_create(fresh, ignore_conflicts=True)
        added += len(fresh)
    return added


def voucher_random_code(rng=None) -> str:
    choice = rng.choice if rng is not None else secrets.choice
    return "".join(choice(VOUCHER_CODE_ALPHABET) for _ in range(VOUCHER_CODE_LENGTH))


@transaction.atomic
def voucher_codes_generate(*, offer: Offer, count: int, rng=None) -> int:
    """Generate ``count`` random codes (``rng`` makes them reproducible for demo data)."""
    _ensure_online(offer)
    if not 1 <= count <= VOUCHER_MAX_PER_UPLOAD:
        raise ValidationFailed(
            _("生成数量须在1到%(max)d之间。") % {"max": VOUCHER_MAX_PER_UPLOAD},
            fields={"count": [_("生成数量无效。")]},
        )
    added = 0
    while added < count:
        added += voucher_codes_add(
            offer=offer, codes=[voucher_random_code(rng) for _ in range(count - added)]
        )
    return added


# The table is discounts_vouchercode (VoucherCode._meta.db_table); spelled out so the SQL stays static.
_CLAIM_SQL = """
UPDATE discounts_vouchercode SET member_id = %s, claimed_at = %s
WHERE id = (
    SELECT id FROM discounts_vouchercode
    WHERE offer_id = %s AND member_id IS NULL
    ORDER BY id LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""
# Codes one member may hold when the offer sets no total limit.
ONLINE_CODES_PER_MEMBER = 1
# The member's codes of the offer, read under the row lock this transaction took on the counter.
_MEMBER_TOTAL_SQL = """
SELECT used FROM discounts_memberoffertotalcounter WHERE offer_id = %s AND member_id = %s
"""


def voucher_claim_subsidy(offer: Offer) -> Decimal:
    """What one code may cost the union's budget, taken when it is claimed: its face value (the
    allowance of one unit, or the amount off of a union-funded voucher); nothing for a code the
    merchant or a bank pays for. ``offer_validate`` keeps union-funded codes to those two kinds."""
    if offer.kind == Offer.Kind.ALLOWANCE:
        return offer.allowance_per_unit
    if offer.funder == Offer.Funder.UNION and offer.kind == Offer.Kind.AMOUNT_OFF:
        return offer.amount_off
    return Decimal("0.00")


@transaction.atomic
def voucher_claim(*, offer: Offer, member: Member, now=None) -> VoucherCode:
    """Hand the member one unclaimed code of an online offer.

    A code is a use of the offer: in this one transaction the claim takes the same limits as a
    redemption (``discounts.redemption.limits_take``: the member's daily and total limits, the
    offer's daily quota, the budget at the code's face value), each with one conditional statement,
    then takes the first unclaimed code nobody else has locked (SKIP LOCKED, so no code is ever
    handed out twice and claims of different members never wait for each other). A refusal at any
    step, "no code left" included, rolls every counter back. Without a total limit a member holds
    ``ONLINE_CODES_PER_MEMBER`` codes, checked on the counter row the take has locked."""
    if offer.channel != Offer.Channel.ONLINE:
        raise Refusal(_("该优惠需到店使用，无需领取券码。"), code="validation_error", status=400)
    moment = now or timezone.now()
    # The one usability rule, without the counters (limits_take below takes them). A bank-funded
    # offer is for that bank's cards: the member's active card is the one it is judged with.
    card = None
    if offer.funder == Offer.Funder.BANK:
        card = Card.objects.filter(member=member, status=Card.Status.ACTIVE).first()
    refusal = offer_usability(offer, now=moment, member=member, card=card).refusal()
    if refusal is not None:
        raise refusal
    limit = offer.per_member_total_limit or ONLINE_CODES_PER_MEMBER
    over_limit = Refusal(
        _("每人限领%(limit)d个券码，您已领取。") % {"limit": limit}, code="member_limit_reached"
    )
    try:
        limits_take(
            offer_id=offer.pk,
            member_id=member.pk,
            day=local_day(moment),
            units=1,
            subsidy=voucher_claim_subsidy(offer),
        )
    except Refusal as taken:
        if taken.code == "member_limit_reached" and offer.per_member_daily_limit is None:
            raise over_limit from None
        raise
    with connection.cursor() as cursor:
        if offer.per_member_total_limit is None:
            cursor.execute(_MEMBER_TOTAL_SQL, [offer.pk, member.pk])
            if cursor.fetchone()[0] > ONLINE_CODES_PER_MEMBER:
                raise over_limit
        cursor.execute(_CLAIM_SQL, [member.pk, moment, offer.pk])
        row = cursor.fetchone()
    if row is None:
        raise Refusal(_("券码已领完。"), code="quota_exhausted")
    return VoucherCode.objects.get(pk=row[0])


# --- The partner reports a code used --------------------------------------------------------------


def voucher_code_for_merchant(*, merchant, offer_id, code: str) -> VoucherCode:
    """The claimed code ``code`` of the merchant's online offer ``offer_id`` (with its member and
    offer), or NotFound: another merchant's code, an unclaimed one and an unknown one read alike."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("请填写券码。"), fields={"code": [_("该字段是必填项。")]})
    found = (
        VoucherCode.objects.select_related("offer__merchant__region", "member")
        .filter(
            offer_id=offer_id,
            offer__merchant=merchant,
            offer__channel=Offer.Channel.ONLINE,
            code=code,
            member__isnull=False,
        )
        .first()
    )
    if found is None:
        raise NotFound(_("没有这个已领取的券码，请核对优惠和券码。"), code="code_not_found")
    return found


def voucher_code_use(*, voucher: VoucherCode, by_user=None, api_key=None, now=None) -> VoucherCode:
    """Record that the member used the code with the partner, once: a guarded UPDATE, so of two
    reports exactly one writes the time and a repeated report answers the first (idempotent)."""
    moment = now or timezone.now()
    user = by_user if getattr(by_user, "is_authenticated", False) else None
    with transaction.atomic():
        used = VoucherCode.objects.filter(pk=voucher.pk, used_at__isnull=True).update(
            used_at=moment, used_by=user, used_api_key=api_key
        )
        if used:
            merchant = voucher.offer.merchant
            audit_record(
                actor=user or (f"apikey:{api_key.prefix}" if api_key is not None else None),
                action=AuditEvent.Action.VOUCHER_CODE_USED,
                target=voucher,
                label=f"{merchant.name} · {voucher.offer.title}",
                union_path=merchant.region.path,
                data={"offer": voucher.offer_id},
            )
    voucher.refresh_from_db(fields=["used_at", "used_by", "used_api_key"])
    return voucher


# --- The member's codes in their history -----------------------------------------------------------

HISTORY_CODES = 10


def history_codes_section(member: Member) -> HistorySection | None:
    """The codes the member claimed, newest first, each with whether the partner reported it used
    (a section of 我的优惠记录, discounts.history); none for a member who never claimed one."""
    codes = list(
        VoucherCode.objects.filter(member=member)
        .select_related("offer", "offer__merchant")
        .order_by("-claimed_at", "-id")[:HISTORY_CODES]
    )
    if not codes:
        return None
    items = []
    for code in codes:
        claimed = _("%(when)s 领取") % {"when": f"{timezone.localtime(code.claimed_at):%Y-%m-%d %H:%M}"}
        used = (
            _("%(when)s 已使用") % {"when": f"{timezone.localtime(code.used_at):%Y-%m-%d %H:%M}"}
            if code.used_at
            else _("未使用")
        )
        items.append(
            HistoryItem(
                title=code.offer.title,
                detail=f"{code.offer.merchant.name} · {_('券码')} {code.code} · {claimed} · {used}",
                money=offer_headline(code.offer),
            )
        )
    return HistorySection(key="voucher-codes", heading=_("线上券码"), items=items)

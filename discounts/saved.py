"""Members' saved offers and merchants (我的收藏), and the notices they bring: "quota raised" to every
member who saved the offer or its merchant, and "offer approved / rejected" to the merchant's users.

Every door (the offer page's button, the member API) calls these functions."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from discounts import selectors
from discounts.models import Offer, SavedMerchant, SavedOffer
from discounts.rules import local_day
from members.models import Member
from merchants.models import Merchant, MerchantUser
from notifications.models import Topic
from notifications.recipients import Recipient
from notifications.services import notify
from portal.errors import NotFound


def offer_save(*, member: Member, offer_id: int) -> SavedOffer:
    """Save a listed offer; saving it again is a no-op. An offer members cannot see is "not found"."""
    offer = selectors.offer_get_listed(offer_id)
    saved, _created = SavedOffer.objects.get_or_create(member=member, offer=offer)
    return saved


def offer_unsave(*, member: Member, offer_id: int) -> bool:
    deleted, _rows = SavedOffer.objects.filter(member=member, offer_id=offer_id).delete()
    return bool(deleted)


def merchant_save(*, member: Member, merchant_id: int) -> SavedMerchant:
    """Save a merchant that has at least one listed offer (the only merchants a member can see)."""
    if not Offer.objects.filter(selectors.listed_offer_q(local_day()), merchant_id=merchant_id).exists():
        raise NotFound(_("商户不存在或没有上架的优惠。"), code="merchant_not_found")
    merchant = Merchant.objects.get(pk=merchant_id)
    saved, _created = SavedMerchant.objects.get_or_create(member=member, merchant=merchant)
    return saved


def merchant_unsave(*, member: Member, merchant_id: int) -> bool:
    deleted, _rows = SavedMerchant.objects.filter(member=member, merchant_id=merchant_id).delete()
    return bool(deleted)


def member_saved_offers(member: Member):
    return SavedOffer.objects.filter(member=member).select_related("offer", "offer__merchant")


def member_saved_merchants(member: Member):
    return SavedMerchant.objects.filter(member=member).select_related("merchant")


def offer_is_saved(offer: Offer, member: Member | None) -> bool:
    return member is not None and SavedOffer.objects.filter(member=member, offer=offer).exists()


def _quota_raised(old, new) -> bool:
    """None means unlimited: a limit removed is a rise, a limit set on an unlimited offer is not."""
    if new is None:
        return old is not None
    return old is not None and new > old


def notify_quota_raised(*, offer: Offer, change_id: int, old, new) -> int:
    """Inside the limit change's transaction: one notice per member who saved the offer or its
    merchant (a member who saved both gets one), deduplicated on the limit change. Returns the count."""
    if not _quota_raised(old, new):
        return 0
    member_ids = set(SavedOffer.objects.filter(offer=offer).values_list("member_id", flat=True))
    member_ids |= set(
        SavedMerchant.objects.filter(merchant_id=offer.merchant_id).values_list("member_id", flat=True)
    )
    members = Member.objects.filter(pk__in=member_ids, status=Member.Status.ACTIVE).only("pk", "phone")
    quota = _("不限") if new is None else str(new)
    count = 0
    for member in members:
        notify(
            recipient=Recipient.member(member.pk),
            topic=Topic.QUOTA_RAISED,
            title=_("收藏的优惠增加了名额"),
            body=_("您收藏的“%(title)s”（%(merchant)s）每日名额已增加到 %(quota)s。")
            % {"title": offer.title, "merchant": offer.merchant.name, "quota": quota},
            dedup_key=f"quota-raised:{change_id}",
            link=f"/offers/{offer.pk}/",
            phone=member.phone,
            params={"offer": offer.title[:20]},
        )
        count += 1
    return count


def notify_offer_reviewed(offer: Offer, *, approved: bool, reason: str = "") -> None:
    """To each user of the offer's merchant, inside the review's transaction."""
    if approved:
        topic, title = Topic.OFFER_APPROVED, _("优惠已通过审核")
        body = _("您的优惠“%(title)s”已通过工会审核，发布后会员即可使用。") % {"title": offer.title}
    else:
        topic, title = Topic.OFFER_REJECTED, _("优惠未通过审核")
        body = _("您的优惠“%(title)s”未通过审核：%(reason)s。修改后可重新提交。") % {
            "title": offer.title,
            "reason": reason[:500],
        }
    user_ids = MerchantUser.objects.filter(merchant_id=offer.merchant_id).values_list("user_id", flat=True)
    with transaction.atomic():
        for user_id in user_ids:
            notify(
                recipient=Recipient.user(user_id),
                topic=topic,
                title=title,
                body=body,
                dedup_key=f"offer-reviewed:{offer.pk}:{offer.reviewed_at.isoformat()}",
                link=f"/merchant/offers/{offer.pk}/",
            )

"""The hospital allowance was an offer kind: the hospital's till recorded the union's subsidy, and
nobody paid it. It is now a claim for a stay, paid onto the member's card. Each completed redemption
of an allowance offer becomes an open claim of that member at that hospital — the days are the units
redeemed, the bill the amount recorded, "paid otherwise" since the card payment is not in the bank's
feed — for staff to check and approve through the claim flow; the allowance offers end."""

from datetime import timedelta

from django.db import migrations

NOTE = "由原“工会补贴”优惠的核销记录转入（核销 #%s），请核对票据后审批。"


def carry_over(apps, schema_editor):
    Offer = apps.get_model("discounts", "Offer")
    Redemption = apps.get_model("discounts", "Redemption")
    Claim = apps.get_model("allowances", "Claim")
    redemptions = (
        Redemption.objects.filter(offer__kind="allowance", status="completed")
        .select_related("member__union", "merchant")
        .order_by("pk")
    )
    claims = []
    for redemption in redemptions.iterator(chunk_size=2000):
        bill_fen = int(max(redemption.amount, redemption.union_subsidy) * 100)
        if bill_fen <= 0:
            continue
        union = redemption.member.union
        claims.append(
            Claim(
                member_id=redemption.member_id,
                union_id=union.pk,
                union_path=union.path,
                hospital=redemption.merchant.name[:100],
                admitted_on=redemption.local_day - timedelta(days=max(redemption.units, 1)),
                discharged_on=redemption.local_day,
                bill_fen=bill_fen,
                paid_otherwise=True,
                status="open",
                decision_note=NOTE % redemption.pk,
            )
        )
    Claim.objects.bulk_create(claims, batch_size=2000)
    Offer.objects.filter(kind="allowance").exclude(status="ended").update(status="ended")


class Migration(migrations.Migration):
    dependencies = [
        ("allowances", "0003_payout_runs"),
        ("discounts", "0013_saved_offers_and_merchants"),
    ]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]

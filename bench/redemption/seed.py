"""Seed the redemption benchmark database (run by run.py with the benchmark's DATABASE_URL).

    seed.py KEYS OFFERS CARDS DIR  → writes DIR/cards.txt (the card numbers, one a line) and
    DIR/keys.txt (the POS keys, one a line) for the load generator, and prints one JSON line: the ids,
    the id ranges of cards and keys (for pgbench), the two files, and the columns of a redemption row.

Idempotent: a second run reuses the merchant, offers and cards and makes fresh keys."""

from __future__ import annotations

import datetime
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from discounts.models import Offer  # noqa: E402
from discounts.redemption import REDEMPTION_COLUMNS  # noqa: E402
from members.cards import luhn_digit  # noqa: E402
from members.models import Card, Member, PartnerBank, Union  # noqa: E402
from merchants.apikeys import api_key_create  # noqa: E402
from merchants.models import ApiKey, Category, Merchant, Store  # noqa: E402

HOT_QUOTA = 10_000_000  # a live daily quota, so the conditional counter statement does real work
BATCH = 5000


def _card_number(serial: int) -> str:
    partial = f"621999{serial:010d}"
    return partial + luhn_digit(partial)


@transaction.atomic
def seed(keys_count: int, offers_count: int, cards: int, out_dir: Path) -> dict:
    province, _ = Union.objects.get_or_create(
        code="BENCH", defaults={"name": "压测省总工会", "level": "province", "path": "BENCH/", "depth": 0}
    )
    category, _ = Category.objects.get_or_create(code="bench", defaults={"name": "压测", "name_en": "Bench"})
    merchant, _ = Merchant.objects.get_or_create(
        name="压测影城",
        defaults={
            "category": category,
            "region": province,
            "contact_name": "王",
            "contact_phone": "13800000000",
            "status": "approved",
        },
    )
    store, _ = Store.objects.get_or_create(
        merchant=merchant, name="压测门店", defaults={"region": province, "address": "压测路1号"}
    )
    ApiKey.objects.filter(merchant=merchant).delete()
    keys = [api_key_create(merchant=merchant, name=f"till-{i}", created_by=None) for i in range(keys_count)]
    common = {
        "merchant": merchant,
        "valid_from": datetime.date(2020, 1, 1),
        "valid_until": datetime.date(2099, 12, 31),
        "status": "published",
        "daily_quota": HOT_QUOTA,
    }
    hot = Offer.objects.filter(merchant=merchant, title="热门特价票").first() or Offer.objects.create(
        title="热门特价票", kind="fixed_price", fixed_price=Decimal("10.00"), **common
    )
    existing = Offer.objects.filter(merchant=merchant).exclude(pk=hot.pk).count()
    Offer.objects.bulk_create(
        [
            Offer(title=f"会员折扣{i}", kind="percent_off", percent_off=Decimal("12"), **common)
            for i in range(existing, offers_count)
        ]
    )
    many = list(
        Offer.objects.filter(merchant=merchant).exclude(pk=hot.pk).order_by("id").values_list("id", flat=True)
    )[:offers_count]
    bank, _ = PartnerBank.objects.get_or_create(
        code="BENCHBANK", defaults={"name": "压测银行", "bin": "621999"}
    )
    have = Card.objects.filter(bank=bank).count()
    if have < cards:
        members = Member.objects.bulk_create(
            [
                Member(
                    name=f"会员{i}",
                    id_number_encrypted="-",
                    id_number_hash=f"bench-{i}",
                    id_number_masked="1301**********0000",
                    phone=f"139{i:08d}",
                    union=province,
                )
                for i in range(have, cards)
            ],
            batch_size=BATCH,
        )
        Card.objects.bulk_create(
            [
                Card(
                    number=f"621999{i:010d}" + luhn_digit(f"621999{i:010d}"),
                    bank=bank,
                    serial=i,
                    member=member,
                    status="active",
                )
                for i, member in zip(range(have, cards), members, strict=True)
            ],
            batch_size=BATCH,
        )
    card_rows = list(Card.objects.filter(bank=bank).order_by("id").values_list("id", "number"))
    key_ids = sorted(key.pk for key, _ in keys)
    if key_ids != list(range(key_ids[0], key_ids[0] + len(key_ids))):
        raise SystemExit("the POS keys did not get consecutive ids; run the seed again")
    cards_file, keys_file = out_dir / "cards.txt", out_dir / "keys.txt"
    cards_file.write_text("".join(f"{number}\n" for _, number in card_rows))
    keys_file.write_text("".join(f"{raw}\n" for _, raw in keys))
    return {
        "merchant": merchant.pk,
        "store": store.pk,
        "hot": hot.pk,
        "many": many,
        "key_lo": key_ids[0],
        "key_hi": key_ids[-1],
        "keys_file": str(keys_file),
        "cards_file": str(cards_file),
        "card_count": len(card_rows),
        "card_lo": card_rows[0][0],
        "card_hi": card_rows[-1][0],
        # What redeem.sql must insert, in the order the application does.
        "redemption_columns": list(REDEMPTION_COLUMNS),
    }


if __name__ == "__main__":
    keys_count, offers_count, cards = (int(value) for value in sys.argv[1:4])
    print(json.dumps(seed(keys_count, offers_count, cards, Path(sys.argv[4]))))

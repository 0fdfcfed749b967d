"""factory_boy factories shared by the whole suite. Areas may add their own beside their tests."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from stdnum import luhn

from discounts.models import Offer
from members import pii
from members.models import Card, Member, PartnerBank, Union
from merchants.models import Category, Merchant, MerchantUser, Store

_id_serial = itertools.count(1)


def _today() -> datetime.date:
    return timezone.localdate()


def make_id_number(birth: str | None = None, region: str = "130102") -> str:
    """A valid 18-digit resident ID number, unique per call: the sequence sets the order code and,
    every thousand calls, moves the birth date on by a day (from 1985, when 长安区 already existed)."""
    serial = next(_id_serial)
    if birth is None:
        birth = f"{datetime.date(1985, 1, 1) + datetime.timedelta(days=serial // 1000):%Y%m%d}"
    body = f"{region}{birth}{serial % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


class UnionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Union
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"U{n:06d}")
    name = factory.LazyAttribute(lambda o: f"工会{o.code}")
    level = Union.Level.WORKPLACE
    parent = None
    path = factory.LazyAttribute(lambda o: Union.path_for(o.code, o.parent))
    depth = factory.LazyAttribute(lambda o: o.path.count("/") - 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")
    is_staff = True

    @factory.post_generation
    def finish(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        exclude = ("id_number",)

    id_number = factory.LazyFunction(make_id_number)
    name = factory.Sequence(lambda n: f"会员{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    union = factory.SubFactory(UnionFactory)
    status = Member.Status.ACTIVE
    id_number_encrypted = factory.LazyAttribute(lambda o: pii.encrypt_id_number(o.id_number))
    id_number_hash = factory.LazyAttribute(lambda o: pii.hash_id_number(o.id_number))
    id_number_masked = factory.LazyAttribute(lambda o: pii.mask_id_number(o.id_number))


class PartnerBankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerBank
        django_get_or_create = ("code",)

    code = "HBBANK"
    name = "河北银行"
    bin = "622888"
    serial_length = 9


def luhn_complete(partial: str) -> str:
    return partial + luhn.calc_check_digit(partial)


class CardFactory(factory.django.DjangoModelFactory):
    """Builds numbers from a high serial range so they never collide with allocated ones."""

    class Meta:
        model = Card

    bank = factory.SubFactory(PartnerBankFactory)
    serial = factory.Sequence(lambda n: 900_000_000 + n)
    number = factory.LazyAttribute(lambda o: luhn_complete(f"{o.bank.bin}{o.serial:09d}"))
    member = factory.SubFactory(MemberFactory)
    status = Card.Status.ACTIVE


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = "entertainment"
    name = "休闲娱乐"
    name_en = "Leisure & Entertainment"


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"商家{n}")
    category = factory.SubFactory(CategoryFactory)
    region = factory.SubFactory(UnionFactory, level=Union.Level.COUNTY)
    contact_name = "王经理"
    contact_phone = "13800000000"
    status = Merchant.Status.APPROVED
    # In contract today, whenever the suite runs: a year behind, two ahead.
    contract_start = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=365))
    contract_end = factory.LazyFunction(lambda: _today() + datetime.timedelta(days=2 * 365))


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"门店{n}")
    region = factory.SelfAttribute("merchant.region")
    address = "中山路1号"
    latitude = Decimal("38.042000")
    longitude = Decimal("114.514000")


class MerchantUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantUser

    user = factory.SubFactory(UserFactory, is_staff=False)
    merchant = factory.SubFactory(MerchantFactory)
    role = MerchantUser.Role.MANAGER


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    merchant = factory.SubFactory(MerchantFactory)
    title = factory.Sequence(lambda n: f"会员优惠{n}")
    kind = Offer.Kind.PERCENT_OFF
    percent_off = Decimal("10")
    # Valid today, whenever the suite runs.
    valid_from = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=365))
    valid_until = factory.LazyFunction(lambda: _today() + datetime.timedelta(days=2 * 365))
    status = Offer.Status.PUBLISHED

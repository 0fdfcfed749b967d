"""Fixtures of the hardening tests: one small world with every kind of party the portal knows."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

import pytest
from django.utils import timezone

from members import sms
from members.auth import hash_token
from members.models import Card, MemberApiToken
from merchants.apikeys import api_key_create
from merchants.models import MerchantUser
from portal.roles import Role
from tests.factories import (
    CardFactory,
    MemberFactory,
    MerchantFactory,
    MerchantUserFactory,
    OfferFactory,
    StoreFactory,
)


@pytest.fixture(autouse=True)
def _media_sms_and_fast_passwords(settings, tmp_path):
    """Files go to a per-test folder, text messages stay in memory, and the many users these tests
    make are hashed with a fast hasher (the hasher itself is not under test here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = str(media)
    settings.SMS_BACKEND = "members.sms.MemorySmsBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def member_token(member) -> str:
    """A live bearer token of the member API, made the way sign-in makes one."""
    raw = secrets.token_urlsafe(32)
    MemberApiToken.objects.create(
        member=member, token_hash=hash_token(raw), expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    return raw


@dataclass
class World:
    tree: dict
    member: object
    card: object
    other_member: object
    other_card: object
    merchant: object
    store: object
    offer: object
    manager: object
    cashier: object
    pos_key: str
    rival: object
    rival_store: object
    rival_offer: object
    rival_manager: object
    rival_key: str
    province_admin: object
    city_operator: object
    county_operator: object
    sibling_county_operator: object


@pytest.fixture
def world(tree, make_staff) -> World:
    """Members and a merchant in county C1A; a rival merchant and staff of every level around them."""
    member = MemberFactory(union=tree.C1A1, name="张三丰", phone="13900000001")
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    other_member = MemberFactory(union=tree.C1A2, name="李四光", phone="13900000002")
    other_card = CardFactory(member=other_member, status=Card.Status.ACTIVE)

    merchant = MerchantFactory(region=tree.C1A, name="星光影城")
    store = StoreFactory(merchant=merchant, name="万达店")
    offer = OfferFactory(merchant=merchant, title="周末观影")
    manager = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER)
    cashier = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER, store=store)
    _key, pos_key = api_key_create(merchant=merchant, name="收银台", created_by=None)

    rival = MerchantFactory(region=tree.C2A, name="对面影城")
    rival_store = StoreFactory(merchant=rival, name="对面店")
    rival_offer = OfferFactory(merchant=rival, title="对面优惠")
    rival_manager = MerchantUserFactory(merchant=rival, role=MerchantUser.Role.MANAGER)
    _rkey, rival_key = api_key_create(merchant=rival, name="POS", created_by=None)

    return World(
        tree=tree,
        member=member,
        card=card,
        other_member=other_member,
        other_card=other_card,
        merchant=merchant,
        store=store,
        offer=offer,
        manager=manager,
        cashier=cashier,
        pos_key=pos_key,
        rival=rival,
        rival_store=rival_store,
        rival_offer=rival_offer,
        rival_manager=rival_manager,
        rival_key=rival_key,
        province_admin=make_staff(tree.P, Role.PROVINCE_ADMIN, username="province"),
        city_operator=make_staff(tree.C1, Role.CITY_OPERATOR, username="city"),
        county_operator=make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="county"),
        sibling_county_operator=make_staff(tree.C1B, Role.COUNTY_OPERATOR, username="sibling"),
    )

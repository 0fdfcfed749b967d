"""Fixtures of the notification tests: two members, a staff user and a merchant user; messages kept
in memory; a WeChat template for the card topic."""

from __future__ import annotations

import pytest
from django.test import Client

from members.auth import SESSION_KEY
from notifications.backends import sms as sms_backends
from notifications.backends import wechat as wechat_backends
from notifications.recipients import Recipient
from tests.factories import MemberFactory, MerchantUserFactory

CARD_TEMPLATE = {
    "template_id": "TPL-CARD",
    "data": {"thing1": "{title}", "time2": "{created_at}", "thing3": "{body}"},
}


@pytest.fixture(autouse=True)
def _messages_in_memory(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.backends.sms.MemorySmsBackend"
    settings.WECHAT_BACKEND = "notifications.backends.wechat.MemoryWechatBackend"
    settings.WECHAT_TEMPLATES = {"card_ready": CARD_TEMPLATE}
    settings.NOTIFICATIONS_FILE_DIR = tmp_path / "messages"
    settings.NOTIFICATIONS_LINK_BASE_URL = "https://portal.example.org"
    sms_backends.outbox.clear()
    wechat_backends.outbox.clear()
    yield
    sms_backends.outbox.clear()
    wechat_backends.outbox.clear()


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, phone="13912345678", name="张三丰")


@pytest.fixture
def other_member(tree):
    return MemberFactory(union=tree.C1A2, phone="13987654321", name="李四光")


@pytest.fixture
def staff(tree, make_staff):
    return make_staff(tree.C1A)


@pytest.fixture
def merchant_user(tree):
    return MerchantUserFactory().user


def as_member(member) -> Client:
    """A browser signed in as ``member`` (the session the members app's sign-in leaves)."""
    client = Client()
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def of(member) -> Recipient:
    return Recipient.member(member.pk)

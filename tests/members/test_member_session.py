"""Members stay signed in for 30 days; staff keep the site's session age, also in a browser where a
member signed in before; signing out gives the session back its default age."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.factories import MemberFactory, UserFactory
from tests.members.test_sign_in import PHONE, sign_in_on_the_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, phone=PHONE)


def test_a_member_stays_signed_in_for_thirty_days(client, member):
    sign_in_on_the_pages(client)
    assert client.session.get_expiry_age() == 30 * 24 * 60 * 60 == settings.MEMBER_SESSION_AGE
    client.post("/me/sign-out/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_staff_signing_in_after_a_member_keep_their_own_session_age(client, member):
    sign_in_on_the_pages(client)
    client.force_login(UserFactory(is_staff=True))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE

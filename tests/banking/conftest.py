from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from banking.models import BankStaff
from portal.roles import Role
from tests.factories import PartnerBankFactory, UserFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def bank(db):
    return PartnerBankFactory()


@pytest.fixture
def other_bank(db):
    return PartnerBankFactory(code="CCB", name="建设银行", bin="621700")


@pytest.fixture
def make_bank_staff(roles):
    def make(bank, **extra):
        user = UserFactory(is_staff=False, union=None, **extra)
        user.groups.add(Role.BANK_STAFF.group())
        BankStaff.objects.create(user=user, bank=bank)
        return user

    return make


@pytest.fixture
def province_admin(tree, make_staff):
    return make_staff(tree.P, Role.PROVINCE_ADMIN, username="province")


def csv_upload(text: str, name: str = "result.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")

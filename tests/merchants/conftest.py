from __future__ import annotations

import pytest

from merchants.models import MerchantUser
from tests.factories import MerchantFactory, MerchantUserFactory, StoreFactory
from tests.offers.conftest import _categories, seed_categories  # noqa: F401 - the autouse fixture


@pytest.fixture
def merchant(tree):
    return MerchantFactory(region=tree.C1A, name="星光影城")


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="长安店")


@pytest.fixture
def manager(merchant):
    return MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER).user


@pytest.fixture
def cashier(merchant):
    return MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER).user


@pytest.fixture
def stranger(tree):
    """The manager of another merchant."""
    return MerchantUserFactory(merchant=MerchantFactory(region=tree.C1A), role=MerchantUser.Role.MANAGER).user

"""Staff open a merchant's first manager account and POS keys in the admin, within their subtree."""

from __future__ import annotations

import pytest

from merchants import apikeys
from merchants.models import ApiKey, MerchantUser
from portal.roles import Role

pytestmark = pytest.mark.django_db


def test_staff_create_a_key_shown_once_and_revoke_it(client, tree, make_staff, merchant, store):
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    response = client.post(
        "/admin/merchants/apikey/add/", {"merchant": merchant.pk, "name": "总台", "store": store.pk}
    )
    assert response.status_code == 200
    raw = response.context["raw_key"]
    key = ApiKey.objects.get(merchant=merchant)
    assert apikeys.api_key_authenticate(raw) == key and key.store == store
    listing = client.get("/admin/merchants/apikey/").content.decode()
    assert key.prefix in listing and raw not in listing
    client.post("/admin/merchants/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_staff_of_another_city_cannot_make_keys_for_the_merchant(client, tree, make_staff, merchant):
    client.force_login(make_staff(tree.C2, Role.CITY_OPERATOR))
    response = client.post("/admin/merchants/apikey/add/", {"merchant": merchant.pk, "name": "总台"})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()


def test_staff_open_the_first_manager_account(client, tree, make_staff, merchant):
    client.force_login(make_staff(tree.C1A, Role.COUNTY_OPERATOR))
    response = client.post(
        "/admin/merchants/merchantuser/add/",
        {"merchant": merchant.pk, "username": "xingguang", "password": "Cinema-Manager-1", "role": "manager"},
    )
    assert response.status_code == 302
    link = MerchantUser.objects.get(user__username=f"m{merchant.pk}-xingguang")  # the merchant's prefix
    assert link.merchant == merchant and link.role == "manager" and not link.user.is_staff


def test_staff_of_another_county_cannot_open_accounts_for_the_merchant(client, tree, make_staff, merchant):
    client.force_login(make_staff(tree.C1B, Role.COUNTY_OPERATOR))
    response = client.post(
        "/admin/merchants/merchantuser/add/",
        {"merchant": merchant.pk, "username": "intruder", "password": "Cinema-Manager-1", "role": "manager"},
    )
    assert response.status_code == 200
    assert not MerchantUser.objects.filter(user__username="intruder").exists()


def test_the_merchant_user_admin_offers_and_accepts_only_the_merchants_own_stores(
    client, tree, make_staff, merchant, store
):
    from merchants import services
    from portal.errors import ValidationFailed
    from portal.models import AuditEvent
    from tests.factories import MerchantFactory, MerchantUserFactory, StoreFactory

    rival_store = StoreFactory(merchant=MerchantFactory(region=tree.C1A), name="别家门店")
    link = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER)
    client.force_login(make_staff(tree.C1A, Role.COUNTY_OPERATOR))
    url = f"/admin/merchants/merchantuser/{link.pk}/change/"
    form = client.get(url).content.decode()
    assert store.name in form and "别家门店" not in form
    response = client.post(url, {"role": "cashier", "store": rival_store.pk})
    assert response.status_code == 200  # the form says the choice is not valid
    link.refresh_from_db()
    assert link.store is None
    with pytest.raises(ValidationFailed):  # the service refuses it too, whatever the door
        services.merchant_user_update(merchant_user=link, role="cashier", store=rival_store, changed_by=None)
    assert client.post(url, {"role": "cashier", "store": store.pk}).status_code == 302
    link.refresh_from_db()
    assert link.store == store
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ROLES_CHANGED, target_id=str(link.pk))
    assert event.data["store"] == {"old": None, "new": store.pk}

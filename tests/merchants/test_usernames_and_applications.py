"""Two smaller doors: a merchant manager choosing a cashier's sign-in name learns nothing about names
outside its own merchant; the public application form is limited per requester address."""

from __future__ import annotations

import pytest

from merchants.models import Category, Merchant, MerchantUser

pytestmark = pytest.mark.django_db

NEW_USER = "/merchant/users/new/"


def new_cashier(client, login):
    return client.post(NEW_USER, {"username": login, "password": "Till-Pass-2026", "role": "cashier"})


def test_a_manager_cannot_probe_usernames_outside_its_merchant(
    client, tree, make_staff, manager, merchant, stranger
):
    make_staff(tree.P, username="province_admin")
    rival = MerchantUser.objects.get(user=stranger).merchant
    client.force_login(manager)
    answers = {}
    for login in ("province_admin", stranger.username, "nobody_has_this"):
        response = new_cashier(client, login)
        answers[login] = response.status_code
    # A staff name, another merchant's manager and a free name get the same answer: created, in
    # the merchant's own namespace.
    assert set(answers.values()) == {302}
    own = set(MerchantUser.objects.filter(merchant=merchant).values_list("user__username", flat=True))
    prefix = f"m{merchant.pk}-"
    assert {f"{prefix}province_admin", f"{prefix}{stranger.username}", f"{prefix}nobody_has_this"} <= own
    assert MerchantUser.objects.filter(merchant=rival).count() == 1


def test_a_taken_name_inside_the_merchant_gets_a_neutral_answer(client, manager, merchant):
    client.force_login(manager)
    assert new_cashier(client, "li").status_code == 302
    again = new_cashier(client, f"m{merchant.pk}-li")  # typed with the prefix: the same account name
    assert again.status_code == 200
    assert "该用户名已被使用" in again.content.decode()
    assert MerchantUser.objects.filter(merchant=merchant, user__username=f"m{merchant.pk}-li").count() == 1


def test_the_new_cashier_signs_in_with_the_full_name(client, manager, merchant):
    client.force_login(manager)
    response = new_cashier(client, "wang")
    assert response.status_code == 302
    client.logout()
    signed_in = client.post(
        "/merchant/login/", {"username": f"m{merchant.pk}-wang", "password": "Till-Pass-2026"}
    )
    assert signed_in.status_code == 302


# --- The public application: limited per requester address ---------------------------------------


def application(tree, name):
    return {
        "name": name,
        "category": Category.objects.get(code="dining").pk,
        "region": tree.C1A.pk,
        "contact_name": "王经理",
        "contact_phone": "13800138000",
    }


def test_applications_are_limited_per_address_with_a_clear_message(client, tree, settings):
    settings.MERCHANT_APPLICATIONS_PER_IP_PER_HOUR = 3
    for number in range(3):
        response = client.post("/merchant/apply/", application(tree, f"饭庄{number}"), REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 302
    refused = client.post("/merchant/apply/", application(tree, "饭庄3"), REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429
    assert "申请提交过于频繁" in refused.content.decode()
    assert not Merchant.objects.filter(name="饭庄3").exists()
    elsewhere = client.post("/merchant/apply/", application(tree, "饭庄4"), REMOTE_ADDR="10.2.2.2")
    assert elsewhere.status_code == 302
    assert Merchant.objects.count() == 4


def test_invalid_applications_do_not_use_up_the_allowance(client, tree, settings):
    settings.MERCHANT_APPLICATIONS_PER_IP_PER_HOUR = 1
    for _ in range(3):
        bad = client.post("/merchant/apply/", {**application(tree, "x"), "contact_phone": "12ab"})
        assert bad.status_code == 200
    assert client.post("/merchant/apply/", application(tree, "好饭庄")).status_code == 302


def test_the_application_form_works_when_redis_is_down(client, tree, redis_down):
    assert client.post("/merchant/apply/", application(tree, "断网饭庄")).status_code == 302
    assert Merchant.objects.filter(name="断网饭庄").exists()

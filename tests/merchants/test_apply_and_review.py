"""Becoming a partner: the public application, then review by the region's staff."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from merchants import services
from merchants.models import Category, Merchant
from merchants.selectors import merchant_contract_state
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.roles import Role

pytestmark = pytest.mark.django_db

# In force whenever the suite runs.
CONTRACT = {
    "contract_start": timezone.localdate() - datetime.timedelta(days=30),
    "contract_end": timezone.localdate() + datetime.timedelta(days=2 * 365),
}


def application(tree, **overrides):
    data = {
        "name": "燕赵人家饭庄",
        "category": Category.objects.get(code="dining").pk,
        "region": tree.C1A.pk,
        "licence_number": "91130102MA0ABCDE1X",
        "contact_name": "王经理",
        "contact_phone": "13800138000",
        "contact_email": "",
        "description": "会员用餐满100减20",
    }
    data.update(overrides)
    return data


def test_anyone_can_apply_without_signing_in(client, tree):
    page = client.get("/merchant/apply/")
    assert page.status_code == 200
    assert page.content.decode().count("<label") >= 8
    response = client.post("/merchant/apply/", application(tree))
    assert response.status_code == 302 and response["Location"] == "/merchant/apply/done/"
    merchant = Merchant.objects.get(name="燕赵人家饭庄")
    assert merchant.status == Merchant.Status.APPLIED
    assert (merchant.contact_name, merchant.contact_phone, merchant.region) == (
        "王经理",
        "13800138000",
        tree.C1A,
    )
    assert client.get("/merchant/apply/done/").status_code == 200


def test_application_with_bad_input_shows_messages_not_errors(client, tree):
    response = client.post(
        "/merchant/apply/", application(tree, contact_phone="12ab", licence_number="123", region=tree.C1A1.pk)
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "选择一个有效的选项" in text or "有效" in text  # a workplace union is not offered
    assert not Merchant.objects.exists()
    response = client.post("/merchant/apply/", application(tree, contact_phone="12ab"))
    assert "请填写正确的联系电话" in response.content.decode()
    response = client.post("/merchant/apply/", application(tree, licence_number="123"))
    assert "统一社会信用代码应为18位" in response.content.decode()
    assert not Merchant.objects.exists()


@pytest.fixture
def applied(tree):
    return services.merchant_apply(
        name="星光影城",
        category=Category.objects.get(code="entertainment"),
        region=tree.C1A,
        contact_name="李经理",
        contact_phone="13800000001",
    )


def test_staff_of_the_region_approve_with_contract_dates(applied, tree, make_staff):
    staff = make_staff(tree.C1, Role.CITY_OPERATOR)
    with pytest.raises(ValidationFailed):
        services.merchant_approve(merchant=applied, reviewed_by=staff, contract_start=None, contract_end=None)
    with pytest.raises(ValidationFailed):
        services.merchant_approve(
            merchant=applied,
            reviewed_by=staff,
            contract_start=datetime.date(2026, 5, 1),
            contract_end=datetime.date(2026, 4, 1),
        )
    services.merchant_approve(
        merchant=applied,
        reviewed_by=staff,
        **CONTRACT,
    )
    assert applied.status == Merchant.Status.APPROVED and applied.reviewed_by == staff
    event = AuditEvent.objects.get(action=AuditEvent.Action.MERCHANT_REVIEWED)
    assert event.data["to"] == "approved" and event.union_path == tree.C1A.path


def test_staff_of_another_city_cannot_review(applied, tree, make_staff):
    outsider = make_staff(tree.C2, Role.CITY_OPERATOR)
    with pytest.raises(PermissionDenied, match="不在您的管理范围内"):
        services.merchant_approve(
            merchant=applied,
            reviewed_by=outsider,
            **CONTRACT,
        )
    with pytest.raises(PermissionDenied):
        services.merchant_reject(merchant=applied, reviewed_by=outsider, reason="不符合条件")
    applied.refresh_from_db()
    assert applied.status == Merchant.Status.APPLIED


def test_reject_and_suspend_need_a_reason(applied, tree, make_staff):
    staff = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    with pytest.raises(ValidationFailed):
        services.merchant_reject(merchant=applied, reviewed_by=staff, reason="")
    services.merchant_reject(merchant=applied, reviewed_by=staff, reason="证照不全")
    assert applied.status == Merchant.Status.REJECTED and applied.status_reason == "证照不全"
    with pytest.raises(Conflict):
        services.merchant_suspend(merchant=applied, reviewed_by=staff, reason="投诉")
    services.merchant_approve(
        merchant=applied,
        reviewed_by=staff,
        **CONTRACT,
    )
    services.merchant_suspend(merchant=applied, reviewed_by=staff, reason="会员投诉较多")
    assert applied.status == Merchant.Status.SUSPENDED


def test_contract_past_its_end_counts_as_expired(applied):
    applied.status = Merchant.Status.APPROVED
    applied.contract_start = datetime.date(2025, 1, 1)
    applied.contract_end = datetime.date(2025, 12, 31)
    assert merchant_contract_state(applied, datetime.date(2026, 1, 1)) == "合同已到期"
    assert merchant_contract_state(applied, datetime.date(2025, 6, 1)) == "已签约"


def test_admin_review_page_is_scoped_to_the_region(client, applied, tree, make_staff):
    outsider = make_staff(tree.C2, Role.CITY_OPERATOR)
    client.force_login(outsider)
    assert client.get(f"/admin/merchants/merchant/{applied.pk}/change/").status_code in (302, 404)
    response = client.post(
        f"/admin/merchants/merchant/{applied.pk}/review/",
        {"decision": "approve", **{name: day.isoformat() for name, day in CONTRACT.items()}},
    )
    assert response.status_code == 404
    assert "星光影城" not in client.get("/admin/merchants/merchant/").content.decode()

    staff = make_staff(tree.C1, Role.CITY_OPERATOR)
    client.force_login(staff)
    assert "星光影城" in client.get("/admin/merchants/merchant/").content.decode()
    assert client.get(f"/admin/merchants/merchant/{applied.pk}/change/").status_code == 200
    response = client.post(
        f"/admin/merchants/merchant/{applied.pk}/review/",
        {"decision": "approve", **{name: day.isoformat() for name, day in CONTRACT.items()}},
    )
    assert response.status_code == 302
    applied.refresh_from_db()
    assert applied.status == Merchant.Status.APPROVED
    assert applied.contract_end == CONTRACT["contract_end"]


def test_admin_review_shows_the_reason_error(client, applied, tree, make_staff):
    client.force_login(make_staff(tree.C1, Role.CITY_OPERATOR))
    response = client.post(f"/admin/merchants/merchant/{applied.pk}/review/", {"decision": "reject"})
    assert response.status_code == 200
    assert "请填写不予通过的原因" in response.content.decode()


def test_admin_store_rows_follow_the_store_rules(client, tree, make_staff):
    from tests.factories import MerchantFactory

    merchant = MerchantFactory(region=tree.C1A, name="燕赵人家")
    client.force_login(make_staff(tree.P, Role.PROVINCE_ADMIN))
    data = {
        "name": merchant.name,
        "category": merchant.category_id,
        "region": tree.C1A.pk,
        "licence_number": "",
        "description": "",
        "contact_name": "王经理",
        "contact_phone": "13800000000",
        "contact_email": "",
        "stores-TOTAL_FORMS": "1",
        "stores-INITIAL_FORMS": "0",
        "stores-MIN_NUM_FORMS": "0",
        "stores-MAX_NUM_FORMS": "1000",
        "stores-0-name": "总店",
        "stores-0-region": tree.C2A.pk,
        "stores-0-address": "建设大街1号",
        "stores-0-latitude": "38.04",
        "stores-0-longitude": "114.51",
        "stores-0-is_active": "on",
    }
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "门店须位于商家所在地区内" in response.content.decode()
    assert client.post(url, {**data, "stores-0-region": tree.C1A.pk}).status_code == 302
    assert merchant.stores.get().name == "总店"

"""The settlement pages and the statements API, from each side: the merchant's manager confirms and
downloads, another merchant's key and manager get 404, staff approve only what someone else prepared,
the run's file waits for a second person, the result file is applied by the task."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from merchants.apikeys import api_key_create
from settlement.models import PaymentResultUpload, PaymentRun, Statement
from settlement.services import payment_result_apply, statement_prepare

JAN = date(2026, 1, 1)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_whole_month_through_the_pages(setting, redeemed, django_capture_on_commit_callbacks):
    redeemed(date(2026, 1, 5), "20.00")
    redeemed(date(2026, 1, 6), "15.00")
    preparer, approver, manager = (
        signed_in(setting.preparer),
        signed_in(setting.approver),
        signed_in(setting.manager.user),
    )

    preparer.post(reverse("settlement:prepare"), {"month": "2026-01"})
    statement = Statement.objects.get()
    page = manager.get(reverse("settlement_merchant:detail", args=[statement.pk]))
    assert page.status_code == 200 and "35.00" in page.content.decode()
    workbook = load_workbook(
        BytesIO(manager.get(reverse("settlement_merchant:xlsx", args=[statement.pk])).content)
    )
    assert workbook.sheetnames == ["结算单", "明细"]
    manager.post(reverse("settlement_merchant:confirm", args=[statement.pk]), {"expected_total": "35.00"})
    assert Statement.objects.get().status == "confirmed"

    preparer.post(reverse("settlement:approve", args=[statement.pk]))  # their own: refused
    assert Statement.objects.get().status == "confirmed"
    approver.post(reverse("settlement:approve", args=[statement.pk]))
    assert Statement.objects.get().status == "approved"

    preparer.post(reverse("settlement:run_create"))
    run = PaymentRun.objects.get()
    assert preparer.get(reverse("settlement:run_file", args=[run.pk])).status_code == 302  # not approved yet
    preparer.post(reverse("settlement:run_approve", args=[run.pk]))  # their own: refused
    assert PaymentRun.objects.get().status == "draft"
    approver.post(reverse("settlement:run_approve", args=[run.pk]))
    file = approver.get(reverse("settlement:run_file", args=[run.pk]))
    [line] = run.lines.all()
    assert file.content.decode().splitlines()[1].startswith(f"PL{line.pk},")
    result = f"reference,status,bank_reference,paid_on,message\nPL{line.pk},成功,B1,2026-02-10,\n".encode(
        "gbk"
    )
    with django_capture_on_commit_callbacks(execute=False):
        approver.post(
            reverse("settlement:run_result", args=[run.pk]), {"file": SimpleUploadedFile("回单.csv", result)}
        )
    payment_result_apply(upload_id=PaymentResultUpload.objects.get().pk)  # what the worker runs

    listing = manager.get(reverse("settlement_merchant:list"))
    assert listing.context["balance"].paid == 35 and listing.context["balance"].outstanding == 0
    report = approver.get(reverse("settlement:reconciliation") + "?month=2026-01")
    assert report.context["report"].balanced


def test_another_merchant_and_the_cashier_cannot_see_a_statement(setting, redeemed):
    redeemed(date(2026, 1, 5))
    statement = statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    url = reverse("settlement_merchant:detail", args=[statement.pk])

    assert signed_in(setting.rival_manager.user).get(url).status_code == 404
    assert signed_in(setting.cashier.user).get(url).status_code == 403
    assert (
        signed_in(setting.sibling).get(reverse("settlement:detail", args=[statement.pk])).status_code == 404
    )
    signed_in(setting.rival_manager.user).post(
        reverse("settlement_merchant:confirm", args=[statement.pk]), {"expected_total": str(statement.total)}
    )
    assert Statement.objects.get().status == "draft"


def test_the_api_gives_the_merchants_own_statements_as_json_and_xlsx(setting, redeemed, tree):
    from tests.factories import MerchantFactory

    redeemed(date(2026, 1, 5), "20.00")
    redeemed(date(2026, 1, 31), "5.00", voided_on=date(2026, 2, 1))
    statement_prepare(merchant=setting.merchant, month=JAN, actor=setting.preparer)
    feb = statement_prepare(merchant=setting.merchant, month=date(2026, 2, 1), actor=setting.preparer)
    _key, raw = api_key_create(merchant=setting.merchant, name="POS", created_by=None)
    _rival, rival_raw = api_key_create(merchant=MerchantFactory(region=tree.C2A), name="POS", created_by=None)
    client = Client()

    listing = client.get("/api/v1/statements/", HTTP_AUTHORIZATION=f"Api-Key {raw}").json()
    assert [s["month"] for s in listing["results"]] == ["2026-02", "2026-01"]
    detail = client.get(f"/api/v1/statements/{feb.pk}/", HTTP_AUTHORIZATION=f"Api-Key {raw}").json()
    assert (detail["total"], detail["lines"][0]["kind"], detail["lines"][0]["amount"]) == (
        "-5.00",
        "adjustment",
        "-5.00",
    )
    xlsx = client.get(f"/api/v1/statements/{feb.pk}/xlsx/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    other = client.get(f"/api/v1/statements/{feb.pk}/", HTTP_AUTHORIZATION=f"Api-Key {rival_raw}")
    assert (other.status_code, other.json()["error"]["code"]) == (404, "statement_not_found")
    assert (
        client.get("/api/v1/statements/", HTTP_AUTHORIZATION=f"Api-Key {rival_raw}").json()["results"] == []
    )

"""The bank exchange pages from each side: a bank's staff, another bank's, the province, union staff."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from banking.models import BankFile, IssuanceResult
from discounts.models import Offer
from members.models import Card, IssuanceBatch
from portal.models import AuditEvent
from tests.banking.conftest import csv_upload
from tests.factories import CardFactory, MemberFactory, OfferFactory

pytestmark = pytest.mark.django_db


def stored_file(bank, name="tx.csv", kind=BankFile.Kind.TRANSACTIONS, content=b"x"):
    bank_file = BankFile(bank=bank, kind=kind, original_filename=name, content_hash=name.ljust(64, "0"))
    bank_file.file.save(name, ContentFile(content), save=False)
    bank_file.save()
    return bank_file


def test_a_banks_staff_see_their_own_banks_files_only(client, bank, other_bank, make_bank_staff):
    own = stored_file(bank, "own-bank.csv")
    theirs = stored_file(other_bank, "other-bank.csv")
    client.force_login(make_bank_staff(bank))

    page = client.get("/bank/").content.decode()

    assert "own-bank.csv" in page and "other-bank.csv" not in page
    assert client.get(f"/bank/files/{own.pk}/").status_code == 200
    assert client.get(f"/bank/files/{theirs.pk}/").status_code == 404
    assert client.get(f"/bank/files/{theirs.pk}/download/").status_code == 404


def test_uploading_the_same_file_twice_processes_it_once(client, bank, make_bank_staff):
    client.force_login(make_bank_staff(bank))
    text = "卡号,银行商户号,金额,交易时间,交易流水号\n"
    first = client.post("/bank/upload/", {"bank": bank.pk, "kind": "transactions", "file": csv_upload(text)})
    again = client.post(
        "/bank/upload/",
        {"bank": bank.pk, "kind": "transactions", "file": csv_upload(text, "copy.csv")},
        follow=True,
    )
    assert first.status_code == 302
    assert BankFile.objects.count() == 1
    assert "此前已上传过" in again.content.decode()


def test_a_bank_cannot_upload_for_another_bank(client, bank, other_bank, make_bank_staff):
    client.force_login(make_bank_staff(other_bank))
    client.post("/bank/upload/", {"bank": bank.pk, "kind": "transactions", "file": csv_upload("a,b\n")})
    assert not BankFile.objects.exists()


def test_downloading_needs_the_permission_and_is_audited(client, bank, province_admin):
    bank_file = stored_file(bank, content=b"card,amount\n")
    client.force_login(province_admin)
    response = client.get(f"/bank/files/{bank_file.pk}/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"card,amount\n"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED, target_id=str(bank_file.pk)
    ).exists()

    province_admin.groups.first().permissions.remove(Permission.objects.get(codename="download_bankfile"))
    province_admin = type(province_admin).objects.get(pk=province_admin.pk)  # permission cache
    client.force_login(province_admin)
    assert client.get(f"/bank/files/{bank_file.pk}/download/").status_code == 403


def test_union_staff_below_the_province_see_no_bank_files_even_with_the_permission(
    client, bank, tree, make_staff
):
    county = make_staff(tree.C1A)
    county.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_bankfile", "download_bankfile"])
    )
    bank_file = stored_file(bank)
    client.force_login(county)
    assert client.get("/bank/").status_code == 403
    assert client.get(f"/bank/files/{bank_file.pk}/download/").status_code == 403


@pytest.fixture
def rejection(tree, bank):
    card = CardFactory(bank=bank, member=MemberFactory(union=tree.C1A1), status=Card.Status.CANCELLED)
    return IssuanceResult.objects.create(
        card=card,
        union=tree.C1A1,
        outcome=IssuanceResult.Outcome.REJECTED,
        application_number=card.number,
        reason="身份核验不通过",
        file=stored_file(bank, "result.csv", BankFile.Kind.ISSUANCE_RESULT),
        line_number=2,
    )


def test_the_workplace_sees_its_rejections_and_marks_them_handled(client, rejection, tree, make_staff):
    client.force_login(make_staff(tree.C1A1))
    assert "身份核验不通过" in client.get("/staff/bank-rejections/").content.decode()

    client.post(f"/staff/bank-rejections/{rejection.pk}/handled/")

    rejection.refresh_from_db()
    assert rejection.handled_at is not None
    assert "身份核验不通过" not in client.get("/staff/bank-rejections/").content.decode()


def test_another_workplace_neither_sees_nor_handles_the_rejection(client, rejection, tree, make_staff):
    client.force_login(make_staff(tree.C1A2))
    assert "身份核验不通过" not in client.get("/staff/bank-rejections/").content.decode()
    assert client.post(f"/staff/bank-rejections/{rejection.pk}/handled/").status_code == 404
    rejection.refresh_from_db()
    assert rejection.handled_at is None


def test_the_file_list_takes_a_fixed_number_of_queries(
    client, bank, make_bank_staff, django_assert_num_queries
):
    for index in range(30):
        stored_file(bank, f"f{index}.csv")
    client.force_login(make_bank_staff(bank))
    client.get("/bank/")
    # The same number with 1 file or 30: session, user, permissions, the user's bank, the count, the
    # header's unread notices, the forms' bank choices, one page of files.
    with django_assert_num_queries(14):
        assert client.get("/bank/").status_code == 200


def test_a_banks_staff_see_their_own_banks_offers_only(client, bank, other_bank, make_bank_staff):
    OfferFactory(title="本行满减", funder=Offer.Funder.BANK, bank=bank)
    OfferFactory(title="他行满减", funder=Offer.Funder.BANK, bank=other_bank)
    OfferFactory(title="商家折扣")
    client.force_login(make_bank_staff(bank))

    page = client.get("/bank/offers/").content.decode()

    assert "本行满减" in page and "他行满减" not in page and "商家折扣" not in page


def test_a_banks_staff_download_the_issuance_file_of_their_own_banks_batches_only(
    client, bank, other_bank, tree, make_bank_staff
):
    batch = IssuanceBatch(
        union=tree.C1A1, bank=bank, original_filename="申请.csv", uploaded_by=make_bank_staff(other_bank)
    )
    batch.file.save("apply.csv", ContentFile(b"x"), save=False)
    batch.production_file.save("production.csv", ContentFile(b"card,id\n"), save=False)
    batch.status = IssuanceBatch.Status.COMPLETED
    batch.save()
    url = f"/bank/batches/{batch.pk}/production-file/"

    client.force_login(make_bank_staff(other_bank))
    assert client.get(url).status_code == 404
    client.force_login(make_bank_staff(bank))
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"card,id\n"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.BANK_FILE_DOWNLOADED, target_id=str(batch.pk)
    ).exists()

"""Second writers and other doors (issue 13), tried from the outsider's side: the operator of the
sibling county C1B against members of county C1A, the uploader of a batch against their own approval,
and a stranger with a full ID number in a URL.

Every write that changes an existing member — an issuance batch (validation, approval, the bulk
statement that processes it), the admin form, a transfer — answers to one scope rule
(``members.scope``), and the answers never say more about a member out of reach than that the number
is taken."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members import batch_processing, batch_validation, batches, people, pii, sign_in, sms, unions
from members.models import Card, IssuanceBatch, IssuanceRow, Member, MemberTransfer
from portal.approvals import SecondPersonRequired
from portal.errors import PermissionDenied
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory, PartnerBankFactory, make_id_number

HEADER = ["姓名", "身份证号", "手机号", "基层工会代码", "群体"]


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def id_of(member: Member) -> str:
    return pii.decrypt_id_number(member.id_number_encrypted)


def validated(*, union, user, rows) -> IssuanceBatch:
    batch = batches.batch_upload(
        union=union,
        bank=PartnerBankFactory(),
        uploaded_file=SimpleUploadedFile("申请表.csv", csv_bytes(rows)),
        uploaded_by=user,
    )
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def process_all(batch: IssuanceBatch) -> None:
    while batch_processing.batch_process_chunk(batch_id=batch.pk, chunk_size=50) == "more":
        pass
    batch_processing.batch_finish(batch_id=batch.pk)
    batch.refresh_from_db()


def fresh_applicant(index: int, union_code: str) -> list[str]:
    return [f"新申请人{index}", make_id_number(), f"1370000{index:04d}", union_code, ""]


@pytest.fixture
def sibling_colleague(world, make_staff):
    """A second operator of the sibling county: approves what the first one uploads."""
    return make_staff(world.tree.C1B, Role.COUNTY_OPERATOR, username="sibling2")


@pytest.fixture
def county_colleague(world, make_staff):
    return make_staff(world.tree.C1A, Role.COUNTY_OPERATOR, username="county2")


# --- 1. A card batch never changes a member out of its union's reach ----------------------------------


def test_a_batch_of_another_county_cannot_take_over_a_member(world, sibling_colleague):
    victim = MemberFactory(union=world.tree.C1A1, name="王小明", phone="13900000077")  # no card yet
    attacker = world.sibling_county_operator
    rows = [["冒名者", id_of(victim), "13700000666", "C1B1", ""], fresh_applicant(1, "C1B1")]

    batch = validated(union=world.tree.C1B, user=attacker, rows=rows)
    batches.batch_approve(batch=batch, actor=sibling_colleague)
    process_all(batch)

    assert (batch.valid_rows, batch.error_rows, batch.cards_created) == (1, 1, 1)
    assert batch.rows.get(row_number=2).status == IssuanceRow.Status.INVALID
    victim.refresh_from_db()
    assert (victim.name, victim.phone, victim.union) == ("王小明", "13900000077", world.tree.C1A1)
    assert not Card.objects.filter(member=victim).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_CHANGED).exists()
    # The phone of the forged row belongs to nobody: it gets no sign-in code, only the notice.
    sign_in.otp_request(phone="13700000666", ip_address="10.6.6.6")
    assert len(sms.outbox) == 1 and not re.search(r"\d{6}", sms.outbox[0].text)


def test_the_row_error_says_nothing_about_a_member_out_of_reach(world):
    """Whether the member elsewhere has a card, none, or has left, and whether an inactive member is
    in the uploader's own county: one and the same text, with no digits, names or unions in it."""
    without_card = MemberFactory(union=world.tree.C1A1, name="甲某某")
    holder_card = CardFactory(member=MemberFactory(union=world.tree.C1A2, name="乙某某"))
    retired_elsewhere = MemberFactory(union=world.tree.C1A1, status=Member.Status.RETIRED, name="丙某某")
    left_here = MemberFactory(union=world.tree.C1B1, status=Member.Status.LEFT, name="丁某某")
    outsiders = [without_card, holder_card.member, retired_elsewhere, left_here]
    rows = [[f"申请人{i}", id_of(m), f"1370000{i:04d}", "C1B1", ""] for i, m in enumerate(outsiders)]

    batch = validated(union=world.tree.C1B, user=world.sibling_county_operator, rows=rows)

    errors = [row.errors for row in batch.rows.order_by("row_number")]
    assert len(errors) == 4 and all(error == errors[0] for error in errors), errors
    [text] = errors[0]
    assert holder_card.number[-4:] not in text and not re.search(r"\d{4}", text)
    for leak in ("C1A", "县总工会", "单位工会", "某某", "有效会员卡", "退", "尾号"):
        assert leak not in text, leak
    assert batch.valid_rows == 0


def test_the_bulk_statement_itself_refuses_a_member_out_of_reach(world, sibling_colleague):
    """A row that slipped through validation (forged straight into the table) still cannot change a
    member of another county: the scope rule is in the processing statement itself."""
    victim = MemberFactory(union=world.tree.C1A1, name="王小明", phone="13900000077")
    batch = validated(
        union=world.tree.C1B,
        user=world.sibling_county_operator,
        rows=[fresh_applicant(1, "C1B1"), fresh_applicant(2, "C1B1")],
    )
    forged = batch.rows.get(row_number=2)
    IssuanceRow.objects.filter(pk=forged.pk).update(
        name="冒名者",
        phone="13700000666",
        id_number_encrypted=victim.id_number_encrypted,
        id_number_hash=victim.id_number_hash,
        id_number_masked=victim.id_number_masked,
    )

    batches.batch_approve(batch=batch, actor=sibling_colleague)
    process_all(batch)

    victim.refresh_from_db()
    assert (victim.name, victim.phone) == ("王小明", "13900000077")
    assert not Card.objects.filter(member=victim).exists()
    forged.refresh_from_db()
    assert forged.status == IssuanceRow.Status.INVALID and forged.errors
    assert batch.status == IssuanceBatch.Status.COMPLETED
    assert (batch.cards_created, batch.valid_rows, batch.error_rows) == (1, 1, 1)


def test_an_inactive_member_of_the_union_itself_is_not_revived_by_a_forged_row(world, county_colleague):
    left = MemberFactory(union=world.tree.C1A1, status=Member.Status.LEFT, phone="13900000055")
    batch = validated(union=world.tree.C1A, user=world.county_operator, rows=[fresh_applicant(1, "C1A1")])
    IssuanceRow.objects.filter(batch=batch).update(
        phone="13700000666", id_number_hash=left.id_number_hash, id_number_encrypted=left.id_number_encrypted
    )

    batches.batch_approve(batch=batch, actor=county_colleague)
    process_all(batch)

    left.refresh_from_db()
    assert (left.status, left.phone) == ("left", "13900000055")
    assert not Card.objects.filter(member=left).exists()


def test_changes_to_existing_members_are_shown_to_the_approver_and_audited_masked(
    client, world, county_colleague
):
    known = MemberFactory(union=world.tree.C1A1, name="李大钊", phone="13900000088")
    same = MemberFactory(union=world.tree.C1A2, name="赵不变", phone="13900000099")
    rows = [
        ["李小钊", id_of(known), "13700000123", "C1A1", ""],
        ["赵不变", id_of(same), "13900000099", "C1A2", ""],  # nothing changes: not listed
        fresh_applicant(1, "C1A1"),
    ]

    batch = validated(union=world.tree.C1A, user=world.county_operator, rows=rows)

    assert (batch.valid_rows, batch.changed_members) == (3, 1)
    client.force_login(county_colleague)
    page = client.get(reverse("admin:members_issuancebatch_change", args=[batch.pk])).content.decode()
    assert "对已有会员的修改" in page
    assert "李**" in page and "李小钊" in page and "139****0088" in page and "13700000123" in page
    assert "13900000088" not in page and "李大钊" not in page  # the old values are masked
    listing = client.get(reverse("admin:members_issuancebatch_changelist")).content.decode()
    assert 'class="field-changed_members">1<' in listing

    batches.batch_approve(batch=batch, actor=county_colleague)
    process_all(batch)

    known.refresh_from_db()
    assert (known.name, known.phone) == ("李小钊", "13700000123")
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_CHANGED)
    assert event.target_id == str(known.pk) and event.actor == county_colleague
    assert event.union_path == world.tree.C1A1.path
    assert event.data["batch"] == batch.pk
    assert event.data["name"] == ["李**", "李**"] and event.data["phone"] == ["139****0088", "137****0123"]
    logged = json.dumps(event.data, ensure_ascii=False) + event.target_label
    for clear in ("李大钊", "李小钊", "13900000088", "13700000123", id_of(known)):
        assert clear not in logged


def test_the_live_card_check_names_the_card_only_inside_the_uploaders_reach(world):
    mine = CardFactory(member=MemberFactory(union=world.tree.C1B1))
    theirs = CardFactory(member=MemberFactory(union=world.tree.C1A1))
    rows = [
        ["甲", id_of(mine.member), "13700000001", "C1B1", ""],
        ["乙", id_of(theirs.member), "13700000002", "C1B1", ""],
    ]

    batch = validated(union=world.tree.C1B, user=world.sibling_county_operator, rows=rows)

    own, other = (row.errors for row in batch.rows.order_by("row_number"))
    assert any(mine.number[-4:] in text for text in own)  # the county's own card: its last digits
    assert not any(theirs.number[-4:] in text for text in other)


def test_admin_changes_of_a_member_are_audited_masked(client, world):
    member = MemberFactory(union=world.tree.C1A1, name="钱学森", phone="13900000066")
    client.force_login(world.county_operator)

    response = client.post(
        reverse("admin:members_member_change", args=[member.pk]),
        {
            "name": "钱学林",
            "id_number": "",
            "phone": "13700000066",
            "status": "active",
            "cards-TOTAL_FORMS": "0",
            "cards-INITIAL_FORMS": "0",
            "transfers-TOTAL_FORMS": "0",
            "transfers-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_CHANGED, target_id=str(member.pk))
    assert event.actor == world.county_operator
    assert event.data == {"name": ["钱**", "钱**"], "phone": ["139****0066", "137****0066"]}


def test_the_admin_form_of_another_county_changes_nothing(world):
    member = MemberFactory(union=world.tree.C1A1, name="钱学森", phone="13900000066")
    with pytest.raises(PermissionDenied):
        people.member_update(member=member, phone="13700000666", actor=world.sibling_county_operator)
    member.refresh_from_db()
    assert member.phone == "13900000066"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_CHANGED).exists()


# --- 2. Transfers: the destination is in the actor's reach too ----------------------------------------


def test_a_county_operator_cannot_transfer_a_member_into_another_county(world):
    with pytest.raises(PermissionDenied):
        people.member_transfer(member=world.member, to_union=world.tree.C1B1, actor=world.county_operator)

    world.member.refresh_from_db()
    assert world.member.union == world.tree.C1A1
    assert not MemberTransfer.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_TRANSFERRED).exists()


def test_the_transfer_page_answers_alike_for_an_unknown_code_and_one_out_of_reach(client, world):
    client.force_login(world.county_operator)
    url = reverse("admin:members_member_transfer", args=[world.member.pk])

    unknown = client.post(url, {"to_union": "NOPE99"})
    elsewhere = client.post(url, {"to_union": "C1B1"})
    not_a_workplace_elsewhere = client.post(url, {"to_union": "C2"})

    assert unknown.status_code == elsewhere.status_code == not_a_workplace_elsewhere.status_code == 200
    said = [r.context["form"].errors.get_json_data() for r in (unknown, elsewhere, not_a_workplace_elsewhere)]
    assert said[0] == said[1] == said[2], said
    assert "C1B1县" not in elsewhere.content.decode() and "C1B1单位工会" not in elsewhere.content.decode()
    world.member.refresh_from_db()
    assert world.member.union == world.tree.C1A1


def test_the_transfer_page_still_moves_a_member_within_reach(client, world):
    client.force_login(world.county_operator)
    response = client.post(
        reverse("admin:members_member_transfer", args=[world.member.pk]), {"to_union": "C1A2"}
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert world.member.union == world.tree.C1A2


# --- 3. Two people for a card batch ---------------------------------------------------------------------


def test_the_uploader_cannot_approve_their_own_batch(client, world, county_colleague):
    batch = validated(union=world.tree.C1A, user=world.county_operator, rows=[fresh_applicant(1, "C1A1")])

    with pytest.raises(SecondPersonRequired):
        batches.batch_approve(batch=batch, actor=world.county_operator)
    client.force_login(world.county_operator)
    page = client.get(reverse("admin:members_issuancebatch_change", args=[batch.pk])).content.decode()
    response = client.post(
        reverse("admin:members_issuancebatch_approve", args=[batch.pk]), {"confirmed": "1"}, follow=True
    )

    assert "须由上传人以外的另一位工作人员批准" in page
    assert response.status_code == 200 and "须由创建人以外的另一位工作人员完成" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == IssuanceBatch.Status.VALIDATED
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BATCH_APPROVED).exists()

    batches.batch_approve(batch=batch, actor=county_colleague)
    assert batch.status == IssuanceBatch.Status.APPROVED and batch.approved_by == county_colleague


def test_a_single_person_union_approves_its_own_batch_and_the_log_says_so(world):
    world.tree.C1A.single_person_approval = True
    world.tree.C1A.save(update_fields=["single_person_approval"])
    batch = validated(union=world.tree.C1A, user=world.county_operator, rows=[fresh_applicant(1, "C1A1")])

    batches.batch_approve(batch=batch, actor=world.county_operator)

    assert batch.status == IssuanceBatch.Status.APPROVED
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.SELF_APPROVED)
    assert event.target_id == str(batch.pk) and event.actor == world.county_operator


def union_form(union, **changes) -> dict:
    data = {"name": union.name, "name_en": union.name_en, "level": union.level}
    data.update(changes)
    return data


def test_only_a_province_admin_switches_single_person_approval_and_it_is_audited(client, world):
    from django.contrib.auth.models import Permission

    city = world.city_operator
    city.user_permissions.add(Permission.objects.get(codename="change_union"))  # even with the right
    client.force_login(city)
    url = reverse("admin:members_union_change", args=[world.tree.C1A.pk])
    form = client.get(url).content.decode()
    client.post(url, union_form(world.tree.C1A, single_person_approval="on"))
    world.tree.C1A.refresh_from_db()
    assert 'name="single_person_approval"' not in form and not world.tree.C1A.single_person_approval

    client.force_login(world.province_admin)
    response = client.post(url, union_form(world.tree.C1A, single_person_approval="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    world.tree.C1A.refresh_from_db()
    assert world.tree.C1A.single_person_approval
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.UNION_SETTINGS_CHANGED)
    assert event.actor == world.province_admin and event.target_id == str(world.tree.C1A.pk)
    assert event.data == {"single_person_approval": [False, True]}

    client.post(url, union_form(world.tree.C1A, name="C1A县总工会（改名）"))  # the flag is left off
    world.tree.C1A.refresh_from_db()
    assert not world.tree.C1A.single_person_approval
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UNION_SETTINGS_CHANGED).count() == 2


def test_the_service_refuses_the_switch_to_anyone_but_a_province_admin(world):
    with pytest.raises(PermissionDenied):
        unions.union_set_single_person_approval(
            union=world.tree.C1A1, enabled=True, actor=world.county_operator
        )
    world.tree.C1A1.refresh_from_db()
    assert not world.tree.C1A1.single_person_approval


# --- 5. A full ID number never travels in a URL -----------------------------------------------------


def test_member_search_by_full_id_number_is_a_post_and_never_puts_the_number_in_a_url(client, world):
    full = id_of(world.member)
    client.force_login(world.county_operator)

    listed = client.get(reverse("admin:members_member_changelist"), {"q": full})
    found = client.post(reverse("admin:members_member_find_by_id"), {"id_number": full})

    text = listed.content.decode()
    assert listed.status_code == 200 and "张三丰" not in text and "李四光" not in text
    assert "不能在搜索框中查找" in text  # and says where to search instead
    assert found.status_code == 302
    assert found["Location"] == reverse("admin:members_member_change", args=[world.member.pk])
    assert full not in found["Location"]


def test_the_id_search_box_is_on_the_member_list(client, world):
    client.force_login(world.county_operator)
    page = client.get(reverse("admin:members_member_changelist")).content.decode()
    form = re.search(r'<form[^>]*id="id-number-search"[^>]*>', page)
    assert form and 'method="post"' in form.group(0)
    assert reverse("admin:members_member_find_by_id") in form.group(0)


def test_the_id_search_of_another_county_finds_nothing_and_says_it_as_for_an_unknown_number(client, world):
    client.force_login(world.sibling_county_operator)
    url = reverse("admin:members_member_find_by_id")

    theirs = client.post(url, {"id_number": id_of(world.member)}, follow=True)
    unknown = client.post(url, {"id_number": make_id_number()}, follow=True)

    assert theirs.redirect_chain == unknown.redirect_chain
    assert theirs.redirect_chain[0][0] == reverse("admin:members_member_changelist")
    said = [[str(m) for m in r.context["messages"]] for r in (theirs, unknown)]
    assert said[0] == said[1] and said[0]
    assert "张三丰" not in theirs.content.decode()


def test_the_id_search_refuses_a_get_and_a_malformed_number(client, world):
    client.force_login(world.county_operator)
    url = reverse("admin:members_member_find_by_id")
    assert client.get(url, {"id_number": id_of(world.member)}).status_code == 405
    bad = client.post(url, {"id_number": "123"}, follow=True)
    assert bad.status_code == 200
    assert any("18位" in str(m) or "身份证号" in str(m) for m in bad.context["messages"])

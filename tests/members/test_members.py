from __future__ import annotations

import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError

from members import people, pii
from members.models import Member, MemberTransfer
from portal.errors import PermissionDenied, ValidationFailed
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory, make_id_number

pytestmark = pytest.mark.django_db

GOOD_IDS = ["11010519491231002X", "130102198501010017", make_id_number("19900315", "130104")]
BAD_IDS = [
    ("110105194912310021", "checksum"),  # wrong check digit
    ("11010519491231002", "length"),  # 17 characters
    ("1101051949123100211", "length"),
    ("110105194913310023", "format"),  # month 13
    ("11010519491231002Y", "format"),
    ("", "required"),
]


@pytest.mark.parametrize("value", GOOD_IDS)
def test_valid_id_numbers_pass_and_are_normalized(value):
    assert pii.validate_id_number(f" {value.lower()} ") == value


@pytest.mark.parametrize(("value", "code"), BAD_IDS)
def test_invalid_id_numbers_are_refused_in_plain_words(value, code):
    with pytest.raises(ValidationError) as info:
        pii.validate_id_number(value)
    assert info.value.code == code or code == "format"
    assert "身份证号" in info.value.messages[0]


def test_id_numbers_encrypted_and_hashed_by_the_chunk_are_as_one_at_a_time():
    values = [*GOOD_IDS, GOOD_IDS[0]]
    tokens = pii.encrypt_id_numbers(values)
    assert [pii.decrypt_id_number(token) for token in tokens] == values
    assert len(set(tokens)) == len(values)  # a fresh token each time, as encrypt_id_number gives
    assert pii.hash_id_numbers(values) == [pii.hash_id_number(value) for value in values]
    assert pii.hash_id_numbers([]) == pii.encrypt_id_numbers([]) == []


def test_the_id_number_hash_is_hmac_sha256_under_the_hash_key(settings):
    """Members are found by this hash: it may not change for the numbers already stored."""
    for key in ("one-key", "another-key"):
        settings.PII_HASH_KEY = key
        for value in GOOD_IDS:
            expected = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
            assert pii.hash_id_number(value) == expected


def test_masking_hides_the_middle_of_id_numbers_card_numbers_and_names():
    assert pii.mask_id_number("130102198501010017") == "1301**********0017"
    assert Member(name="欧阳娜娜").name_masked == "欧***"
    card = CardFactory.build(number="6228880000000011")
    assert card.number_masked == "6228********0011"


def test_member_create_stores_the_id_encrypted_hashed_and_masked(tree):
    value = make_id_number()
    member = people.member_create(name="张三", id_number=value, phone="13800138000", union=tree.C1A1)
    member.refresh_from_db()
    assert value not in member.id_number_encrypted
    assert pii.decrypt_id_number(member.id_number_encrypted) == value
    assert member.id_number_hash == pii.hash_id_number(value)
    assert member.id_number_masked == value[:4] + "*" * 10 + value[-4:]
    assert value not in str(member)


def test_member_create_refuses_a_second_member_with_the_same_id(tree):
    value = make_id_number()
    people.member_create(name="张三", id_number=value, phone="13800138000", union=tree.C1A1)
    with pytest.raises(people.MemberExists):
        people.member_create(name="张三", id_number=value.lower(), phone="13800138001", union=tree.C1B1)
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("id_number", {"id_number": "110105194912310021"}),
        ("phone", {"phone": "1380013800"}),
        ("phone", {"phone": "23800138000"}),
        ("name", {"name": "  "}),
    ],
)
def test_member_create_refuses_bad_input(tree, field, kwargs):
    data = {
        "name": "李四",
        "id_number": make_id_number(),
        "phone": "13800138000",
        "union": tree.C1A1,
        **kwargs,
    }
    with pytest.raises(ValidationFailed) as info:
        people.member_create(**data)
    assert field in (info.value.fields or {field: None})


def test_member_must_belong_to_a_workplace_union(tree):
    with pytest.raises(ValidationFailed):
        people.member_create(name="李四", id_number=make_id_number(), phone="13800138000", union=tree.C1A)


def test_transfer_keeps_card_and_history_and_is_audited(tree, make_staff):
    operator = make_staff(tree.C1, Role.CITY_OPERATOR)
    card = CardFactory(member=MemberFactory(union=tree.C1A1))
    member = card.member
    transfer = people.member_transfer(member=member, to_union=tree.C1B2, actor=operator)
    member.refresh_from_db()
    assert member.union == tree.C1B2
    assert transfer.from_union == tree.C1A1 and transfer.transferred_by == operator
    assert member.cards.get() == card and card.status == "active"
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_TRANSFERRED)
    assert event.data == {"from": "C1A1", "to": "C1B2"}


def test_transfer_is_refused_to_staff_outside_the_members_subtree(tree, make_staff):
    outsider = make_staff(tree.C1B)
    member = MemberFactory(union=tree.C1A1)
    with pytest.raises(PermissionDenied):
        people.member_transfer(member=member, to_union=tree.C1B1, actor=outsider)
    assert not MemberTransfer.objects.exists()


def test_status_change(tree):
    member = MemberFactory(union=tree.C1A1)
    people.member_set_status(member=member, status=Member.Status.RETIRED)
    member.refresh_from_db()
    assert member.status == "retired" and not member.is_active


# --- Admin --------------------------------------------------------------------------------------------


def test_admin_member_list_is_scoped_and_masked(client, tree, make_staff):
    operator = make_staff(tree.C1A)
    mine = MemberFactory(union=tree.C1A1, name="本县会员")
    MemberFactory(union=tree.C1B1, name="邻县会员")
    client.force_login(operator)
    page = client.get("/admin/members/member/").content.decode()
    assert "本县会员" in page and "邻县会员" not in page
    assert mine.id_number_masked in page
    assert pii.decrypt_id_number(mine.id_number_encrypted) not in page


def test_admin_member_pages_of_a_sibling_county_are_out_of_reach(client, tree, make_staff):
    outsider = make_staff(tree.C1B)
    member = MemberFactory(union=tree.C1A1)
    client.force_login(outsider)
    assert client.get(f"/admin/members/member/{member.pk}/change/").status_code == 302
    assert client.get(f"/admin/members/member/{member.pk}/transfer/").status_code == 404
    admin = make_staff(tree.C1B, Role.PROVINCE_ADMIN)
    client.force_login(admin)
    assert client.post(f"/admin/members/member/{member.pk}/reveal-id/").status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ID_REVEALED).exists()


def test_admin_member_list_uses_a_fixed_number_of_queries(
    client, tree, make_staff, django_assert_num_queries
):
    operator = make_staff(tree.C1A)
    client.force_login(operator)
    MemberFactory(union=tree.C1A1)
    client.get("/admin/members/member/")  # warm caches (content types, permissions)
    with django_assert_num_queries(7) as first:
        client.get("/admin/members/member/")
    MemberFactory.create_batch(15, union=tree.C1A2)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get("/admin/members/member/")
    assert response.status_code == 200


def test_reveal_id_needs_the_permission_and_is_audited(client, tree, make_staff):
    member = MemberFactory(union=tree.C1A1)
    full = pii.decrypt_id_number(member.id_number_encrypted)
    operator = make_staff(tree.C1A, Role.COUNTY_OPERATOR)
    client.force_login(operator)
    assert client.post(f"/admin/members/member/{member.pk}/reveal-id/").status_code == 403
    admin = make_staff(tree.P, Role.PROVINCE_ADMIN)
    client.force_login(admin)
    confirm = client.get(f"/admin/members/member/{member.pk}/reveal-id/")
    assert full not in confirm.content.decode()
    response = client.post(f"/admin/members/member/{member.pk}/reveal-id/")
    assert full in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.ID_REVEALED)
    assert event.actor == admin and event.target_id == str(member.pk)


def test_admin_creates_a_member_through_the_service(client, tree, make_staff):
    operator = make_staff(tree.C1A)
    client.force_login(operator)
    value = make_id_number()
    response = client.post(
        "/admin/members/member/add/",
        {
            "name": "王五",
            "id_number": value,
            "phone": "13900000001",
            "union": tree.C1A1.pk,
            "status": "active",
            "groups": ["hardship"],
            "cards-TOTAL_FORMS": "0",
            "cards-INITIAL_FORMS": "0",
            "transfers-TOTAL_FORMS": "0",
            "transfers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    member = Member.objects.get()
    assert member.id_number_hash == pii.hash_id_number(value) and member.groups == ["hardship"]
    duplicate = client.post(
        "/admin/members/member/add/",
        {
            "name": "王五",
            "id_number": value,
            "phone": "13900000001",
            "union": tree.C1A1.pk,
            "status": "active",
            "cards-TOTAL_FORMS": "0",
            "cards-INITIAL_FORMS": "0",
            "transfers-TOTAL_FORMS": "0",
            "transfers-INITIAL_FORMS": "0",
        },
    )
    assert duplicate.status_code == 200
    assert "该身份证号已登记为会员" in duplicate.content.decode()


def test_admin_transfer_page_moves_the_member(client, tree, make_staff):
    operator = make_staff(tree.C1, Role.CITY_OPERATOR)
    member = MemberFactory(union=tree.C1A1)
    client.force_login(operator)
    bad = client.post(f"/admin/members/member/{member.pk}/transfer/", {"to_union": "NOPE"})
    assert "找不到该工会代码" in bad.content.decode()
    response = client.post(f"/admin/members/member/{member.pk}/transfer/", {"to_union": "C1B1"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.union == tree.C1B1

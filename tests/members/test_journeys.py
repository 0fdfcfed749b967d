"""Members' own journeys, from the outside: applying for a card, asking to transfer, leaving, and
undoing a lost-card report — with the staff who must act, and the staff and members who must not."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from members import applications, batch_validation, batches, cards, people, transfers
from members.auth import SESSION_KEY
from members.models import (
    Card,
    CardApplication,
    IssuanceBatch,
    Member,
    MemberTransfer,
    TransferRequest,
)
from notifications.models import Notification, Topic
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.roles import Role
from tests.factories import CardFactory, MemberFactory, PartnerBankFactory
from tests.members.conftest import process_all


@pytest.fixture
def county(tree, make_staff):
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="county")


@pytest.fixture
def second_county(tree, make_staff):
    return make_staff(tree.C1A, Role.COUNTY_OPERATOR, username="county2")


@pytest.fixture
def workplace(tree, make_staff):
    return make_staff(tree.C1A1, Role.WORKPLACE_OPERATOR, username="workplace")


@pytest.fixture
def sibling(tree, make_staff):
    return make_staff(tree.C1B, Role.COUNTY_OPERATOR, username="sibling")


@pytest.fixture
def other_city(tree, make_staff):
    return make_staff(tree.C2A, Role.COUNTY_OPERATOR, username="othercity")


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, name="王小明", phone="13911110001", consent_at=timezone.now())


def member_client(member) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def notices(user_or_member, topic) -> list[Notification]:
    kind = "member" if isinstance(user_or_member, Member) else "user"
    return list(Notification.objects.filter(recipient_kind=kind, recipient_id=user_or_member.pk, topic=topic))


# --- Card application ---------------------------------------------------------------------------------


def test_a_member_applies_the_workplace_approves_and_the_next_batch_issues_the_card(
    member, bank, workplace, county, second_county
):
    page = member_client(member).get("/me/card/").content.decode()
    assert "申请办卡" in page
    response = member_client(member).post("/me/card/apply/", {"bank": bank.pk, "confirm": "on"})
    assert response.status_code == 302
    application = CardApplication.objects.get(member=member)
    assert application.status == CardApplication.Status.PENDING and application.union == member.union
    # The workplace union's own operator is told, not the county above it.
    assert len(notices(workplace, Topic.CARD_APPLIED)) == 1 and not notices(county, Topic.CARD_APPLIED)

    staff_client(workplace).post(f"/staff/todo/applications/{application.pk}/approve/")
    application.refresh_from_db()
    assert application.status == CardApplication.Status.APPROVED and application.decided_by == workplace
    assert notices(member, Topic.CARD_APPLICATION_DECIDED)[0].title == "办卡申请已通过"

    response = staff_client(county).post(f"/staff/todo/applications/batch/{bank.pk}/")
    assert response.status_code == 302
    application.refresh_from_db()
    batch = application.batch
    assert application.status == CardApplication.Status.BATCHED and batch.uploaded_by == county
    # The batch is an ordinary one: validated by the worker, approved by someone else, processed.
    batch_validation.batch_validate_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.valid_rows, batch.error_rows) == (1, 0)
    with pytest.raises(PermissionDenied):
        batches.batch_approve(batch=batch, actor=county)
    batches.batch_approve(batch=batch, actor=second_county)
    process_all(batch)
    card = Card.objects.get(member=member)
    assert card.status == Card.Status.ISSUED and card.batch == batch and card.bank == bank
    assert Member.objects.filter(id_number_hash=member.id_number_hash).count() == 1


def test_a_second_application_and_one_with_a_live_card_are_refused(member, bank):
    applications.card_application_submit(member=member, bank=bank)
    with pytest.raises(applications.ApplicationExists):
        applications.card_application_submit(member=member, bank=bank)
    holder = MemberFactory(union=member.union)
    CardFactory(member=holder, status=Card.Status.ACTIVE)
    with pytest.raises(Conflict):
        applications.card_application_submit(member=holder, bank=bank)
    left = MemberFactory(union=member.union, status=Member.Status.LEFT)
    with pytest.raises(Conflict):
        applications.card_application_submit(member=left, bank=bank)


def test_another_countys_operator_cannot_approve_or_refuse_an_application(member, bank, sibling, workplace):
    application = applications.card_application_submit(member=member, bank=bank)
    with pytest.raises(PermissionDenied):
        applications.card_application_approve(application=application, actor=sibling)
    client = staff_client(sibling)
    assert client.post(f"/staff/todo/applications/{application.pk}/approve/").status_code == 404
    assert (
        client.post(f"/staff/todo/applications/{application.pk}/refuse/", {"reason": "x"}).status_code == 404
    )
    assert client.post(f"/staff/todo/applications/batch/{bank.pk}/").status_code == 302
    application.refresh_from_db()
    assert application.status == CardApplication.Status.PENDING
    assert "王*" not in client.get("/staff/todo/").content.decode()
    assert "王*" in staff_client(workplace).get("/staff/todo/").content.decode()


def test_a_refusal_needs_a_reason_and_the_member_reads_it(member, bank, workplace):
    application = applications.card_application_submit(member=member, bank=bank)
    with pytest.raises(ValidationFailed):
        applications.card_application_refuse(application=application, actor=workplace, reason=" ")
    applications.card_application_refuse(application=application, actor=workplace, reason="手机号与登记不符")
    with pytest.raises(applications.ApplicationStateConflict):
        applications.card_application_approve(application=application, actor=workplace)
    page = member_client(member).get("/me/card/").content.decode()
    assert "手机号与登记不符" in page and "申请办卡" in page
    # Refused, the member may apply again.
    assert applications.card_application_submit(member=member, bank=bank).status == "pending"


def test_a_batch_takes_only_approved_applications_of_the_staff_subtree_once(tree, bank, county, sibling):
    ours = MemberFactory(union=tree.C1A2)
    theirs = MemberFactory(union=tree.C1B1)
    for who, staff in ((ours, county), (theirs, sibling)):
        application = applications.card_application_submit(member=who, bank=bank)
        applications.card_application_approve(application=application, actor=staff)
    batch = applications.card_applications_batch(bank=bank, actor=county)
    assert list(CardApplication.objects.filter(batch=batch).values_list("member", flat=True)) == [ours.pk]
    with pytest.raises(Exception, match="没有待制卡"):
        applications.card_applications_batch(bank=bank, actor=county)
    assert CardApplication.objects.get(member=theirs).status == CardApplication.Status.APPROVED
    other_bank = PartnerBankFactory(code="OTHER", name="另一银行", bin="622999")
    with pytest.raises(Exception, match="没有待制卡"):
        applications.card_applications_batch(bank=other_bank, actor=sibling)


# --- Transfer request -------------------------------------------------------------------------------


def test_a_transfer_accepted_by_the_receiving_union_moves_the_member_and_keeps_the_card(
    tree, member, other_city, county, make_staff
):
    destination_staff = make_staff(tree.C2A1, Role.WORKPLACE_OPERATOR, username="dest")
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    client = member_client(member)
    response = client.post("/me/transfer/", {"to_union": "C2A1", "note": "调动", "confirm": "on"})
    assert response.status_code == 302
    request = TransferRequest.objects.get(member=member)
    assert notices(destination_staff, Topic.TRANSFER_REQUESTED) and not notices(
        other_city, Topic.TRANSFER_REQUESTED
    )
    assert "等待对方工会接收" in client.get("/me/transfer/").content.decode()

    # The member's own county cannot accept a move into another county; the receiving side can.
    with pytest.raises(PermissionDenied):
        transfers.transfer_request_accept(request=request, actor=county)
    assert staff_client(county).post(f"/staff/todo/transfers/{request.pk}/accept/").status_code == 404
    staff_client(other_city).post(f"/staff/todo/transfers/{request.pk}/accept/")
    member.refresh_from_db()
    request.refresh_from_db()
    assert member.union == tree.C2A1 and request.status == TransferRequest.Status.ACCEPTED
    assert request.transfer is not None and request.transfer.from_union == tree.C1A1
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE and card.member_id == member.pk
    assert notices(member, Topic.TRANSFER_ACCEPTED) and notices(county, Topic.TRANSFER_ACCEPTED)
    with pytest.raises(transfers.TransferStateConflict):
        transfers.transfer_request_accept(request=request, actor=other_city)


def test_a_refused_transfer_moves_nothing_and_tells_the_member_why(tree, member, other_city):
    request = transfers.transfer_request_submit(member=member, to_union=tree.C2A1)
    with pytest.raises(transfers.TransferPending):
        transfers.transfer_request_submit(member=member, to_union=tree.C2A2)
    staff_client(other_city).post(f"/staff/todo/transfers/{request.pk}/refuse/", {"reason": "查无此人"})
    member.refresh_from_db()
    request.refresh_from_db()
    assert member.union == tree.C1A1 and request.status == TransferRequest.Status.REFUSED
    assert "查无此人" in notices(member, Topic.TRANSFER_REFUSED)[0].body


def test_a_transfer_is_refused_when_the_member_moved_or_left_since_asking(tree, member, county, other_city):
    request = transfers.transfer_request_submit(member=member, to_union=tree.C2A1)
    people.member_transfer(member=member, to_union=tree.C1A2, actor=county)
    with pytest.raises(transfers.TransferStateConflict):
        transfers.transfer_request_accept(request=request, actor=other_city)
    member.refresh_from_db()
    request.refresh_from_db()
    assert member.union == tree.C1A2 and request.status == TransferRequest.Status.PENDING


def test_a_transfer_to_an_unknown_or_non_workplace_code_is_refused_on_the_page(member):
    client = member_client(member)
    for code in ("NOPE", "C2A", "C1A1"):
        response = client.post("/me/transfer/", {"to_union": code, "confirm": "on"})
        assert response.status_code == 200
    assert not TransferRequest.objects.exists()


# --- Leaving, the bank's change queue, and undoing a lost-card report -------------------------------


def bank_hears(card) -> list[tuple[int, str]]:
    """What the bank's next card-changes file would carry for the card's bank."""
    from banking.card_changes import pending_card_changes

    changes = pending_card_changes(bank=card.bank, until=timezone.now())
    return [(change.card_id, change.kind) for change in changes]


@pytest.mark.parametrize("status", [Member.Status.LEFT, Member.Status.RETIRED])
def test_leaving_or_retiring_cancels_the_live_card_and_the_bank_hears_of_it(member, county, status):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    people.member_set_status(member=member, status=status, actor=county)
    card.refresh_from_db()
    assert card.status == Card.Status.CANCELLED
    assert bank_hears(card) == [(card.pk, "cancelled")]


def test_a_replacement_after_a_lost_report_reaches_the_bank(member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    cards.card_freeze(card=card)
    new = cards.card_replace(card=card)
    assert bank_hears(card) == [(card.pk, "replaced")] and new.replaces_id == card.pk


def test_a_member_undoes_a_lost_report_within_seven_days_from_the_card_page(member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE, activated_at=timezone.now())
    client = member_client(member)
    client.post("/me/card/report-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN
    page = client.get("/me/card/").content.decode()
    assert "解除挂失" in page
    assert client.post("/me/card/undo-lost/", {}).status_code == 302  # unconfirmed: nothing happens
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN
    client.post("/me/card/undo-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    assert bank_hears(card) == []  # the loss was undone before any export told the bank of it


def test_an_undone_report_of_a_never_activated_card_returns_it_to_issued(member):
    card = CardFactory(member=member, status=Card.Status.ISSUED)
    cards.card_freeze(card=card)
    assert cards.card_undo_lost(card=card, actor=member).status == Card.Status.ISSUED


def test_after_seven_days_the_report_stands_and_the_member_is_told_what_to_do(member):
    card = CardFactory(member=member, status=Card.Status.FROZEN)
    Card.objects.filter(pk=card.pk).update(frozen_at=timezone.now() - timedelta(days=7, minutes=1))
    with pytest.raises(cards.LostReportTooOld, match="补卡"):
        cards.card_undo_lost(card=card, actor=member)
    client = member_client(member)
    assert "不能再解除" in client.get("/me/card/").content.decode()
    client.post("/me/card/undo-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN
    assert bank_hears(card) == [(card.pk, "lost")]


def test_a_member_cannot_undo_another_members_report(member, tree):
    other = MemberFactory(union=tree.C1A1, consent_at=timezone.now())
    theirs = CardFactory(member=other, status=Card.Status.ACTIVE)
    cards.card_freeze(card=theirs)
    member_client(member).post("/me/card/undo-lost/", {"confirm": "on"})
    theirs.refresh_from_db()
    assert theirs.status == Card.Status.FROZEN


def test_staff_undo_a_report_only_in_their_subtree(member, county, sibling):
    card = CardFactory(member=member, status=Card.Status.ACTIVE, activated_at=timezone.now())
    cards.card_freeze(card=card)
    with pytest.raises(PermissionDenied):
        cards.card_undo_lost(card=card, actor=sibling)
    assert (
        staff_client(sibling).post(f"/staff/todo/cards/{card.pk}/undo-lost/", {"confirm": "on"}).status_code
        == 404
    )
    assert card.number_masked in staff_client(county).get("/staff/todo/").content.decode()
    staff_client(county).post(f"/staff/todo/cards/{card.pk}/undo-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE


def test_the_todo_page_refuses_staff_without_a_union(make_staff, roles):
    from tests.factories import UserFactory

    nobody = UserFactory(union=None, is_staff=True)
    assert staff_client(nobody).get("/staff/todo/").status_code == 403
    assert Client().get("/staff/todo/").status_code == 302


# --- Under concurrency --------------------------------------------------------------------------------


def _at_once(count: int, action) -> tuple[list, list[BaseException]]:
    """Run ``action(index)`` in ``count`` threads, each with its own database connection, released
    together; returns the results and the exceptions."""
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            results.append(action(index))
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_two_operators_batching_at_once_put_each_application_into_one_batch(tree, make_staff):
    bank = PartnerBankFactory()
    operators = [make_staff(tree.C1A, Role.COUNTY_OPERATOR) for _ in range(4)]
    for _ in range(6):
        application = applications.card_application_submit(member=MemberFactory(union=tree.C1A1), bank=bank)
        applications.card_application_approve(application=application, actor=operators[0])
    made, errors = _at_once(
        4, lambda index: applications.card_applications_batch(bank=bank, actor=operators[index])
    )
    assert len(made) == 1 and len(errors) == 3, errors
    assert all("没有待制卡" in str(error) for error in errors)
    assert set(CardApplication.objects.values_list("status", "batch")) == {("batched", made[0].pk)}
    assert IssuanceBatch.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_transfer_accepted_twice_at_once_moves_the_member_once(tree, make_staff):
    member = MemberFactory(union=tree.C1A1)
    request = transfers.transfer_request_submit(member=member, to_union=tree.C2A1)
    receivers = [make_staff(tree.C2A, Role.COUNTY_OPERATOR) for _ in range(4)]
    done, errors = _at_once(
        4,
        lambda index: transfers.transfer_request_accept(
            request=TransferRequest.objects.get(pk=request.pk), actor=receivers[index]
        ),
    )
    assert len(done) == 1 and all(isinstance(e, transfers.TransferStateConflict) for e in errors), errors
    assert MemberTransfer.objects.filter(member=member).count() == 1
    member.refresh_from_db()
    assert member.union == tree.C2A1


@pytest.mark.django_db(transaction=True)
def test_an_undo_racing_a_replacement_leaves_one_live_card(tree):
    member = MemberFactory(union=tree.C1A1)
    card = CardFactory(member=member, status=Card.Status.ACTIVE, activated_at=timezone.now())
    cards.card_freeze(card=card)
    actions = [
        lambda: cards.card_undo_lost(card=Card.objects.get(pk=card.pk), actor=member),
        lambda: cards.card_replace(card=Card.objects.get(pk=card.pk)),
    ]
    _done, errors = _at_once(2, lambda index: actions[index]())
    # Either the replacement came first and the undo is refused, or the undo came first and the
    # replacement then replaced a working card (staff may replace a damaged one): never two live cards.
    assert all(isinstance(error, Conflict) for error in errors), errors
    live = Card.objects.filter(member=member, status__in=Card.LIVE_STATUSES)
    assert live.count() == 1
    if errors:
        assert live.get().replaces_id == card.pk


# --- Withdrawing, and batches waiting for a second person -------------------------------------------


def test_a_member_withdraws_their_own_pending_requests_and_never_anothers(tree, member, bank, workplace):
    other = MemberFactory(union=tree.C1A1, consent_at=timezone.now())
    theirs = applications.card_application_submit(member=other, bank=bank)
    their_transfer = transfers.transfer_request_submit(member=other, to_union=tree.C2A1)
    client = member_client(member)
    client.post(f"/me/card/applications/{theirs.pk}/withdraw/")
    client.post(f"/me/transfer/{their_transfer.pk}/withdraw/")
    theirs.refresh_from_db()
    their_transfer.refresh_from_db()
    assert theirs.status == "pending" and their_transfer.status == "pending"

    mine = applications.card_application_submit(member=member, bank=bank)
    my_transfer = transfers.transfer_request_submit(member=member, to_union=tree.C2A1)
    client.post(f"/me/card/applications/{mine.pk}/withdraw/")
    client.post(f"/me/transfer/{my_transfer.pk}/withdraw/")
    mine.refresh_from_db()
    my_transfer.refresh_from_db()
    assert mine.status == "withdrawn" and my_transfer.status == "withdrawn"
    with pytest.raises(applications.ApplicationStateConflict):
        applications.card_application_approve(application=mine, actor=workplace)
    # Withdrawn, a new application may be made.
    assert applications.card_application_submit(member=member, bank=bank).status == "pending"


def test_the_todo_page_lists_batches_for_a_second_person_not_for_their_uploader(
    member, bank, county, second_county
):
    application = applications.card_application_submit(member=member, bank=bank)
    applications.card_application_approve(application=application, actor=county)
    batch = applications.card_applications_batch(bank=bank, actor=county)
    batch_validation.batch_validate_run(batch_id=batch.pk)
    link = f"/admin/members/issuancebatch/{batch.pk}/change/"
    assert link not in staff_client(county).get("/staff/todo/").content.decode()
    assert link in staff_client(second_county).get("/staff/todo/").content.decode()


def test_the_todo_page_takes_the_same_queries_for_one_item_or_many(tree, bank, county, workplace):
    from django.db import connection as default_connection
    from django.test.utils import CaptureQueriesContext

    def add_items(count: int) -> None:
        for _ in range(count):
            asker = MemberFactory(union=tree.C1A1)
            applications.card_application_submit(member=asker, bank=bank)
            approved = applications.card_application_submit(member=MemberFactory(union=tree.C1A2), bank=bank)
            applications.card_application_approve(application=approved, actor=county)
            transfers.transfer_request_submit(member=MemberFactory(union=tree.C2A1), to_union=tree.C1A2)
            cards.card_freeze(
                card=CardFactory(member=MemberFactory(union=tree.C1A1), status=Card.Status.ACTIVE)
            )

    client = staff_client(county)

    def count() -> int:
        with CaptureQueriesContext(default_connection) as queries:
            assert client.get("/staff/todo/").status_code == 200
        return len(queries)

    add_items(1)
    few = count()
    add_items(5)
    assert count() == few


# --- The member API ----------------------------------------------------------------------------------


def api_for(member) -> APIClient:
    from tests.hardening.conftest import member_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {member_token(member)}")
    return client


def test_the_member_api_applies_lists_and_answers_refusals_in_the_envelope(member, bank):
    client = api_for(member)
    assert client.post("/api/v1/me/card-applications/", {"bank": 999999}, format="json").status_code == 400
    made = client.post("/api/v1/me/card-applications/", {"bank": bank.pk}, format="json")
    assert made.status_code == 201 and made.json()["status"] == "pending"
    again = client.post("/api/v1/me/card-applications/", {"bank": bank.pk}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "application_exists"
    listed = client.get("/api/v1/me/card-applications/").json()
    assert [row["id"] for row in listed] == [made.json()["id"]]
    assert APIClient().get("/api/v1/me/card-applications/").status_code == 401


def test_the_member_api_requests_a_transfer(member, tree):
    client = api_for(member)
    unknown = client.post("/api/v1/me/transfer-requests/", {"to_union": "NOPE"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "validation_error"
    made = client.post("/api/v1/me/transfer-requests/", {"to_union": "C2A1", "note": "调动"}, format="json")
    assert made.status_code == 201 and made.json()["to_union"]["code"] == "C2A1"
    again = client.post("/api/v1/me/transfer-requests/", {"to_union": "C2A2"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "transfer_pending"
    assert client.get("/api/v1/me/transfer-requests/").json()[0]["status"] == "pending"


def test_the_member_api_undoes_a_lost_report_only_within_the_window(member, tree):
    card = CardFactory(member=member, status=Card.Status.ACTIVE, activated_at=timezone.now())
    client = api_for(member)
    refused = client.post("/api/v1/me/card/undo-lost/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "card_transition_refused"
    cards.card_freeze(card=card)
    assert client.post("/api/v1/me/card/undo-lost/").json()["status"] == "active"
    cards.card_freeze(card=card)
    Card.objects.filter(pk=card.pk).update(frozen_at=timezone.now() - timedelta(days=8))
    late = client.post("/api/v1/me/card/undo-lost/")
    assert late.status_code == 409 and late.json()["error"]["code"] == "lost_report_too_old"
    assert api_for(MemberFactory(union=tree.C1A1)).post("/api/v1/me/card/undo-lost/").status_code == 404


def test_a_workplace_operator_without_card_rights_cannot_undo_a_report(member, workplace):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    cards.card_freeze(card=card)
    with pytest.raises(PermissionDenied):
        cards.card_undo_lost(card=card, actor=workplace)
    staff_client(workplace).post(f"/staff/todo/cards/{card.pk}/undo-lost/", {"confirm": "on"})
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN


# --- The admin's doors --------------------------------------------------------------------------------


def test_the_card_admin_undoes_a_report_within_the_subtree_only(member, county, sibling):
    card = CardFactory(member=member, status=Card.Status.ACTIVE, activated_at=timezone.now())
    cards.card_freeze(card=card)
    data = {"action": "undo_lost_cards", "_selected_action": [card.pk]}
    staff_client(sibling).post("/admin/members/card/", data)
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN
    staff_client(county).post("/admin/members/card/", data)
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE


def test_transfer_requests_are_listed_to_both_sides_and_nobody_else(
    tree, member, county, other_city, make_staff
):
    transfers.transfer_request_submit(member=member, to_union=tree.C2A1)
    stranger = make_staff(tree.C2B, Role.COUNTY_OPERATOR, username="stranger")
    for user, sees in ((county, True), (other_city, True), (stranger, False)):
        page = staff_client(user).get("/admin/members/transferrequest/").content.decode()
        assert ("王*" in page) is sees, user.username


def test_a_batch_of_applications_tells_the_other_approvers_not_its_uploader(
    member, bank, county, second_county, workplace, make_staff, tree
):
    city = make_staff(tree.C1, Role.CITY_OPERATOR, username="city")
    application = applications.card_application_submit(member=member, bank=bank)
    applications.card_application_approve(application=application, actor=workplace)
    applications.card_applications_batch(bank=bank, actor=county)
    assert len(notices(second_county, Topic.BATCH_TO_APPROVE)) == 1
    assert not notices(county, Topic.BATCH_TO_APPROVE) and not notices(city, Topic.BATCH_TO_APPROVE)
    assert not notices(workplace, Topic.BATCH_TO_APPROVE)


def test_the_todo_page_counts_members_no_longer_on_a_roster_within_the_subtree(tree, county, other_city):
    from django.core.files.base import ContentFile

    from members.models import RosterImport, RosterMissing

    def missing_in(union, uploader):
        roster = RosterImport(union=union, original_filename="名册.csv", uploaded_by=uploader)
        roster.file.save("todo-roster.csv", ContentFile("姓名,身份证号\n".encode()), save=False)
        roster.save()
        for _ in range(2):
            RosterMissing.objects.create(roster=roster, member=MemberFactory(union=union), union=union)

    missing_in(tree.C1A1, county)
    missing_in(tree.C2A1, other_city)
    mine = staff_client(county).get("/staff/todo/").content.decode()
    assert tree.C1A1.name in mine and "不在最新名册" in mine and "2 人" in mine
    assert tree.C2A1.name not in mine  # another county's members are not this operator's to confirm
    RosterMissing.objects.update(resolution=RosterMissing.Resolution.KEPT)
    assert "不在最新名册" not in staff_client(county).get("/staff/todo/").content.decode()

"""The staff fund pages: the board with its roll-up, a fund and its ledger, the forms (fill in, confirm,
done) and the export — and what another county's operator gets when they try them."""

from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from funds.models import Fund, FundMovement
from funds.selectors import LEDGER_PAGE_SIZE, fund_ledger_mismatches
from funds.services import Reference, fund_spend, fund_transfer
from tests.factories import UnionFactory
from tests.funds.conftest import fresh

Kind = FundMovement.Kind


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def detail(fund) -> str:
    return reverse("funds:detail", args=[fund.pk])


# --- The board ----------------------------------------------------------------------------------------


def test_the_city_sees_its_own_and_its_counties_funds_with_the_roll_up(client, staff, filled):
    fund_spend(fund_id=filled.C1A.pk, amount="100.00", reference=Reference("discounts.redemption", "1"))
    client.force_login(staff.city)

    response = client.get(reverse("funds:list"))

    assert response.status_code == 200
    board = response.context["board"]
    assert [row.fund.union.code for row in board.rows] == ["C1", "C1A", "C1B"]
    assert [row.indent for row in board.rows] == [0, 1, 1]
    city_row = board.rows[0]
    # The city's subtree: 3,000.00 came in; 100.00 spent below; nothing committed; the rest is left.
    assert (city_row.subtree.spent, city_row.subtree.left) == (Decimal("100.00"), Decimal("2900.00"))
    assert [(level.level, level.totals.count) for level in board.levels] == [("city", 1), ("county", 2)]
    assert board.overall.held == Decimal("3000.00")
    assert "C2市总工会" not in text(response)


def test_the_province_rolls_up_every_level_without_counting_allocations_twice(client, staff, filled):
    client.force_login(staff.province)

    board = client.get(reverse("funds:list")).context["board"]

    levels = {level.level: level.totals for level in board.levels}
    assert levels["province"].added == Decimal("10000.00")
    assert levels["city"].received == Decimal("5000.00")
    assert levels["county"].received == Decimal("1500.00")
    assert board.overall.held == Decimal("10000.00")  # exactly the money the province put in
    assert sum((level.left for level in levels.values()), Decimal("0")) == board.overall.left


def test_a_county_sees_only_its_own_fund(client, staff, filled):
    client.force_login(staff.county)

    board = client.get(reverse("funds:list")).context["board"]

    assert [row.fund.union.code for row in board.rows] == ["C1A"]


@pytest.mark.parametrize("extra_counties", [0, 30])
def test_the_board_renders_in_a_fixed_number_of_queries(
    client, staff, filled, tree, year, extra_counties, django_assert_num_queries
):
    for index in range(extra_counties):
        county = UnionFactory(code=f"C1X{index:02d}", level="county", parent=tree.C1)
        Fund.objects.create(union=county, year=year, name=f"资金{index}")
    client.force_login(staff.city)
    # session, user, the user's union, permissions (2), funds of the year, years, unread notices
    with django_assert_num_queries(8):
        assert client.get(reverse("funds:list")).status_code == 200


def test_a_bad_year_shows_a_message_and_the_current_year(client, staff, filled, year):
    client.force_login(staff.city)

    response = client.get(reverse("funds:list") + "?year=26")

    assert response.context["year"] == year
    assert any("年度应为" in message for message in messages_of(response))
    assert client.get(reverse("funds:list") + f"?year={year + 1}").context["board"].rows == []


def test_staff_without_the_fund_permission_are_told_why(client, staff, filled):
    client.force_login(staff.workplace)

    response = client.get(reverse("funds:list"))

    assert response.status_code == 403
    assert "没有查看、管理普惠资金的权限" in text(response)


def test_anonymous_visitors_are_sent_to_sign_in(client, filled):
    response = client.get(reverse("funds:list"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_export_has_the_roll_up_and_every_fund_in_scope(client, staff, filled, year):
    client.force_login(staff.city)

    response = client.get(reverse("funds:export") + f"?year={year}")

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["按层级汇总", f"{year}年各资金", "指标说明"]
    levels = list(workbook["按层级汇总"].iter_rows(values_only=True))
    assert levels[-1][0] == "合计" and Decimal(str(levels[-1][-1])) == Decimal("3000.00")
    funds = list(workbook[f"{year}年各资金"].iter_rows(values_only=True))
    assert [row[0] for row in funds[1:]] == ["C1", "C1A", "C1B"]


# --- A fund and its ledger ---------------------------------------------------------------------------------


def test_a_fund_page_shows_its_figures_and_ledger_with_the_other_side_of_each_pair(client, staff, filled):
    fund_transfer(from_fund=filled.C1B, to_fund=filled.C1A, amount="50.00", reason="支援", actor=staff.city)
    client.force_login(staff.county)

    response = client.get(detail(filled.C1A))

    assert response.status_code == 200
    rows = response.context["movements"]
    assert [(m.kind, m.amount) for m in rows] == [
        (Kind.TRANSFER_IN, Decimal("50.00")),
        (Kind.RECEIVED, Decimal("1000.00")),
    ]
    assert [m.counterpart.union.code for m in rows] == ["C1B", "C1"]
    assert "¥1050.00" in text(response)
    # The county may not open the city's fund: its name is shown without a link.
    assert detail(filled.C1) not in text(response)


def test_the_ledger_is_paginated_newest_first(client, staff, filled):
    for index in range(LEDGER_PAGE_SIZE + 5):
        fund_spend(
            fund_id=filled.C1A.pk, amount="1.00", reference=Reference("discounts.redemption", str(index))
        )
    client.force_login(staff.county)

    first = client.get(detail(filled.C1A))
    second = client.get(detail(filled.C1A) + "?page=2")

    assert len(first.context["movements"]) == LEDGER_PAGE_SIZE
    assert first.context["movements"][0].reference_id == str(LEDGER_PAGE_SIZE + 4)
    assert [m.kind for m in second.context["movements"]][-1] == Kind.RECEIVED
    assert "discounts.redemption:0" in text(second)


@pytest.mark.parametrize("transfers", [1, 30])
def test_a_fund_page_renders_in_a_fixed_number_of_queries(
    client, staff, filled, transfers, django_assert_num_queries
):
    for _ in range(transfers):
        fund_transfer(from_fund=filled.C1B, to_fund=filled.C1A, amount="1.00", reason="x", actor=None)
    client.force_login(staff.city)
    # session, user, the user's union, permissions (2), the fund, the page count, the page, the other
    # sides, the children's funds, whether the union has children, the parent's fund, unread notices
    with django_assert_num_queries(13):
        assert client.get(detail(filled.C1A)).status_code == 200


@pytest.mark.parametrize("who", ["sibling_county", "other_city_county"])
def test_another_countys_operator_cannot_see_a_county_fund(client, staff, filled, who):
    client.force_login(getattr(staff, who))

    pages = [
        client.get(detail(filled.C1A)),
        client.get(reverse("funds:add_money", args=[filled.C1A.pk])),
        client.get(reverse("funds:allocate", args=[filled.C1A.pk])),
        client.get(reverse("funds:transfer", args=[filled.C1A.pk])),
        client.get(reverse("funds:detail", args=[987654321])),
    ]

    assert [page.status_code for page in pages] == [404] * 5


# --- Forms: fill in, confirm, done -------------------------------------------------------------------


def confirmation(response) -> dict:
    """The values a confirmation page sends back, as a browser would."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', text(response)))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_adding_money_says_what_will_happen_and_happens_once_when_confirmed(client, staff, filled):
    client.force_login(staff.county)
    url = reverse("funds:add_money", args=[filled.C1A.pk])

    assert client.get(url).status_code == 200
    asked = client.post(url, {"amount": "250.50", "note": "县财政"})

    assert asked.status_code == 200
    assert "追加本级资金 ¥250.50" in text(asked) and "¥1000.00 变为 ¥1250.50" in text(asked)
    assert fresh(filled.C1A).added == 0  # nothing happens before the confirmation
    values = confirmation(asked)
    assert values["confirmed"] == "1" and uuid.UUID(values["operation_id"])

    done = client.post(url, values)
    again = client.post(url, values, follow=True)

    assert done.status_code == 302 and done["Location"] == detail(filled.C1A)
    assert fresh(filled.C1A).added == Decimal("250.50")
    assert "没有重复执行" in text(again)
    assert FundMovement.objects.filter(fund=filled.C1A, kind=Kind.ADDED).count() == 1


def test_going_back_from_the_confirmation_keeps_the_values_and_changes_nothing(client, staff, filled):
    client.force_login(staff.county)
    url = reverse("funds:add_money", args=[filled.C1A.pk])
    values = confirmation(client.post(url, {"amount": "9.99"}))

    back = client.post(url, {**values, "edit": "1"})

    assert 'value="9.99"' in text(back)
    assert fresh(filled.C1A).added == 0


def test_a_confirmation_without_its_operation_id_is_refused(client, staff, filled):
    client.force_login(staff.county)
    url = reverse("funds:add_money", args=[filled.C1A.pk])

    response = client.post(url, {"amount": "10.00", "confirmed": "1"})

    assert response.status_code == 200 and "确认页面已失效" in text(response)
    assert fresh(filled.C1A).added == 0


def test_the_city_allocates_to_a_county_after_confirming(client, staff, filled, tree):
    client.force_login(staff.city)
    url = reverse("funds:allocate", args=[filled.C1.pk])

    asked = client.post(url, {"child": tree.C1B.pk, "amount": "300.00"})
    assert "下拨 ¥300.00" in text(asked) and "¥1500.00 变为 ¥1200.00" in text(asked)
    client.post(url, confirmation(asked))

    assert fresh(filled.C1B).received == Decimal("800.00")
    assert fresh(filled.C1).left == Decimal("1200.00")


def test_allocating_to_a_workplace_without_a_fund_opens_it_after_saying_so(client, staff, filled, tree, year):
    client.force_login(staff.county)
    url = reverse("funds:allocate", args=[filled.C1A.pk])

    asked = client.post(url, {"child": tree.C1A1.pk, "amount": "100.00"})
    assert "将同时为其开设" in text(asked)
    client.post(url, confirmation(asked))

    opened = Fund.objects.get(union=tree.C1A1, year=year)
    assert opened.received == Decimal("100.00")


def test_an_allocation_over_what_is_left_is_stopped_at_the_form(client, staff, filled, tree):
    client.force_login(staff.city)

    response = client.post(
        reverse("funds:allocate", args=[filled.C1.pk]), {"child": tree.C1A.pk, "amount": "1500.01"}
    )

    assert "超过可用余额" in text(response)
    assert "确认后将发生" not in text(response)


def test_a_fund_exhausted_between_the_form_and_the_confirmation_is_refused_plainly(
    client, staff, filled, tree
):
    client.force_login(staff.city)
    url = reverse("funds:allocate", args=[filled.C1.pk])
    values = confirmation(client.post(url, {"child": tree.C1A.pk, "amount": "1500.00"}))
    fund_spend(fund_id=filled.C1.pk, amount="1.00", reference=Reference("discounts.redemption", "1"))

    response = client.post(url, values)

    assert response.status_code == 200 and "可用余额不足" in text(response)
    assert fresh(filled.C1A).received == Decimal("1000.00")


def test_the_allocation_form_offers_only_direct_children(client, staff, filled, tree):
    client.force_login(staff.province)
    url = reverse("funds:allocate", args=[filled.P.pk])

    response = client.post(url, {"child": tree.C1A.pk, "amount": "1.00"})  # a grandchild

    assert "确认后将发生" not in text(response)
    assert fresh(filled.C1A).received == Decimal("1000.00")


def test_the_city_transfers_between_its_counties_after_confirming(client, staff, filled):
    client.force_login(staff.city)
    url = reverse("funds:transfer", args=[filled.C1B.pk])

    asked = client.post(url, {"to_fund": filled.C1A.pk, "amount": "100.00", "reason": "重点项目"})
    assert "调出 ¥100.00" in text(asked) and "重点项目" in text(asked)
    client.post(url, confirmation(asked))

    assert (fresh(filled.C1B).transferred_out, fresh(filled.C1A).transferred_in) == (
        Decimal("100.00"),
        Decimal("100.00"),
    )


def test_a_forged_transfer_naming_another_countys_fund_changes_nothing(client, staff, filled):
    """The county C1A operator, on their own fund's page, names the fund of C1B, C2A, or the city."""
    client.force_login(staff.county)
    url = reverse("funds:transfer", args=[filled.C1A.pk])

    for target in (filled.C1B, filled.C2A, filled.C1):
        forged = {
            "to_fund": target.pk,
            "amount": "10.00",
            "reason": "x",
            "confirmed": "1",
            "operation_id": str(uuid.uuid4()),
        }
        response = client.post(url, forged)
        assert response.status_code == 200
        assert "确认后将发生" not in text(response)

    assert not FundMovement.objects.filter(kind__in=[Kind.TRANSFER_OUT, Kind.TRANSFER_IN]).exists()
    assert fund_ledger_mismatches() == []


def test_a_forged_post_on_another_countys_fund_changes_nothing(client, staff, filled, tree):
    client.force_login(staff.sibling_county)
    forged = {"amount": "10.00", "reason": "x", "confirmed": "1", "operation_id": str(uuid.uuid4())}

    answers = [
        client.post(reverse("funds:add_money", args=[filled.C1A.pk]), forged),
        client.post(reverse("funds:allocate", args=[filled.C1A.pk]), {**forged, "child": tree.C1A1.pk}),
        client.post(reverse("funds:transfer", args=[filled.C1A.pk]), {**forged, "to_fund": filled.C1B.pk}),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert fresh(filled.C1A).left == Decimal("1000.00")
    assert fresh(filled.C1B).left == Decimal("500.00")
    assert not Fund.objects.filter(union=tree.C1A1).exists()


def test_the_forms_need_the_csrf_token(staff, filled):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff.county)

    response = browser.post(reverse("funds:add_money", args=[filled.C1A.pk]), {"amount": "1.00"})

    assert response.status_code == 403
    assert fresh(filled.C1A).added == 0


# --- Opening a fund -----------------------------------------------------------------------------------


def test_a_county_opens_its_own_fund_from_the_board(client, staff, tree, year):
    client.force_login(staff.county)

    board = client.get(reverse("funds:list"))
    assert board.context["open_form"] is not None
    response = client.post(reverse("funds:open"), {"union": "C1A", "year": year, "name": "长安区普惠资金"})

    fund = Fund.objects.get(union=tree.C1A, year=year)
    assert response["Location"] == detail(fund) and fund.name == "长安区普惠资金"
    assert client.get(reverse("funds:list")).context["open_form"] is None


def test_a_county_cannot_open_a_fund_for_another_county(client, staff, tree, year):
    client.force_login(staff.county)

    response = client.post(reverse("funds:open"), {"union": "C1B", "year": year}, follow=True)

    assert "不在您的管理范围内" in text(response)
    assert not Fund.objects.exists()


def test_opening_a_fund_twice_says_it_exists(client, staff, filled, year):
    client.force_login(staff.county)

    response = client.post(reverse("funds:open"), {"union": "C1A", "year": year}, follow=True)

    assert "已开设" in text(response)
    assert Fund.objects.filter(union__code="C1A").count() == 1

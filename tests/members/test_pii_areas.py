"""The area and birth-date check of ID numbers reads python-stdnum's table once; it must accept and
refuse exactly what stdnum's own lookup does."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from members import pii

TABLE = pii._area_periods()
STDNUM = pii._stdnum_area_and_birth_date_valid.__wrapped__  # uncached: stdnum itself every time


def _prefixes_at_every_period_edge():
    for area, periods in TABLE.items():
        years = {1, 1960, 2005, 9999}
        for start, end in periods:
            years |= {start - 1, start, start + 1, end - 1, end, end + 1}
        for year in sorted(year for year in years if 0 <= year <= 9999):
            yield f"{area}{year:04d}0615"


def test_the_table_is_read_from_stdnum_and_has_its_areas():
    assert TABLE is not None
    assert len(TABLE) > 6000
    assert TABLE["110105"] == ((1, 9999),)  # 朝阳区, in use in every year
    assert TABLE["110103"] == ((1, 2010),)  # 崇文区, merged into 东城区 in 2010


def test_every_area_at_every_edge_of_its_periods_is_judged_as_stdnum_judges_it():
    differences = [
        prefix
        for prefix in _prefixes_at_every_period_edge()
        if pii._area_and_birth_date_valid(prefix) != STDNUM(prefix)
    ]
    assert differences == []


@pytest.mark.parametrize(
    ("prefix", "valid"),
    [
        ("11010519900101", True),
        ("11010320110101", False),  # 崇文区 no longer existed
        ("11010320100101", True),  # its last year
        ("11011219960101", False),  # 通州区: from 1997 on
        ("11011219970101", True),
        ("11010519990230", False),  # 30 February
        ("11010520000229", True),  # a leap day
        ("11010519000229", False),  # not a leap year
        ("11010500000101", False),  # year 0
        ("11010519901301", False),  # month 13
        ("11010519900100", False),  # day 0
        ("99999919900101", False),  # no such province
        ("11999919900101", False),  # a province, no such county
        ("11000019900101", True),  # the province's own code
        ("１１０１０５19900101", True),  # full-width digits, which stdnum reads as digits
    ],
)
def test_known_answers_agree_with_stdnum(prefix, valid):
    assert STDNUM(prefix) is valid
    assert pii._area_and_birth_date_valid(prefix) is valid


def test_random_prefixes_are_judged_as_stdnum_judges_them():
    rng = random.Random(20261206)
    areas = sorted(TABLE)
    differences = []
    for index in range(20000):
        area = rng.choice(areas) if index % 2 else f"{rng.randrange(10**6):06d}"
        prefix = f"{area}{rng.randrange(1900, 2030):04d}{rng.randrange(0, 14):02d}{rng.randrange(0, 33):02d}"
        if pii._area_and_birth_date_valid(prefix) != STDNUM(prefix):
            differences.append(prefix)
    assert differences == []


@settings(max_examples=300, deadline=None)
@given(
    area=st.one_of(st.sampled_from(sorted(TABLE)), st.text("0123456789", min_size=6, max_size=6)),
    date=st.text("0123456789", min_size=8, max_size=8),
)
def test_any_digits_are_judged_as_stdnum_judges_them(area, date):
    prefix = area + date
    assert pii._area_and_birth_date_valid(prefix) == STDNUM(prefix)


def test_a_table_stdnum_no_longer_shapes_so_falls_back_to_stdnum(monkeypatch):
    monkeypatch.setattr(pii, "_area_periods", lambda: None)
    assert pii._area_and_birth_date_valid("11010519900101") is True
    assert pii._area_and_birth_date_valid("11010320110101") is False


def test_periods_are_read_as_stdnum_reads_them():
    assert pii._county_periods("[1983-1994]东矿区,[1995-]古冶区") == ((1983, 1994), (1995, 9999))
    assert pii._county_periods("[-1991]东郊区,东丽区") == ((1, 9999),)
    with pytest.raises(ValueError):
        pii._county_periods("[1983]东矿区")  # stdnum fails on it too: the table is not used

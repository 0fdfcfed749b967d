"""Resident ID numbers (身份证号): validation, encryption at rest, keyed lookup hash and masking.

Encryption uses MultiFernet over settings.PII_ENCRYPTION_KEYS (newest first), so keys can be rotated:
add a new key in front, run ``manage.py rotate_pii_key`` to re-encrypt, then drop the old key."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidComponent,
    InvalidFormat,
)
from stdnum.exceptions import (
    ValidationError as StdnumError,
)


def normalize_id_number(raw: str) -> str:
    return (raw or "").strip().replace(" ", "").upper()


def validate_id_number(raw: str) -> str:
    """Return the normalized 18-character ID number, or raise ValidationError in plain words."""
    value = normalize_id_number(raw)
    if not value:
        raise ValidationError(_("身份证号为空。"), code="required")
    if len(value) != 18:
        raise ValidationError(_("身份证号应为18位。"), code="length")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValidationError(_("身份证号格式或出生日期无效。"), code="format")
    if value[17] != ric.calc_check_digit(value):
        raise ValidationError(_("身份证号校验位错误。"), code="checksum")
    if not _area_and_birth_date_valid(value[:14]):
        raise ValidationError(_("身份证号格式或出生日期无效。"), code="format")
    return value


_FIRST_YEAR, _LAST_YEAR = datetime.MINYEAR, datetime.MAXYEAR


def _area_and_birth_date_valid(prefix: str) -> bool:
    """The birth date exists and the area code existed in its year: python-stdnum's answer, from a
    table of its area codes read once (its own lookup takes about 0.06 ms, and the rows of a real
    file have nearly as many area and birth-date pairs as rows)."""
    periods_by_area = _area_periods()
    if periods_by_area is None or not prefix.isascii():
        return _stdnum_area_and_birth_date_valid(prefix)
    periods = periods_by_area.get(prefix[:6])
    if periods is None:
        return False
    year = _birth_year(prefix[6:14])
    if year is None:
        return False
    return any(start <= year <= end for start, end in periods)


@lru_cache(maxsize=65536)
def _birth_year(digits: str) -> int | None:
    """The year of a YYYYMMDD birth date, None if no such date (a file has some 20,000 dates)."""
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).year
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _stdnum_area_and_birth_date_valid(prefix: str) -> bool:
    """python-stdnum's own check: the birth date exists and the area code existed on it."""
    number = prefix + "0000"
    try:
        ric.get_birth_date(number)
        ric.get_birth_place(number)
    except (InvalidComponent, InvalidFormat, StdnumError, KeyError, ValueError):
        # python-stdnum raises KeyError for some area codes that its table lists without counties.
        return False
    return True


@lru_cache(maxsize=1)
def _area_periods() -> dict[str, tuple[tuple[int, int], ...]] | None:
    """Every area code python-stdnum knows a county for, with the years it was in use (first and
    last, inclusive), as ``ric.get_birth_place`` finds them: the props of the matching entries
    merged in the table's order, the last county winning. None when its table is not the tree of
    two-digit provinces and four-digit counties this reading relies on: then stdnum looks each up."""
    counties: dict[str, str] = {}
    for length, low, high, props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or len(high) != 2 or "county" in props or not _ascii_digits(low + high):
            return None
        for county_length, county_low, county_high, county_props, grandchildren in children:
            if county_length != 4 or len(county_high) != 4 or grandchildren:
                return None
            if not _ascii_digits(county_low + county_high):
                return None
            if "county" in county_props:
                for province in range(int(low), int(high) + 1):
                    for county in range(int(county_low), int(county_high) + 1):
                        counties[f"{province:02d}{county:04d}"] = county_props["county"]
    try:
        return {area: _county_periods(names) for area, names in counties.items()}
    except ValueError:  # a period stdnum would fail to read: leave every number to stdnum
        return None


def _county_periods(counties: str) -> tuple[tuple[int, int], ...]:
    """The years of "[1983-1994]东矿区,[1995-]古冶区" as ``ric.get_birth_place`` reads them: a county
    without a period is in use in every year, and the ones after it are never read."""
    periods = []
    for county in counties.split(","):
        if not county.startswith("["):
            return ((_FIRST_YEAR, _LAST_YEAR),)
        period, _name = county[1:].split("]")
        start, end = period.split("-")
        periods.append((int(start) if start else _FIRST_YEAR, int(end) if end else _LAST_YEAR))
    return tuple(periods)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_as_fernet_key(key)) for key in keys])


def _as_fernet_key(key: str) -> bytes:
    raw = key.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    # A passphrase rather than a Fernet key: derive one (documented in .env.example).
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS))


def encrypt_id_number(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def encrypt_id_numbers(values: list[str]) -> list[str]:
    """``encrypt_id_number`` of each, the keys looked up once (a file's chunk at a time)."""
    encrypt = fernet().encrypt
    return [encrypt(value.encode()).decode() for value in values]


def decrypt_id_number(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("ID number cannot be decrypted with the configured PII_ENCRYPTION_KEYS") from exc


def rotate_id_number(token: str) -> str:
    """Re-encrypt under the newest key (a no-op in content)."""
    return fernet().rotate(token.encode()).decode()


def hash_id_number(value: str) -> str:
    """HMAC-SHA256 under settings.PII_HASH_KEY, in hex. A copy of an HMAC already keyed is a
    quarter cheaper than keying one per number, and a file hashes up to a million."""
    keyed = _keyed_hmac(settings.PII_HASH_KEY).copy()
    keyed.update(value.encode())
    return keyed.hexdigest()


def hash_id_numbers(values: list[str]) -> list[str]:
    """``hash_id_number`` of each, the key looked up once (a file's chunk at a time)."""
    keyed = _keyed_hmac(settings.PII_HASH_KEY)
    hashes = []
    for value in values:
        one = keyed.copy()
        one.update(value.encode())
        hashes.append(one.hexdigest())
    return hashes


@lru_cache(maxsize=4)
def _keyed_hmac(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def mask_id_number(value: str) -> str:
    """130102199001011234 → 1301**********1234."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]

"""The one clock of the portal. Times are Asia/Shanghai (``TIME_ZONE``): a day — a quota day, a till's
day, a merchant's contract day — ends at local midnight."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def local_now() -> datetime:
    return timezone.localtime()


def local_day(moment: datetime | None = None) -> date:
    return timezone.localtime(moment).date() if moment else local_now().date()

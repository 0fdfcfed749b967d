"""One log line format for the application (``settings.LOGGING``) and for gunicorn's own lines
(``gunicorn.conf.py``): a JSON object per line, with an ISO 8601 UTC ``timestamp``; and one filter on
every handler of both that masks personal numbers, so no log line carries a resident ID number, a
full mobile phone number or a full card number — whoever logged it, in the message, its arguments,
its extra fields or a traceback, and whatever the URL a client asked for (the access log)."""

from __future__ import annotations

import logging
import re

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(levelname)s %(name)s %(message)s",
    "timestamp": True,
}
PERSONAL_NUMBER_FILTER = {"()": "portal.logs.PersonalNumberFilter"}

# A run of digits standing alone (no digit right before or after) that is: 15 to 19 digits (old
# 15-digit and current 18-digit ID numbers, card numbers of 16 to 19 digits), 17 digits and a check
# letter X (ID numbers), or 11 digits starting 13–19, with or without the country code 86 (mainland
# mobile numbers). Shorter numbers — ids, amounts, counts, dates, union codes — stay readable, and so
# do the decimals of a fraction (a task's run time, "0.036647505570347034 s").
PERSONAL_NUMBER = re.compile(
    r"(?<![0-9])(?<![0-9]\.)(?:(?P<long>[0-9]{17}[Xx]|[0-9]{15,19})|(?P<country>86)?(?P<phone>1[3-9][0-9]{9}))(?![0-9])"
)

# What every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def mask_personal_numbers(text: str) -> str:
    """``13800138000`` → ``138****8000``, ``130104199003071234`` → ``1301**********1234``: enough to
    tell two lines apart, not enough to find the person."""
    return PERSONAL_NUMBER.sub(_mask, text)


def _mask(match: re.Match) -> str:
    phone = match.group("phone")
    if phone:
        return (match.group("country") or "") + phone[:3] + "****" + phone[-4:]
    number = match.group("long")
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def _masked(value):
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        masked = mask_personal_numbers(text)
        return value if masked == text else masked
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked(item) for item in value]
    text = str(value)
    masked = mask_personal_numbers(text)
    return value if masked == text else masked


class PersonalNumberFilter(logging.Filter):
    """Masks personal numbers in the record itself before any formatter sees it. The message is
    merged with its arguments first (a number may arrive as an argument of any type, formatted with
    %s or %d), a traceback is formatted here and masked, and extra fields are masked in place. It
    never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict) and not record.args:  # a structured record stays one
            record.msg = _masked(record.msg)
        else:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: leave it for logging to report
                return True
            record.msg = mask_personal_numbers(message)
            record.args = ()
        if record.exc_info:
            # Formatters re-format exc_info each time; keep only the masked text.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = mask_personal_numbers(text)
        elif record.exc_text:
            record.exc_text = mask_personal_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_numbers(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, _masked(value))
        return True

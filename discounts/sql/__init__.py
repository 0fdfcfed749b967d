"""SQL that lives in the database, kept as files of the app so it is read, diffed and reviewed as code.

``redemption_take.sql``: ``discounts_redemption_take()``, the function that takes a redemption's limits
(see discounts.redemption). Migrations install a file with ``source(name)``; a test checks that the
function installed in the database is the file's text (``function_body``)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
_DOLLAR_QUOTE = "$$"


def source(name: str) -> str:
    """The text of ``<name>.sql``, as a migration runs it."""
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def function_body(name: str) -> str:
    """The body of the function ``<name>.sql`` creates — the text between its ``$$`` quotes, which is
    what PostgreSQL stores as ``pg_proc.prosrc``."""
    text = source(name)
    start = text.index(_DOLLAR_QUOTE) + len(_DOLLAR_QUOTE)
    return text[start : text.index(_DOLLAR_QUOTE, start)]

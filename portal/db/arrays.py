"""Array parameters of bulk statements as PostgreSQL array literals. psycopg's list dumper looks at
every element in Python (several µs each), and a chunk of thousands of rows sends such a list with
every statement; a literal is built by ``str.join`` and cast in the statement (``%s::text[]``,
``%s::bigint[]``)."""

from __future__ import annotations

import operator
from collections.abc import Iterable


def text_array_literal(values: Iterable[str]) -> str:
    """A text[] literal, every element quoted (also the COPY form of a text[] column)."""
    quoted = ['"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values]
    return "{" + ",".join(quoted) + "}"


def bigint_array_literal(values: Iterable[int]) -> str:
    """A bigint[] literal; every element must be an integer (``operator.index`` refuses a string, a
    float or None with TypeError, so nothing but digits reaches the statement)."""
    return "{" + ",".join(str(operator.index(value)) for value in values) + "}"

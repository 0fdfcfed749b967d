"""The API's JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``). A module of its own: DRF reads
that setting while ``rest_framework.views`` is being imported, so the parser must not live in a
module that imports the views."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a bound on nesting. Python's decoder recurses once per level, so a body
    of a thousand nested brackets raised RecursionError (a 500) instead of a refusal, and a body
    merely deep enough would recurse again wherever it is walked (the idempotency hash, the error
    details). No request of ours nests more than a few levels."""

    max_depth = 32

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
            too_deep = True
        else:
            too_deep = _nesting_exceeds(data, self.max_depth)
        if too_deep:
            raise exceptions.ParseError(
                _("JSON 嵌套层数过多（最多 %(depth)s 层）。") % {"depth": self.max_depth}
            )
        return data


def _nesting_exceeds(data, limit: int) -> bool:
    """Whether lists and objects in ``data`` nest more than ``limit`` deep (walked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False

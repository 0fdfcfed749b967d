"""Irreversible acts ask first, the same way everywhere.

A button that does something that cannot be undone carries ``data-confirm`` (what will happen) and
``data-confirm-button`` (the verb); with scripts, portal/forms.js asks in a <dialog> and re-sends the
form with ``confirmed=1``. Without scripts, the view itself asks: ``ask_first`` answers the first
POST with a page that says what will happen and re-posts the same fields with ``confirmed=1``. So the
view is the one that guarantees the question; the dialog only saves a round trip.

    page = ask_first(request, heading=..., consequence=..., button=..., cancel_url=...)
    if page is not None:
        return page
"""

from __future__ import annotations

from django.http import HttpRequest
from django.template.response import TemplateResponse

CONFIRMED = "confirmed"
NOT_REPOSTED = {"csrfmiddlewaretoken", CONFIRMED}


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRMED) == "1"


def ask_first(
    request: HttpRequest,
    *,
    heading: str,
    consequence: str,
    button: str,
    cancel_url: str,
    admin_context: dict | None = None,
) -> TemplateResponse | None:
    """None once the person has confirmed; otherwise the page that asks. ``admin_context`` (the admin
    site's ``each_context``) shows it in the admin's own frame."""
    if confirmed(request):
        return None
    fields = [
        (name, value)
        for name in request.POST
        if name not in NOT_REPOSTED
        for value in request.POST.getlist(name)
    ]
    context = {
        "heading": heading,
        "consequence": consequence,
        "button": button,
        "cancel_url": cancel_url,
        "fields": fields,
        "action_url": request.get_full_path(),
    }
    if admin_context is not None:
        return TemplateResponse(
            request, "admin/confirm_action.html", {**admin_context, **context, "title": heading}
        )
    return TemplateResponse(request, "includes/confirm_page.html", context)

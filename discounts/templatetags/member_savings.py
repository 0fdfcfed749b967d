"""``{% member_savings member %}``: what the member saved, with a link to their offer history — on the
member's card page, which belongs to the members app below and so cannot read redemptions itself."""

from __future__ import annotations

from django import template

from discounts.history import member_savings as savings_of

register = template.Library()


@register.inclusion_tag("discounts/_member_savings.html")
def member_savings(member) -> dict:
    return {"savings": savings_of(member)}

"""``{% site_url "news_detail" post.pk %}``: the address of a page of the current city site, through
its path or on its own host, whichever the request used (``cities.links``)."""

from __future__ import annotations

from django import template

from cities import links

register = template.Library()


@register.simple_tag(takes_context=True)
def site_url(context, name: str, *args) -> str:
    request = context["request"]
    return links.site_url(request, context["city_site"], name, *args)


@register.simple_tag(takes_context=True)
def banner_url(context, banner) -> str:
    return links.banner_image_url(context["request"], banner)
